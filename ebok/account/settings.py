"""What a logged-in customer changes in Moje Konto: the password and the login name."""

import logging
import re

from flask_babel import gettext as _
from sqlalchemy import func, select

from ebok.auth.sessions import replace_password, start_session
from ebok.contact import LOGIN_NAME
from ebok.extensions import db
from ebok.models import Account
from ebok.passwords import new_password_problems, verify_password

log = logging.getLogger("ebok.auth")


def change_password(account: Account, current: str, new: str, repeat: str) -> dict[str, list]:
    """Problems by field; with none, the password is changed, every other session ends
    (this one goes on with a fresh cookie) and the customer is told."""
    problems = new_password_problems(new, repeat, account.customer.number)
    if not current:
        problems["current_password"] = [_("Enter your current password.")]
    elif not verify_password(account.password_hash, current):
        problems["current_password"] = [_("The current password is incorrect.")]
    elif new == current and "password" not in problems:
        problems["password"] = [_("The new password must be different from the current one.")]
    if problems:
        return problems
    replace_password(account, new)
    db.session.commit()
    log.info("password changed account=%s", account.id)
    start_session(account)
    return {}


def set_login_name(account: Account, typed: str) -> str | None:
    """Sets, changes or (when empty) removes the login name; returns a problem or None."""
    login_name = (typed or "").strip().casefold()
    if not login_name:
        account.login_name = None
        db.session.commit()
        return None
    if not LOGIN_NAME.fullmatch(login_name):
        return _(
            "A login has from 3 to 40 characters: letters without Polish characters, "
            "digits, dots, dashes and underscores."
        )
    if not re.search(r"[a-z]", login_name):
        return _(
            "A login must contain at least one letter, so that it is not mistaken for a "
            "customer number."
        )
    taken = db.session.scalar(
        select(Account.id).where(
            func.lower(Account.login_name) == login_name, Account.id != account.id
        )
    )
    if taken:
        return _("This login is already taken. Choose a different one.")
    account.login_name = login_name
    db.session.commit()
    log.info("login name set account=%s", account.id)
    return None
