"""Logging in and out: who the customer is, for the rest of the app."""

import hmac

from flask_login import LoginManager

from ebok.extensions import db
from ebok.models import Account


def load_account(user_id: str) -> Account | None:
    """The account behind the session cookie's user id ("<id>:<session token>"); a
    token that has changed since (logout, a new password) ends the session."""
    account_id, _, session_token = user_id.partition(":")
    if not account_id.isdecimal():
        return None
    account = db.session.get(Account, int(account_id))
    if account is None or not hmac.compare_digest(account.session_token, session_token):
        return None
    return account


def init_login_manager(login_manager: LoginManager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page itself says enough
    login_manager.session_protection = None  # sessions end through Account.session_token
    login_manager.user_loader(load_account)
