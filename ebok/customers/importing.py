"""The customers import (SPEC §8): a CSV file from the billing system, streamed.

Rows are read and validated one at a time and written in batches, one transaction each:
the portal keeps working while a long file goes in (on SQLite in WAL mode its reads never
wait, and its writes wait for one batch at most), memory stays flat whatever the file's
length, and a run that is stopped keeps what it committed, so running it again finishes
the job; rows written by the stopped run then count as unchanged.
"""

import codecs
import csv
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ebok.contact import (
    CUSTOMER_NUMBER_MAX_DIGITS,
    normalize_customer_number,
    normalize_email,
    normalize_phone,
)
from ebok.extensions import db
from ebok.models import Customer, utcnow

CSV_HEADER = ["customer_number", "first_name", "last_name", "email", "phone"]
NAME_MAX_LENGTH = 100
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]+")
_customers = Customer.__table__
# Numbers met earlier in this run and on which line: kept in the database, not in memory.
_seen = Table(
    "import_seen_numbers",
    MetaData(),
    Column("number", String(CUSTOMER_NUMBER_MAX_DIGITS), primary_key=True),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_UPSERT_DIALECTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

# One line of the file: its number, its fields (None when it could not be read) and why
# it is rejected (None when it can be imported as far as parsing goes).
Record = tuple[int, list[str] | None, str | None]


class ImportRefused(Exception):
    """The file as a whole cannot be imported; the message says what to do. Nothing was
    written."""


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def import_customers(
    path: str,
    batch_size: int = 5000,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Adds new customers and updates known ones; never deletes anything. Each rejected
    row is reported with its line number and why; a customer number repeated in the file
    is imported from its first valid line. Commits every `batch_size` lines and calls
    `on_progress(lines done, lines in the file)` after each commit."""
    total_lines = count_lines_of_utf8_file(path)
    report = ImportReport()
    with open(path, encoding="utf-8-sig", newline="") as csv_file:
        _check_header(csv_file.readline())
        with db.engine.connect() as connection:
            _require_schema(connection)
            with _numbers_seen_table(connection):
                for batch in _batches(_records(csv_file), batch_size):
                    _import_batch(connection, batch, report)
                    connection.commit()
                    if on_progress:
                        on_progress(batch[-1][0], total_lines)
    report.rejected.sort()
    return report


def count_lines_of_utf8_file(path: str) -> int:
    """Reads the file once, in chunks, to be sure all of it is UTF-8 before anything is
    written (Excel saves Polish CSV files as Windows-1250 unless told otherwise)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    with open(path, "rb") as raw_file:
        while chunk := raw_file.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as problem:
                line = lines + chunk.count(b"\n", 0, problem.start) + 1
                raise ImportRefused(
                    f"line {line} is not UTF-8 text: save the file as UTF-8 (in Excel: "
                    '"CSV UTF-8 (Comma delimited)") and import it again; nothing was imported'
                ) from None
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportRefused(
                "the file ends in the middle of a character: save it as UTF-8 and import "
                "it again; nothing was imported"
            ) from None
    return lines


def _check_header(first_line: str) -> None:
    header = next(csv.reader([first_line]), [])
    if [name.strip() for name in header] != CSV_HEADER:
        raise ImportRefused(f"the first line must be: {','.join(CSV_HEADER)}")


def _require_schema(connection: Connection) -> None:
    if connection.dialect.name not in _UPSERT_DIALECTS:
        raise ImportRefused("customers can be imported into SQLite or PostgreSQL only")
    if not inspect(connection).has_table(_customers.name):
        raise ImportRefused(
            "the database has no customers table yet: run `flask --app app db upgrade` first"
        )


def _records(csv_file: Iterable[str]) -> Iterator[Record]:
    """Each line after the header, parsed on its own: no field of this file may hold a line
    break, so an unbalanced quote spoils its own line only, not the rows after it."""
    for line_number, line in enumerate(csv_file, start=2):
        if not line.strip():
            continue
        if "\x00" in line:
            yield line_number, None, "the line contains a NUL character"
        elif len(line) > csv.field_size_limit():
            yield line_number, None, "field too long"
        else:
            try:
                yield line_number, next(csv.reader([line], strict=True)), None
            except csv.Error:
                yield line_number, None, 'unbalanced or misplaced quote (")'


def _batches(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while batch := list(islice(records, size)):
        yield batch


@contextmanager
def _numbers_seen_table(connection: Connection) -> Iterator[None]:
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_seen.name}")
    _seen.create(connection)
    try:
        yield
    finally:
        # Best effort: the table goes with the connection anyway, and the next run starts
        # by dropping it.
        with suppress(SQLAlchemyError):
            connection.rollback()
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_seen.name}")
            connection.commit()


def _import_batch(connection: Connection, batch: list[Record], report: ImportReport) -> None:
    """Validates one batch, looking up its known customers in one query, and writes the
    new and changed ones in one executemany."""
    candidates = []  # (line, number, fields)
    for line, fields, problem in batch:
        number = None
        if problem is None:
            number, problem = _check_columns_and_number(fields)
        if problem:
            report.rejected.append((line, problem))
        else:
            candidates.append((line, number, fields))
    known = _known_customers(connection, [number for _, number, _ in candidates])
    valid = []  # (line, values)
    for line, number, fields in candidates:
        values, problem = _clean_row(number, fields, known.get(number))
        if problem:
            report.rejected.append((line, problem))
        else:
            valid.append((line, values))
    first_rows = _drop_repeated_numbers(connection, valid, report)
    _write(connection, first_rows, known, report)


def _check_columns_and_number(fields: list[str]) -> tuple[str | None, str | None]:
    if len(fields) != len(CSV_HEADER):
        return None, "wrong number of columns"
    number = normalize_customer_number(fields[0].strip())
    if not number:
        return None, "customer_number is empty"
    if not number.isdecimal() or len(number) > CUSTOMER_NUMBER_MAX_DIGITS:
        return None, f"customer_number must be 1 to {CUSTOMER_NUMBER_MAX_DIGITS} digits"
    return number, None


def _known_customers(connection: Connection, numbers: list[str]) -> dict[str, tuple]:
    """number -> (first_name, last_name, email, phone) of the customers already stored."""
    if not numbers:
        return {}
    columns = _customers.c
    rows = connection.execute(
        select(
            columns.number, columns.first_name, columns.last_name, columns.email, columns.phone
        ).where(columns.number.in_(numbers))
    )
    return {number: tuple(stored) for number, *stored in rows}


def _clean_row(number: str, fields: list[str], known: tuple | None) -> tuple[tuple, str | None]:
    """(number, first_name, last_name, email, phone) as stored, or why the row is rejected.
    A value equal to what is already stored is taken as it is, unvalidated again: a
    re-import of an unchanged file costs a lookup, not a validation, per row."""
    first_name, last_name, email, phone = (value.strip() for value in fields[1:])
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        if not value:
            return (), f"{name} is empty"
        if len(value) > NAME_MAX_LENGTH:
            return (), f"{name} is longer than {NAME_MAX_LENGTH} characters"
        if _CONTROL_CHARACTERS.search(value):
            return (), f"{name} contains a control character"
    known_email, known_phone = known[2:] if known else (None, None)
    if email:
        email = known_email if email.casefold() == known_email else normalize_email(email)
        if email is None:
            return (), "email is not a valid e-mail address"
    if phone:
        phone = known_phone if _same_phone(phone, known_phone) else normalize_phone(phone)
        if phone is None:
            return (), "phone is not a valid phone number"
    return (number, first_name, last_name, email or None, phone or None), None


def _same_phone(typed: str, stored: str | None) -> bool:
    """True when the typed number is the stored E.164 one written in a way normalize_phone
    reads back to it: +48600700800, 600 700 800, 0048 600-700-800."""
    if stored is None:
        return False
    compact = _PHONE_SEPARATORS.sub("", typed)
    international = "+" + compact[2:] if compact.startswith("00") else compact
    return stored in (compact, international, "+48" + compact)


def _drop_repeated_numbers(
    connection: Connection, valid: list[tuple[int, tuple]], report: ImportReport
) -> list[tuple]:
    """The values of the rows whose number is met here for the first time in the file;
    the others are rejected, naming the line that came first."""
    numbers = [values[0] for _, values in valid]
    first_line: dict[str, int] = {}
    if numbers:
        seen_before = select(_seen.c.number, _seen.c.line).where(_seen.c.number.in_(numbers))
        first_line.update((number, line) for number, line in connection.execute(seen_before))
    first_rows, new_numbers = [], []
    for line, values in valid:
        number = values[0]
        if number in first_line:
            report.rejected.append(
                (line, f"customer number repeated from line {first_line[number]}")
            )
            continue
        first_line[number] = line
        new_numbers.append({"number": number, "line": line})
        first_rows.append(values)
    if new_numbers:
        connection.execute(_seen.insert(), new_numbers)
    return first_rows


def _write(
    connection: Connection, rows: list[tuple], known: dict[str, tuple], report: ImportReport
) -> None:
    """One INSERT … ON CONFLICT DO UPDATE for the new and the changed customers: correct
    even if a customer was added since the lookup."""
    now = utcnow()
    changes = []
    for number, *values in rows:
        stored = known.get(number)
        if stored == tuple(values):
            report.unchanged += 1
            continue
        if stored is None:
            report.added += 1
        else:
            report.updated += 1
        first_name, last_name, email, phone = values
        changes.append(
            {
                "number": number,
                "first_name": first_name,
                "last_name": last_name,
                "email": email,
                "phone": phone,
                "updated_at": now,
            }
        )
    if changes:
        connection.execute(_upsert_statement(connection.dialect.name), changes)


def _upsert_statement(dialect_name: str):
    insert = _UPSERT_DIALECTS[dialect_name](_customers)
    updated = ("first_name", "last_name", "email", "phone", "updated_at")
    return insert.on_conflict_do_update(
        index_elements=[_customers.c.number],
        set_={name: insert.excluded[name] for name in updated},
    )
