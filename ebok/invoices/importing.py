"""`flask invoices import FOLDER` (SPEC §11): invoices.csv and its PDFs, streamed.

Lines are read one at a time and written in batches, one transaction each, with the CSV
machinery of the customers import (ebok/customers/csvfiles.py): memory stays flat, and a
stopped run keeps what it committed. A known invoice number only has its `paid_on`
brought up to date (billing is the source of truth); nothing is ever deleted, so a second
run changes nothing. New-invoice e-mails are written after each batch (notices.py).
"""

import errno
import io
import json
import os
import re
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from flask import current_app
from sqlalchemy import Engine, String, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from ebok.customers.csvfiles import (
    ImportRefused,
    ImportReport,
    ImportStopped,
    Record,
    ahead,
    chunks,
    count_lines_of_utf8_file,
    long_lived_objects_frozen,
    read_header,
    records,
)
from ebok.database import SQLITE_BATCH_WRITER_PRAGMAS, copy_rows, sqlite_timestamp
from ebok.extensions import db
from ebok.invoices import notices, paper_or_electronic
from ebok.invoices.storage import (
    InvoiceStorage,
    NotAPdf,
    StoredFile,
    TooLarge,
    fingerprint,
    invoice_storage,
)
from ebok.models import Customer, Invoice, utcnow
from ebok.normalising import CUSTOMER_NUMBER_MAX_DIGITS, normalize_customer_number

