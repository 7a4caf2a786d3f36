"""Changing the contact e-mail address and mobile number (SPEC §15), the way every change
of what reaches the customer goes (identity.changes): the current password (the form
checks it), then a signed link to the new address or an SMS code to the new number, then
the contact on file changed and the old contact told. The ContactChange row is the
history billing exports; the customers import keeps the new value until billing's file
carries it.
"""

import enum
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select

from ebok.extensions import db
from ebok.identity import changes
from ebok.identity.changes import BILLING_FIELDS, Applied
from ebok.identity.signing import Outcome
from ebok.logs import audit
from ebok.models import Account, ContactChange, Customer, EInvoiceConsent
from ebok.normalising import mask_email, mask_phone
from ebok.wizard.service import check_code, count_send

# How a proof goes out, for the wizard's counts of sends.
CHANNELS = {"email": "email", "phone": "sms"}


class Result(enum.Enum):
    CHANGED = "changed"
    ALREADY_CHANGED = "already_changed"  # the same link confirmed twice (two tabs)


def _mask(field: str, value: str) -> str:
    return mask_email(value) if field == "email" else mask_phone(value)


def request_change(account: Account, field: str, new_value: str) -> ContactChange:
    """Sends the proof to the new value (a link to an address, a code to a number); the
    contact changes when it is given. Counted like registration's sends (RateLimitExceeded,
    CountingUnavailable for SMS while the shared counts are away). Commits."""
    customer = account.customer
    change = changes.start(
        account, field, new_value, count=lambda: count_send(customer, CHANNELS[field])
    )
    db.session.commit()
    sent = "contact_link_sent" if field == "email" else "contact_code_sent"
    audit(sent, account=account.id, to=_mask(field, new_value))
    return change


def pending_email_change(customer: Customer) -> ContactChange | None:
    """The newest e-mail change whose link can still be opened, for Moje Konto to say
    that it waits."""
    return changes.waiting(customer, "email")


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
    check_code(changes.proof_of(change), typed_code, accepted_in_this_wizard=False)
    return _apply(change)


def open_email_link(token: str) -> tuple[Outcome, ContactChange | None]:
    """What the link stands for, without changing anything: the page before the button."""
    outcome, change = changes.open_link(token, "email")
    db.session.commit()
    return outcome, change


def confirm_email_link(token: str) -> tuple[Outcome, Result | None, ContactChange | None]:
    outcome, change = open_email_link(token)
    if outcome is not Outcome.OK or change is None:
        return outcome, None, change
    return outcome, _apply(change), change


def _apply(change: ContactChange) -> Result:
    """Puts the new contact on file and tells the old one, once. Commits."""
    customer, field = change.customer, change.field
    account = customer.account
    assert account is not None, "a deleted account's proofs were superseded"

    def put() -> bool:
        setattr(customer, field, change.new_value)
        return True

    applied = changes.apply(account, change, getattr(customer, field), put)
    if applied is not Applied.CHANGED:
        return Result.ALREADY_CHANGED
    db.session.commit()
    audit(f"contact_{field}_changed", customer=customer.id, to=_mask(field, change.new_value))
    return Result.CHANGED


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
