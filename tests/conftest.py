"""Fixtures: the app on a clean database, visitors speaking plain HTTP or htmx, customers
of every kind the wizard must handle, and the auth and wizard actions. What they hand out
lives in support/.

The suite runs on SQLite unless EBOK_TEST_DATABASE_URI names a PostgreSQL database, and
counts rate limits in memory unless EBOK_TEST_RATELIMIT_STORAGE_URI names a Redis database.
Reading the environment is test setup; the app itself gets everything through its config.
"""

import os
import uuid

import pytest
import sqlalchemy as sa
from support import TEST_CONFIG, AuthActions, Visitor, WizardActions, add_customers

from ebok import create_app
from ebok.extensions import db, limiter


def _compile_catalogs() -> None:
    """The tests read the Polish interface, so they need the compiled catalogs; they are
    built from the .po files, never committed."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in Path(__file__).parent.parent.glob("translations/*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)


_compile_catalogs()


TEST_DATABASE_URI = os.environ.get("EBOK_TEST_DATABASE_URI")
TEST_RATELIMIT_STORAGE_URI = os.environ.get("EBOK_TEST_RATELIMIT_STORAGE_URI", "memory://")
# One run's own namespace, so runs sharing a PostgreSQL database or a Redis never meet.
RUN_ID = f"ebok_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def _postgresql_schema_config(schema: str) -> dict:
    """The config that puts the app's tables into `schema` of the test database."""
    return {
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URI,
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True,
            "connect_args": {"options": f"-csearch_path={schema}"},
        },
    }


@pytest.fixture(scope="session")
def _postgresql():
    """An admin engine and a schema for this run, dropped at the end."""
    assert TEST_DATABASE_URI, "only on PostgreSQL (EBOK_TEST_DATABASE_URI)"
    engine = sa.create_engine(TEST_DATABASE_URI, poolclass=sa.pool.NullPool)
    schemas: list[str] = []

    def new_schema() -> str:
        name = f"{RUN_ID}_{len(schemas)}"
        with engine.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {name}"))
        schemas.append(name)
        return name

    yield engine, new_schema
    with engine.begin() as connection:
        for name in schemas:
            connection.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def _shared_schema(_postgresql):
    """One schema with every table, emptied before each test (quicker than a new one)."""
    engine, new_schema = _postgresql
    schema = new_schema()
    with engine.begin() as connection:
        connection.execute(sa.text(f"SET LOCAL search_path TO {schema}"))
        db.metadata.create_all(connection)
    return schema


@pytest.fixture
def database(request, tmp_path) -> dict:
    """Config for a database with every table and no rows: a new SQLite file, or the
    PostgreSQL run schema emptied, ids starting again at 1 (DELETE is several times quicker
    than TRUNCATE on tables this small)."""
    if not TEST_DATABASE_URI:
        uri = f"sqlite:///{tmp_path}/test.db"
        engine = sa.create_engine(uri, poolclass=sa.pool.NullPool)
        db.metadata.create_all(engine)
        engine.dispose()
        return {"SQLALCHEMY_DATABASE_URI": uri}
    engine, _ = request.getfixturevalue("_postgresql")
    schema = request.getfixturevalue("_shared_schema")
    # A connection a test left inside a transaction would block this: fail instead.
    statements = ["SET LOCAL lock_timeout = '10s'"]
    for table in reversed(db.metadata.sorted_tables):
        statements.append(f"DELETE FROM {schema}.{table.name}")  # noqa: S608 (our names)
        if table.autoincrement_column is not None:
            column = table.autoincrement_column.name
            statements.append(f"ALTER SEQUENCE {schema}.{table.name}_{column}_seq RESTART")
    with engine.begin() as connection:
        connection.exec_driver_sql("; ".join(statements))
    return _postgresql_schema_config(schema)


