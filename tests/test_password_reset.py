"""Zapomniałem hasła (SPEC §4): the wizard's steps ending in a new password."""

from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    existing_account,
    follow,
    found,
    last_code,
    last_link,
    outbox,
    text_of,
)


def test_the_page_says_what_it_is_for(visitor):
    page = text_of(visitor.get("/zapomnialem-hasla/"))
    assert (
        "Jeżeli nie pamiętasz swojego hasła, podaj wymagane dane, abyśmy mogli wysłać link "
        "lub kod SMS umożliwiający zmianę hasła."
    ) in page
    assert "Numer klienta lub login" in page


def test_reset_by_sms_ends_other_sessions_and_tells_the_customer(
    app, visitor, make_visitor, auth, reset_wizard, customers
):
    customer = customers["registered"]
    elsewhere = make_visitor()
    auth.log_in(customer.number, visitor=elsewhere)

    reset_wizard.start(customer.number)
    response = reset_wizard.choose("sms", "600 700 805")
    assert "kod umożliwiający zmianę hasła" in text_of(response)
    response = reset_wizard.enter_code(last_code(app, customer.phone))
    assert "Ustaw nowe hasło" in text_of(response)
    response = follow(visitor, reset_wizard.set_password())
    assert response.request.path == "/"  # no automatic login after a reset
    page = text_of(response)
    assert "Hasło zostało zmienione" in page
    assert "Logowanie do Strefy Klienta" in page

    assert elsewhere.client.get("/strona-glowna").status_code == 302
    assert [m.subject for m in outbox(app, "email", customer.email)] == [
        "Hasło do Strefy Klienta zostało zmienione"
    ]
    assert "Zmieniono Twoje hasło" in outbox(app, "sms", customer.phone)[-1].body_text

    # The old password no longer works; the new one does.
    assert auth.post_login(customer.number, TEST_PASSWORD).status_code == 422
    auth.log_in(customer.number, NEW_PASSWORD)


def test_reset_by_email_link_lives_one_hour(app, visitor, reset_wizard, customers):
    customer = customers["registered"]
    reset_wizard.start(customer.number)
    response = reset_wizard.choose("email", "EWA.kaminska@example.com")
    assert "Link będzie aktywny przez 1 godzinę." in text_of(response)
    link = last_link(app, customer.email)
    assert link.startswith("/zapomnialem-hasla/link/")
    response = visitor.get(link)
    assert "Ustaw nowe hasło" in text_of(response)
    reset_wizard.set_password()
    # Used up: the same link now opens a page that says so.
    response = visitor.get(link)
    assert response.status_code == 410
    assert "Ten link został już wykorzystany" in text_of(response)


def test_a_number_without_an_account_is_sent_to_registration(reset_wizard, customers):
    response = reset_wizard.start(customers["both"].number)
    assert response.status_code == 422
    assert "nie ma jeszcze konta" in text_of(response)
    assert 'href="/rejestracja/"' in response.get_data(as_text=True)


def test_no_account_and_no_contact_data_goes_to_the_centre_at_once(reset_wizard, customers):
    """Not to a registration that would send them there one step later."""
    response = reset_wizard.start(customers["neither"].number)
    assert response.status_code == 422
    page = text_of(response)
    assert "Skontaktuj się z Centrum Obsługi Klienta" in page
    assert 'href="/rejestracja/"' not in response.get_data(as_text=True).split("<main")[-1]


def test_reset_by_login_name(app, reset_wizard, customers):
    from ebok.extensions import db
    from ebok.models import Account

    with app.app_context():
        account = db.session.get(Account, existing_account(app, customers["registered"])["id"])
        assert account is not None
        account.login_name = "ewa.k"
        db.session.commit()
    response = reset_wizard.start("Ewa.K")
    assert response.request.path == "/zapomnialem-hasla/sposob"
    assert "Wybierz sposób otrzymania linku lub kodu:" in text_of(response)


def _username_field(response) -> str:
    """The new-password step's field that tells a password manager whose password it is."""
    body = response.get_data(as_text=True)
    field = found(r'<input[^>]*autocomplete="username"[^>]*>', body).group(0)
    assert body.index(field) < body.index('autocomplete="new-password"')
    assert "readonly" in field and "hidden" in field
    return found(r'value="([^"]*)"', field).group(1)


def test_the_new_password_is_saved_under_the_login_the_customer_uses(
    app, reset_wizard, wizard, customers
):
    """Password managers save it under the customer number, or the login name if one is set
    (registration, reset by code, reset by link)."""
    wizard.to_password(customers["both"])
    assert _username_field(wizard.visitor.get("/rejestracja/haslo")) == customers["both"].number
    from ebok.extensions import db
    from ebok.models import Account

    with app.app_context():
        account = db.session.get(Account, existing_account(app, customers["registered"])["id"])
        assert account is not None
        account.login_name = "ewa.k"
        db.session.commit()
    reset_wizard.to_password(customers["registered"])
    assert _username_field(reset_wizard.visitor.get("/zapomnialem-hasla/haslo")) == "ewa.k"


def test_a_login_no_account_can_have_finds_no_customer(reset_wizard, customers):
    # PostgreSQL refuses a NUL byte even as a query parameter; such a login finds nobody.
    response = reset_wizard.start("ewa\x00kaminska")
    assert response.status_code == 422
    assert "Nie znaleźliśmy klienta o takim numerze lub loginie." in text_of(response)
