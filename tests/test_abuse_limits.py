"""The limits of issue 9 through HTTP: each attempt counted before it is checked, a right
one given back (finding 2), and the limits findings 3, 6, 7 and 8 ask for."""

import pytest
from sqlalchemy import event, update
from sqlalchemy.orm import Session
from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    AuthActions,
    Visitor,
    WizardActions,
    existing_account,
    follow,
    give_account,
    last_code,
    last_link,
    outbox,
    text_of,
)

from ebok.extensions import db, limiter
from ebok.identity import throttle
from ebok.models import Account

WRONG_PASSWORD = "Zle#Haslo1"


@pytest.mark.config(RATELIMIT_CODE_ATTEMPTS="2/10 minutes")
def test_the_right_code_is_refused_while_the_client_is_over_its_code_limit(app, wizard, customers):
    customer = customers["both"]
    wizard.to_code(customer)
    code = last_code(app, customer.phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(2):
        assert wizard.enter_code(wrong).status_code == 422
    response = wizard.enter_code(code)
    assert response.status_code == 429
    assert "Spróbuj ponownie za" in text_of(response)


@pytest.mark.config(RATELIMIT_LOGIN_PER_ACCOUNT="2/15 minutes")
def test_right_codes_and_passwords_do_not_use_up_the_limits(app, visitor, auth, customers):
    for _ in range(3):
        auth.log_in(customers["registered"].number, TEST_PASSWORD)
        auth.log_out()
    assert auth.post_login(customers["registered"].number, WRONG_PASSWORD).status_code == 422


OWNERS_NEW_PASSWORD = "Inne#Haslo2"


def _change_password_in_my_account(make_visitor, customer):
    owner = make_visitor()
    AuthActions(owner).log_in(customer.number)
    response = owner.post(
        "/moje-konto/haslo",
        {
            "current_password": TEST_PASSWORD,
            "password": OWNERS_NEW_PASSWORD,
            "password_repeat": OWNERS_NEW_PASSWORD,
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize("pending", ["code", "link", "proved code"])
def test_pending_resets_die_when_the_password_changes(
    app, visitor, make_visitor, reset_wizard, customers, pending
):
    customer = customers["registered"]
    if pending == "link":
        reset_wizard.send_link(customer)
        link = last_link(app, customer.email)
    else:
        reset_wizard.to_code(customer)
        code = last_code(app, customer.phone)
        if pending == "proved code":
            assert reset_wizard.enter_code(code).request.path == "/zapomnialem-hasla/haslo"

    _change_password_in_my_account(make_visitor, customer)

    if pending == "code":
        response = reset_wizard.enter_code(code)
        assert response.status_code == 422
        assert "zastąpiony nowszym" in text_of(response)
    elif pending == "link":
        response = visitor.get(link)
        assert response.status_code == 410
    else:
        response = follow(visitor, reset_wizard.set_password())
        assert "Zacznij od nowa" in text_of(response)
    login = AuthActions(make_visitor())
    assert login.post_login(customer.number, NEW_PASSWORD).status_code == 422
    login.log_in(customer.number, OWNERS_NEW_PASSWORD)


def _change_password(visitor, current, new=NEW_PASSWORD):
    return visitor.post(
        "/moje-konto/haslo",
        {"current_password": current, "password": new, "password_repeat": new},
    )


def test_the_current_password_is_limited_like_a_login(app, visitor, auth, customers):
    auth.log_in()
    for _ in range(5):  # RATELIMIT_CURRENT_PASSWORD, 5/15 minutes
        response = _change_password(visitor, WRONG_PASSWORD)
        assert response.status_code == 422
        assert "Obecne hasło jest nieprawidłowe." in text_of(response)
    response = _change_password(visitor, TEST_PASSWORD)
    assert response.status_code == 429
    assert "Spróbuj ponownie za" in text_of(response)
    AuthActions(visitor).log_out()
    auth.log_in(password=TEST_PASSWORD)


def test_an_invalid_new_password_does_not_tell_whether_the_current_one_was_right(
    visitor, auth, customers
):
    auth.log_in()
    answers = [
        text_of(_change_password(visitor, current, new="krotkie"))
        for current in (WRONG_PASSWORD, TEST_PASSWORD)
    ]
    for answer in answers:
        assert "co najmniej 8 znaków" in answer
        assert "Obecne hasło jest nieprawidłowe." not in answer


STRANGER = "obcy@example.com"


def _activate_to(visitor, address):
    data = {"email": address, "zrodlo": "account", "accept_terms": "y"}
    return visitor.post("/e-faktura/aktywuj", data)


@pytest.mark.parametrize(
    "limits",
    [
        {"RATELIMIT_EINVOICE_LINKS_PER_ACCOUNT": "3/hour"},
        {"RATELIMIT_EINVOICE_LINKS_PER_ACCOUNT": "100/hour", "RATELIMIT_EINVOICE_LINKS": "3/hour"},
    ],
    ids=["per account", "per client"],
)
def test_einvoice_confirmation_mails_to_any_address_are_limited(
    app, visitor, auth, customers, limits
):
    app.config.update(limits)
    auth.log_in()
    for _ in range(3):
        assert _activate_to(visitor, STRANGER).status_code == 200
    response = _activate_to(visitor, STRANGER)
    assert response.status_code == 429
    assert "Wysłaliśmy już zbyt wiele linków potwierdzających" in text_of(response)
    assert "Spróbuj ponownie za" in text_of(response)
    assert len(outbox(app, "email", STRANGER)) == 3


@pytest.mark.config(RATELIMIT_EINVOICE_LINKS_PER_ACCOUNT="1/hour")
def test_einvoice_address_changes_share_the_limit(app, visitor, auth, customers):
    auth.log_in()
    _activate_to(visitor, "ewa.kaminska@example.com")  # the contact address: no link
    data = {"email": STRANGER, "current_password": TEST_PASSWORD}
    assert visitor.post("/e-faktura/adres", data).status_code == 200
    data["email"] = "drugi@example.com"
    response = visitor.post("/e-faktura/adres", data)
    assert response.status_code == 429
    assert outbox(app, "email", "drugi@example.com") == []


def test_a_login_name_taken_at_the_same_moment_is_a_field_error(app, visitor, auth, customers):
    """Issue 9, finding 11: the form found the name free, but another account stores it
    before this one does (made deterministic: just before this request's flush, another
    connection commits it)."""
    give_account(app, customers["both"])
    auth.log_in()
    with app.app_context():
        other_id = existing_account(app, customers["both"])["id"]

    def the_other_customer_is_quicker(session, flush_context, instances):
        with db.engine.begin() as connection:
            connection.execute(
                update(Account).where(Account.id == other_id).values(login_name="wspolny")
            )

    event.listen(Session, "before_flush", the_other_customer_is_quicker, once=True)
    try:
        data = {"login_name": "wspolny", "current_password": TEST_PASSWORD}
        response = visitor.post("/moje-konto/login", data)
    finally:
        if event.contains(Session, "before_flush", the_other_customer_is_quicker):
            event.remove(Session, "before_flush", the_other_customer_is_quicker)
    assert response.status_code == 422
    assert "Ten login jest już zajęty" in text_of(response)
    assert existing_account(app, customers["registered"])["login_name"] is None


def test_a_reset_clears_the_failures_that_locked_the_account(
    app, visitor, make_visitor, reset_wizard, customers
):
    customer = customers["registered"]
    stranger = AuthActions(make_visitor())
    for _ in range(5):
        stranger.post_login(customer.number, WRONG_PASSWORD)
    assert stranger.post_login(customer.number, TEST_PASSWORD).status_code == 429
    reset_wizard.to_password(customer)
    follow(visitor, reset_wizard.set_password())
    AuthActions(make_visitor()).log_in(customer.number, NEW_PASSWORD)


def test_sms_sends_used_up_leave_the_email_link_usable(app, visitor, wizard, customers):
    customer = customers["both"]
    wizard.to_code(customer)
    for _ in range(2):  # RATELIMIT_CODE_SENDS_PER_CUSTOMER: 3 in 15 minutes
        wizard.resend()
    assert "nie można jeszcze wysłać" in text_of(follow(visitor, wizard.resend()))
    response = follow(visitor, wizard.choose("email", customer.email))
    assert response.request.path == "/rejestracja/sprawdz-poczte"
    assert len(outbox(app, "email", customer.email)) == 1


def test_a_browser_that_logged_in_before_keeps_its_own_budget(app, make_visitor, customers):
    number = customers["registered"].number
    owner = AuthActions(make_visitor())
    owner.log_in(number)
    owner.log_out()
    stranger = AuthActions(make_visitor())
    for _ in range(5):
        stranger.post_login(number, WRONG_PASSWORD)
    # The account is locked for clients it does not know, its owner's browser included
    # only if it had never logged in.
    assert AuthActions(make_visitor()).post_login(number, TEST_PASSWORD).status_code == 429
    owner.log_in(number)
    owner.log_out()
    # The owner's browser is limited too, on its own.
    for _ in range(5):
        assert owner.post_login(number, WRONG_PASSWORD).status_code == 422
    assert owner.post_login(number, TEST_PASSWORD).status_code == 429


def test_a_device_cookie_of_another_account_or_forged_is_no_trust(app, make_visitor, customers):
    number = customers["registered"].number
    give_account(app, customers["both"])
    other = AuthActions(make_visitor())
    other.log_in(customers["both"].number)
    other.log_out()
    for _ in range(5):
        AuthActions(make_visitor()).post_login(number, WRONG_PASSWORD)
    assert other.post_login(number, TEST_PASSWORD).status_code == 429
    forger = make_visitor()
    forger.client.set_cookie("ebok_device", "eyJhY2NvdW50IjoxfQ.forged.signature")
    assert AuthActions(forger).post_login(number, TEST_PASSWORD).status_code == 429


def test_the_customer_is_told_of_an_attack_at_most_once_an_hour(app, make_visitor, customers):
    customer = customers["registered"]
    for _ in range(8):
        AuthActions(make_visitor()).post_login(customer.number, WRONG_PASSWORD)
    notices = [
        message
        for message in outbox(app)
        if "Próby logowania" in (message.subject or "") or "próbuje zalogować" in message.body_text
    ]
    assert sorted(message.channel for message in notices) == ["email", "sms"]
    assert {message.recipient for message in notices} == {customer.email, customer.phone}


def _visitor_from(app, address):
    """A visitor whose requests come from `address` (the limits' client)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Visitor(client, htmx=False)


def test_contact_checks_are_limited_per_client_and_per_customer(app, customers):
    app.config["RATELIMIT_CONTACT_CHECK"] = "2/hour"
    customer, other = customers["both"], customers["phone_only"]
    guesser = WizardActions(app, _visitor_from(app, "198.51.100.1"))
    guesser.start(customer.number)
    for _ in range(2):
        assert guesser.choose("sms", "600 000 000").status_code == 422
    # Over the limit even the right number is refused: from this client for any customer...
    assert guesser.choose("sms", customer.phone).status_code == 429
    guesser.start(other.number)
    response = guesser.choose("sms", other.phone)
    assert response.status_code == 429
    assert "Spróbuj ponownie za" in text_of(response)
    # ...and for this customer from any client.
    owner = WizardActions(app, _visitor_from(app, "203.0.113.1"))
    owner.start(customer.number)
    assert owner.choose("sms", customer.phone).status_code == 429
    assert outbox(app, "sms") == []


def test_codes_and_links_sent_are_limited_per_client(app, wizard, customers):
    app.config["RATELIMIT_CODE_SENDS"] = "2/hour"
    wizard.to_code(customers["both"])
    wizard.start(customers["email_only"].number)
    wizard.choose("email", customers["email_only"].email)
    wizard.start(customers["phone_only"].number)
    response = wizard.choose("sms", customers["phone_only"].phone)
    assert response.status_code == 429
    assert "Spróbuj ponownie za" in text_of(response)
    assert len(outbox(app, "sms")) + len(outbox(app, "email")) == 2


def _assert_form_over_the_limit(response, limit: str) -> None:
    """The form again, 429, with when to try again in words and in Flask-Limiter's
    Retry-After and X-RateLimit headers (forms.refuse_throttled)."""
    assert response.status_code == 429
    assert "Spróbuj ponownie za" in text_of(response)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-RateLimit-Limit"] == limit
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_each_form_over_a_limit_answers_with_retry_after(app, visitor, auth, wizard, customers):
    app.config.update(
        RATELIMIT_NUMBER_LOOKUP="1/hour",
        RATELIMIT_CURRENT_PASSWORD="1/15 minutes",
        RATELIMIT_EINVOICE_LINKS_PER_ACCOUNT="1/hour",
    )
    wizard.start("999999")
    _assert_form_over_the_limit(wizard.start(customers["both"].number), "1")
    auth.log_in()
    _change_password(visitor, WRONG_PASSWORD)
    _assert_form_over_the_limit(_change_password(visitor, TEST_PASSWORD), "1")
    _activate_to(visitor, STRANGER)
    _assert_form_over_the_limit(_activate_to(visitor, STRANGER), "1")


# Flask-Limiter's check before every request is left out when no limit of that kind is
# configured (ebok.identity.throttle.init_app); an operator who configures one gets it.
@pytest.fixture
def default_limit(make_app):
    app = make_app(RATELIMIT_DEFAULT="2/minute")
    yield app
    # Flask-Limiter keeps the first default limit it is given for every later app.
    limiter.limit_manager.set_default_limits([])


def test_a_configured_default_limit_still_applies_to_every_page(default_limit):
    client = default_limit.test_client()
    # The guide: a page that enters no limit of its own (Flask-Limiter spares those).
    assert client.get("/instrukcja").status_code == 200
    assert client.get("/instrukcja").status_code == 200
    assert client.get("/instrukcja").status_code == 429


# memory://, whose counts can be listed (Redis's cannot).
@pytest.mark.config(RATELIMIT_STORAGE_URI="memory://")
def test_without_a_default_limit_pages_are_not_counted(app, visitor):
    for _ in range(3):
        assert visitor.get("/instrukcja").status_code == 200
    with app.app_context():
        counted = throttle.counted()
    assert counted == [], counted
