"""The customers import (SPEC §8): a CSV file from the billing system, streamed.

Rows are read and validated one at a time and written in batches, one transaction each:
the portal keeps working while a long file goes in (on SQLite in WAL mode its reads never
wait, and its writes wait for one batch at most), memory stays flat whatever the file's
length, and a run that is stopped keeps what it committed, so running it again finishes
the job; rows written by the stopped run then count as unchanged.
"""

import multiprocessing
import os
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import cast

from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from ebok.customers.bank_accounts import normalize_bank_account
from ebok.customers.batches import DIALECTS, Batches
from ebok.customers.csvfiles import (
    ImportRefused,
    ImportReport,
    Record,
    after_the_next,
    ahead,
    chunks,
    count_lines_of_utf8_file,
    long_lived_objects_frozen,
    read_header,
    records,
)
from ebok.extensions import db
from ebok.models import utcnow
from ebok.normalising import (
    customer_number_problem,
    normalize_customer_number,
    normalize_email,
    normalize_phone,
)

__all__ = ["CSV_HEADER", "ImportRefused", "ImportReport", "import_customers"]

CSV_HEADER = ["customer_number", "first_name", "last_name", "email", "phone"]
# Optional (SPEC §11): files without it still import, and keep the stored account.
BANK_ACCOUNT_HEADER = [*CSV_HEADER, "bank_account"]
NAME_MAX_LENGTH = 100
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]+")


