"""Logowanie (SPEC §2) and logout, as plain requests and as htmx."""

import pytest
from sqlalchemy import update
from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    AuthActions,
    assert_shape,
    existing_account,
    field_value,
    text_of,
)

from ebok.auth.service import password_matches
from ebok.extensions import db
from ebok.identity import accounts
from ebok.identity.passwords import hash_password, verify_password
from ebok.models import Account


def test_the_login_page(visitor):
    for url in ("/", "/logowanie"):
        response = visitor.get(url)
        assert response.status_code == 200
        assert_shape(visitor, response)
        page = text_of(response)
        for text in (
            "Logowanie do Strefy Klienta",
            "Numer klienta lub login",
            "Hasło",
            "Zaloguj",
            "Jeśli logujesz się po raz pierwszy, skorzystaj z opcji Rejestracja",
            "Rejestracja",
            "Zapomniałem hasła",
            "Co to jest Strefa Klienta?",
            "Gdzie jest Elektroniczna Faktura?",
            "Pobierz instrukcję do Strefy Klienta",
        ):
            assert text in page, text
        body = response.get_data(as_text=True)
        assert body.count("<details") == 2
        assert 'autocomplete="username"' in body
        assert 'autocomplete="current-password"' in body
        assert 'href="https://play.google.com/' in body


def test_the_printable_guide(visitor):
    response = visitor.get("/instrukcja")
    assert response.status_code == 200
    page = text_of(response)
    assert "Instrukcja do Strefy Klienta" in page
    assert "Rejestracja w Strefie Klienta" in page


def test_login_by_customer_number_and_logout(app, visitor, auth, customers):
    response = auth.log_in(" 200-005 ")
    assert response.status_code == 200
    page = text_of(response)
    assert "Strona Główna" in page and "Moje Konto" in page and "Wyloguj" in page
    assert "Ewa Kamińska" in page and "200005" in page

    # Logout is a POST; a GET does not log anyone out.
    assert visitor.client.get("/wyloguj").status_code == 404
    assert visitor.client.get("/strona-glowna").status_code == 200
    response = auth.log_out()
    assert response.request.path == "/"
    assert "Wylogowano" in text_of(response)
    assert visitor.client.get("/strona-glowna").status_code == 302


def test_wrong_credentials_get_one_message(app, visitor, auth, customers):
    wrong_password = auth.post_login("200005", "Zle#Haslo1")
    unknown_number = auth.post_login("999999", "Zle#Haslo1")
    for response in (wrong_password, unknown_number):
        assert response.status_code == 422
        assert_shape(visitor, response)
        assert "Nieprawidłowy numer klienta, login lub hasło." in text_of(response)
        assert "Wystąpił problem" in text_of(response)
        assert "Zle#Haslo1" not in response.get_data(as_text=True)
    assert field_value(unknown_number, "login") == "999999"


def test_empty_login_form(visitor):
    response = visitor.post("/", {"login": "", "password": ""})
    assert response.status_code == 422
    page = text_of(response)
    assert "Podaj numer klienta lub login." in page
    assert "Podaj hasło." in page


@pytest.mark.config(RATELIMIT_LOGIN_PER_ACCOUNT="3/15 minutes")
def test_failed_logins_are_throttled_per_account(app, make_visitor, customers):
    for _ in range(3):
        AuthActions(make_visitor()).post_login("200005", "Zle#Haslo1")
    # Even the right password from a new client waits now: the account is throttled.
    response = AuthActions(make_visitor()).post_login("200005")
    assert response.status_code == 429
    page = text_of(response)
    assert "Spróbuj ponownie za" in page
    assert "Zapomniałem hasła" in page


@pytest.mark.config(RATELIMIT_LOGIN="10/15 minutes")  # the client's ceiling, within reach
def test_a_login_over_the_limit_answers_429_with_flask_limiters_headers(
    app, visitor, auth, customers
):
    """12 wrong logins from one client: 5 refused as wrong, then 429s counted and told by
    Flask-Limiter (RATELIMIT_HEADERS_ENABLED): Retry-After and the X-RateLimit headers of
    the limit used up, the account's (5 in 15 minutes), then also the client's (10)."""
    responses = [auth.post_login("200005", "Zle#Haslo1") for _ in range(12)]
    assert [r.status_code for r in responses] == [422] * 5 + [429] * 7
    for n, response in enumerate(responses[5:], start=6):
        assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
        assert response.headers["X-RateLimit-Limit"] == ("5" if n <= 10 else "10")
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert int(response.headers["X-RateLimit-Reset"]) > 0
        assert "Spróbuj ponownie za" in text_of(response)