@pytest.fixture
def empty_database(request, tmp_path) -> dict:
    """Config for a database without tables, for `db upgrade`: a new SQLite file, or a new
    PostgreSQL schema."""
    if not TEST_DATABASE_URI:
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/empty.db"}
    _, new_schema = request.getfixturevalue("_postgresql")
    return _postgresql_schema_config(new_schema())


def _suite_storage(app) -> bool:
    return app.config["RATELIMIT_STORAGE_URI"] == TEST_RATELIMIT_STORAGE_URI


@pytest.fixture
def make_app(database, tmp_path):
    """Builds apps on this test's database with settings of their own: make_app(**overrides).
    For settings known only at run time (a private server's address, a temporary folder);
    fixed ones go in the `config` marker the `app` fixture reads."""
    apps = []

    def make(**overrides):
        app = create_app(
            {
                **TEST_CONFIG,
                **database,
                # Invoice PDFs (demo seed, imports) never go to the checkout's instance folder.
                "INVOICE_STORAGE": str(tmp_path / "invoice-storage"),
                # Each test's hashing slots are its own (ebok/identity/hashing_gate.py).
                "HASHING_GATE_DIR": str(tmp_path / "hashing-gate"),
                "RATELIMIT_STORAGE_URI": TEST_RATELIMIT_STORAGE_URI,
                "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": RUN_ID},
                **overrides,
            }
        )
        if _suite_storage(app):
            with app.app_context():
                limiter.reset()
        apps.append(app)
        return app

    # No app context stays pushed: each request gets its own, as in production.
    yield make
    for app in apps:
        with app.app_context():
            if _suite_storage(app):
                limiter.reset()  # a shared Redis keeps nothing of this test
            db.engine.dispose()


@pytest.fixture
def app(request, make_app):
    """The app on a clean database. `@pytest.mark.config(KEY=value, ...)` on a test, its
    class or its module changes settings (as Flask-Security's `settings` marker); the
    marker nearest the test wins for a key both set."""
    overrides = {}
    for marker in reversed(list(request.node.iter_markers("config"))):
        overrides.update(marker.kwargs)
    return make_app(**overrides)


@pytest.fixture
def environment(monkeypatch):
    """A clean FLASK_ environment: none of the test run's own, no CLI flag. Returns
    set(**variables) to set some."""
    for name in list(os.environ):
        if name.startswith("FLASK_") or name == "SERVER_SOFTWARE":
            monkeypatch.delenv(name)

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


@pytest.fixture
def production_app(tmp_path):
    """Builds the app as production starts it, from the environment (the `environment`
    fixture) without the test settings: production_app(**config). Only the database and
    memory:// limits are given. Starts that must be refused raise here."""

    def build(**config):
        return create_app(
            {
                "RATELIMIT_STORAGE_URI": "memory://",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db",
                **config,
            }
        )

    return build


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(params=["plain", "htmx"])
def visitor(app, request):
    """Each test that uses it runs twice: without JavaScript and as htmx."""
    return Visitor(app.test_client(), htmx=request.param == "htmx")


@pytest.fixture
def make_visitor(app):
    return lambda htmx=False: Visitor(app.test_client(), htmx=htmx)


@pytest.fixture
def customers(app):
    """Customers of every kind the wizard must handle (support.CUSTOMERS)."""
    return add_customers(app)


@pytest.fixture
def auth(visitor):
    """Logs the visitor in and out: auth.log_in(), auth.log_out()."""
    return AuthActions(visitor)


@pytest.fixture
def wizard(app, visitor):
    """Walks the registration wizard as the visitor: wizard.to_password(customer)..."""
    return WizardActions(app, visitor, "/rejestracja")


@pytest.fixture
def reset_wizard(app, visitor):
    """The same for Zapomniałem hasła."""
    return WizardActions(app, visitor, "/zapomnialem-hasla")


@pytest.fixture
def smtp_server():
    """Starts real SMTP servers on demand: smtp_server(port=0, **options); stops them all."""
    from support import SmtpServer

    servers = []

    def start(**options):
        server = SmtpServer(**options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