def import_customers(
    path: str,
    batch_size: int = 5000,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Adds new customers and updates known ones; never deletes anything. Each rejected
    row is reported with its line number and why; a customer number repeated in the file
    is imported from its first valid line. Commits every `batch_size` lines and calls
    `on_progress(lines done, lines in the file)` after each commit. Batch N+1 is read
    and validated in a thread while batch N is written (csvfiles.ahead), its e-mail
    addresses and phone numbers in a process of its own (_validating_process)."""
    total_lines = count_lines_of_utf8_file(path)
    report = ImportReport()
    with (
        long_lived_objects_frozen(),
        _validating_process() as validator,
        open(path, encoding="utf-8-sig", newline="") as csv_file,
    ):
        header = read_header(csv_file.readline(), CSV_HEADER, BANK_ACCOUNT_HEADER)
        with db.engine.connect() as connection:
            with _batches_of(connection) as batches:
                checked = _checked_batches(
                    db.engine,
                    type(batches),
                    chunks(records(csv_file), batch_size),
                    len(header),
                    validator,
                )
                # closing: the thread stops before the file closes, whatever happens here.
                with closing(ahead(checked)) as ready:
                    for batch in ready:
                        _write_batch(batches, batch, report)
                        connection.commit()
                        if on_progress:
                            on_progress(batch.last_line, total_lines)
    report.rejected.sort()
    return report


@contextmanager
def _validating_process() -> Iterator[Executor]:
    """A process for the costly part of validation (_clean_rows): the threads of one
    process take turns at Python's lock, so only another process validates batch N+1
    while batch N is written. Forked, so it starts at once with the app's modules loaded;
    forked here, before the import's thread starts, as a fork copies only the calling
    thread."""
    validator = ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("fork"), initializer=_end_with_the_import
    )
    try:
        validator.submit(int).result()  # the fork happens at the first task
        yield validator
    finally:
        validator.shutdown(cancel_futures=True)


def _end_with_the_import() -> None:
    """In the validating process: when the import is killed (SIGKILL, the OOM killer),
    this process ends too, rather than wait for work forever holding its output open."""
    parent = cast(multiprocessing.process.BaseProcess, multiprocessing.parent_process())

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="import-watch", daemon=True).start()


@contextmanager
def _batches_of(connection: Connection) -> Iterator[Batches]:
    if connection.dialect.name not in DIALECTS:
        raise ImportRefused("customers can be imported into SQLite or PostgreSQL only")
    if not inspect(connection).has_table("customers"):
        raise ImportRefused(
            "the database has no customers table yet: run `flask --app app db upgrade` first"
        )
    batches = DIALECTS[connection.dialect.name](connection)
    batches.start()
    try:
        yield batches
    finally:
        # Best effort: the temporary table goes with the connection anyway, and the next
        # run starts by dropping it.
        with suppress(SQLAlchemyError):
            batches.finish()


@dataclass
class _Checked:
    """One batch validated, ready to be written."""

    last_line: int
    rejected: list[tuple[int, str]]
    valid: list[tuple[int, tuple]]  # (line, values as stored)
    known: dict[str, tuple]  # number -> stored values, for the batch's known customers
    stale: list[str]  # known numbers whose carried time is to be refreshed


@dataclass
class _Started:
    """One batch looked up, its new customers' rows partly in the validating process."""

    last_line: int
    rejected: list[tuple[int, str]]
    here: list[tuple[int, str, list[str]]]  # (line, number, fields) validated in the thread
    there: Future  # the validating process's share: _clean_rows' answer
    known: dict[str, tuple]
    stale: list[str]


def _checked_batches(
    engine: Engine,
    dialect: type[Batches],
    batches: Iterator[list[Record]],
    columns: int,
    validator: Executor,
) -> Iterator[_Checked]:
    """Each batch validated, in ahead()'s thread, on a connection of its own that only
    reads. Batch N+1 is looked up and handed to the validating process before the thread
    waits for batch N's share there (after_the_next), so that process always has work.
    Looking up a batch before the ones before it are committed is safe: a number met
    again in a later batch is rejected there as repeated (the writer checks that), so
    what one batch writes is never what a later one looked up."""
    with engine.connect() as connection:
        lookups = dialect(connection)
        started = (_start_check(lookups, batch, columns, validator) for batch in batches)
        for batch in after_the_next(started):
            yield _finish_check(batch)


def _start_check(
    lookups: Batches, batch: list[Record], columns: int, validator: Executor
) -> _Started:
    """Checks a batch's numbers and columns, looks up its known customers in one query,
    and hands half of its new customers' rows to the validating process."""
    rejected: list[tuple[int, str]] = []
    candidates: list[tuple[int, str, list[str]]] = []  # (line, number, fields)
    carried: list[str] = []  # every valid number on a line, a rejected one included
    for line, fields, problem in batch:
        number, number_problem = _number_of(fields)
        if number:
            carried.append(number)
        if problem is None and len(cast(list[str], fields)) != columns:
            problem = "wrong number of columns"
        problem = problem or number_problem
        if problem:
            rejected.append((line, problem))
        else:
            candidates.append((line, cast(str, number), cast(list[str], fields)))
    # Billing sent the customer's row, if wrongly: retention must not take them (README,
    # "Retention"), so the carried time of every known number on a line is refreshed.
    known, stale = lookups.known(carried, utcnow())
    lookups.connection.rollback()  # holds no read transaction while the writer works
    # A new customer's row is validated in full: half in the process, half in the thread,
    # where the writer takes turns at the lock. A known one mostly equals what is stored,
    # which costs a comparison: in the thread.
    new = [row for row in candidates if row[1] not in known]
    share = len(new) // 2
    there = validator.submit(_clean_rows, new[share:], {})
    here = new[:share] + [row for row in candidates if row[1] in known]
    return _Started(batch[-1][0], rejected, here, there, known, stale)


def _finish_check(batch: _Started) -> _Checked:
    """Validates the thread's share of a batch, then takes the process's, in file order."""
    valid, rejected = _clean_rows(batch.here, batch.known)
    valid_there, rejected_there = batch.there.result()
    valid = sorted(valid + valid_there, key=lambda line_values: line_values[0])  # file order
    return _Checked(
        batch.last_line, batch.rejected + rejected + rejected_there, valid, batch.known, batch.stale
    )


def _clean_rows(
    candidates: list[tuple[int, str, list[str]]], known: dict[str, tuple]
) -> tuple[list[tuple[int, tuple]], list[tuple[int, str]]]:
    """The (line, values) of the valid candidates, and the (line, why) of the others."""
    valid, rejected = [], []
    for line, number, fields in candidates:
        values, problem = _clean_row(number, fields, known.get(number))
        if problem:
            rejected.append((line, problem))
        else:
            valid.append((line, values))
    return valid, rejected


def _write_batch(batches: Batches, batch: _Checked, report: ImportReport) -> None:
    """Writes the new and changed customers of a validated batch in one statement."""
    report.rejected.extend(batch.rejected)
    first_rows = _drop_repeated_numbers(batches, batch.valid, report)
    rows, settled = _keep_portal_contacts(batches, [values for _, values in first_rows], report)
    changes = _changes(rows, batch.known, report)
    lines = {values[0]: line for line, values in first_rows}
    # batch.stale: the known customers of every line with a valid number, rejected or not.
    batches.write(changes, lines, settled, batch.stale)


# Where a contact datum is in a row: (number, first_name, last_name, email, phone, …).
_CONTACT_COLUMNS = {"email": 3, "phone": 4}


def _keep_portal_contacts(
    batches: Batches, rows: list[tuple], report: ImportReport
) -> tuple[list[tuple], list[int]]:
    """A contact the customer changed in Strefa Klienta stays as they changed it until
    billing's file carries the new value (SPEC §15): then the change is settled (the ids
    returned); until then the row's old value is replaced by the portal's, and the row
    counted as kept."""
    pending = batches.pending_contacts([row[0] for row in rows])
    if not pending:
        return rows, []
    settled: list[int] = []
    kept_rows = []
    for row in rows:
        values = list(row)
        kept = False
        for field, column in _CONTACT_COLUMNS.items():
            portal = pending.get((row[0], field))
            if portal is None:
                continue
            new_value, change_ids = portal
            if values[column] == new_value:
                settled.extend(change_ids)
            else:
                values[column] = new_value
                kept = True
        report.kept_portal_contact += kept
        kept_rows.append(tuple(values))
    return kept_rows, settled


def _number_of(fields: list[str] | None) -> tuple[str | None, str | None]:
    """The customer number in a line's first field, or why it is not one."""
    if not fields:
        return None, "customer_number is empty"
    number = normalize_customer_number(fields[0].strip())
    problem = customer_number_problem(number)
    return (None, problem) if problem else (number, None)


def _clean_row(number: str, fields: list[str], known: tuple | None) -> tuple[tuple, str | None]:
    """(number, first_name, last_name, email, phone, bank_account) as stored, or why the
    row is rejected. A value equal to what is already stored is taken as it is,
    unvalidated again: a re-import of an unchanged file costs a lookup, not a validation,
    per row. Without a bank_account column the stored account stays."""
    email: str | None
    phone: str | None
    first_name, last_name = fields[1].strip(), fields[2].strip()
    email, phone = fields[3].strip(), fields[4].strip()
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        if not value:
            return (), f"{name} is empty"
        if len(value) > NAME_MAX_LENGTH:
            return (), f"{name} is longer than {NAME_MAX_LENGTH} characters"
        if _CONTROL_CHARACTERS.search(value):
            return (), f"{name} contains a control character"
    known_email, known_phone, known_account = known[2:] if known else (None, None, None)
    if email:
        email = known_email if email.casefold() == known_email else normalize_email(email)
        if email is None:
            return (), "email is not a valid e-mail address"
    if phone:
        phone = known_phone if _same_phone(phone, known_phone) else normalize_phone(phone)
        if phone is None:
            return (), "phone is not a valid phone number"
    bank_account = known_account
    if len(fields) > len(CSV_HEADER):
        bank_account = normalize_bank_account(fields[5]) if fields[5].strip() else None
        if fields[5].strip() and bank_account is None:
            return (), "bank_account is not a valid NRB account number (26 digits, checksum)"
    return (number, first_name, last_name, email or None, phone or None, bank_account), None


def _same_phone(typed: str, stored: str | None) -> bool:
    """True when the typed number is the stored E.164 one written in a way normalize_phone
    reads back to it: +48600700800, 600 700 800, 0048 600-700-800."""
    if stored is None:
        return False
    compact = _PHONE_SEPARATORS.sub("", typed)
    international = "+" + compact[2:] if compact.startswith("00") else compact
    return stored in (compact, international, "+48" + compact)


def _drop_repeated_numbers(
    batches: Batches, valid: list[tuple[int, tuple]], report: ImportReport
) -> list[tuple[int, tuple]]:
    """The rows whose number is met here for the first time in the file; the others are
    rejected, naming the line that came first."""
    first_line: dict[str, int] = {}
    for line, values in valid:
        first_line.setdefault(values[0], line)
    first_line.update(batches.seen_before(list(first_line)))
    first_rows = []
    for line, values in valid:
        if first_line[values[0]] != line:
            reason = f"customer number repeated from line {first_line[values[0]]}"
            report.rejected.append((line, reason))
        else:
            first_rows.append((line, values))
    return first_rows


def _changes(rows: list[tuple], known: dict[str, tuple], report: ImportReport) -> list[tuple]:
    """The new and the changed rows, counted; the unchanged ones are only counted."""
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
        changes.append((number, *values))
    return changes
