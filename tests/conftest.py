"""Fixtures: the app on a fresh SQLite database, visitors speaking plain HTTP or htmx, and
customers of every kind the wizard must handle. Shared helpers live in support.py."""

import pytest
from support import TEST_CONFIG, TEST_PASSWORD, Visitor, _Snapshot

from ebok import create_app
from ebok.extensions import db, limiter
from ebok.models import Account, Customer
from ebok.passwords import hash_password


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


@pytest.fixture
def app(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/test.db"})
    with app.app_context():
        db.create_all()
        limiter.reset()
    # No app context stays pushed: each request gets its own, as in production.
    yield app
    with app.app_context():
        db.engine.dispose()


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
    """Customers of every kind the wizard must handle."""
    rows = {
        "both": Customer(
            number="200001",
            first_name="Anna",
            last_name="Nowak",
            email="anna.nowak@example.com",
            phone="+48512345678",
        ),
        "email_only": Customer(
            number="200002",
            first_name="Jan",
            last_name="Kowalski",
            email="jan.kowalski@example.com",
        ),
        "phone_only": Customer(
            number="200003", first_name="Maria", last_name="Wiśniewska", phone="+48600700803"
        ),
        "neither": Customer(number="200004", first_name="Piotr", last_name="Wójcik"),
        "registered": Customer(
            number="200005",
            first_name="Ewa",
            last_name="Kamińska",
            email="ewa.kaminska@example.com",
            phone="+48600700805",
        ),
    }
    with app.app_context():
        db.session.add_all(rows.values())
        db.session.add(
            Account(customer=rows["registered"], password_hash=hash_password(TEST_PASSWORD))
        )
        db.session.commit()
        return {key: _Snapshot(customer) for key, customer in rows.items()}
