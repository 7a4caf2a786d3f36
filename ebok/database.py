"""How the app opens its database: SQLite set up for a web app that shares the file with
imports and workers (readers never wait for a writer; writers wait briefly, never fail)."""

from flask import Flask
from sqlalchemy import event

from ebok.extensions import db


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        busy_timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))


def _sqlite_pragmas(busy_timeout_ms: int):
    def set_pragmas(dbapi_connection, _connection_record) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers see the last commit while a writer works; NORMAL is durable
        # across application crashes in WAL mode and saves a sync per commit.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return set_pragmas
