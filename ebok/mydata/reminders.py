"""Nie pamiętasz numeru klienta? (SPEC §15): the numbers of the customers with a contact
datum are sent to it. The answer is the same whatever matched, and so is the work: the
message is made and written either way, and kept in the outbox (sent later by the worker)
only when someone has that contact, so neither the page nor its timing tells whether it
exists (bench/forgotten_number.py compares the two).
Limited per client and per contact datum, like the codes."""

import hashlib

from flask_babel import pgettext
from sqlalchemy import func, select

from ebok import messages
from ebok.extensions import db
from ebok.identity import throttle
from ebok.logs import audit
from ebok.models import Customer
from ebok.normalising import normalize_email, normalize_phone, sms_number

TEMPLATE = "customer_numbers"


def contact_of(typed: str) -> tuple[str, str] | None:
    """("email", address) or ("sms", E.164 mobile number) for what the customer typed."""
    if "@" in typed:
        address = normalize_email(typed)
        return ("email", address) if address else None
    phone = sms_number(normalize_phone(typed))
    return ("sms", phone) if phone else None


def send_numbers(channel: str, contact: str) -> None:
    """Counts the request against the client's and the contact's limits
    (RateLimitExceeded), then sends the numbers of the customers with this contact. The
    same work either way (see the module). Commits."""
    throttle.hit("RATELIMIT_CODE_SENDS", fail_closed=channel == "sms")
    throttle.hit(
        "RATELIMIT_NUMBER_REMINDERS_PER_CONTACT",
        _contact_key(contact),
        fail_closed=channel == "sms",
    )
    column = func.lower(Customer.email) if channel == "email" else Customer.phone
    numbers = list(
        db.session.scalars(
            select(Customer.number).where(column == contact).order_by(Customer.number)
        )
    )
    # An unknown contact gets the same work: the message is made and written alike, then
    # taken back (a savepoint rolled back), so both answers take as long; only a known
    # contact's message stays in the outbox for the worker.
    savepoint = None if numbers else db.session.begin_nested()
    shown = numbers or ["0"]
    if channel == "email":
        # Translators: the subject of the e-mail that gives the customer their customer number(s).
        subject = pgettext("e-mail subject", "Your Strefa Klienta customer number")
        messages.send_email(contact, subject, TEMPLATE, numbers=shown)
    else:
        messages.send_sms(contact, TEMPLATE, numbers=shown)
    if savepoint is not None:
        savepoint.rollback()
    db.session.commit()
    # The audit log says whether it matched, for operators; never the contact in full.
    audit("customer_numbers_requested", channel=channel, matched=len(numbers))


def _contact_key(contact: str) -> str:
    """The limit's key: a hash, so the limits' storage holds no contact datum."""
    return "contact:" + hashlib.sha256(contact.encode()).hexdigest()[:32]
