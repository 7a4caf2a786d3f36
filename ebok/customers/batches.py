"""The statements the customers import runs for each batch, in the quickest form each
database has: one statement per step whatever the batch's size, with the batch passed as
arrays on PostgreSQL and as JSON lists on SQLite, so neither the driver nor SQLAlchemy
handles thousands of parameters one by one.

Numbers met earlier in the run are kept in a temporary table of the import's connection,
not in memory: memory stays flat however long the file is.
"""

import json
from datetime import datetime

from sqlalchemy import Connection, text

from ebok.models import utcnow

SEEN_TABLE = "import_seen_numbers"

# Stored values of a customer, as the import compares them: (first_name, last_name,
# email, phone), and a row to write: (number, first_name, last_name, email, phone).
Known = dict[str, tuple]


class Batches:
    """The common part; a subclass per database says how to pass a batch."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def start(self) -> None:
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {SEEN_TABLE}")
        self.connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {SEEN_TABLE} "
            "(number VARCHAR(20) PRIMARY KEY, line INTEGER NOT NULL)"
        )

    def finish(self) -> None:
        self.connection.rollback()
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {SEEN_TABLE}")
        self.connection.commit()

    def known(self, numbers: list[str]) -> Known:
        """number -> stored values, for the numbers already in the customers table."""
        if not numbers:
            return {}
        rows = self.connection.execute(self.KNOWN, self.list_parameters(numbers=numbers))
        return {number: tuple(stored) for number, *stored in rows}

    def seen_before(self, numbers: list[str]) -> dict[str, int]:
        """number -> line, for the numbers met on a line of an earlier batch."""
        if not numbers:
            return {}
        parameters = self.list_parameters(numbers=numbers)
        return dict(self.connection.execute(self.SEEN_BEFORE, parameters).all())

    def write(self, changes: list[tuple], first_lines: dict[str, int]) -> None:
        """Adds and updates the changed customers, and remembers the numbers met for the
        first time in this batch with their lines."""
        if not changes and not first_lines:
            return
        self.begin_writing()
        if changes:
            self.upsert(changes, utcnow())
        if first_lines:
            self.remember(first_lines)

    def remember(self, first_lines: dict[str, int]) -> None:
        parameters = {"numbers": list(first_lines), "lines": list(first_lines.values())}
        self.connection.execute(self.REMEMBER, parameters)

    def begin_writing(self) -> None:
        """Nothing to do before writing, unless a database says otherwise."""


class PostgreSQLBatches(Batches):
    KNOWN = text(
        "SELECT number, first_name, last_name, email, phone FROM customers "
        "WHERE number = ANY(CAST(:numbers AS varchar[]))"
    )
    SEEN_BEFORE = text(
        "SELECT number, line FROM import_seen_numbers "
        "WHERE number = ANY(CAST(:numbers AS varchar[]))"
    )
    REMEMBER = text(
        "INSERT INTO import_seen_numbers (number, line) "
        "SELECT * FROM unnest(CAST(:numbers AS varchar[]), CAST(:lines AS integer[])) "
        "ON CONFLICT (number) DO NOTHING"
    )
    UPSERT = text(
        "INSERT INTO customers (number, first_name, last_name, email, phone, updated_at) "
        "SELECT *, CAST(:now AS timestamp) FROM unnest(CAST(:numbers AS varchar[]), "
        "CAST(:first_names AS varchar[]), CAST(:last_names AS varchar[]), "
        "CAST(:emails AS varchar[]), CAST(:phones AS varchar[])) "
        "ON CONFLICT (number) DO UPDATE SET first_name = excluded.first_name, "
        "last_name = excluded.last_name, email = excluded.email, phone = excluded.phone, "
        "updated_at = excluded.updated_at"
    )

    @staticmethod
    def list_parameters(**lists: list) -> dict:
        return lists

    def upsert(self, rows: list[tuple], now: datetime) -> None:
        numbers, first_names, last_names, emails, phones = (
            list(column) for column in zip(*rows, strict=True)
        )
        self.connection.execute(
            self.UPSERT,
            {
                "numbers": numbers,
                "first_names": first_names,
                "last_names": last_names,
                "emails": emails,
                "phones": phones,
                "now": now,
            },
        )


class SQLiteBatches(Batches):
    KNOWN = text(
        "SELECT number, first_name, last_name, email, phone FROM customers "
        "WHERE number IN (SELECT value FROM json_each(:numbers))"
    )
    SEEN_BEFORE = text(
        "SELECT number, line FROM import_seen_numbers "
        "WHERE number IN (SELECT value FROM json_each(:numbers))"
    )
    REMEMBER = text(
        "INSERT OR IGNORE INTO import_seen_numbers (number, line) "
        "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
        "FROM json_each(:numbers_and_lines)"
    )
    UPSERT = (
        "INSERT INTO customers (number, first_name, last_name, email, phone, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (number) DO UPDATE SET first_name = excluded.first_name, "
        "last_name = excluded.last_name, email = excluded.email, phone = excluded.phone, "
        "updated_at = excluded.updated_at"
    )

    @staticmethod
    def list_parameters(**lists: list) -> dict:
        return {name: json.dumps(values) for name, values in lists.items()}

    def remember(self, first_lines: dict[str, int]) -> None:
        # One list of pairs: joining two lists on their positions would compare each
        # element with every other.
        pairs = json.dumps(list(first_lines.items()))
        self.connection.execute(self.REMEMBER, {"numbers_and_lines": pairs})

    def begin_writing(self) -> None:
        # Take the write lock first, waiting for it (busy timeout): a transaction that
        # has read first (json_each reads "main") fails at once if another connection
        # wrote in the meantime.
        self.connection.exec_driver_sql("BEGIN IMMEDIATE")

    def upsert(self, rows: list[tuple], now: datetime) -> None:
        # The driver's own executemany: a loop in C. The time is stored as SQLAlchemy
        # stores it in SQLite.
        stored_now = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        self.connection.exec_driver_sql(self.UPSERT, [(*row, stored_now) for row in rows])


DIALECTS = {"postgresql": PostgreSQLBatches, "sqlite": SQLiteBatches}
