"""Logging in and out: checking a typed login and password, and the session that follows."""

import logging
import time

from flask import session
from flask_login import login_user, logout_user

from ebok import accounts
from ebok.contact import looks_like_customer_number, normalize_customer_number
from ebok.extensions import db
from ebok.models import Account
from ebok.passwords import hash_password, needs_rehash, verify_password

log = logging.getLogger("ebok.auth")


def login_key(typed_login: str) -> str:
    """What identifies the account behind a typed login, for throttling and logs."""
    if looks_like_customer_number(typed_login):
        return f"customer:{normalize_customer_number(typed_login)}"
    return f"login:{typed_login.strip().casefold()}"


def authenticate(typed_login: str, password: str) -> Account | None:
    account = accounts.by_login(typed_login)
    # Unknown logins are hashed too, so the time taken does not tell which exist.
    password_hash = account.password_hash if account is not None else None
    if not verify_password(password_hash, password) or account is None:
        return None
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
        db.session.commit()
    return account


def start_session(account: Account) -> None:
    """A fresh session for the account: nothing from before login carries over."""
    session.clear()
    login_user(account)
    session.permanent = True  # idle timeout: PERMANENT_SESSION_LIFETIME
    session["logged_in_at"] = int(time.time())
    log.info("login account=%s", account.id)


def end_session(account: Account) -> None:
    """Logs out here and everywhere: the old cookies stop working."""
    account.end_all_sessions()
    db.session.commit()
    logout_user()
    session.clear()
    log.info("logout account=%s", account.id)


# The login page fills this in once: after a password reset only the new password is left
# to type. Kept in the session, never in the URL (access logs).
LOGIN_PREFILL = "login_prefill"


def prefill_login(login: str) -> None:
    session[LOGIN_PREFILL] = login


def take_prefilled_login() -> str | None:
    return session.pop(LOGIN_PREFILL, None)
