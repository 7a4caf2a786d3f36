"""The signed-in session: started after a login, a registration or a password reset (with
the device cookie), ended everywhere at logout; and the login the login page fills in."""

import time

from flask import session
from flask_login import login_user, logout_user

from ebok.extensions import db
from ebok.identity.devices import forget_device, remember_device
from ebok.logs import audit
from ebok.models import Account


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


def end_every_session(account: Account) -> None:
    """Ends every session of the account, this one included, when the account itself goes
    (its deletion, SPEC §15): logged out here, and the cookies of every other browser stop
    working. The caller deletes the account and commits."""
    account.end_all_sessions()
    logout_user()
    session.clear()
    forget_device()


# The login page fills this in once: after a password reset only the new password is left
# to type. Kept in the session, never in the URL (access logs).
LOGIN_PREFILL = "login_prefill"


def prefill_login(login: str) -> None:
    session[LOGIN_PREFILL] = login


def take_prefilled_login() -> str | None:
    return session.pop(LOGIN_PREFILL, None)
