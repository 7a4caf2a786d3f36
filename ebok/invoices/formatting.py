"""How an invoice reads to its customer: status, amount, file name (SPEC §11)."""

import enum
from datetime import date
from decimal import Decimal

from flask_babel import format_currency, format_date, format_decimal, pgettext
from flask_babel import gettext as _

from ebok.models import Invoice


class Status(enum.Enum):
    PAID = "paid"
    DUE = "due"
    OVERDUE = "overdue"


def status_of(invoice: Invoice, today: date) -> Status:
    if invoice.paid_on is not None:
        return Status.PAID
    return Status.OVERDUE if invoice.due_date < today else Status.DUE


def status_text(invoice: Invoice, today: date) -> str:
    status = status_of(invoice, today)
    if status is Status.PAID:
        # Translators: an invoice's status, a table value and a tag (feminine in Polish,
        # "Opłacona", as "faktura").
        return pgettext("invoice status", "Paid")
    if status is Status.OVERDUE:
        # Translators: an invoice's status, a table value and a tag, marked as a problem.
        return pgettext("invoice status", "Overdue")
    # Translators: an invoice's status (a table value and a tag); %(date)s is its due date in words
    # ("15 grudnia 2026").
    return _("To pay by %(date)s", date=format_date(invoice.due_date, "long"))


def amount(value: Decimal, currency: str) -> str:
    """1 234,56 zł"""
    return format_currency(value, currency)


def pdf_filename(invoice_number: str) -> str:
    """FV/2026/11/000123 -> FV-2026-11-000123.pdf"""
    return invoice_number.replace("/", "-") + ".pdf"


def file_size(size: int) -> str:
    """The PDF's size as people read it: 48 KB, 1,2 MB."""
    if size < 1024 * 1024:
        # Translators: a file's size, after the button "Download PDF"; %(size)s is a number of
        # kilobytes.
        return _("%(size)s KB", size=format_decimal(max(1, round(size / 1024))))
    # Translators: a file's size, after the button "Download PDF"; %(size)s is a number of megabytes
    # ("1,2").
    return _("%(size)s MB", size=format_decimal(round(size / (1024 * 1024), 1)))
