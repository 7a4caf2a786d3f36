"""Electronic or paper: an invoice goes the way e-Faktura stood for its customer on its
issue date (SPEC §11), read from the consent record (activated, re-addressed, withdrawn)."""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy import select

from ebok.extensions import db
from ebok.models import Account, EInvoiceConsent

ACTIVE_EVENTS = ("activated", "address_changed")


def electronic_on(customer_ids: Iterable[int]) -> Callable[[int, date], bool]:
    """A test `(customer id, issue date) -> electronic?` for these customers, from one
    query: the last consent event recorded on or before the issue date decides."""
    customer_ids = set(customer_ids)
    events: dict[int, list[tuple[date, bool]]] = defaultdict(list)
    if customer_ids:
        rows = db.session.execute(
            select(Account.customer_id, EInvoiceConsent.event, EInvoiceConsent.recorded_at)
            .join(EInvoiceConsent, EInvoiceConsent.account_id == Account.id)
            .where(Account.customer_id.in_(customer_ids))
            .order_by(EInvoiceConsent.recorded_at, EInvoiceConsent.id)
        )
        for customer_id, event, recorded_at in rows:
            events[customer_id].append((recorded_at.date(), event in ACTIVE_EVENTS))

    def electronic(customer_id: int, issue_date: date) -> bool:
        status = False
        for day, active in events.get(customer_id, ()):
            if day > issue_date:
                break
            status = active
        return status

    return electronic
