"""Pobierz moje dane (SPEC §15, GDPR art. 15 and 20): after the password is typed again, a
readable page and a JSON file of what the portal keeps about the customer, made on
request; sections that other features can add to."""

import json

import pytest
from support import TEST_PASSWORD, activate_einvoice, assert_shape, follow, text_of

from ebok.i18n import _l
from ebok.web.personal_data import Section, add_section

FIELDS = {
    "customer": ["customer_number", "first_name", "last_name", "email", "phone", "bank_account"],
    "account": ["login_name", "created_at", "password_changed_at", "language"],
}


def unlock(visitor):
    return visitor.post("/moje-konto/moje-dane", {"current_password": TEST_PASSWORD})


def test_the_data_needs_the_password(app, visitor, auth, customers):
    auth.log_in()
    # Not before the password is typed again.
    assert visitor.get("/moje-konto/moje-dane/podglad").request.path == "/moje-konto/moje-dane"
    response = visitor.client.get("/moje-konto/moje-dane/plik")
    assert response.status_code in (302, 303)
    response = visitor.get("/moje-konto/moje-dane")
    assert response.status_code == 200
    assert_shape(visitor, response)
    wrong = visitor.post("/moje-konto/moje-dane", {"current_password": "Zle#Haslo1"})
    assert wrong.status_code == 422 and "Obecne hasło jest nieprawidłowe." in text_of(wrong)

    page = follow(visitor, unlock(visitor))
    assert page.request.path == "/moje-konto/moje-dane/podglad"
    assert "no-store" in page.headers["Cache-Control"]
    text = text_of(page)
    for expected in ("Twoje dane", "Ewa", "Kamińska", "200005", "ewa.kaminska@example.com"):
        assert expected in text, expected


@pytest.mark.config(DATA_UNLOCK_LIFETIME=__import__("datetime").timedelta(seconds=0))
def test_the_data_is_shown_only_just_after_the_password(visitor, auth, customers):
    auth.log_in()
    response = follow(visitor, unlock(visitor))
    assert response.request.path == "/moje-konto/moje-dane"


def test_the_file(app, make_visitor, customers):
    activate_einvoice(app)
    visitor = make_visitor()
    visitor.post("/", {"login": "200005", "password": TEST_PASSWORD})
    visitor.post("/moje-konto/zgody", {"sms": "y"})
    unlock(visitor)
    response = visitor.client.get("/moje-konto/moje-dane/plik")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="strefa-klienta-200005.json"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["format"] == "strefa-klienta-personal-data" and data["version"] == 1
    for section, fields in FIELDS.items():
        assert list(data[section]) == fields
    assert data["customer"]["phone"] == "+48600700805"
    assert data["contact_changes"] == []
    assert [(c["channel"], c["granted"]) for c in data["marketing_consents"]] == [("sms", True)]
    assert data["einvoice"]["active"] is True
    assert data["einvoice"]["since"] == "2026-01-01T00:00:00Z"
    assert [e["event"] for e in data["einvoice_history"]] == ["activated"]
    assert data["invoices"] == []
    assert "password" not in json.dumps(data).replace("password_changed_at", "")


def test_another_feature_adds_its_section(app, make_visitor, customers):
    add_section(
        app,
        Section(
            key="example",
            title=_l("Invoices"),
            labels={"amount": _l("Amount")},
            build=lambda account: [{"amount": 12}],
            order=60,
        ),
    )
    with pytest.raises(ValueError):
        add_section(app, Section("example", _l("Invoices"), {}, lambda account: {}))
    visitor = make_visitor()
    visitor.post("/", {"login": "200005", "password": TEST_PASSWORD})
    unlock(visitor)
    data = json.loads(visitor.client.get("/moje-konto/moje-dane/plik").get_data(as_text=True))
    assert data["example"] == [{"amount": 12}]
    assert list(data).index("example") == list(data).index("invoices") - 1