CSV_NAME = "invoices.csv"
CSV_HEADER = [
    "customer_number",
    "invoice_number",
    "issue_date",
    "period_from",
    "period_to",
    "due_date",
    "gross_amount",
    "currency",
    "paid_on",
    "pdf_file",
]
NUMBER_MAX_LENGTH: int = cast(String, Invoice.__table__.c.number.type).length or 40
_INVOICE_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z/\-_.]*")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Numeric(12, 2): up to ten digits before the dot, two after; a dot, never a comma.
_AMOUNT = re.compile(r"-?[0-9]{1,10}(\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(slots=True)
class InvoiceRow:
    line: int
    customer_number: str
    number: str
    issue_date: date
    period_from: date
    period_to: date
    due_date: date
    gross_amount: Decimal
    currency: str
    paid_on: date | None
    pdf_file: str
    # The PDF's (SHA-256, size) read ahead, or why it cannot be imported; None when it
    # was not read ahead (its number looked stored already).
    pdf: tuple[str, int] | str | None = None


def import_invoices(
    folder: str,
    batch_size: int = 2000,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Adds new invoices and updates `paid_on` of known ones; reports each rejected line
    with its reason. Commits every `batch_size` lines.

    Raises ImportStopped, with the report of the batches committed, when the storage has
    less than its reserve (INVOICE_STORAGE_MIN_FREE_BYTES) free before a batch, or fails
    while a batch stores its PDFs (a full disk): that batch is rolled back and the files
    it wrote are removed, so running the command again resumes without orphans."""
    csv_path = Path(folder) / CSV_NAME
    if not csv_path.is_file():
        raise ImportRefused(f"{folder} has no {CSV_NAME}: the folder holds it and the PDFs")
    total_lines = count_lines_of_utf8_file(str(csv_path))
    report = ImportReport()
    storage = invoice_storage()
    max_size = current_app.config["INVOICE_MAX_PDF_BYTES"]
    with (
        long_lived_objects_frozen(),
        _PdfFolder(Path(folder).resolve(), max_size) as pdfs,
        open(csv_path, encoding="utf-8-sig", newline="") as csv_file,
    ):
        read_header(csv_file.readline(), CSV_HEADER)
        already_stored = partial(_stored_numbers, db.engine)
        parsed = _parsed(chunks(records(csv_file), batch_size), pdfs, already_stored)
        # Batch N+1 is parsed, and its PDFs read, in a thread while batch N is written;
        # closing: the thread stops before the files close, whatever happens here.
        try:
            with closing(ahead(parsed)) as ready:
                for batch in ready:
                    _check_free_space(storage, first_line=batch.first_line)
                    _import_batch(pdfs, storage, batch, report)
                    if on_progress:
                        on_progress(batch.last_line, total_lines)
        except _Stop as stop:
            report.rejected.sort()
            raise ImportStopped(str(stop), report) from stop.__cause__
    report.rejected.sort()
    return report


class _Stop(Exception):
    """Why the import stops before the end, and what the operator does about it."""


class _StorageFailed(Exception):
    """Storing the PDF of `line` failed; the OSError is the cause."""

    def __init__(self, line: int) -> None:
        self.line = line


def _stopped(what_happened: str, error: OSError | None = None) -> _Stop:
    if error is None or error.errno in (errno.ENOSPC, errno.EDQUOT):
        action = "Free space on the storage's volume or move FLASK_INVOICE_STORAGE to a larger one"
    else:
        action = "Check that FLASK_INVOICE_STORAGE exists and the service user may write there"
    return _Stop(
        f"{what_happened} {action}, then run the same command again: it resumes, and the "
        "lines already imported count as unchanged."
    )


def _check_free_space(storage: InvoiceStorage, first_line: int) -> None:
    reserve = current_app.config["INVOICE_STORAGE_MIN_FREE_BYTES"]
    try:
        free = storage.free_bytes()
    except OSError as error:
        raise _stopped(
            f"stopped before line {first_line}: the invoice storage ({storage}) cannot be "
            f"used: {error.strerror or error}. The lines before it are imported (counted above).",
            error,
        ) from error
    if free is not None and free < reserve:
        raise _stopped(
            f"stopped before line {first_line}: the invoice storage ({storage}) has {free} "
            "bytes free, less than the reserve FLASK_INVOICE_STORAGE_MIN_FREE_BYTES "
            f"({reserve}). The lines before it are imported (counted above)."
        )


def _storage_failure(storage: InvoiceStorage, failure: _StorageFailed, first_line: int) -> _Stop:
    error = cast(OSError, failure.__cause__)
    return _stopped(
        f"stopped at line {failure.line}: storing its PDF in the invoice storage ({storage}) "
        f"failed: {error.strerror or error}. The lines before line {first_line} are imported "
        f"(counted above); lines {first_line} to {failure.line} are not, and the PDFs "
        "stored for them were removed.",
        error,
    )


@dataclass
class _Parsed:
    """One batch's lines read and checked on their own, before any lookup."""

    first_line: int
    last_line: int
    rows: list[InvoiceRow]
    rejected: list[tuple[int, str]]


def _parsed(
    batches: Iterator[list[Record]],
    pdfs: "_PdfFolder",
    already_stored: Callable[[set[str]], set[str]],
) -> Iterator[_Parsed]:
    """Each batch parsed, and the PDFs of the invoices that look new read and hashed, in
    ahead()'s thread while the batch before is written; it writes nothing. Which numbers
    are stored is only a hint here (the batch before is not committed yet): the batch is
    looked up again when written, and a PDF not read here is read then (_store)."""
    for batch in batches:
        rows: list[InvoiceRow] = []
        rejected: list[tuple[int, str]] = []
        for line, fields, problem in batch:
            row = None
            if problem is None and fields is not None:
                row, problem = _parse(line, fields)
            if row is None:
                rejected.append((line, problem or "the line could not be read"))
            else:
                rows.append(row)
        stored = already_stored({row.number for row in rows}) if rows else set()
        for row in rows:
            if row.number not in stored:
                row.pdf = pdfs.fingerprint(row.pdf_file)
        yield _Parsed(batch[0][0], batch[-1][0], rows, rejected)


def _stored_numbers(engine: Engine, numbers: set[str]) -> set[str]:
    """Which of these invoice numbers are stored, on a connection of the caller's own
    (ahead()'s thread)."""
    with engine.connect() as connection:
        found = select(Invoice.number).where(_among(Invoice.number, numbers, engine.dialect.name))
        return set(connection.execute(found).scalars())


def _import_batch(
    pdfs: "_PdfFolder", storage: InvoiceStorage, batch: _Parsed, report: ImportReport
) -> None:
    """One transaction, all or nothing: when anything fails (a full disk, the database,
    Ctrl-C) it is rolled back and the PDFs it wrote are removed, except those a committed
    invoice refers to (the store keeps each PDF once, for every invoice that has it)."""
    batch_report = ImportReport()
    written: list[str] = []  # keys of the files this batch stored, not already there
    try:
        to_notify = _write_batch(pdfs, storage, batch, batch_report, written)
    except _StorageFailed as failure:
        _roll_back(storage, written)
        raise _storage_failure(storage, failure, first_line=batch.first_line) from failure.__cause__
    except BaseException:
        _roll_back(storage, written)
        raise
    report.add(batch_report)
    notices.notify_new_invoices(to_notify)


def _roll_back(storage: InvoiceStorage, written: list[str]) -> None:
    try:
        db.session.rollback()
        if not written:
            return
        # Once per failed batch, for its few new files: worth a scan, not an index.
        referenced = set(
            db.session.scalars(
                select(Invoice.pdf_storage_key).where(Invoice.pdf_storage_key.in_(written))
            )
        )
        db.session.rollback()
    except SQLAlchemyError:
        return  # the database is gone too: keep the files rather than lose a referenced one
    for key in set(written) - referenced:
        storage.discard(key)


def _write_batch(
    pdfs: "_PdfFolder",
    storage: InvoiceStorage,
    batch: _Parsed,
    report: ImportReport,
    written: list[str],
) -> list[int]:
    """Looks up, stores the PDFs and writes the parsed batch, and commits; returns the
    ids of the invoices whose new-invoice e-mail is still to be written."""
    report.rejected.extend(batch.rejected)
    rows = batch.rows
    _begin_writing()
    # The session's connection, not the session: plain rows, without the ORM's result
    # machinery for each of thousands.
    connection = db.session.connection()
    dialect = connection.dialect.name
    customers = dict(
        connection.execute(
            select(Customer.number, Customer.id).where(
                _among(Customer.number, {row.customer_number for row in rows}, dialect)
            )
        ).all()
    )
    known = {
        stored.number: stored
        for stored in connection.execute(
            select(
                Invoice.id,
                Invoice.number,
                Invoice.customer_id,
                Invoice.paid_on,
                Invoice.delivery,
                Invoice.new_invoice_notified_at,
            ).where(_among(Invoice.number, {row.number for row in rows}, dialect))
        )
    }
    plan = _plan(pdfs, storage, rows, customers, known, report, written)
    added, electronic = _write(plan)
    report.unchanged += len(plan.new) - added  # added meanwhile by another import
    report.added += added
    db.session.commit()
    return electronic + plan.not_yet_notified


def _among(column: Any, values: set[str], dialect: str) -> Any:
    """`column IN values`, with the values as one text parameter (joined by commas on
    PostgreSQL: customer and invoice numbers hold none, _parse saw to it; a JSON list on
    SQLite), not thousands of parameters or array elements that each must be bound."""
    if dialect == "postgresql":
        # IN a set, not = ANY(an array): a hash join rather than a scan of the array for
        # each row read.
        numbers = func.unnest(func.string_to_array(",".join(values), ","))
        return column.in_(select(numbers))
    listed = func.json_each(json.dumps(list(values))).table_valued("value")
    return column.in_(select(listed.c.value))


def _begin_writing() -> None:
    if db.session.get_bind().dialect.name == "sqlite":
        connection = db.session.connection()
        for pragma in SQLITE_BATCH_WRITER_PRAGMAS:
            connection.exec_driver_sql(pragma)
        # The write lock first, waiting for it (busy timeout): two imports at once then
        # take turns per batch instead of one failing after both have read.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class _Plan:
    new: list[tuple]  # the columns of _NEW_COLUMNS, in its order
    paid_on_changes: list[dict]
    not_yet_notified: list[int]  # known invoices a stopped run did not announce


def _plan(
    pdfs: "_PdfFolder",
    storage: InvoiceStorage,
    rows: list[InvoiceRow],
    customers: dict[str, int],
    known: dict[str, Any],
    report: ImportReport,
    written: list[str],
) -> _Plan:
    plan = _Plan([], [], [])
    first_seen: dict[str, tuple[int, int]] = {}  # number -> (line, customer id)
    present: dict[str, StoredFile] = {}  # SHA-256 -> stored, for this batch's later rows
    electronic = paper_or_electronic.electronic_on(
        {customers[row.customer_number] for row in rows if row.customer_number in customers}
    )
    for row in rows:
        customer_id = customers.get(row.customer_number)
        problem = _owner_problem(row, customer_id, known.get(row.number), first_seen)
        if problem:
            report.rejected.append((row.line, problem))
            continue
        assert customer_id is not None  # else _owner_problem said "unknown customer"
        first_seen[row.number] = (row.line, customer_id)
        stored = known.get(row.number)
        if stored is not None:
            _plan_known(row, stored, plan, report)
            continue
        try:
            stored_file = _store(pdfs, storage, row, present)
        except OSError as error:  # the storage's, not the source's: a full disk
            raise _StorageFailed(row.line) from error
        if isinstance(stored_file, str):
            report.rejected.append((row.line, stored_file))
            continue
        if stored_file.written:
            written.append(stored_file.key)
        plan.new.append(_new_invoice(row, customer_id, stored_file, electronic))
    return plan


def _owner_problem(
    row: InvoiceRow,
    customer_id: int | None,
    stored: Any,
    first_seen: dict[str, tuple[int, int]],
) -> str | None:
    if customer_id is None:
        return f"unknown customer {row.customer_number}"
    owner = stored.customer_id if stored is not None else first_seen.get(row.number, (0, None))[1]
    if owner is not None and owner != customer_id:
        return f"invoice number {row.number} is already used by another customer"
    if row.number in first_seen:
        return f"invoice number repeated from line {first_seen[row.number][0]}"
    return None


def _plan_known(row: InvoiceRow, stored: Any, plan: _Plan, report: ImportReport) -> None:
    if stored.delivery == "electronic" and stored.new_invoice_notified_at is None:
        plan.not_yet_notified.append(stored.id)
    if stored.paid_on == row.paid_on:
        report.unchanged += 1
    else:
        plan.paid_on_changes.append({"id": stored.id, "paid_on": row.paid_on})
        report.updated += 1


def _new_invoice(
    row: InvoiceRow,
    customer_id: int,
    stored_file: StoredFile,
    electronic: Callable[[int, date], bool],
) -> tuple:
    """The values of _NEW_COLUMNS, in its order."""
    return (
        customer_id,
        row.number,
        row.issue_date,
        row.period_from,
        row.period_to,
        row.due_date,
        row.gross_amount,
        row.currency,
        row.paid_on,
        "electronic" if electronic(customer_id, row.issue_date) else "paper",
        stored_file.sha256,
        stored_file.size,
        stored_file.key,
    )


def _store(
    pdfs: "_PdfFolder", storage: InvoiceStorage, row: InvoiceRow, present: dict[str, StoredFile]
) -> StoredFile | str:
    """The row's PDF in the storage, or why it cannot be imported. Its hash read ahead
    finds a file with the same content stored already (by an earlier row of this batch
    or asked of the storage) without reading it again; else it is read and stored now,
    and what is stored is what was read now."""
    if isinstance(row.pdf, str):
        return row.pdf
    if row.pdf is not None:
        sha256, size = row.pdf
        stored = present.get(sha256) or storage.stored(sha256, size)
        if stored is not None:
            present[sha256] = stored
            return stored
    stored_file = pdfs.store(storage, row.pdf_file)
    if isinstance(stored_file, StoredFile):
        present[stored_file.sha256] = replace(stored_file, written=False)
    return stored_file


_Read = TypeVar("_Read")


class _PdfFolder:
    """The import folder's PDFs, each opened inside it safely (_open_regular_file): read
    and hashed ahead (in ahead()'s thread), and stored (in the caller's). The folder is
    opened once, so every line is resolved in the same directory."""

    def __init__(self, folder: Path, max_size: int) -> None:
        self.folder, self.max_size = folder, max_size

    def __enter__(self) -> "_PdfFolder":
        self.descriptor = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        return self

    def __exit__(self, *_exception: object) -> None:
        os.close(self.descriptor)

    def fingerprint(self, pdf_file: str) -> tuple[str, int] | str:
        """The PDF's SHA-256 and size, or why it cannot be imported."""
        try:
            return self._read(pdf_file, partial(fingerprint, max_size=self.max_size))
        except OSError as error:  # reading the source: nothing is written here
            return f"pdf_file {pdf_file} cannot be read ({error.strerror})"

    def store(self, storage: InvoiceStorage, pdf_file: str) -> StoredFile | str:
        """The PDF stored, or why it cannot be imported; raises the storage's OSError."""
        return self._read(pdf_file, partial(storage.put, max_size=self.max_size))

    def _read(self, pdf_file: str, use: Callable[[BinaryIO], _Read]) -> _Read | str:
        try:
            descriptor = _open_regular_file(self.descriptor, pdf_file)
        except _Unusable as problem:
            return f"pdf_file {pdf_file} {problem}"
        try:
            # Unbuffered: read once, in large chunks.
            with io.FileIO(descriptor, "rb") as source:
                return use(source)
        except NotAPdf:
            return f"pdf_file {pdf_file} is not a PDF"
        except TooLarge:
            return f"pdf_file {pdf_file} is larger than {self.max_size} bytes"


class _Unusable(Exception):
    """Why a pdf_file cannot be imported, said after its name."""


_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
# What normpath turns into something else, or that names no file in the folder.
_NOT_NAMES = ("", os.curdir, os.pardir)
# O_NONBLOCK: opening a named pipe must not wait for a writer (it is then refused).
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


def _open_regular_file(folder: int, pdf_file: str) -> int:
    """A descriptor of the regular file `pdf_file` names inside the directory open as
    `folder` (opened once per batch; the caller closes it), opened one
    component at a time without following any symbolic link: a link (to a stored PDF, to
    a file outside, through a linked directory) or anything that is not a regular file
    (a pipe, a device, a directory) is refused, and never read. The path is normalised
    as text first, so `sub/../a.pdf` is `a.pdf` and a `..` never climbs out of a link."""
    if os.sep not in pdf_file and pdf_file not in _NOT_NAMES:
        directories, name = [], pdf_file  # a plain name: normalising it changes nothing
    else:
        relative = os.path.normpath(pdf_file)
        if os.path.isabs(relative) or relative.split(os.sep)[0] == os.pardir:
            raise _Unusable("is outside the folder")
        *directories, name = relative.split(os.sep)
    descriptor = folder
    try:
        for depth, directory in enumerate(directories, start=1):
            inner = _open_component(descriptor, directory, _DIRECTORY_FLAGS)
            if inner is None:
                linked = os.sep.join(directories[:depth])
                raise _Unusable(f"goes through a symbolic link ({linked})")
            if descriptor != folder:
                os.close(descriptor)
            descriptor = inner
        opened = _open_component(descriptor, name, _FILE_FLAGS)
        if opened is None:
            raise _Unusable("is a symbolic link")
    finally:
        if descriptor != folder:
            os.close(descriptor)
    if not stat.S_ISREG(os.fstat(opened).st_mode):
        os.close(opened)
        raise _Unusable("is not a regular file")
    return opened


def _open_component(directory: int, name: str, flags: int) -> int | None:
    """`name` opened in `directory`; None when it is a symbolic link."""
    try:
        return os.open(name, flags, dir_fd=directory)
    except OSError as problem:
        try:
            found = os.stat(name, dir_fd=directory, follow_symlinks=False)
        except OSError:
            raise _Unusable("not found") from None
        if stat.S_ISLNK(found.st_mode):
            return None
        if problem.errno in (errno.ENOTDIR, errno.ENXIO):  # a file as a directory; a socket
            kind = "not found" if flags & os.O_DIRECTORY else "is not a regular file"
            raise _Unusable(kind) from None
        raise _Unusable(f"cannot be read ({problem.strerror})") from None


def _write(plan: _Plan) -> tuple[int, list[int]]:
    """Inserts the new invoices and updates the changed ones; returns how many were added,
    and the ids of those delivered electronically (only they are announced, notices.py).
    A number another import added in the meantime is left as it is."""
    if plan.paid_on_changes:
        db.session.execute(update(Invoice), plan.paid_on_changes)
    if not plan.new:
        return 0, []
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # COPY into a table of this transaction, then one INSERT … SELECT: no query of
        # thousands of parameters, and no values bound one by one in Python.
        connection.exec_driver_sql(_PG_NEW_ROWS_TABLE)
        copy_rows(connection, "COPY import_new_invoices FROM STDIN", plan.new)
        added = connection.exec_driver_sql(_PG_INSERT_NEW).all()
        return len(added), [row.id for row in added if row.delivery == "electronic"]
    # SQLite: the batch holds the write lock since its lookups (BEGIN IMMEDIATE), so no
    # other import can have added these numbers: every row is added. The values as
    # SQLAlchemy would store them, without its per-row processing, and as many rows per
    # INSERT as SQLite takes parameters: the driver releases Python's lock for each step
    # of a statement and then waits to get it back from the thread reading ahead, which
    # executemany's step per row made cost 1.8 s instead of 0.9 s at 100 000 invoices.
    now = sqlite_timestamp(utcnow())
    rows = [_sqlite_values(row, now) for row in plan.new]
    driver = cast(sqlite3.Connection, connection.connection.driver_connection)
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = limit // _SQLITE_ROW_WIDTH
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        statement = _SQLITE_INSERT + ", ".join([_SQLITE_ROW] * len(part))
        connection.exec_driver_sql(statement, tuple(chain.from_iterable(part)))
    # The numbers of the electronic ones (number and delivery: _NEW_COLUMNS 1 and 9).
    numbers = [row[1] for row in plan.new if row[9] == "electronic"]
    if not numbers:
        return len(plan.new), []
    ids = connection.exec_driver_sql(_SQLITE_IDS, (json.dumps(numbers),)).scalars().all()
    return len(plan.new), list(ids)


def _sqlite_values(row: tuple, now: str) -> tuple:
    """Dates as ISO text and the amount as REAL: what SQLAlchemy's Date and Numeric store."""
    customer_id, number, issued, period_from, period_to, due, amount, *rest = row
    currency, paid_on, *stored = rest
    return (
        customer_id,
        number,
        issued.isoformat(),
        period_from.isoformat(),
        period_to.isoformat(),
        due.isoformat(),
        float(amount),
        currency,
        paid_on and paid_on.isoformat(),
        *stored,
        now,
    )


_NEW_COLUMNS = {
    "customer_id": "integer",
    "number": "varchar",
    "issue_date": "date",
    "period_from": "date",
    "period_to": "date",
    "due_date": "date",
    "gross_amount": "numeric",
    "currency": "varchar",
    "paid_on": "date",
    "delivery": "varchar",
    "pdf_sha256": "varchar",
    "pdf_size": "integer",
    "pdf_storage_key": "varchar",
}
_INSERTED_COLUMNS = ", ".join([*_NEW_COLUMNS, "imported_at"])
_SQLITE_ROW_WIDTH = len(_NEW_COLUMNS) + 1
_SQLITE_INSERT = f"INSERT INTO invoices ({_INSERTED_COLUMNS}) VALUES "  # noqa: S608
_SQLITE_ROW = f"({', '.join('?' * _SQLITE_ROW_WIDTH)})"
_SQLITE_IDS = "SELECT id FROM invoices WHERE number IN (SELECT value FROM json_each(?))"
# The new rows' table, typed as invoices' columns and gone at the commit.
_PG_NEW_ROWS_TABLE = (
    "CREATE TEMPORARY TABLE import_new_invoices ON COMMIT DROP AS SELECT "  # noqa: S608
    + ", ".join(_NEW_COLUMNS)
    + " FROM invoices WITH NO DATA"
)
_PG_INSERT_NEW = (
    f"INSERT INTO invoices ({_INSERTED_COLUMNS}) "  # noqa: S608 (our own column names)
    "SELECT *, now() AT TIME ZONE 'UTC' FROM import_new_invoices "
    "ON CONFLICT (number) DO NOTHING RETURNING id, delivery"
)


def _parse(line: int, fields: list[str]) -> tuple[InvoiceRow | None, str | None]:
    if len(fields) != len(CSV_HEADER):
        return None, "wrong number of columns"
    customer_number, number, issued, start, end, due, amount, currency, paid, pdf_file = [
        field.strip() for field in fields
    ]
    customer_number = normalize_customer_number(customer_number)
    if not customer_number.isdecimal() or len(customer_number) > CUSTOMER_NUMBER_MAX_DIGITS:
        return None, f"customer_number must be 1 to {CUSTOMER_NUMBER_MAX_DIGITS} digits"
    if not _INVOICE_NUMBER.fullmatch(number) or len(number) > NUMBER_MAX_LENGTH:
        return None, (
            f"invoice_number must be 1 to {NUMBER_MAX_LENGTH} of the characters A-Z 0-9 / - _ ."
        )
    dates, problem = _parse_dates((issued, start, end, due, paid))
    if problem:
        return None, problem
    issue_date, period_from, period_to, due_date, paid_on = dates
    if not _AMOUNT.fullmatch(amount):
        return None, f"gross_amount is not an amount with a dot (1234.56): {amount!r}"
    if not _CURRENCY.fullmatch(currency):
        return None, "currency is not a three-letter code (PLN)"
    if not pdf_file:
        return None, "pdf_file is empty"
    row = InvoiceRow(
        line=line,
        customer_number=customer_number,
        number=number,
        issue_date=cast(date, issue_date),
        period_from=cast(date, period_from),
        period_to=cast(date, period_to),
        due_date=cast(date, due_date),
        gross_amount=Decimal(amount),
        currency=currency,
        paid_on=paid_on,
        pdf_file=pdf_file,
    )
    return row, None


_DATE_COLUMNS = ("issue_date", "period_from", "period_to", "due_date", "paid_on")


def _parse_dates(texts: tuple[str, ...]) -> tuple[list[date | None], str | None]:
    """The row's dates in _DATE_COLUMNS' order; paid_on is None while empty (unpaid)."""
    dates: list[date | None] = []
    for name, text in zip(_DATE_COLUMNS, texts, strict=True):
        if not text and name == "paid_on":
            dates.append(None)
            continue
        parsed = _iso_date(text)
        if parsed is None:
            return dates, f"{name} is not a date (YYYY-MM-DD): {text!r}"
        dates.append(parsed)
    if cast(date, dates[1]) > cast(date, dates[2]):
        return dates, "period_from is after period_to"
    return dates, None


def _iso_date(text: str) -> date | None:
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