@pytest.mark.config(RATELIMIT_LOGIN="3/15 minutes")
def test_failed_logins_are_throttled_per_client(app, visitor, auth, customers):
    for number in ("900001", "900002", "900003"):
        assert auth.post_login(number, "Zle#Haslo1").status_code == 422
    response = auth.post_login("200005")
    assert response.status_code == 429
    assert "Spróbuj ponownie za" in text_of(response)


def test_ten_customers_behind_one_address_are_not_locked_out_by_each_other(
    app, make_visitor, customers
):
    """Carrier-grade NAT: ten customers share one address, each mistyping twice before the
    right password; every one logs in. Only an address spraying far more is refused."""
    from ebok.models import Customer

    numbers = [f"7000{n:02d}" for n in range(10)]
    with app.app_context():
        password_hash = hash_password(TEST_PASSWORD)
        for number in numbers:
            customer = Customer(number=number, first_name="Jan", last_name="Nowak")
            db.session.add(Account(customer=customer, password_hash=password_hash))
        db.session.commit()
    for number in numbers:
        auth = AuthActions(make_visitor())  # a phone of its own, the same address
        for _ in range(2):
            assert auth.post_login(number, "Zle#Haslo1").status_code == 422
        auth.log_in(number)


def test_logout_ends_this_browsers_session_at_once(app, make_visitor, customers):
    """Each browser has its own session (SPEC §16): logging out on the phone leaves the
    desktop signed in (Bezpieczeństwo ends the others), and the phone's old cookie, sent
    again, is dead."""
    phone, desktop = make_visitor(), make_visitor()
    AuthActions(phone).log_in()
    AuthActions(desktop).log_in()
    old_cookie = phone.client.get_cookie("session")
    assert old_cookie is not None and "." not in old_cookie.value  # only the random id
    phone.post("/wyloguj")
    assert desktop.client.get("/strona-glowna").status_code == 200
    assert phone.client.get("/strona-glowna").status_code == 302
    phone.client.set_cookie("session", old_cookie.value)
    assert phone.client.get("/strona-glowna").status_code == 302


def test_login_rehashes_passwords_with_old_parameters(app, visitor, auth, customers):
    before = existing_account(app, customers["registered"])["password_hash"]
    app.config["ARGON2_TIME_COST"] = 3  # the stored hash has older parameters
    auth.log_in()
    after = existing_account(app, customers["registered"])["password_hash"]
    assert before != after and "t=3" in after


def test_a_rehash_at_login_never_undoes_a_password_set_meanwhile(app, customers):
    """The race of issue 9, finding 9, made deterministic: the login has read the old hash
    (it is in the session) when a reset stores a new one through another connection."""
    app.config["ARGON2_TIME_COST"] = 3  # the stored hash has older parameters
    with app.app_context():
        account = accounts.by_login(customers["registered"].number)
        assert account is not None
        with db.engine.begin() as other_connection:
            other_connection.execute(
                update(Account)
                .where(Account.id == account.id)
                .values(password_hash=hash_password(NEW_PASSWORD))
            )
        assert not password_matches(account, TEST_PASSWORD)
        stored_account = db.session.get(Account, account.id)
        assert stored_account is not None
        stored = stored_account.password_hash
        assert verify_password(stored, NEW_PASSWORD)
        db.session.rollback()


def test_security_headers(visitor):
    response = visitor.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert "<script>" not in body and " style=" not in body
    assert '<html lang="pl">' in visitor.client.get("/").get_data(as_text=True)


def test_session_cookie_flags(app, visitor, customers):
    response = visitor.post(
        "/", {"login": "200005", "password": TEST_PASSWORD}, follow_redirects=False
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sessions_end_after_the_absolute_lifetime(app, visitor, auth, customers):
    from datetime import timedelta

    auth.log_in()
    assert visitor.client.get("/strona-glowna").status_code == 200
    app.config["SESSION_ABSOLUTE_LIFETIME"] = timedelta(seconds=-1)
    response = visitor.client.get("/strona-glowna", follow_redirects=True)
    assert "Logowanie do Strefy Klienta" in text_of(response)
    assert "Ze względów bezpieczeństwa wylogowaliśmy Cię." in text_of(response)


def test_a_login_no_account_can_have_is_just_wrong(visitor, auth, customers):
    # PostgreSQL refuses a NUL byte even as a query parameter; such a login finds nobody.
    for typed in ("ewa\x00kaminska", "200\x00005"):
        response = auth.post_login(typed)
        assert response.status_code == 422
        assert "Nieprawidłowy numer klienta, login lub hasło." in text_of(response)
