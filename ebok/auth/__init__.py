"""Logging in and out: who the customer is, for the rest of the app."""

from flask_login import LoginManager

from ebok.identity.sessions import current_session
from ebok.models import Account


def load_account(user_id: str) -> Account | None:
    """The account of this browser's session row, loaded with it (no query of its own);
    a session without a row (ended, timed out) has no account."""
    record = current_session().record
    if record is None or str(record.account_id) != user_id:
        return None
    return record.account


def init_login_manager(login_manager: LoginManager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page itself says enough
    login_manager.session_protection = None  # sessions end by deleting their row
    login_manager.user_loader(load_account)
