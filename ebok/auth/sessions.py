"""Finding an account by what the customer types at login, and starting its session."""

import logging
import time

from flask import session
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import func, select

from ebok import messages
from ebok.contact import (
    could_be_login_name,
    looks_like_customer_number,
    normalize_customer_number,
)
from ebok.extensions import db
from ebok.models import Account, Customer, utcnow
from ebok.passwords import hash_password, needs_rehash, verify_password

log = logging.getLogger("ebok.auth")


def login_key(typed_login: str) -> str:
    """What identifies the account behind a typed login, for throttling and logs."""
    if looks_like_customer_number(typed_login):
        return f"customer:{normalize_customer_number(typed_login)}"
    return f"login:{typed_login.strip().casefold()}"


def find_account(typed_login: str) -> Account | None:
    """By customer number (spaces and dashes ignored) or by the login name."""
    if looks_like_customer_number(typed_login):
        statement = (
            select(Account)
            .join(Customer)
            .where(Customer.number == normalize_customer_number(typed_login))
        )
    elif could_be_login_name(typed_login):
        statement = select(Account).where(
            func.lower(Account.login_name) == typed_login.strip().casefold()
        )
    else:
        return None
    return db.session.scalars(statement).first()


def authenticate(typed_login: str, password: str) -> Account | None:
    account = find_account(typed_login)
    # Unknown logins are hashed too, so the time taken does not tell which exist.
    if not verify_password(account.password_hash if account else None, password):
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


def replace_password(account: Account, new_password: str) -> None:
    """Sets a new password, ends every session of the account and tells the customer on
    every contact channel, so one whose password someone else changed finds out. The
    caller commits."""
    account.password_hash = hash_password(new_password)
    account.password_changed_at = utcnow()
    account.end_all_sessions()
    customer = account.customer
    if customer.email:
        messages.send_email(
            customer.email,
            _("Your Strefa Klienta password has been changed"),
            "password_changed",
            customer=customer,
        )
    if customer.sms_phone:
        messages.send_sms(customer.sms_phone, "password_changed", customer=customer)
