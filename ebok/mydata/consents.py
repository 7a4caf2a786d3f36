"""Marketing consents ("Zgody", SPEC §15): by e-mail, SMS and phone, each on or off, off
until the customer says otherwise. Every change is a row (when, what, the wording's
version, the page it was given on); the newest row of a channel is its state. Kept when
the online account is deleted: they are the operator's record of what was agreed."""

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select

from ebok.extensions import db
from ebok.logs import audit
from ebok.models import Customer, MarketingConsent

CHANNELS = ("email", "sms", "phone")
# The version of the consents' wording on the page; change it whenever the wording changes.
WORDING_VERSION = "2026-12"
SOURCE = "consents_page"
EXPORT_HEADER = [
    "customer_number",
    "channel",
    "granted",
    "wording_version",
    "source",
    "recorded_at",
]


def history(customer: Customer) -> list[MarketingConsent]:
    """Every change, newest first."""
    return list(
        db.session.scalars(
            select(MarketingConsent)
            .where(MarketingConsent.customer_id == customer.id)
            .order_by(MarketingConsent.recorded_at.desc(), MarketingConsent.id.desc())
        )
    )


def current(customer: Customer) -> dict[str, bool]:
    """Each channel's state: its newest record, off without one."""
    state = dict.fromkeys(CHANNELS, False)
    for record in reversed(history(customer)):
        state[record.channel] = record.granted
    return state


def record_choices(customer: Customer, chosen: dict[str, bool]) -> list[str]:
    """Records the channels whose state the customer changed; the channels changed. Commits."""
    state = current(customer)
    changed = [channel for channel in CHANNELS if chosen[channel] != state[channel]]
    for channel in changed:
        db.session.add(
            MarketingConsent(
                customer_id=customer.id,
                channel=channel,
                granted=chosen[channel],
                wording_version=WORDING_VERSION,
                source=SOURCE,
            )
        )
    db.session.commit()
    for channel in changed:
        audit(
            "marketing_consent_given" if chosen[channel] else "marketing_consent_withdrawn",
            customer=customer.id,
            channel=channel,
        )
    return changed


def export_rows(since: datetime) -> Iterator[tuple[str, str, str, str, str, str]]:
    """The changes recorded since `since` (naive UTC), oldest first, for billing's CSV."""
    statement = (
        select(Customer.number, MarketingConsent)
        .join(Customer, Customer.id == MarketingConsent.customer_id)
        .where(MarketingConsent.recorded_at >= since)
        .order_by(MarketingConsent.recorded_at, MarketingConsent.id)
        .execution_options(yield_per=1000)
    )
    for number, record in db.session.execute(statement):
        yield (
            number,
            record.channel,
            "yes" if record.granted else "no",
            record.wording_version,
            record.source,
            record.recorded_at.isoformat(timespec="seconds") + "Z",
        )
