"""How the app opens its database: SQLite set up for a web app that shares the file with
imports and workers (readers never wait for a writer; writers wait briefly, never fail);
PostgreSQL with every call bounded in time, so a server that hangs or is frozen gives the
outage page within seconds, never a worker blocked until gunicorn kills it."""

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from flask import Flask
from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ebok.extensions import db

log = logging.getLogger(__name__)

# The server cancels a statement after DATABASE_STATEMENT_TIMEOUT; the app waits this much
# longer for that answer before it gives the server up as hung.
ANSWER_MARGIN = 1.0


def init_app(app: Flask) -> None:
    # Flask-SQLAlchemy's own teardown lets a failing rollback escape, and gunicorn then
    # answers its bare 500 in place of the page already made.
    app.teardown_appcontext_funcs.remove(db._teardown_session)
    app.teardown_appcontext(_remove_session)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        busy_timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))
    elif engine.dialect.driver == "psycopg" and app.config["DATABASE_STATEMENT_TIMEOUT"]:
        answer_timeout = app.config["DATABASE_STATEMENT_TIMEOUT"] + ANSWER_MARGIN
        event.listen(engine, "do_connect", _bounded_connections(answer_timeout))


def sqlite_timestamp(moment: datetime) -> str:
    """A time as SQLAlchemy's DateTime stores it in SQLite, for the imports' raw bulk
    inserts (the driver's executemany, without SQLAlchemy's per-row processing)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


# For a connection that writes batch after batch into large indexes (the invoices import):
# with SQLite's defaults its WAL is checkpointed (copied into the database and synced)
# after nearly every commit, and index pages are read back from a 2 MB page cache. These
# make its commits cost about what one long transaction does (100 000 invoices: 1.4 ->
# 1.0 s) with memory still flat: an 8 MB cache, a checkpoint every 10 000 pages (40 MB).
SQLITE_BATCH_WRITER_PRAGMAS = ("PRAGMA cache_size = -8192", "PRAGMA wal_autocheckpoint = 10000")


def copy_rows(connection: Connection, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL's COPY … FROM STDIN of `rows` on the connection's transaction: the
    imports' bulk path, each row formatted by psycopg's C code rather than bound as
    parameters (or array elements) one by one in Python."""
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        # psycopg's cursor (a context manager with copy()), not the DB-API minimum.
        cursor_of: Any = connection.connection
        with cursor_of.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except driver_error as problem:
        # Wrapped as SQLAlchemy wraps the errors of its own statements, so a command
        # reports it like any database error, by its first line (the next lines of the
        # driver's message quote the row).
        raise DBAPIError.instance(statement, None, problem, driver_error) from None


def lift_time_bounds() -> None:
    """For an operator's long command (an import, a migration), which may rightly run a
    statement or wait for a lock longer than a page may: the connections it takes from
    now on have no statement or lock timeout, and the app waits for their answers. Pages
    and the outbox worker keep their bounds."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return
    event.listen(engine, "checkout", _unbounded)
    db.session.close()  # the next query checks a connection out


def unbound_connection(dbapi_connection: Any) -> None:
    """One connection without the time bounds (see lift_time_bounds)."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("SET lock_timeout = 0")
    if hasattr(dbapi_connection, "answer_timeout"):  # a bounded connection
        dbapi_connection.answer_timeout = None


def _unbounded(dbapi_connection: Any, _connection_record: Any, _connection_proxy: Any) -> None:
    unbound_connection(dbapi_connection)


def _remove_session(_error: BaseException | None) -> None:
    """Ends the request's session. Its rollback fails when the database went away after
    the session's last query: the connection is dropped, and that is logged once."""
    try:
        db.session.remove()
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[:1]
        log.error("database session not closed cleanly: %s %s", type(error).__name__, *reason)
    finally:
        db.session.registry.clear()  # never handed to a later context with the same id


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def set_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers see the last commit while a writer works; NORMAL is durable
        # across application crashes in WAL mode and saves a sync per commit.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return set_pragmas


@cache
def _bounded_connection_class() -> type[Any]:
    """Defined on first use: psycopg (11 MB in a worker) is loaded on PostgreSQL only."""
    import psycopg
    from psycopg.errors import _WaitTimeout

    class BoundedConnection(psycopg.Connection):
        """A connection that waits at most `answer_timeout` seconds for any answer (a query,
        a commit, the pool's ping). The server-side timeouts do not help when the server
        itself is frozen, nor does TCP: the kernel still acknowledges what is sent."""

        answer_timeout: float | None = None

        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            try:
                bound = timeout if timeout is not None else self.answer_timeout
                return super().wait(gen, interval, bound)
            except _WaitTimeout:
                # Halfway through the protocol nothing more can be sent on it: closed, it is
                # dropped by the pool (SQLAlchemy sees a disconnect) and replaced later.
                self.pgconn.finish()
                raise psycopg.OperationalError(
                    f"the database did not answer within {self.answer_timeout:g} s"
                ) from None

    return BoundedConnection


def _bounded_connections(answer_timeout: float) -> Callable[..., Any]:
    def connect(
        _dialect: Any, _connection_record: Any, cargs: list[Any], cparams: dict[str, Any]
    ) -> Any:
        connection = _bounded_connection_class().connect(*cargs, **cparams)
        connection.answer_timeout = answer_timeout
        return connection

    return connect
