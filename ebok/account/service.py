"""What a logged-in customer changes in Moje Konto: the password and the login name."""

import logging

from ebok import accounts
from ebok.extensions import db
from ebok.models import Account

log = logging.getLogger("ebok.auth")


def normalize_login_name(typed: str | None) -> str:
    """Login names are kept trimmed and in lower case."""
    return (typed or "").strip().casefold()


def change_password(account: Account, new_password: str) -> None:
    """Every other session ends (the caller gives this one a fresh cookie) and the
    customer is told."""
    accounts.replace_password(account, new_password)
    db.session.commit()
    log.info("password changed account=%s", account.id)


def set_login_name(account: Account, typed: str | None) -> None:
    """Sets, changes or (when empty) removes the login name; the form has checked it."""
    account.login_name = normalize_login_name(typed) or None
    db.session.commit()
    if account.login_name:
        log.info("login name set account=%s", account.id)
