"""The statements the customers import runs for each batch, in the quickest form each
database has: one statement per step whatever the batch's size. PostgreSQL gets the rows
by COPY into a temporary table and merges them with one INSERT … ON CONFLICT; SQLite gets
JSON lists, for the rows as for lookups. Neither the driver nor SQLAlchemy then handles
thousands of parameters one by one.

Numbers met earlier in the run are kept in a temporary table of the import's connection,
not in memory: memory stays flat however long the file is.
"""

import json
from datetime import datetime, timedelta

from sqlalchemy import Connection, TextClause, bindparam, text

from ebok.database import copy_rows, sqlite_timestamp
from ebok.models import utcnow

# A row to write is (number, first_name, last_name, email, phone, bank_account); the
# stored values of a known customer are the same without the number.
Row = tuple

# Retention (README, "Retention") needs to know when billing's file last carried each
# customer; refreshing that once a day is precise enough for a period counted in days, and
# a file imported again within the day writes nothing.
CARRIED_PRECISION = timedelta(days=1)


class Batches:
    """What both databases share; a subclass per database says how a batch is passed."""

    TEMPORARY_TABLES = {
        "import_seen_numbers": "(number VARCHAR(20) PRIMARY KEY, line INTEGER NOT NULL)"
    }

    # Each database's subclass gives these.
    KNOWN: TextClause
    SEEN_BEFORE: TextClause
    MARK_CARRIED: TextClause
    PENDING_CONTACTS: TextClause
    # Billing's file now carries the portal's change (SPEC §15): it is settled.
    SETTLE = text("UPDATE contact_changes SET settled_at = :now WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @staticmethod
    def number_list(numbers: list[str]) -> str:
        raise NotImplementedError

    def upsert(self, rows: list[Row]) -> None:
        raise NotImplementedError

    def remember(self, first_lines: dict[str, int]) -> None:
        raise NotImplementedError

    def start(self) -> None:
        for name, definition in self.TEMPORARY_TABLES.items():
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
            self.connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} {definition}")

    def finish(self) -> None:
        self.connection.rollback()
        for name in self.TEMPORARY_TABLES:
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        self.connection.commit()

    def known(self, numbers: list[str], now: datetime) -> tuple[dict[str, Row], list[str]]:
        """number -> stored values, for the numbers already in the customers table; and
        those of them whose carried time is older than CARRIED_PRECISION (or unknown)."""
        if not numbers:
            return {}, []
        parameters = {"numbers": self.number_list(numbers), "fresh": now - CARRIED_PRECISION}
        known, stale = {}, []
        for number, *stored, is_stale in self.connection.execute(self.KNOWN, parameters):
            known[number] = tuple(stored)
            if is_stale:
                stale.append(number)
        return known, stale

    def seen_before(self, numbers: list[str]) -> dict[str, int]:
        """number -> line, for the numbers met on a line of an earlier batch."""
        if not numbers:
            return {}
        parameters = {"numbers": self.number_list(numbers)}
        return dict(self.connection.execute(self.SEEN_BEFORE, parameters).all())

    def pending_contacts(self, numbers: list[str]) -> dict[tuple[str, str], tuple[str, list[int]]]:
        """(number, field) -> (the portal's newest value, the ids of its unsettled changes),
        for the contact changes made in Strefa Klienta that billing's files have not
        carried yet."""
        if not numbers:
            return {}
        pending: dict[tuple[str, str], tuple[str, list[int]]] = {}
        rows = self.connection.execute(
            self.PENDING_CONTACTS, {"numbers": self.number_list(numbers)}
        )
        for number, field, new_value, change_id in rows:  # oldest first: the newest wins
            ids = pending.get((number, field), ("", []))[1]
            pending[(number, field)] = (new_value, [*ids, change_id])
        return pending

    def write(
        self,
        changes: list[Row],
        first_lines: dict[str, int],
        settled: list[int] | None = None,
        carried: list[str] | None = None,
    ) -> None:
        """Adds and updates the changed customers, remembers the numbers met for the first
        time in this batch with their lines, settles the portal's contact changes the
        file carries, and records that the file carried the known customers `carried`
        (added and changed ones are recorded by the upsert)."""
        if not changes and not first_lines and not settled and not carried:
            return
        self.begin_writing()
        if changes:
            self.upsert(changes)
        if first_lines:
            self.remember(first_lines)
        if settled:
            self.connection.execute(self.SETTLE, {"now": utcnow(), "ids": settled})
        if carried:
            self.connection.execute(
                self.MARK_CARRIED, {"now": utcnow(), "numbers": self.number_list(carried)}
            )

    def begin_writing(self) -> None:
        """Nothing to do before writing, unless a database says otherwise."""


