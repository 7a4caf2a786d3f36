"""The named PostgreSQL databases some tests and benchmarks use on the local server
(ebok_abuse, ebok_outbox, test): created when missing, so a fresh machine runs them
rather than skipping them."""

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def ensure_database(url: str) -> None:
    """Create the database `url` names, if missing, through the server's `postgres`
    database. Raises sqlalchemy's OperationalError when the server does not answer."""
    target = make_url(url)
    assert target.database, f"{url} names no database"
    server = sa.create_engine(
        target.set(database="postgres"),
        isolation_level="AUTOCOMMIT",  # CREATE DATABASE cannot run inside a transaction
        poolclass=sa.pool.NullPool,
        connect_args={"connect_timeout": 2},
    )
    try:
        with server.connect() as connection:
            exists = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                name = connection.dialect.identifier_preparer.quote(target.database)
                try:
                    connection.exec_driver_sql(f"CREATE DATABASE {name}")
                except sa.exc.ProgrammingError as problem:
                    # Another run created it between our look and our CREATE.
                    if "already exists" not in str(problem.orig):
                        raise
    finally:
        server.dispose()
