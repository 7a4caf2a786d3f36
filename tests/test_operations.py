"""What operators run (SPEC §8, §8.1): the CLI, configuration, migrations, the dev page."""

import re

import pytest
from sqlalchemy import inspect, select
from support import PRODUCTION_ENVIRONMENT

from ebok.extensions import db
from ebok.models import Account, Customer

CSV = """customer_number,first_name,last_name,email,phone
300 001,Adam,Zieliński,Adam.Zielinski@Example.com,600 700 900
300-002,Beata,Lis,,+48 600 700 901
300003,Cezary,Kot,cezary@example.com,
,No,Number,x@example.com,
30000A,Bad,Number,,
300004,,Nameless,,
300005,Bad,Mail,not-an-address,
300006,Bad,Phone,,12345
300001,Adam,Again,,
"""


def write_csv(tmp_path, text=CSV):
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_customers_import_reports_and_is_idempotent(app, runner, tmp_path):
    path = write_csv(tmp_path)
    result = runner.invoke(args=["customers", "import", path])
    assert result.exit_code == 0, result.output
    assert "added: 3, updated: 0, unchanged: 0, rejected: 6" in result.output
    for line, reason in [
        (5, "customer_number is empty"),
        (6, "customer_number must be 1 to 20 digits"),
        (7, "first_name is empty"),
        (8, "email is not a valid"),
        (9, "phone is not a valid"),
        (10, "customer number repeated from line 2"),
    ]:
        assert f"line {line}: {reason}" in result.output
    with app.app_context():
        adam = db.session.scalars(select(Customer).where(Customer.number == "300001")).one()
        assert adam.email == "adam.zielinski@example.com" and adam.phone == "+48600700900"

    result = runner.invoke(args=["customers", "import", path])
    assert "added: 0, updated: 0, unchanged: 3, rejected: 6" in result.output

    changed = CSV.replace("600 700 900", "600 700 999")
    result = runner.invoke(args=["customers", "import", write_csv(tmp_path, changed)])
    assert "added: 0, updated: 1, unchanged: 2" in result.output


def test_import_never_deletes_and_keeps_accounts(app, runner, tmp_path, customers):
    result = runner.invoke(args=["customers", "import", write_csv(tmp_path)])
    assert result.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Customer.id))) == 5 + 3
        assert db.session.scalar(select(db.func.count(Account.id))) == 1


def test_import_refuses_a_file_with_the_wrong_header(runner, tmp_path):
    result = runner.invoke(args=["customers", "import", write_csv(tmp_path, "number,name\n1,2\n")])
    assert result.exit_code != 0
    assert "customer_number,first_name,last_name,email,phone" in result.output


@pytest.mark.slow
def test_demo_seed_covers_every_kind_and_can_run_twice(app, runner):
    first = runner.invoke(args=["demo", "seed"])
    second = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0 and second.exit_code == 0
    for text in ("e-mail only", "phone only", "neither", "already registered"):
        assert text in first.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Customer.id))) == 5
        assert db.session.scalar(select(db.func.count(Account.id))) == 1


def test_outbox_deliver_command(app, runner, visitor, customers):
    visitor.post("/rejestracja/", {"number": customers["both"].number, "action": "next"})
    visitor.post("/rejestracja/sposob", {"channel": "sms", "phone": "512345678", "action": "next"})
    from support import outbox

    assert [m.status for m in outbox(app)] == ["pending"]
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert [m.status for m in outbox(app)] == ["sent"]


def test_db_upgrade_builds_the_schema_the_models_describe(make_app, empty_database):
    app = make_app(**empty_database)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == []
        assert set(inspect(db.engine).get_table_names()) >= {
            "customers",
            "accounts",
            "verifications",
            "outbox_messages",
        }
        db.engine.dispose()


def test_production_refuses_to_start_without_a_secret_key(environment, production_app):
    environment()
    with pytest.raises(RuntimeError, match="FLASK_SECRET_KEY"):
        production_app()


def test_production_configuration(environment, production_app):
    environment(
        **{**PRODUCTION_ENVIRONMENT, "FLASK_SMS_GATEWAY_URL": "https://sms.example.pl/send"},
        FLASK_MAIL_PORT="587",
    )
    app = production_app()
    assert app.config["MAIL_PORT"] == 587
    assert app.config["MAIL_BACKEND"] == "smtp" and app.config["SMS_BACKEND"] == "http"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    # The development messages page does not exist in production.
    assert app.test_client().get("/dev/wiadomosci").status_code == 404


@pytest.mark.config(DEBUG=True)
def test_the_development_messages_page_lists_codes(app):
    from support import Visitor

    with app.app_context():
        db.session.add(
            Customer(number="400001", first_name="Ola", last_name="Nowak", phone="+48600700123")
        )
        db.session.commit()
    visitor = Visitor(app.test_client(), htmx=False)
    visitor.post("/rejestracja/", {"number": "400001", "action": "next"})
    visitor.post("/rejestracja/sposob", {"channel": "sms", "phone": "600700123", "action": "next"})
    page = visitor.get("/dev/wiadomosci").get_data(as_text=True)
    assert "+48600700123" in page
    assert re.search(r"Kod rejestracji: \d{6}\.", page)
    with app.app_context():
        db.engine.dispose()


# The page lists the counts of memory://, development's storage (Redis's are only cleared).
@pytest.mark.config(
    DEBUG=True, RATELIMIT_LOGIN_PER_ACCOUNT="2/15 minutes", RATELIMIT_STORAGE_URI="memory://"
)
def test_a_tester_locked_out_sees_the_counts_and_clears_them(app, customers):
    """Limits in development are as in production; the messages page lists what is
    counted and clears it, so a tester need not wait."""
    from support import TEST_PASSWORD, Visitor

    visitor = Visitor(app.test_client(), htmx=False)
    for _ in range(2):
        visitor.post("/", {"login": "200005", "password": "wrong-password-1"})
    assert visitor.post("/", {"login": "200005", "password": TEST_PASSWORD}).status_code == 429
    page = visitor.get("/dev/wiadomosci").get_data(as_text=True)
    assert re.search(r"RATELIMIT_LOGIN_PER_ACCOUNT</code></td><td>account:\d+</td><td>\d/2", page)
    assert re.search(r"RATELIMIT_LOGIN</code></td><td>client:127\.0\.0\.1</td><td>\d/100", page)
    response = visitor.post("/dev/limity/wyczysc")
    assert response.request.path == "/dev/wiadomosci"
    assert "Nic nie jest teraz liczone." in response.get_data(as_text=True)
    response = visitor.post("/", {"login": "200005", "password": TEST_PASSWORD})
    assert response.request.path == "/strona-glowna"


@pytest.mark.config(DEBUG=True)
def test_clearing_the_limits_needs_the_csrf_token(app):
    from support import Visitor

    visitor = Visitor(app.test_client(), htmx=False)
    assert visitor.post("/dev/limity/wyczysc", csrf=False).status_code == 400
