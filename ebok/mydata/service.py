"""Changing the contact e-mail address and mobile number (SPEC §15).

A change is asked for with the current password (the form checks it), then proved: a
signed link to the new address or an SMS code to the new number, made and checked by the
registration's machinery (identity.verification, with purposes of their own). Only then
is the contact on file changed, and the old contact told. The ContactChange row is the
history billing exports; the customers import keeps the new value until billing's file
carries it.
"""

import enum
from collections.abc import Iterator
from datetime import datetime

from flask import url_for
from flask_babel import pgettext
from flask_limiter import RateLimitExceeded
from sqlalchemy import select

from ebok import messages
from ebok.extensions import db
from ebok.i18n import languages, lazy_pgettext
from ebok.i18n.durations import sms_code_minutes
from ebok.identity import throttle, verification
from ebok.identity.changes import BILLING_FIELDS
from ebok.identity.signing import Outcome, external_url
from ebok.logs import audit
from ebok.models import (
    Account,
    ContactChange,
    Customer,
    EInvoiceConsent,
    Verification,
    utcnow,
)
from ebok.normalising import mask_email, mask_phone, sms_number
from ebok.wizard.service import check_code, count_send

# The Verification purposes of the proofs (the e-mail one is also a signed-link purpose).
PURPOSES = {"email": "contact_email", "phone": "contact_phone"}
FIELDS = tuple(PURPOSES)


class Result(enum.Enum):
    CHANGED = "changed"
    ALREADY_CHANGED = "already_changed"  # the same link confirmed twice (two tabs)


def _mask(field: str, value: str) -> str:
    return mask_email(value) if field == "email" else mask_phone(value)


def _start(account: Account, field: str, new_value: str) -> tuple[ContactChange, str]:
    """A pending change and its proof's secret; older pending changes of the field stop
    working (their Verification is superseded). Counted like registration's sends
    (RateLimitExceeded, CountingUnavailable for SMS while the shared counts are away)."""
    customer = account.customer
    channel = "email" if field == "email" else "sms"
    verification.lock_customer(customer)
    try:
        count_send(customer, channel)
    except (RateLimitExceeded, throttle.CountingUnavailable):
        db.session.rollback()  # lets go of the customer's row at once
        raise
    record, secret = verification.start(customer, PURPOSES[field], channel)
    change = ContactChange(
        customer_id=customer.id,
        field=field,
        old_value=getattr(customer, field),
        new_value=new_value,
        verification_id=record.id,
    )
    db.session.add(change)
    db.session.flush()
    return change, secret


def request_email_change(account: Account, address: str) -> ContactChange:
    """Sends a link to the new address; the address changes when it is opened. Commits."""
    change, token = _start(account, "email", address)
    link = external_url(url_for("mydata.confirm_email", token=token))
    messages.send_email(
        address,
        # Translators: the subject of the e-mail with the link that confirms a new contact address.
        pgettext("e-mail subject", "Confirm your new e-mail address"),
        "contact_email_link",
        verification_id=change.verification_id,
        customer=account.customer,
        link=link,
    )
    db.session.commit()
    audit("contact_link_sent", account=account.id, to=mask_email(address))
    return change


def request_phone_change(account: Account, phone: str) -> ContactChange:
    """Sends an SMS code to the new number; the number changes when the code is typed.
    Commits."""
    change, code = _start(account, "phone", phone)
    messages.send_sms(
        phone,
        "contact_code",
        verification_id=change.verification_id,
        code=code,
        minutes=sms_code_minutes(),
    )
    db.session.commit()
    audit("contact_code_sent", account=account.id, to=mask_phone(phone))
    return change


def resend_phone_code(account: Account, change: ContactChange) -> ContactChange:
    """A new code for the number waiting for one, the older code dead: a new change
    request for the same number, counted like the first. Commits."""
    return request_phone_change(account, change.new_value)


def pending_email_change(customer: Customer) -> ContactChange | None:
    """The newest e-mail change whose link can still be opened, for Moje Konto to say
    that it waits."""
    change = db.session.scalars(
        select(ContactChange)
        .where(
            ContactChange.customer_id == customer.id,
            ContactChange.field == "email",
            ContactChange.changed_at.is_(None),
        )
        .order_by(ContactChange.id.desc())
    ).first()
    if change is None:
        return None
    record = _proof(change)
    live = record.used_at is None and record.superseded_at is None
    return change if live and record.expires_at > utcnow() else None


def pending_phone_change(account: Account, change_id: object) -> ContactChange | None:
    """The account's phone change waiting for its code, by the id the session keeps."""
    if not isinstance(change_id, int):
        return None
    change = db.session.get(ContactChange, change_id)
    if change is None or change.customer_id != account.customer_id or change.field != "phone":
        return None
    return change if change.changed_at is None else None


