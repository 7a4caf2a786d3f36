"""Moje Konto (SPEC §6): the customer's data, changing the password, the login name; and
one customer never sees or changes another's data."""

from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    AuthActions,
    activate_einvoice,
    existing_account,
    follow,
    give_account,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.models import Account


def test_my_account_shows_the_customers_data(visitor, auth, customers):
    auth.log_in()
    page = text_of(visitor.client.get("/moje-konto"))
    for text in (
        "Moje Konto",
        "Ewa Kamińska",
        "200005",
        "ewa.kaminska@example.com",
        "600 700 805",
        "Zmień hasło",
        "nieaktywna",
    ):
        assert text in page, text


def test_change_password(app, visitor, make_visitor, auth, customers):
    other_device = make_visitor()
    auth.log_in(visitor=other_device)
    auth.log_in()
    response = visitor.post(
        "/moje-konto/haslo",
        {
            "current_password": "Zle#Haslo1",
            "password": NEW_PASSWORD,
            "password_repeat": NEW_PASSWORD,
        },
    )
    assert response.status_code == 422
    assert "Obecne hasło jest nieprawidłowe." in text_of(response)

    response = visitor.post(
        "/moje-konto/haslo",
        {"current_password": TEST_PASSWORD, "password": "krotkie", "password_repeat": "krotkie"},
    )
    assert response.status_code == 422 and "co najmniej 8 znaków" in text_of(response)

    response = visitor.post(
        "/moje-konto/haslo",
        {
            "current_password": TEST_PASSWORD,
            "password": TEST_PASSWORD,
            "password_repeat": TEST_PASSWORD,
        },
    )
    assert response.status_code == 422
    assert "Nowe hasło musi się różnić od obecnego." in text_of(response)

    response = follow(
        visitor,
        visitor.post(
            "/moje-konto/haslo",
            {
                "current_password": TEST_PASSWORD,
                "password": NEW_PASSWORD,
                "password_repeat": NEW_PASSWORD,
            },
        ),
    )
    assert "Hasło zostało zmienione" in text_of(response)
    # This session goes on; every other one has ended.
    assert visitor.client.get("/moje-konto").status_code == 200
    assert other_device.client.get("/moje-konto").status_code == 302
    assert (
        outbox(app, "email", "ewa.kaminska@example.com")[-1].subject
        == "Hasło do Strefy Klienta zostało zmienione"
    )
    auth.log_in(password=NEW_PASSWORD, visitor=make_visitor())


def test_login_name_set_and_used_at_login(app, visitor, make_visitor, auth, customers):
    auth.log_in()
    for typed, message in (
        ("123456", "co najmniej jedną literę"),
        ("ab", "od 3 do 40 znaków"),
        ("ewa kamińska", "od 3 do 40 znaków"),
    ):
        data = {"login_name": typed, "current_password": TEST_PASSWORD}
        response = visitor.post("/moje-konto/login", data)
        assert response.status_code == 422
        assert message in text_of(response)
        assert f'value="{typed}"' in response.get_data(as_text=True)
    data = {"login_name": "Ewa.K", "current_password": TEST_PASSWORD}
    follow(visitor, visitor.post("/moje-konto/login", data))
    assert existing_account(app, customers["registered"])["login_name"] == "ewa.k"
    auth.log_in("EWA.k", visitor=make_visitor())


def test_the_login_name_needs_the_current_password_and_the_customer_is_told(
    app, visitor, auth, customers
):
    auth.log_in()
    form = visitor.get("/moje-konto/login").get_data(as_text=True)
    assert 'name="current_password"' in form
    data = {"login_name": "ewa.k", "current_password": "Zle#Haslo1"}
    response = visitor.post("/moje-konto/login", data)
    assert response.status_code == 422
    assert "Obecne hasło jest nieprawidłowe." in text_of(response)
    assert 'value="ewa.k"' in response.get_data(as_text=True)
    assert "Zle#Haslo1" not in response.get_data(as_text=True)
    # A bad login name is told alone: the password is checked once the rest is valid.
    response = visitor.post("/moje-konto/login", {"login_name": "ab", "current_password": "x"})
    assert "Obecne hasło jest" not in text_of(response)
    assert existing_account(app, customers["registered"])["login_name"] is None
    assert not outbox(app, "email", "ewa.kaminska@example.com")

    data["current_password"] = TEST_PASSWORD
    follow(visitor, visitor.post("/moje-konto/login", data))
    assert existing_account(app, customers["registered"])["login_name"] == "ewa.k"
    told = outbox(app, "email", "ewa.kaminska@example.com")[-1]
    assert told.subject == "Zmieniono login do Strefy Klienta"
    assert "22 123 45 67" in told.body_text and "ewa.k" not in told.body_text
    sms = outbox(app, "sms", "+48600700805")[-1].body_text
    assert "login" in sms and "22 123 45 67" in sms
    # Saving the same name again changes nothing and tells nobody.
    follow(visitor, visitor.post("/moje-konto/login", data))
    assert len(outbox(app, "email", "ewa.kaminska@example.com")) == 1
    # Removing it is a change too.
    data["login_name"] = ""
    follow(visitor, visitor.post("/moje-konto/login", data))
    assert existing_account(app, customers["registered"])["login_name"] is None
    assert len(outbox(app, "email", "ewa.kaminska@example.com")) == 2


def test_a_login_name_is_unique(app, make_visitor, customers):
    give_account(app, customers["both"])
    first, second = make_visitor(), make_visitor()
    AuthActions(first).log_in()
    data = {"login_name": "rodzina", "current_password": TEST_PASSWORD}
    follow(first, first.post("/moje-konto/login", data))
    AuthActions(second).log_in(customers["both"].number)
    data = {"login_name": "RODZINA", "current_password": TEST_PASSWORD}
    response = second.post("/moje-konto/login", data)
    assert response.status_code == 422
    assert "Ten login jest już zajęty" in text_of(response)


def test_one_customer_never_sees_or_changes_anothers_data(app, make_visitor, customers):
    give_account(app, customers["both"])
    anna, ewa = make_visitor(), make_visitor()
    AuthActions(anna).log_in(customers["both"].number)
    AuthActions(ewa).log_in()
    for url in ("/strona-glowna", "/moje-konto", "/e-faktura/aktywuj"):
        body = anna.client.get(url).get_data(as_text=True)
        assert "Kamińska" not in body and "ewa.kaminska@example.com" not in body
        assert "200005" not in body
    # Anna activates e-Faktura: only her account changes.
    anna.get("/e-faktura/aktywuj")
    anna.post("/e-faktura/aktywuj", {"email": "anna.nowak@example.com", "accept_terms": "y"})
    with app.app_context():
        accounts = {a.customer.number: a.einvoice_active for a in db.session.query(Account)}
    assert accounts == {"200001": True, "200005": False}
    assert "nieaktywna" in text_of(ewa.client.get("/moje-konto"))


def test_the_guarded_forms_refuse_a_post_without_csrf(app, visitor, auth, customers):
    activate_einvoice(app)
    auth.log_in()
    for url, data in (
        ("/moje-konto/login", {"login_name": "ewa.k"}),
        ("/e-faktura/adres", {"email": "obcy@example.com"}),
    ):
        data["current_password"] = TEST_PASSWORD
        response = visitor.post(url, data, csrf=False)
        assert response.status_code == 400 and "Formularz wygasł" in text_of(response)
    assert existing_account(app, customers["registered"])["login_name"] is None
    assert not outbox(app, "email", "obcy@example.com")
