"""What a logged-in customer changes in Moje Konto: the password and the login name. The
forms have checked the current password (CurrentPasswordForm) before anything here runs."""

from sqlalchemy.exc import IntegrityError

from ebok.extensions import db
from ebok.identity import accounts, changes
from ebok.logs import audit
from ebok.models import Account
from ebok.normalising import normalize_login_name


def change_password(account: Account, new_password: str) -> None:
    """Every other session ends (the caller gives this one a fresh cookie) and the
    customer is told."""
    accounts.replace_password(account, new_password)
    db.session.commit()
    audit("password_changed", account=account.id)


def set_login_name(account: Account, typed: str | None) -> bool:
    """Sets, changes or (when empty) removes the login name; the form has checked it (the
    current password among it). A change like any other of what reaches the customer
    (identity.changes): written to the history, and the customer told on every contact
    channel, since someone else holding the session could have done it. False when another
    account took the name after the form's check (the unique index decides; nothing is
    changed)."""
    login_name = normalize_login_name(typed) or None
    if login_name == account.login_name:
        return True
    # Written and told first, in the same transaction: setting the name first would let the
    # notice's queries flush it before the commit below, which is where a taken name is caught.
    changes.made(account, "login_name", account.login_name, login_name)
    account.login_name = login_name
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        audit("login_name_taken_meanwhile", account=account.id)
        return False
    audit("login_name_set" if login_name else "login_name_removed", account=account.id)
    return True
