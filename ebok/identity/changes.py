"""One way of changing what reaches the customer (SPEC §15): the contact e-mail address
and phone number, the e-Faktura address and the login name.

Every change goes the same way:
1. the current password, limited like a login (accounts.confirm_current_password, which
   the features' CurrentPasswordForm calls: one limit shared by every change);
2. where the field needs it, a proof of the new value (`start`): a signed link to a new
   e-mail address, an SMS code to a new number, made and checked by the registration's
   machinery (identity.verification); a newer request, a new password or a cancel makes
   the older proof stop working (superseded), the same for every field;
3. the change made (`apply` once proved, `made` when the password is all), written as one
   ContactChange row, the history shown to the customer in their data;
4. the customer told (`tell`) through the old contact, in their language, with what to do
   if it was not them: the old value on its own channel instead of the new one, and the
   contact e-mail and mobile number besides.

What a field's value is and how it is put on file stays with its feature (mydata for the
contacts, einvoice, account), which calls this module. The contact fields are billing's
(`flask contacts export`, and the customers import keeps them until billing's file
carries them); the others are settled as they are made, billing having nothing to take
from them.
"""

import enum
from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for
from flask_limiter import RateLimitExceeded
from sqlalchemy import select, update

from ebok import messages
from ebok.extensions import db
from ebok.i18n import LazyText, lazy_pgettext
from ebok.i18n.durations import sms_code_minutes
from ebok.identity import accounts, throttle, verification
from ebok.identity.signing import Outcome, external_url
from ebok.models import Account, ContactChange, Customer, Verification, utcnow
from ebok.normalising import normalize_email, sms_number


@dataclass(frozen=True)
class Kind:
    """A field the customer changes, and how its change goes."""

    notice: str  # the message template telling the customer it was changed
    subject: LazyText  # that e-mail's subject
    # The proof of a new value: "email" (a link to it) or "sms" (a code to it); None when
    # the password is all.
    proof: str | None = None
    purpose: str = ""  # the proof's Verification (and signed-link) purpose
    proof_template: str = ""  # the message carrying the link or the code
    proof_subject: LazyText | None = None  # a link's e-mail subject
    link_endpoint: str = ""  # the view a link opens (its `token` argument)
    billing: bool = False  # billing keeps the field and learns of changes from the export


KINDS = {
    "email": Kind(
        "contact_email_changed",
        # Translators: the subject of the e-mail telling the customer their contact e-mail
        # address was changed.
        lazy_pgettext("e-mail subject", "Your contact e-mail address has been changed"),
        proof="email",
        purpose="contact_email",
        proof_template="contact_email_link",
        # Translators: the subject of the e-mail with the link that confirms a new contact address.
        proof_subject=lazy_pgettext("e-mail subject", "Confirm your new e-mail address"),
        link_endpoint="mydata.confirm_email",
        billing=True,
    ),
    "phone": Kind(
        "contact_phone_changed",
        # Translators: the subject of the e-mail telling the customer their contact
        # phone number was changed.
        lazy_pgettext("e-mail subject", "Your contact phone number has been changed"),
        proof="sms",
        purpose="contact_phone",
        proof_template="contact_code",
        billing=True,
    ),
    "einvoice_address": Kind(
        "einvoice_address_replaced",
        # Translators: the subject of the e-mail telling the previous address (and the
        # customer's contact e-mail) that invoice notices now go to another address.
        lazy_pgettext("e-mail subject", "The address for your e-Faktura notices has been changed"),
        proof="email",
        purpose="einvoice_change",
        proof_template="einvoice_confirm_address",
        # Translators: the subject of the e-mail with the link that confirms the address.
        proof_subject=lazy_pgettext("e-mail subject", "Confirm the address for e-Faktura"),
        link_endpoint="einvoice.confirm",
    ),
    "login_name": Kind(
        "login_name_changed",
        # Translators: the subject of the e-mail telling the customer their login was changed.
        lazy_pgettext("e-mail subject", "Your Strefa Klienta login has been changed"),
    ),
}

# The fields billing keeps, and learns of from the export.
BILLING_FIELDS = tuple(field for field, kind in KINDS.items() if kind.billing)


class Applied(enum.Enum):
    CHANGED = "changed"
    ALREADY_CHANGED = "already_changed"  # the proof was spent already (two tabs)
    CHANGED_MEANWHILE = "changed_meanwhile"  # the feature could not put the value on file


