"""What billing needs to know of e-Faktura (issue 28, 15a): every activation, address
change and withdrawal recorded since a moment, from the consent records, so it knows whom
to stop (or start again) posting paper invoices to and where the electronic ones go.
`flask einvoice export --since DATE` writes it as CSV."""

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

from sqlalchemy import select

from ebok.extensions import db
from ebok.models import Account, Customer, EInvoiceConsent

COLUMNS = (
    "consent_id",
    "customer_number",
    "event",
    "delivery",
    "email",
    "terms_version",
    "source",
    "recorded_at",
)
# The delivery each event leaves the customer with, as the invoices' `delivery` says it.
DELIVERY = {"activated": "electronic", "address_changed": "electronic", "withdrawn": "paper"}
ROWS_PER_FETCH = 1000


def changes_since(since: datetime) -> Iterator[tuple[str, ...]]:
    """The CSV rows of the consent records since `since` (naive UTC), oldest first; read
    in chunks, so a first export of years of records keeps memory flat."""
    query = (
        select(EInvoiceConsent, Customer.number)
        .join(Account, Account.id == EInvoiceConsent.account_id)
        .join(Customer, Customer.id == Account.customer_id)
        .where(EInvoiceConsent.recorded_at >= since)
        .order_by(EInvoiceConsent.recorded_at, EInvoiceConsent.id)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    for consent, customer_number in db.session.execute(query):
        yield (
            str(consent.id),
            customer_number,
            consent.event,
            DELIVERY.get(consent.event, ""),
            consent.address or "",
            consent.terms_version or "",
            consent.source,
            consent.recorded_at.replace(microsecond=0).isoformat() + "Z",
        )


def write_csv(since: datetime, output: TextIO) -> int:
    """Writes the header and the rows; returns how many rows."""
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in changes_since(since):
        writer.writerow(row)
        count += 1
    return count