class PostgreSQLBatches(Batches):
    TEMPORARY_TABLES = {
        **Batches.TEMPORARY_TABLES,
        # Emptied by each commit: it holds one batch on its way into customers.
        "import_batch_rows": "(number VARCHAR(20), first_name VARCHAR(100), "
        "last_name VARCHAR(100), email VARCHAR(254), phone VARCHAR(16), bank_account VARCHAR(26)) "
        "ON COMMIT DELETE ROWS",
    }
    KNOWN = text(
        "SELECT number, first_name, last_name, email, phone, bank_account, "
        "(last_in_billing_at IS NULL OR last_in_billing_at < :fresh) FROM customers "
        "WHERE number IN (SELECT unnest(string_to_array(:numbers, ',')))"
    )
    MARK_CARRIED = text(
        "UPDATE customers SET last_in_billing_at = :now "
        "WHERE number IN (SELECT unnest(string_to_array(:numbers, ',')))"
    )
    SEEN_BEFORE = text(
        "SELECT number, line FROM import_seen_numbers "
        "WHERE number IN (SELECT unnest(string_to_array(:numbers, ',')))"
    )
    PENDING_CONTACTS = text(
        "SELECT customers.number, contact_changes.field, contact_changes.new_value, "
        "contact_changes.id FROM contact_changes "
        "JOIN customers ON customers.id = contact_changes.customer_id "
        "WHERE contact_changes.changed_at IS NOT NULL AND contact_changes.settled_at IS NULL "
        "AND customers.number IN (SELECT unnest(string_to_array(:numbers, ','))) "
        "ORDER BY contact_changes.changed_at, contact_changes.id"
    )
    # A customer carried again after retention removed their data has it back, and is
    # no longer marked as removed.
    MERGE_BATCH = text(
        "INSERT INTO customers (number, first_name, last_name, email, phone, bank_account, "
        "updated_at, last_in_billing_at) "
        "SELECT *, CAST(:now AS timestamp), CAST(:now AS timestamp) FROM import_batch_rows "
        "ON CONFLICT (number) DO UPDATE SET first_name = excluded.first_name, "
        "last_name = excluded.last_name, email = excluded.email, phone = excluded.phone, "
        "bank_account = excluded.bank_account, updated_at = excluded.updated_at, "
        "last_in_billing_at = excluded.last_in_billing_at, personal_data_removed_at = NULL"
    )

    @staticmethod
    def number_list(numbers: list[str]) -> str:
        return ",".join(numbers)  # customer numbers are digits only

    def upsert(self, rows: list[Row]) -> None:
        copy_rows(self.connection, "COPY import_batch_rows FROM STDIN", rows)
        self.connection.execute(self.MERGE_BATCH, {"now": utcnow()})

    def remember(self, first_lines: dict[str, int]) -> None:
        copy_rows(
            self.connection,
            "COPY import_seen_numbers (number, line) FROM STDIN",
            first_lines.items(),
        )


class SQLiteBatches(Batches):
    KNOWN = text(
        "SELECT number, first_name, last_name, email, phone, bank_account, "
        "(last_in_billing_at IS NULL OR last_in_billing_at < :fresh) FROM customers "
        "WHERE number IN (SELECT value FROM json_each(:numbers))"
    )
    MARK_CARRIED = text(
        "UPDATE customers SET last_in_billing_at = :now "
        "WHERE number IN (SELECT value FROM json_each(:numbers))"
    )
    SEEN_BEFORE = text(
        "SELECT number, line FROM import_seen_numbers "
        "WHERE number IN (SELECT value FROM json_each(:numbers))"
    )
    PENDING_CONTACTS = text(
        "SELECT customers.number, contact_changes.field, contact_changes.new_value, "
        "contact_changes.id FROM contact_changes "
        "JOIN customers ON customers.id = contact_changes.customer_id "
        "WHERE contact_changes.changed_at IS NOT NULL AND contact_changes.settled_at IS NULL "
        "AND customers.number IN (SELECT value FROM json_each(:numbers)) "
        "ORDER BY contact_changes.changed_at, contact_changes.id"
    )
    # A batch's rows come as one JSON list, read by SQLite in one statement: the driver
    # lets go of Python's lock once for the batch, not once a row as executemany does, so
    # the next batch's validation (in ahead()'s thread) runs while SQLite writes. (WHERE
    # true: SQLite's upsert needs it after a SELECT.)
    UPSERT = (
        "INSERT INTO customers (number, first_name, last_name, email, phone, bank_account, "
        "updated_at, last_in_billing_at) "
        "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
        "json_extract(value, '$[2]'), json_extract(value, '$[3]'), "
        "json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?1, ?1 "
        "FROM json_each(?2) WHERE true "
        "ON CONFLICT (number) DO UPDATE SET first_name = excluded.first_name, "
        "last_name = excluded.last_name, email = excluded.email, phone = excluded.phone, "
        "bank_account = excluded.bank_account, updated_at = excluded.updated_at, "
        "last_in_billing_at = excluded.last_in_billing_at, personal_data_removed_at = NULL"
    )
    REMEMBER = (
        "INSERT INTO import_seen_numbers (number, line) "
        "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)"
    )

    @staticmethod
    def number_list(numbers: list[str]) -> str:
        return json.dumps(numbers)

    def begin_writing(self) -> None:
        # Take the write lock first, waiting for it (busy timeout): a transaction that has
        # read first (json_each reads "main") fails at once if another connection wrote in
        # the meantime.
        self.connection.exec_driver_sql("BEGIN IMMEDIATE")

    def upsert(self, rows: list[Row]) -> None:
        now = sqlite_timestamp(utcnow())
        self.connection.exec_driver_sql(self.UPSERT, (now, json.dumps(rows)))

    def remember(self, first_lines: dict[str, int]) -> None:
        self.connection.exec_driver_sql(self.REMEMBER, (json.dumps(list(first_lines.items())),))


DIALECTS = {"postgresql": PostgreSQLBatches, "sqlite": SQLiteBatches}
