"""A fresh, empty database for one benchmark run: a SQLite file in the run's folder, or a
PostgreSQL database of its own, dropped afterwards."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

POSTGRES_SERVER = os.environ.get(
    "EBOK_BENCH_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def fresh_database(kind: str, folder: str, prefix: str) -> Iterator[str | None]:
    """The new database's URL, or None (saying so) when PostgreSQL does not answer."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/{prefix}-{uuid.uuid4().hex[:6]}.db"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    server = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except OperationalError as problem:
        print(f"postgresql: skipped, not reachable at {POSTGRES_SERVER} ({problem.orig})")
        yield None
        return
    try:
        yield POSTGRES_SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.dispose()
