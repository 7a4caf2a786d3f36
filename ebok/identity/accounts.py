"""Accounts as the features find and change them: by what the customer types (a customer
number or a login name); a new password, which ends every session and is told on every
contact channel; and the current password that guards a change in Moje Konto. Used by
auth, registration, password_reset, account and einvoice."""

import logging
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from ebok import messages
from ebok.extensions import db
from ebok.i18n import languages, lazy_pgettext
from ebok.identity import sessions, throttle
from ebok.identity.hashing_gate import HashingBusy
from ebok.identity.passwords import hash_password, verify_password
from ebok.logs import audit
from ebok.models import Account, Customer, utcnow
from ebok.normalising import (
    could_be_login_name,
    looks_like_customer_number,
    normalize_customer_number,
    normalize_email,
    normalize_login_name,
)

# Failed logins counted per account (failure_key) for clients the account does not know.
ACCOUNT_LOGIN_LIMITS = ("RATELIMIT_LOGIN_PER_ACCOUNT", "RATELIMIT_LOGIN_PER_ACCOUNT_DAILY")


def login_key(typed_login: str) -> str:
    """What identifies a typed login (the account it may name) in logs, and in the
    counts of failed logins that match no account."""
    if looks_like_customer_number(typed_login):
        return f"customer:{normalize_customer_number(typed_login)}"
    return f"login:{normalize_login_name(typed_login)}"


def failure_key(account: Account | None, typed_login: str) -> str:
    """Whose failed logins an attempt counts against: the account's, whether its customer
    number or its login name was typed; a login that matches no account counts by what was
    typed, so the answers and the work done do not tell which logins exist."""
    return f"account:{account.id}" if account is not None else login_key(typed_login)


def by_login_name(login_name: str, *, other_than: Account | None = None) -> Account | None:
    """Login names are stored lower-case and compared without regard to case; what no
    account can have is not looked up (PostgreSQL refuses a NUL byte, for one)."""
    if not could_be_login_name(login_name):
        return None
    statement = select(Account).where(
        func.lower(Account.login_name) == normalize_login_name(login_name)
    )
    if other_than is not None:
        statement = statement.where(Account.id != other_than.id)
    return db.session.scalars(statement).first()


def by_login(typed_login: str) -> Account | None:
    """By customer number (spaces and dashes ignored) or by the login name."""
    if not looks_like_customer_number(typed_login):
        return by_login_name(typed_login)
    number = normalize_customer_number(typed_login)
    return db.session.scalars(
        select(Account).join(Customer).where(Customer.number == number)
    ).first()


def replace_password(account: Account, new_password: str) -> None:
    """Sets a new password, ends every session of the account and tells the customer on
    every contact channel, so one whose password someone else changed finds out. The
    caller commits."""
    account.password_hash = hash_password(new_password)
    account.password_changed_at = utcnow()
    if account.einvoice_active:
        # An e-Faktura address change's link died with the password, as every change's
        # proof does (identity.changes): the address no longer waits. An activation's
        # link is not a change and stays.
        account.einvoice_pending_address = account.einvoice_pending_source = None
    sessions.end_all_sessions(account)
    # Translators: the subject of the e-mail telling the customer their password was changed.
    subject = lazy_pgettext("e-mail subject", "Your Strefa Klienta password has been changed")
    tell_customer(account, subject, "password_changed")


def _current_password_limits(account: Account) -> tuple[tuple[str, str | None], ...]:
    """Guessing the current password is guessing a login: the client's login limit and
    one of the account's own, shared by every change the password guards."""
    return (("RATELIMIT_LOGIN", None), ("RATELIMIT_CURRENT_PASSWORD", f"account:{account.id}"))


def check_current_password_limits(account: Account) -> None:
    """Raises RateLimitExceeded when a limit is used up, before anything in the form is
    looked at."""
    for name, subject in _current_password_limits(account):
        throttle.check(name, subject)


def confirm_current_password(account: Account, password: str, change: str) -> bool:
    """Whether the current password is right, for the `change` it guards ("password",
    "login_name", "einvoice_address"). The try is counted first (RateLimitExceeded when
    over a limit) and given back when right; a wrong one is audited as
    `{change}_change_refused`."""
    throttle.count_attempt(_current_password_limits(account))
    try:
        matches = verify_password(account.password_hash, password)
    except HashingBusy:
        throttle.attempt_was_right()  # nothing was checked: the attempt is given back
        raise
    if not matches:
        audit(f"{change}_change_refused", account=account.id)
        return False
    throttle.attempt_was_right()
    return True


def rehash_password(account: Account, old_hash: str, password: str) -> bool:
    """Stores the password hashed with the current parameters, unless the hash changed
    since it was read (a reset or password change finishing at the same moment, which must
    win). Commits; False when the stored hash was no longer old_hash."""
    result = cast(
        CursorResult,
        db.session.execute(
            update(Account)
            .where(Account.id == account.id, Account.password_hash == old_hash)
            .values(password_hash=hash_password(password))
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.commit()
    return result.rowcount == 1


def clear_failure_counts(account: Account) -> None:
    """After a reset the customer has proved who they are: the failures counted against
    the account before (theirs or a stranger's) no longer lock them out."""
    customer = account.customer
    for name in ACCOUNT_LOGIN_LIMITS:
        throttle.clear(name, failure_key(account, customer.number))
    throttle.clear("RATELIMIT_CURRENT_PASSWORD", f"account:{account.id}")
    throttle.clear("RATELIMIT_CONTACT_CHECK", f"customer:{customer.id}")


def warn_of_attack(account: Account) -> None:
    """Tells the customer on every contact channel that strangers' wrong passwords have
    paused logging in to the account from unknown devices; at most once per
    RATELIMIT_ATTACK_NOTICE. Commits."""
    if not throttle.once_per("RATELIMIT_ATTACK_NOTICE", f"account:{account.id}"):
        return  # told already
    # Translators: the subject of the e-mail warning of many failed logins to the account.
    subject = lazy_pgettext("e-mail subject", "Attempts to log in to your Strefa Klienta account")
    tell_customer(account, subject, "login_attacked")
    db.session.commit()
    audit("attack_notice_sent", level=logging.WARNING, account=account.id)


def tell_customer(
    account: Account,
    subject: str,
    template: str,
    *,
    emails: Iterable[str | None] | None = None,
    phones: Iterable[str | None] | None = None,
    **context: Any,
) -> None:
    """A notice on every contact channel the customer has (e-mail, mobile phone), in the
    account's stored language: the notices matter when somebody else made the request (a
    stranger's wrong passwords, someone else's new password), whose language says nothing
    about the customer's. `emails` and `phones` replace the contact address and mobile
    number with those given (each written to once). The caller commits."""
    customer, language = account.customer, languages.of_account(account)
    written: set[str] = set()
    for email in filter(None, [customer.email] if emails is None else emails):
        key = normalize_email(email) or email
        if key not in written:
            written.add(key)
            messages.send_email(
                email, subject, template, customer=customer, language=language, **context
            )
    for phone in dict.fromkeys(filter(None, [customer.sms_phone] if phones is None else phones)):
        messages.send_sms(phone, template, customer=customer, language=language, **context)
