"""Moje dane (SPEC §15): changing the contact e-mail and phone in Moje Konto: the current
password, the new value validated as registration does, the proof (a link, an SMS code),
the old contact told; registration and reset use the new contact from then on."""

import re

import pytest
from sqlalchemy import select
from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    WizardActions,
    assert_shape,
    field_value,
    follow,
    found,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.models import ContactChange, Customer

OLD_EMAIL = "ewa.kaminska@example.com"
OLD_PHONE = "+48600700805"
NEW_EMAIL = "ewa.nowa@example.com"
NEW_PHONE = "+48511222333"


def contact_of(app, number="200005") -> tuple[str | None, str | None]:
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == number)).one()
        return customer.email, customer.phone


def changes(app) -> list[tuple]:
    with app.app_context():
        return [
            (c.field, c.old_value, c.new_value, c.changed_at is not None, c.settled_at)
            for c in db.session.scalars(select(ContactChange).order_by(ContactChange.id))
        ]


def contact_link(app, email: str) -> str:
    messages = outbox(app, "email", email)
    assert messages, f"no e-mail to {email}"
    url = found(r"https?://\S+/adres-email/potwierdz/\S+", messages[-1].body_text).group(0)
    return re.sub(r"^https?://[^/]+", "", url)


def test_my_account_offers_the_changes(visitor, auth, customers):
    auth.log_in()
    page = text_of(visitor.client.get("/moje-konto"))
    assert "Zmień adres e-mail" in page and "Zmień numer telefonu" in page


def test_change_email(app, visitor, auth, customers):
    auth.log_in()
    response = visitor.get("/moje-konto/adres-email")
    assert response.status_code == 200
    assert_shape(visitor, response)
    page = text_of(response)
    assert "Obecne hasło" in page and "Nowy adres e-mail" in page

    response = visitor.post(
        "/moje-konto/adres-email", {"current_password": "Zle#Haslo1", "email": NEW_EMAIL}
    )
    assert response.status_code == 422
    assert "Obecne hasło jest nieprawidłowe." in text_of(response)
    assert field_value(response, "email") == NEW_EMAIL

    response = visitor.post(
        "/moje-konto/adres-email", {"current_password": TEST_PASSWORD, "email": "nie-adres"}
    )
    assert response.status_code == 422

    response = visitor.post(
        "/moje-konto/adres-email", {"current_password": TEST_PASSWORD, "email": OLD_EMAIL.upper()}
    )
    assert response.status_code == 422
    assert "To już jest Twój kontaktowy adres e-mail." in text_of(response)

    response = follow(
        visitor,
        visitor.post(
            "/moje-konto/adres-email", {"current_password": TEST_PASSWORD, "email": NEW_EMAIL}
        ),
    )
    assert response.request.path == "/moje-konto"
    assert NEW_EMAIL in text_of(response)  # the status message says where the link went
    assert contact_of(app)[0] == OLD_EMAIL  # not before the link is opened
    waiting = f"Czekamy, aż otworzysz link wysłany na adres {NEW_EMAIL}."
    assert waiting in text_of(visitor.client.get("/moje-konto"))

    link = contact_link(app, NEW_EMAIL)
    opened = visitor.get(link)
    assert opened.status_code == 200
    assert NEW_EMAIL in text_of(opened) and contact_of(app)[0] == OLD_EMAIL

    done = visitor.post(link)
    assert done.status_code == 200
    assert "Twój kontaktowy adres e-mail został zmieniony." in text_of(done)
    assert contact_of(app) == (NEW_EMAIL, OLD_PHONE)
    assert changes(app) == [("email", OLD_EMAIL, NEW_EMAIL, True, None)]
    assert waiting not in text_of(visitor.client.get("/moje-konto"))

    # The old address and the phone are told, in Polish, with what to do if it was not them.
    told = outbox(app, "email", OLD_EMAIL)[-1]
    assert "adres e-mail" in told.title and "Centrum Obsługi Klienta" in told.body_text
    assert "Zmieniono e-mail kontaktowy" in outbox(app, "sms", OLD_PHONE)[-1].body_text

    # Once only.
    again = visitor.post(link)
    assert again.status_code == 410
    assert len(outbox(app, "email", OLD_EMAIL)) == 1


