"""The customer's data (GDPR art. 15 and 20, SPEC §15 "Pobierz moje dane") is put together
from sections, each feature giving its own: Moje dane gives the customer, the contacts, the
consents, e-Faktura and the invoices; another feature adds its section when its blueprint
is registered, without the features importing each other:

    bp.record_once(lambda state: add_section(state.app, Section(
        key="payments", title=_l("Payments"), labels={...}, build=payments_of, order=60)))

A section's `build(account)` returns a dict of fields, or a list of such dicts (one a row);
its keys are the JSON file's stable names (docs/personal-data.md lists them) and `labels`
gives each a readable name for the page. Values: str, int, bool, None, Decimal, date,
datetime (naive UTC); the JSON file writes them as strings in ISO 8601 where they are
dates or times, amounts as decimal strings."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask.sansio.app import App
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _

from ebok.i18n import LazyText
from ebok.models import Account

EXTENSION = "ebok.personal_data"

Fields = dict[str, Any]


@dataclass(frozen=True)
class Section:
    key: str  # the JSON file's name for it; never changed once published
    title: LazyText  # its heading on the readable page
    labels: Mapping[str, LazyText]  # each field's readable name, in the order shown
    build: Callable[[Account], Fields | list[Fields]]
    order: int = 100  # the place on the page and in the file, smaller first
    # Readable names of the codes some fields hold ("email", "withdrawn"), for the page.
    values: Mapping[str, LazyText] = field(default_factory=dict)


def add_section(app: App, section: Section) -> None:
    registered = app.extensions.setdefault(EXTENSION, {})
    if section.key in registered:
        raise ValueError(f"a personal data section {section.key!r} is registered already")
    registered[section.key] = section


def sections() -> list[Section]:
    return sorted(current_app.extensions.get(EXTENSION, {}).values(), key=lambda s: s.order)


def collect(account: Account) -> list[tuple[Section, Fields | list[Fields]]]:
    """Every section with what it holds for the account, made now (never stored)."""
    return [(section, section.build(account)) for section in sections()]


def as_json(value: Any) -> Any:
    """A built value as the JSON file writes it."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def readable(section: Section, built: Fields | list[Fields]) -> list[list[tuple[str, str]]]:
    """The rows of a section as the page shows them: (label, text) pairs, one list a row."""
    rows = built if isinstance(built, list) else [built]
    return [
        [
            (str(label), _readable_value(section, row.get(key)))
            for key, label in section.labels.items()
        ]
        for row in rows
    ]


def _readable_value(section: Section, value: Any) -> str:
    if value is None or value == "":
        # Translators: a value in "Pobierz moje dane": nothing is kept for this field.
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return format_datetime(value, "d MMMM y, HH:mm")
    if isinstance(value, date):
        return format_date(value, "d MMMM y")
    if isinstance(value, Decimal):
        return format_decimal(value, format="#,##0.00")
    text = str(value)
    return str(section.values.get(text, text))
