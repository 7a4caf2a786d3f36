"""Logging in and out: checking a typed login and password, and the session that follows."""

import logging
import time

from flask import session
from flask_limiter import RateLimitExceeded
from flask_login import login_user, logout_user

from ebok import accounts, throttle
from ebok.auth.devices import remember_device, trusted_device
from ebok.extensions import db
from ebok.logs import audit, fingerprint
from ebok.models import Account
from ebok.passwords import needs_rehash, verify_password


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
    if not password_matches(account, password):
        audit("login_failed", login=fingerprint(accounts.login_key(typed_login)))
        return None
    throttle.attempt_was_right()
    return account


def authenticate(typed_login: str, password: str) -> Account | None:
    account = accounts.by_login(typed_login)
    return account if password_matches(account, password) else None


def password_matches(account: Account | None, password: str) -> bool:
    # Unknown logins are hashed too, so the time taken does not tell which exist.
    password_hash = account.password_hash if account is not None else None
    if not verify_password(password_hash, password) or account is None:
        return False
    if needs_rehash(account.password_hash) and not accounts.rehash_password(
        account, account.password_hash, password
    ):
        return False  # the password was replaced while this one was being checked
    return True


def start_session(account: Account) -> None:
    """A fresh session for the account (nothing from before login carries over), and the
    device cookie for this browser."""
    session.clear()
    login_user(account)
    session.permanent = True  # idle timeout: PERMANENT_SESSION_LIFETIME
    session["logged_in_at"] = int(time.time())
    remember_device(account)
    audit("login_succeeded", account=account.id)


def end_session(account: Account) -> None:
    """Logs out here and everywhere: the old cookies stop working."""
    account.end_all_sessions()
    db.session.commit()
    logout_user()
    session.clear()
    audit("logout", account=account.id)


# The login page fills this in once: after a password reset only the new password is left
# to type. Kept in the session, never in the URL (access logs).
LOGIN_PREFILL = "login_prefill"


def prefill_login(login: str) -> None:
    session[LOGIN_PREFILL] = login


def take_prefilled_login() -> str | None:
    return session.pop(LOGIN_PREFILL, None)