def test_an_email_link_needs_no_session_and_dies_when_replaced(app, make_visitor, customers):
    owner = make_visitor()
    owner.post("/", {"login": "200005", "password": TEST_PASSWORD})
    for address in ("pierwszy@example.com", "drugi@example.com"):
        owner.post("/moje-konto/adres-email", {"current_password": TEST_PASSWORD, "email": address})
    first, second = (
        contact_link(app, "pierwszy@example.com"),
        contact_link(app, "drugi@example.com"),
    )
    stranger = make_visitor()  # another browser: the mail app's
    assert stranger.post(first).status_code == 410
    assert stranger.get(first.replace("potwierdz/", "potwierdz/x")).status_code == 400
    assert stranger.post(second).status_code == 200
    assert contact_of(app)[0] == "drugi@example.com"


def test_change_phone(app, visitor, auth, customers):
    auth.log_in()
    response = visitor.get("/moje-konto/telefon")
    assert response.status_code == 200
    assert_shape(visitor, response)
    assert "Nowy numer telefonu komórkowego" in text_of(response)
    # Without a number waiting, the code step sends the customer to type one.
    assert visitor.get("/moje-konto/telefon/kod").request.path == "/moje-konto/telefon"

    for typed, problem in (
        ("22 123 45 67", "To nie jest numer komórkowy."),
        ("12", "Podaj numer telefonu w poprawnym formacie"),
        ("600 700 805", "To już jest Twój kontaktowy numer telefonu."),
    ):
        response = visitor.post(
            "/moje-konto/telefon", {"current_password": TEST_PASSWORD, "phone": typed}
        )
        assert response.status_code == 422, typed
        assert problem in text_of(response), typed

    response = visitor.post(
        "/moje-konto/telefon", {"current_password": TEST_PASSWORD, "phone": "511 222 333"}
    )
    assert response.request.path == "/moje-konto/telefon/kod"
    assert "Podaj kod SMS" in text_of(response)
    assert contact_of(app)[1] == OLD_PHONE

    wrong = visitor.post("/moje-konto/telefon/kod", {"code": "000000"})
    assert wrong.status_code == 422
    assert "Kod jest nieprawidłowy" in text_of(wrong)

    code = found(r"\b(\d{6})\b", outbox(app, "sms", NEW_PHONE)[-1].body_text).group(1)
    done = follow(visitor, visitor.post("/moje-konto/telefon/kod", {"code": code}))
    assert done.request.path == "/moje-konto"
    assert "Twój kontaktowy numer telefonu został zmieniony." in text_of(done)
    assert contact_of(app) == (OLD_EMAIL, NEW_PHONE)
    assert changes(app) == [("phone", OLD_PHONE, NEW_PHONE, True, None)]
    assert "Zmieniono numer kontaktowy" in outbox(app, "sms", OLD_PHONE)[-1].body_text
    assert "numer telefonu" in outbox(app, "email", OLD_EMAIL)[-1].title


@pytest.mark.config(SMS_CODE_MAX_TRIES=2)
def test_a_phone_code_has_registrations_tries(app, visitor, auth, customers):
    auth.log_in()
    visitor.post("/moje-konto/telefon", {"current_password": TEST_PASSWORD, "phone": NEW_PHONE})
    visitor.post("/moje-konto/telefon/kod", {"code": "000000"})
    response = visitor.post("/moje-konto/telefon/kod", {"code": "000001"})
    assert response.status_code == 422
    code = found(r"\b(\d{6})\b", outbox(app, "sms", NEW_PHONE)[-1].body_text).group(1)
    response = visitor.post("/moje-konto/telefon/kod", {"code": code})
    assert response.status_code == 422 and "zbyt wiele razy" in text_of(response)
    assert contact_of(app)[1] == OLD_PHONE


