"""Issue 18, items 7 to 9, through HTTP: one login budget per account however it is typed,
with a daily cap that leaves the owner's devices and the reset working; SMS sends counted
only when sent, with a share for the owner's devices; and the device cookie after every
successful authentication (login, registration, reset)."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    AuthActions,
    WizardActions,
    follow,
    last_code,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.models import Account

WRONG_PASSWORD = "Zle#Haslo1"
LOGIN_NAME = "ewa.kaminska"
PER_ACCOUNT = 5  # RATELIMIT_LOGIN_PER_ACCOUNT's default, 5/15 minutes
DAILY_CAP = 100  # RATELIMIT_LOGIN_PER_ACCOUNT_DAILY's default, 100/day


def _give_login_name(app, customer, login_name=LOGIN_NAME) -> None:
    with app.app_context():
        db.session.execute(
            update(Account).where(Account.customer_id == customer.id).values(login_name=login_name)
        )
        db.session.commit()


def _stranger_fails(make_visitor, typed_logins) -> list[int]:
    """Wrong passwords from browsers the account does not know; their statuses."""
    return [
        AuthActions(make_visitor()).post_login(typed, WRONG_PASSWORD).status_code
        for typed in typed_logins
    ]


def _device_cookie(visitor) -> str | None:
    cookie = visitor.client.get_cookie("ebok_device")
    return cookie.value if cookie is not None else None


# Item 7: one budget per account.


def test_the_customer_number_and_the_login_name_share_the_accounts_budget(
    app, make_visitor, customers
):
    customer = customers["registered"]
    _give_login_name(app, customer)
    typed = [customer.number, LOGIN_NAME.upper(), f" {customer.number} ", LOGIN_NAME, "200-005"]
    assert _stranger_fails(make_visitor, typed) == [422] * PER_ACCOUNT
    for login in (customer.number, LOGIN_NAME):
        response = AuthActions(make_visitor()).post_login(login, TEST_PASSWORD)
        assert response.status_code == 429
        assert "Spróbuj ponownie za" in text_of(response)


@pytest.mark.config(RATELIMIT_LOGIN="100/15 minutes")  # the clients share one address
def test_a_login_that_matches_no_account_is_answered_as_one_that_does(app, make_visitor, customers):
    """Unknown logins keep a budget of their own, keyed by what was typed: the answers do
    not tell which logins exist."""
    unknown = _stranger_fails(make_visitor, ["nikt.taki"] * (PER_ACCOUNT + 1))
    known = _stranger_fails(make_visitor, [customers["registered"].number] * (PER_ACCOUNT + 1))
    assert unknown == known == [422] * PER_ACCOUNT + [429]


@pytest.mark.config(
    RATELIMIT_LOGIN="100000/15 minutes", RATELIMIT_LOGIN_PER_ACCOUNT="100000/15 minutes"
)
def test_strangers_reach_a_daily_cap_that_spares_the_owners_device_and_the_reset(
    app, visitor, make_visitor, reset_wizard, customers
):
    # Fifteen-minute windows as if each had passed: only the daily cap is left to count.
    customer = customers["registered"]
    _give_login_name(app, customer)
    owner = AuthActions(visitor)
    owner.log_in(customer.number)
    owner.log_out()

    typed = [customer.number, LOGIN_NAME] * (DAILY_CAP // 2)
    assert _stranger_fails(make_visitor, typed) == [422] * DAILY_CAP
    response = AuthActions(make_visitor()).post_login(LOGIN_NAME, TEST_PASSWORD)
    assert response.status_code == 429
    assert "Spróbuj ponownie jutro o" in text_of(response)

    owner.log_in(customer.number)  # the owner's browser has its own budget
    owner.log_out()
    reset_wizard.to_password(customer)  # and the reset works, and clears the counts
    follow(visitor, reset_wizard.set_password())
    AuthActions(make_visitor()).log_in(LOGIN_NAME, NEW_PASSWORD)


# Item 8: SMS sends counted only when sent; the owner's devices have their own share.


def test_double_submits_of_the_channel_step_do_not_use_up_the_customers_sends(
    app, make_visitor, customers
):
    customer = customers["phone_only"]
    stranger = WizardActions(app, make_visitor(), "/rejestracja")
    stranger.start(customer.number)
    # Within DOUBLE_SUBMIT_WINDOW each post gets the code just sent: one SMS.
    for _ in range(6):
        assert stranger.choose("sms", customer.phone).status_code == 200
    assert len(outbox(app, "sms", customer.phone)) == 1

    owner = WizardActions(app, make_visitor(), "/rejestracja")
    owner.to_code(customer)
    response = follow(owner.visitor, owner.resend())
    assert "nie można jeszcze wysłać" not in text_of(response)
    assert len(outbox(app, "sms", customer.phone)) == 2


@pytest.mark.config(DOUBLE_SUBMIT_WINDOW=timedelta(0))
def test_a_browser_that_logged_in_before_has_its_own_share_of_sms_sends(
    app, make_visitor, customers
):
    # Every channel-step post sends here, so each of them counts.
    customer = customers["registered"]
    owner = make_visitor()
    AuthActions(owner).log_in(customer.number)
    AuthActions(owner).log_out()

    stranger = WizardActions(app, make_visitor(), "/zapomnialem-hasla")
    stranger.to_code(customer)
    for _ in range(2):  # RATELIMIT_CODE_SENDS_PER_CUSTOMER: 3 in 15 minutes
        stranger.resend()
    assert "nie można jeszcze wysłać" in text_of(follow(stranger.visitor, stranger.resend()))
    assert len(outbox(app, "sms", customer.phone)) == 3

    # The owner's browser gets a code, and can get it again, from its own share.
    reset = WizardActions(app, owner, "/zapomnialem-hasla")
    reset.to_code(customer)
    assert "nie można jeszcze wysłać" not in text_of(follow(owner, reset.resend()))
    assert len(outbox(app, "sms", customer.phone)) == 5
    code = last_code(app, customer.phone)
    assert reset.enter_code(code).request.path == "/zapomnialem-hasla/haslo"


# Item 9: every successful authentication gives the browser the device cookie.


def _locked_for_strangers(make_visitor, number) -> None:
    assert _stranger_fails(make_visitor, [number] * (PER_ACCOUNT + 1))[-1] == 429


def test_registration_gives_the_browser_the_device_cookie(
    app, visitor, make_visitor, wizard, customers
):
    customer = customers["phone_only"]
    wizard.to_password(customer)
    response = follow(visitor, wizard.set_password())
    assert response.request.path == "/strona-glowna"
    assert _device_cookie(visitor)
    AuthActions(visitor).log_out()

    _locked_for_strangers(make_visitor, customer.number)
    AuthActions(visitor).log_in(customer.number, NEW_PASSWORD)


def test_a_reset_gives_the_browser_the_device_cookie(
    app, visitor, make_visitor, reset_wizard, customers
):
    customer = customers["registered"]
    reset_wizard.to_password(customer)
    follow(visitor, reset_wizard.set_password())
    assert _device_cookie(visitor)

    _locked_for_strangers(make_visitor, customer.number)
    AuthActions(visitor).log_in(customer.number, NEW_PASSWORD)


def test_a_login_gives_the_browser_the_device_cookie(visitor, auth, customers):
    auth.log_in()
    assert _device_cookie(visitor)
