"""How an invoice reads to its customer: status, amount, file name (SPEC §11)."""

import enum
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_interval
from babel.numbers import format_currency, format_decimal
from flask_babel import get_locale, pgettext
from flask_babel import gettext as _

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


def status_of(invoice: Invoice, today: date, paid_online: bool = False) -> Status:
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


def format_locale(language: str | None = None) -> Locale:
    """The locale dates and amounts are written in: the interface language's (or
    `language`, a page's bound one), or the variant FORMAT_LOCALES names for it."""
    return _format_locale(language or str(get_locale()))


# Parsed once per language, not for each date and amount of a page (one entry per
# configured language).
@lru_cache(maxsize=16)
def _format_locale(language: str) -> Locale:
    return Locale.parse(FORMAT_LOCALES.get(language, language))


def long_date(value: date, language: str | None = None) -> str:
    """15 grudnia 2026; 15 December 2026"""
    return format_date(value, "long", locale=format_locale(language))


def period(start: date, end: date, language: str | None = None) -> str:
    """1–31 grudnia 2026: what the two dates share is written once (CLDR's intervals)."""
    return format_interval(start, end, "yMMMMd", locale=format_locale(language))


def amount(value: Decimal, currency: str, language: str | None = None) -> str:
    """1 234,56 zł; PLN 1,234.56"""
    language = language or str(get_locale())
    pattern = AMOUNT_PATTERNS.get(language)
    return format_currency(value, currency, pattern, locale=_format_locale(language))


def pdf_filename(invoice_number: str) -> str:
    """FV/2026/11/000123 -> FV-2026-11-000123.pdf"""
    return invoice_number.replace("/", "-") + ".pdf"


def file_size(size: int, language: str | None = None) -> str:
    """The PDF's size as people read it: 48 KB, 1,2 MB."""
    locale = format_locale(language)
    if size < 1024 * 1024:
        # Translators: a file's size, after the button "Download PDF"; %(size)s is a number of
        # kilobytes.
        return _("%(size)s KB", size=format_decimal(max(1, round(size / 1024)), locale=locale))
    # Translators: a file's size, after the button "Download PDF"; %(size)s is a number of megabytes
    # ("1,2").
    return _("%(size)s MB", size=format_decimal(round(size / (1024 * 1024), 1), locale=locale))