def confirm_phone_change(change: ContactChange, typed_code: str) -> Result:
    """Checks the code as registration does (tries, expiry, the client's limit; Problem
    for the customer to fix), then makes the change. Commits."""
    record = _proof(change)
    check_code(record, typed_code, accepted_in_this_wizard=False)
    return _apply(change)


def _proof(change: ContactChange) -> Verification:
    record = db.session.get(Verification, change.verification_id)
    assert record is not None, "a change is written with its proof"
    return record


def open_email_link(token: str) -> tuple[Outcome, ContactChange | None]:
    """What the link stands for, without changing anything: the page before the button
    (mail scanners open links, only the customer presses buttons)."""
    outcome, record = verification.check_link(token, PURPOSES["email"])
    db.session.commit()
    change = _change_of(record)
    if outcome is Outcome.OK and change is None:
        return Outcome.INVALID, None
    return outcome, change


def confirm_email_link(token: str) -> tuple[Outcome, Result | None, ContactChange | None]:
    outcome, change = open_email_link(token)
    if outcome is not Outcome.OK or change is None:
        return outcome, None, change
    return outcome, _apply(change), change


def _change_of(record: Verification | None) -> ContactChange | None:
    if record is None:
        return None
    return db.session.scalars(
        select(ContactChange).where(ContactChange.verification_id == record.id)
    ).first()


def _apply(change: ContactChange) -> Result:
    """Spends the proof (once: of two tabs only one gets here), puts the new contact on
    file and tells the old one. Commits."""
    if not verification.use_up(_proof(change).id):
        db.session.rollback()
        return Result.ALREADY_CHANGED
    customer = change.customer
    old_value = getattr(customer, change.field)
    change.old_value = old_value
    change.changed_at = utcnow()
    setattr(customer, change.field, change.new_value)
    _tell_old_contact(customer, change.field, old_value)
    db.session.commit()
    audit(
        f"contact_{change.field}_changed",
        customer=customer.id,
        to=_mask(change.field, change.new_value),
    )
    return Result.CHANGED


def _tell_old_contact(customer: Customer, field: str, old_value: str | None) -> None:
    """The old address or number learns of the change (someone holding the session and
    the password could have made it), and so does the other contact channel: e-mail and
    SMS, in the customer's language, saying what to do if it was not them."""
    language = languages.of_account(customer.account)
    old_email = old_value if field == "email" else customer.email
    old_phone = sms_number(old_value if field == "phone" else customer.phone)
    template = f"contact_{field}_changed"
    if old_email:
        subject = (
            # Translators: the subject of the e-mail telling the customer their contact e-mail
            # address was changed.
            lazy_pgettext("e-mail subject", "Your contact e-mail address has been changed")
            if field == "email"
            # Translators: the subject of the e-mail telling the customer their contact
            # phone number was changed.
            else lazy_pgettext("e-mail subject", "Your contact phone number has been changed")
        )
        messages.send_email(old_email, subject, template, customer=customer, language=language)
    if old_phone:
        messages.send_sms(old_phone, template, customer=customer, language=language)


def einvoice_records(account: Account) -> list[EInvoiceConsent]:
    """The e-Faktura consent's own record (SPEC §5.1), newest first."""
    return list(
        db.session.scalars(
            select(EInvoiceConsent)
            .where(EInvoiceConsent.account_id == account.id)
            .order_by(EInvoiceConsent.recorded_at.desc(), EInvoiceConsent.id.desc())
        )
    )


EXPORT_HEADER = ["customer_number", "field", "old_value", "new_value", "changed_at"]


def export_rows(since: datetime) -> Iterator[tuple[str, str, str, str, str]]:
    """The changes made since `since` (naive UTC), oldest first, for billing's CSV."""
    statement = (
        select(Customer.number, ContactChange)
        .join(ContactChange.customer)
        .where(ContactChange.changed_at >= since, ContactChange.field.in_(BILLING_FIELDS))
        # Retention emptied their values: nothing left to tell billing.
        .where(Customer.personal_data_removed_at.is_(None))
        .order_by(ContactChange.changed_at, ContactChange.id)
        .execution_options(yield_per=1000)
    )
    for number, change in db.session.execute(statement):
        assert change.changed_at is not None, "only changes made are exported"
        changed_at = change.changed_at.isoformat(timespec="seconds") + "Z"
        yield number, change.field, change.old_value or "", change.new_value, changed_at


def history(customer: Customer) -> list[ContactChange]:
    """The changes made, newest first."""
    return list(
        db.session.scalars(
            select(ContactChange)
            .where(ContactChange.customer_id == customer.id, ContactChange.changed_at.is_not(None))
            .order_by(ContactChange.changed_at.desc(), ContactChange.id.desc())
        )
    )
