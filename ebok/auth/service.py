"""Logging in: checking a typed login and password against the limits on attempts; the
session that follows is ebok.identity.sessions'."""

import logging

from flask_limiter import RateLimitExceeded

from ebok.identity import accounts, throttle
from ebok.identity.devices import trusted_device
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
