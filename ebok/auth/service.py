"""Logging in: checking a typed login and password against the limits on attempts; the
session that follows is ebok.identity.sessions'."""

import logging

from flask_limiter import RateLimitExceeded

from ebok.clients import this_client
from ebok.extensions import db
from ebok.i18n import lazy_pgettext
from ebok.identity import accounts, sessions, throttle, two_step
from ebok.identity.devices import second_step_remembered, trusted_device
from ebok.identity.hashing_gate import HashingBusy
from ebok.identity.passwords import needs_rehash, verify_password
from ebok.logs import audit, fingerprint
from ebok.models import Account


def _login_limits(
    account: Account | None, typed_login: str, device: str | None
) -> list[tuple[str, str | None]]:
    """A trusted device has its own budget; any other client is limited per address and
    per account (in 15 minutes and in a day)."""
    if device is not None:
        return [("RATELIMIT_LOGIN_PER_DEVICE", f"device:{device}")]
    per_account = accounts.failure_key(account, typed_login)
    return [
        ("RATELIMIT_LOGIN", None),
        *((name, per_account) for name in accounts.ACCOUNT_LOGIN_LIMITS),
    ]


def log_in_attempt(typed_login: str, password: str) -> Account | None:
    """The account if the password is right. Each attempt is counted against the limits
    before the password is checked (raising RateLimitExceeded when one is used up) and
    given back when right, so concurrent attempts cannot pass a limit together and the
    limits count only failures."""
    account = accounts.by_login(typed_login)
    try:
        throttle.count_attempt(_login_limits(account, typed_login, trusted_device(account)))
    except RateLimitExceeded:
        audit(
            "login_throttled",
            level=logging.WARNING,
            login=fingerprint(accounts.login_key(typed_login)),
        )
        if account is not None and throttle.limit_reached() in accounts.ACCOUNT_LOGIN_LIMITS:
            accounts.warn_of_attack(account)
        raise
    try:
        matches = password_matches(account, password)
    except HashingBusy:
        throttle.attempt_was_right()  # nothing was checked: the attempt is given back
        raise
    if not matches:
        audit("login_failed", login=fingerprint(accounts.login_key(typed_login)))
        if account is not None:  # the customer sees it in Bezpieczeństwo
            sessions.record_login(account, succeeded=False)
            db.session.commit()
        return None
    throttle.attempt_was_right()
    return account


def password_matches(account: Account | None, password: str) -> bool:
    # Unknown logins are hashed too, so the time taken does not tell which exist.
    password_hash = account.password_hash if account is not None else None
    if not verify_password(password_hash, password) or account is None:
        return False
    if needs_rehash(account.password_hash):
        try:
            if not accounts.rehash_password(account, account.password_hash, password):
                return False  # the password was replaced while this one was being checked
        except HashingBusy:
            pass  # the password was right; the new hash waits for a quieter login
    return True


def needs_second_step(account: Account) -> bool:
    """Two-step login is on, this browser is not remembered for it, and no password reset
    by SMS has just proved the phone here."""
    if account.two_step is None or second_step_remembered(account):
        return False
    return not sessions.take_second_factor_proof(account)


def start_second_step(account: Account, *, again: bool = False) -> bool:
    """The login waits for its second step; by SMS, the code is sent now (`again`: a new
    one for the login already waiting, whose wrong tries still count). False when the
    SMS could not be sent (limits, or no shared counts): a recovery code still works."""
    sms_verification = sessions.pending_sms_verification() if again else None
    sent = True
    if account.two_step == two_step.SMS:
        try:
            sms_verification = two_step.send_sms_code(account, two_step.LOGIN_PURPOSE).id
        except (RateLimitExceeded, throttle.CountingUnavailable):
            db.session.rollback()
            sent = False
    if again:
        sessions.replace_pending_sms_verification(sms_verification)
    else:
        sessions.await_second_step(account, sms_verification)
    return sent


def check_second_step(account: Account, typed: str) -> two_step.Outcome:
    """A code at the second step, counted against the client's code attempts and the
    account's (raising RateLimitExceeded when one is used up); a wrong one goes into the
    login history as a failed attempt."""
    outcome = two_step.check_code_counted(account, typed, sessions.pending_sms_verification())
    if outcome is two_step.Outcome.WRONG:
        sessions.record_login(account, succeeded=False)
    db.session.commit()
    return outcome


def tell_of_new_browser(account: Account) -> None:
    """A login from a browser new to the account: the customer hears of it (not on the
    first login of all, whose browser is new by nature)."""
    if sessions.logins_recorded(account) <= 1:
        return
    client = this_client()
    # Translators: the subject of the e-mail telling the customer of a login from a new browser.
    subject = lazy_pgettext("e-mail subject", "A new login to Strefa Klienta")
    accounts.tell_customer(
        account, subject, "new_browser", browser=client.browser, system=client.system
    )
    db.session.commit()
