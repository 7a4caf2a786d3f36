"""What a logged-in customer changes in Moje Konto: the password and the login name."""

from enum import Enum

from sqlalchemy.exc import IntegrityError

from ebok import accounts, throttle
from ebok.contact import normalize_login_name
from ebok.extensions import db
from ebok.logs import audit
from ebok.models import Account
from ebok.passwords import verify_password


class PasswordChange(Enum):
    CHANGED = "changed"
    WRONG_CURRENT = "wrong current"


def _current_password_limits(account: Account) -> tuple[tuple[str, str | None], ...]:
    """Guessing the current password is guessing a login: the client's login limit and
    one of the account's own."""
    return (("RATELIMIT_LOGIN", None), ("RATELIMIT_CURRENT_PASSWORD", f"account:{account.id}"))


def check_current_password_limits(account: Account) -> None:
    """Raises Throttled when a limit is used up, before anything in the form is looked at."""
    for name, subject in _current_password_limits(account):
        throttle.check(name, subject)


def change_password(account: Account, current_password: str, new_password: str) -> PasswordChange:
    """The form has checked the new password; only then is the current one checked, so its
    result never comes with other problems. The try is counted first (Throttled when over
    a limit) and given back when right. Every other session ends (the caller gives this
    one a fresh cookie) and the customer is told."""
    limits = _current_password_limits(account)
    for name, subject in limits:
        throttle.hit(name, subject)
    if not verify_password(account.password_hash, current_password):
        audit("password_change_refused", account=account.id)
        return PasswordChange.WRONG_CURRENT
    for name, subject in limits:
        throttle.refund(name, subject)
    accounts.replace_password(account, new_password)
    db.session.commit()
    audit("password_changed", account=account.id)
    return PasswordChange.CHANGED


def set_login_name(account: Account, typed: str | None) -> bool:
    """Sets, changes or (when empty) removes the login name; the form has checked it.
    False when another account took the name after the form's check (the unique index
    decides; nothing is changed)."""
    account.login_name = normalize_login_name(typed) or None
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        audit("login_name_taken_meanwhile", account=account.id)
        return False
    if account.login_name:
        audit("login_name_set", account=account.id)
    return True
