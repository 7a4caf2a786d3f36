"""How an invoice reads to its customer: status, amount, file name (SPEC §11)."""

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_interval
from babel.numbers import format_currency, format_decimal
from flask_babel import get_locale, pgettext
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import Row

from ebok.models import Invoice

# The formats of dates and amounts per interface language, where the language's own CLDR
# default is not the one its customers expect: the English interface is British.
FORMAT_LOCALES = {"en": "en_GB"}
# Amounts as the language's readers write złoty, where CLDR's pattern reads badly:
# "PLN 94.99", not "PLN94.99" (TRANSLATING.md, Formats).
AMOUNT_PATTERNS = {"en": "¤\u00a0#,##0.00"}


class Status(enum.Enum):
    PAID = "paid"
    PAID_ONLINE = "paid-online"  # paid online, not yet booked by billing (SPEC §14)
    DUE = "due"
    OVERDUE = "overdue"


# An invoice as the ORM builds it, or a row of the invoices table (Faktury's list reads its
# invoices with SQLAlchemy Core): the same names either way.
InvoiceData = Invoice | Row[Any]


def status_of(invoice: InvoiceData, today: date, paid_online: bool = False) -> Status:
    if invoice.paid_on is not None:
        return Status.PAID
    if paid_online:
        return Status.PAID_ONLINE
    return Status.OVERDUE if invoice.due_date < today else Status.DUE


def status_label(status: Status) -> str:
    """The status as the customer reads it, in a table and on a tag."""
    if status is Status.PAID_ONLINE:
        # Translators: an invoice's status, a table value and a tag: paid online in Strefa
        # Klienta, and the billing system has not booked the payment yet (Polish:
        # "Opłacona (płatność w trakcie księgowania)").
        return pgettext("invoice status", "Paid (payment being booked)")
    if status is Status.PAID:
        # Translators: an invoice's status, a table value and a tag (feminine in Polish,
        # "Opłacona", as "faktura").
        return pgettext("invoice status", "Paid")
    if status is Status.OVERDUE:
        # Translators: an invoice's status, a table value and a tag, marked as a problem.
        return pgettext("invoice status", "Overdue")
    # Translators: an invoice's status, a table value and a tag: not paid yet, its due date
    # not passed (the due date is shown beside it).
    return pgettext("invoice status", "To pay")


# Parsed once per language, not for each date and amount of a page (one entry per
# configured language).
@lru_cache(maxsize=16)
def _format_locale(language: str) -> Locale:
    """The locale dates and amounts are written in: the interface language's, or the
    variant FORMAT_LOCALES names for it."""
    return Locale.parse(FORMAT_LOCALES.get(language, language))


def long_date(value: date, language: str | None = None) -> str:
    """15 grudnia 2026; 15 December 2026"""
    return _long_date(value, language or str(get_locale()))


def period(start: date, end: date, language: str | None = None) -> str:
    """1–31 grudnia 2026: what the two dates share is written once (CLDR's intervals)."""
    return _period(start, end, language or str(get_locale()))


# Kept once written: every customer's invoices have the same few dates and billing periods
# (billing issues them in monthly cycles), and an interval costs Babel as much as the rest
# of a row. Bounded: a few years of dates in each language.
@lru_cache(maxsize=4096)
def _long_date(value: date, language: str) -> str:
    return format_date(value, "long", locale=_format_locale(language))


@lru_cache(maxsize=4096)
def _period(start: date, end: date, language: str) -> str:
    return format_interval(start, end, "yMMMMd", locale=_format_locale(language))


def amount(value: Decimal, currency: str, language: str | None = None) -> str:
    """1 234,56 zł; PLN 1,234.56"""
    return _amount(value, currency, language or str(get_locale()))


# Kept once written too: customers on one tariff are billed the same amounts, and Babel
# takes longer over an amount than over a date. Equal amounts (89.99 and 89.990) read the
# same: the currency's digits are always written.
@lru_cache(maxsize=4096)
def _amount(value: Decimal, currency: str, language: str) -> str:
    pattern = AMOUNT_PATTERNS.get(language)
    return format_currency(value, currency, pattern, locale=_format_locale(language))


def pdf_filename(invoice_number: str) -> str:
    """FV/2026/11/000123 -> FV-2026-11-000123.pdf"""
    return invoice_number.replace("/", "-") + ".pdf"


def size_units() -> tuple[str, str]:
    """The forms of a size in kilobytes and in megabytes, translated: once per page that
    lists many files, not once per file."""
    # Translators: a file's size, after the button "Download PDF"; %(size)s is a number of
    # kilobytes.
    kilobytes = _("%(size)s KB")
    # Translators: a file's size, after the button "Download PDF"; %(size)s is a number of megabytes
    # ("1,2").
    megabytes = _("%(size)s MB")
    return kilobytes, megabytes


def file_size(size: int, language: str | None = None, units: tuple[str, str] | None = None) -> str:
    """The PDF's size as people read it: 48 KB, 1,2 MB (`units` as size_units gives them)."""
    language = language or str(get_locale())
    kilobytes, megabytes = units or size_units()
    if size < 1024 * 1024:
        return kilobytes % {"size": _size_number(max(1, round(size / 1024)), language)}
    return megabytes % {"size": _size_number(round(size / (1024 * 1024), 1), language)}


# A size's number as the language writes it (1 024; 1,2), kept once written: a few hundred
# numbers of kilobytes cover every PDF.
@lru_cache(maxsize=4096)
def _size_number(value: float, language: str) -> str:
    return format_decimal(value, locale=_format_locale(language))


@dataclass(frozen=True, slots=True)
class TableRow:
    """An invoice as a row of Faktury's table, every value as the customer reads it."""

    invoice: InvoiceData  # for "Zapłać"
    number: str
    kind: str  # the status as a CSS modifier
    status_text: str
    period: str
    issued: str
    amount: str
    due: str
    size: str
    download_url: str
    download_words: Markup  # "the PDF of invoice …", for screen readers