def start(
    account: Account, field: str, new_value: str, *, count: Callable[[], None]
) -> ContactChange:
    """A change waiting for its proof, and the proof sent to the new value: older
    waiting changes of the field stop working (their Verification is superseded).
    `count` counts the send against the feature's limits first (RateLimitExceeded, or
    CountingUnavailable, which let go of the customer's row at once). The caller commits."""
    kind = KINDS[field]
    assert kind.proof is not None, f"a {field} change needs no proof"
    customer = account.customer
    verification.lock_customer(customer)  # one proof at a time per customer
    try:
        count()
    except (RateLimitExceeded, throttle.CountingUnavailable):
        db.session.rollback()
        raise
    record, secret = verification.start(customer, kind.purpose, kind.proof)
    change = ContactChange(
        customer_id=customer.id,
        field=field,
        old_value=None,  # written when made: the value may change meanwhile
        new_value=new_value,
        verification_id=record.id,
    )
    db.session.add(change)
    db.session.flush()
    if kind.proof == "sms":
        messages.send_sms(
            new_value,
            kind.proof_template,
            verification_id=record.id,
            code=secret,
            minutes=sms_code_minutes(),
        )
    else:
        assert kind.proof_subject is not None
        messages.send_email(
            new_value,
            kind.proof_subject,
            kind.proof_template,
            verification_id=record.id,
            customer=customer,
            link=external_url(url_for(kind.link_endpoint, token=secret)),
        )
    return change


def proof_of(change: ContactChange) -> Verification:
    record = db.session.get(Verification, change.verification_id)
    assert record is not None, "a change waiting for a proof is written with it"
    return record


def open_link(token: str, field: str) -> tuple[Outcome, ContactChange | None]:
    """What a link stands for, without changing anything (a page with a button comes
    first: mail scanners open links, only the customer presses buttons). Opening it
    proves the address; the caller commits."""
    outcome, record = verification.check_link(token, KINDS[field].purpose)
    change = None
    if record is not None:
        change = db.session.scalars(
            select(ContactChange).where(ContactChange.verification_id == record.id)
        ).first()
    if outcome is Outcome.OK and change is None:
        return Outcome.INVALID, None
    return outcome, change


def waiting(customer: Customer, field: str) -> ContactChange | None:
    """The newest change of the field whose proof can still be given."""
    change = db.session.scalars(
        select(ContactChange)
        .where(
            ContactChange.customer_id == customer.id,
            ContactChange.field == field,
            ContactChange.changed_at.is_(None),
        )
        .order_by(ContactChange.id.desc())
    ).first()
    return change if change is not None and verification.still_open(proof_of(change)) else None


def cancel(customer: Customer, field: str) -> None:
    """The field's waiting changes stop working (their proofs superseded). The caller
    commits."""
    db.session.execute(
        update(Verification)
        .where(
            Verification.customer_id == customer.id,
            Verification.purpose == KINDS[field].purpose,
            Verification.used_at.is_(None),
            Verification.superseded_at.is_(None),
        )
        .values(superseded_at=utcnow())
    )


def apply(
    account: Account, change: ContactChange, old_value: str | None, put: Callable[[], bool]
) -> Applied:
    """Spends the change's proof (once: of two tabs only one gets here), puts the new
    value on file (`put`, the feature's; False when it could not, having rolled back),
    records the change and tells the customer. The caller commits."""
    if not verification.use_up(proof_of(change).id):
        db.session.rollback()
        return Applied.ALREADY_CHANGED
    if not put():
        return Applied.CHANGED_MEANWHILE
    _record(change, old_value)
    tell(account, change.field, old_value, change.new_value)
    return Applied.CHANGED


def made(account: Account, field: str, old_value: str | None, new_value: str | None) -> None:
    """A change needing no proof (the login name, or an e-Faktura address that is the
    contact address already), written and told. Call it before putting the value on file:
    the notice's queries would flush the value early. The caller commits."""
    change = ContactChange(customer_id=account.customer_id, field=field)
    change.new_value = new_value or ""  # a login name removed
    db.session.add(change)
    _record(change, old_value)
    tell(account, field, old_value, new_value)


def _record(change: ContactChange, old_value: str | None) -> None:
    now = utcnow()
    change.old_value = old_value
    change.requested_at = change.requested_at or now
    change.changed_at = now
    change.settled_at = None if KINDS[change.field].billing else now


def tell(account: Account, field: str, old_value: str | None, new_value: str | None) -> None:
    """Someone holding the session and the password could have made the change: the old
    contact learns of it, on every channel the customer has, in their language, saying
    what to do if it was not them (the templates' shared sentence). The old value takes
    the place of the new one on its channel; the new value is never written to (it has
    had its proof). The caller commits."""
    kind, customer = KINDS[field], account.customer
    emails = [old_value if kind.proof == "email" else None, customer.email]
    phones = [sms_number(old_value) if kind.proof == "sms" else customer.sms_phone]
    accounts.tell_customer(
        account,
        kind.subject,
        kind.notice,
        emails=[email for email in emails if email and not _same(email, new_value)],
        phones=[phone for phone in phones if phone and phone != new_value],
        address=new_value,
    )


def _same(email: str, other: str | None) -> bool:
    return normalize_email(email) == normalize_email(other or "")
