"""Zapomniałem hasła (SPEC §4): the wizard's steps ending in a new password."""

from helpers import follow, text_of
from support import TEST_PASSWORD, account_of, last_code, last_link, outbox

NEW_PASSWORD = "Nowe#Haslo1"


def start(visitor, typed):
    return visitor.post("/zapomnialem-hasla/", {"number": typed, "action": "next"})


def test_the_page_says_what_it_is_for(visitor):
    page = text_of(visitor.get("/zapomnialem-hasla/"))
    assert (
        "Jeżeli nie pamiętasz swojego hasła, podaj wymagane dane, abyśmy mogli wysłać link "
        "lub kod SMS umożliwiający zmianę hasła."
    ) in page
    assert "Numer klienta lub login" in page


def test_reset_by_sms_ends_other_sessions_and_tells_the_customer(
    app, visitor, make_visitor, customers
):
    customer = customers["registered"]
    elsewhere = make_visitor()
    elsewhere.post("/", {"login": customer.number, "password": TEST_PASSWORD})
    assert elsewhere.client.get("/strona-glowna").status_code == 200

    start(visitor, customer.number)
    response = visitor.post(
        "/zapomnialem-hasla/sposob", {"channel": "sms", "phone": "600 700 805", "action": "next"}
    )
    assert "kod umożliwiający zmianę hasła" in text_of(response)
    response = visitor.post(
        "/zapomnialem-hasla/kod", {"code": last_code(app, customer.phone), "action": "next"}
    )
    assert "Ustaw nowe hasło" in text_of(response)
    response = visitor.post(
        "/zapomnialem-hasla/haslo",
        {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD, "action": "next"},
    )
    page = text_of(follow(visitor, response))
    assert "Hasło zostało zmienione" in page
    assert "Logowanie do Strefy Klienta" in page  # no automatic login after a reset

    assert elsewhere.client.get("/strona-glowna").status_code == 302
    assert [m.subject for m in outbox(app, "email", customer.email)] == [
        "Hasło do Strefy Klienta zostało zmienione"
    ]
    assert "zmienione" in outbox(app, "sms", customer.phone)[-1].body_text

    # The old password no longer works; the new one does.
    response = visitor.post("/", {"login": customer.number, "password": TEST_PASSWORD})
    assert response.status_code == 422
    response = follow(
        visitor, visitor.post("/", {"login": customer.number, "password": NEW_PASSWORD})
    )
    assert "Strona Główna" in text_of(response)


def test_reset_by_email_link_lives_one_hour(app, visitor, customers):
    customer = customers["registered"]
    start(visitor, customer.number)
    response = visitor.post(
        "/zapomnialem-hasla/sposob",
        {"channel": "email", "email": "EWA.kaminska@example.com", "action": "next"},
    )
    assert "Link będzie aktywny przez 1 godzinę." in text_of(response)
    link = last_link(app, customer.email)
    assert link.startswith("/zapomnialem-hasla/link/")
    response = visitor.get(link)
    assert "Ustaw nowe hasło" in text_of(response)
    visitor.post(
        "/zapomnialem-hasla/haslo",
        {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD, "action": "next"},
    )
    # Used up: the same link now opens a page that says so.
    response = visitor.get(link)
    assert response.status_code == 410
    assert "Ten link został już wykorzystany" in text_of(response)


def test_a_number_without_an_account_is_sent_to_registration(visitor, customers):
    response = start(visitor, customers["both"].number)
    assert response.status_code == 422
    assert "nie ma jeszcze konta" in text_of(response)
    assert 'href="/rejestracja/"' in response.get_data(as_text=True)


def test_reset_by_login_name(app, visitor, customers):
    from ebok.extensions import db
    from ebok.models import Account

    with app.app_context():
        account = db.session.get(Account, account_of(app, customers["registered"])["id"])
        account.login_name = "ewa.k"
        db.session.commit()
    response = start(visitor, "Ewa.K")
    assert "Wybierz" in text_of(response)


def test_a_login_no_account_can_have_finds_no_customer(visitor, customers):
    # PostgreSQL refuses a NUL byte even as a query parameter; such a login finds nobody.
    response = start(visitor, "ewa\x00kaminska")
    assert response.status_code == 422
    assert "Nie znaleźliśmy klienta o takim numerze lub loginie." in text_of(response)
