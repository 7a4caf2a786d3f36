"""What the Faktury pages and the Strona Główna cards show (SPEC §11), for one customer:
every query is bound to the signed-in customer, so another customer's invoice is simply
not found, whatever its id or number."""

import enum
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Integer, bindparam, exists, extract, func, select

from ebok.customers.bank_accounts import group_in_fours, iban_in_fours
from ebok.extensions import db
from ebok.invoices.formatting import (
    InvoiceData,
    Status,
    pdf_filename,
    status_label,
    status_of,
)
from ebok.invoices.storage import CorruptFile, invoice_storage
from ebok.models import Customer, Invoice, Payment, payment_invoices

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

log = logging.getLogger("ebok.invoices")
_INVOICES = Invoice.__table__
_PAYMENTS = Payment.__table__
NEWEST_FIRST = (_INVOICES.c.issue_date.desc(), _INVOICES.c.id.desc())


@dataclass(frozen=True)
class ListedInvoice:
    """An invoice as a page lists it, with its status worked out here, not in a template."""

    invoice: InvoiceData
    status: Status
    status_text: str

    @property
    def kind(self) -> str:
        """The status as a CSS modifier: invoice--overdue, tag--paid-online."""
        return self.status.value


@dataclass(frozen=True)
class InvoicePage:
    invoices: list[ListedInvoice]
    page: int
    pages: int
    total: int
    year: int | None


def invoice_years(customer_id: int) -> dict[int, int]:
    """The years the customer has invoices from, newest first, each with how many: one
    GROUP BY gives both the year filter's choices and the page's count."""
    rows = db.session.execute(_YEARS, {"customer_id": customer_id})
    return {int(value): count for value, count in rows}


def invoice_page(
    customer_id: int, year: int | None, page: int, per_page: int, years: dict[int, int]
) -> InvoicePage:
    """One page of the customer's invoices, newest first, of one year or all (`years` as
    invoice_years gives them: the count without a query of its own); a page past the last
    gives the last. Each invoice comes with whether it is paid online, in the same query."""
    total = years.get(year, 0) if year is not None else sum(years.values())
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    values: dict[str, object] = {
        "customer_id": customer_id,
        "limit": per_page,
        "offset": (page - 1) * per_page,
    }
    if year is None:
        rows = db.session.execute(_PAGE, values).all()
    else:
        values.update(first_day=date(year, 1, 1), last_day=date(year, 12, 31))
        rows = db.session.execute(_PAGE_OF_YEAR, values).all()
    today = date.today()
    texts: dict[Status, str] = {}  # each status translated once per page
    listed = []
    for row in rows:
        status = status_of(row, today, bool(row.paid_online))
        if status not in texts:
            texts[status] = status_label(status)
        listed.append(ListedInvoice(row, status, texts[status]))
    return InvoicePage(listed, page, pages, total, year)


def find_invoice(
    customer_id: int, invoice_id: int | None = None, number: str | None = None
) -> Invoice | None:
    """The customer's own invoice by id or by number; None for anyone else's. A number no
    invoice can have is not looked up (PostgreSQL refuses a NUL byte even as a parameter)."""
    query = select(Invoice).where(Invoice.customer_id == customer_id)
    if invoice_id is not None:
        query = query.where(Invoice.id == invoice_id)
    elif number is None or "\x00" in number:
        return None
    else:
        query = query.where(Invoice.number == number)
    return db.session.scalars(query).first()


class PdfProblem(enum.Enum):
    NOT_FOUND = "not_found"
    DAMAGED = "damaged"


@dataclass(frozen=True)
class Pdf:
    filename: str
    content: bytes


def invoice_pdf(invoice: Invoice | None) -> Pdf | PdfProblem:
    if invoice is None:
        return PdfProblem.NOT_FOUND
    try:
        content = invoice_storage().read(invoice.pdf_storage_key, invoice.pdf_sha256)
    except CorruptFile:
        log.error("invoice %s: its PDF is missing or fails its SHA-256 check", invoice.id)
        return PdfProblem.DAMAGED
    return Pdf(pdf_filename(invoice.number), content)


def _paid_online() -> "ColumnElement[bool]":
    """The invoice has a payment made online (SPEC §14), whatever billing says yet. In the
    tables' columns, so that Faktury's Core statement below stays free of the ORM."""
    return exists().where(
        payment_invoices.c.invoice_id == _INVOICES.c.id,
        _PAYMENTS.c.id == payment_invoices.c.payment_id,
        _PAYMENTS.c.state == "paid",
    )


# Faktury's statements, built once per process: building one (its paid-online subquery
# above all) cost more than running it. A request gives only its values. SQLAlchemy Core,
# not the ORM: the page reads its invoices as rows (building and tracking ORM objects cost
# as much as the query).
_YEAR = extract("year", _INVOICES.c.issue_date)
_YEARS = (
    select(_YEAR, func.count())
    .where(_INVOICES.c.customer_id == bindparam("customer_id"))
    .group_by(_YEAR)
    .order_by(_YEAR.desc())
)
_PAGE = (
    select(_INVOICES, _paid_online().label("paid_online"))
    .where(_INVOICES.c.customer_id == bindparam("customer_id"))
    .order_by(*NEWEST_FIRST)
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)
_PAGE_OF_YEAR = _PAGE.where(
    _INVOICES.c.issue_date >= bindparam("first_day"),
    _INVOICES.c.issue_date <= bindparam("last_day"),
)


@dataclass(frozen=True)
class HomeSummary:
    latest: ListedInvoice | None
    to_pay: Decimal
    currency: str
    nearest_due_date: date | None
    overdue: bool  # the nearest due date has passed
    bank_account: str | None  # the NRB, grouped in fours
    iban: str | None  # the same account with "PL", grouped in fours


def home_summary(customer: Customer, today: date) -> HomeSummary:
    # LIMIT 1: without it the ORM builds every invoice the customer ever had to keep one.
    newest = db.session.execute(
        select(Invoice, _paid_online().label("paid_online"))
        .where(Invoice.customer_id == customer.id)
        .order_by(*NEWEST_FIRST)
        .limit(1)
    ).first()
    latest = None
    if newest is not None:
        status = status_of(newest[0], today, bool(newest[1]))
        latest = ListedInvoice(newest[0], status, status_label(status))
    # Invoices paid online are left out: billing books them soon.
    unpaid = (Invoice.customer_id == customer.id, Invoice.paid_on.is_(None), ~_paid_online())
    to_pay, nearest = db.session.execute(
        select(func.coalesce(func.sum(Invoice.gross_amount), 0), func.min(Invoice.due_date)).where(
            *unpaid
        )
    ).one()
    return HomeSummary(
        latest=latest,
        to_pay=Decimal(to_pay),
        currency=latest.invoice.currency if latest else "PLN",
        nearest_due_date=nearest,
        overdue=nearest is not None and nearest < today,
        bank_account=group_in_fours(customer.bank_account) if customer.bank_account else None,
        iban=iban_in_fours(customer.bank_account) if customer.bank_account else None,
    )