@pytest.mark.config(RATELIMIT_CODE_SENDS_PER_CUSTOMER="2/hour")
def test_sends_are_limited_as_registrations(app, visitor, auth, customers):
    auth.log_in()
    for status in (303, 303, 429):
        response = visitor.post(
            "/moje-konto/telefon",
            {"current_password": TEST_PASSWORD, "phone": NEW_PHONE},
            follow_redirects=False,
        )
        assert response.status_code == status
    assert "Wysłaliśmy już zbyt wiele kodów lub linków." in text_of(response)
    assert len(outbox(app, "sms", NEW_PHONE)) == 2


@pytest.mark.config(RATELIMIT_CURRENT_PASSWORD="2/hour")
def test_the_current_password_is_limited_like_a_login(app, visitor, auth, customers):
    auth.log_in()
    for status in (422, 422, 429):
        response = visitor.post(
            "/moje-konto/adres-email", {"current_password": "Zle#Haslo1", "email": NEW_EMAIL}
        )
        assert response.status_code == status
    assert not outbox(app, "email", NEW_EMAIL)


def test_reset_uses_the_new_contact(app, visitor, auth, customers):
    auth.log_in()
    visitor.post("/moje-konto/adres-email", {"current_password": TEST_PASSWORD, "email": NEW_EMAIL})
    visitor.post(contact_link(app, NEW_EMAIL))
    auth.log_out()
    wizard = WizardActions(app, visitor, prefix="/zapomnialem-hasla")
    wizard.start("200005")
    refused = wizard.choose("email", OLD_EMAIL)
    assert refused.status_code == 422
    sent = wizard.choose("email", NEW_EMAIL)
    assert sent.status_code == 200
    assert outbox(app, "email", NEW_EMAIL)[-1].body_text.count("/link/") == 1
    assert NEW_PASSWORD  # the rest of the reset is the reset's own tests'


def test_the_pages_need_a_login(make_visitor, customers):
    stranger = make_visitor()
    for path in ("/moje-konto/adres-email", "/moje-konto/telefon", "/moje-konto/telefon/kod"):
        response = stranger.get(path, follow_redirects=False)
        assert response.status_code in (302, 303), path


def test_a_new_phone_code_replaces_the_old(app, visitor, auth, customers):
    auth.log_in()
    assert visitor.post("/moje-konto/telefon/wyslij-ponownie").request.path == "/moje-konto/telefon"
    visitor.post("/moje-konto/telefon", {"current_password": TEST_PASSWORD, "phone": NEW_PHONE})
    first = found(r"\b(\d{6})\b", outbox(app, "sms", NEW_PHONE)[-1].body_text).group(1)
    response = visitor.post("/moje-konto/telefon/wyslij-ponownie")
    assert response.request.path == "/moje-konto/telefon/kod"
    assert "Wysłaliśmy kod SMS na numer 511 222 333." in text_of(response)
    second = found(r"\b(\d{6})\b", outbox(app, "sms", NEW_PHONE)[-1].body_text).group(1)
    if first != second:
        old = visitor.post("/moje-konto/telefon/kod", {"code": first})
        assert old.status_code == 422
    done = follow(visitor, visitor.post("/moje-konto/telefon/kod", {"code": second}))
    assert done.request.path == "/moje-konto"
    assert contact_of(app)[1] == NEW_PHONE


@pytest.mark.config(RATELIMIT_CODE_SENDS_PER_CUSTOMER="1/hour")
def test_a_new_phone_code_is_limited(app, visitor, auth, customers):
    auth.log_in()
    visitor.post("/moje-konto/telefon", {"current_password": TEST_PASSWORD, "phone": NEW_PHONE})
    response = visitor.post("/moje-konto/telefon/wyslij-ponownie")
    assert "Nowego kodu nie można jeszcze wysłać." in text_of(response)
    assert len(outbox(app, "sms", NEW_PHONE)) == 1
