"""The customers import as operators run it (issue 14, issue 10 item 7): the portal keeps
working while a long file goes in, a killed import resumes, and broken files get one clear
line each. Long imports run as real `flask customers import` processes, on SQLite and on
PostgreSQL (skipped when no server answers)."""

import csv
import itertools
import os
import pty
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from csv_files import HEADER, customer_row, write_customers_csv
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from support import (
    PRODUCTION_ENVIRONMENT,
    TEST_PASSWORD,
    Visitor,
    app_on_database,
    follow,
    last_code,
    text_of,
)

from ebok.customers.csvfiles import records
from ebok.extensions import db
from ebok.identity.passwords import hash_password
from ebok.models import Account, Customer

ROOT = Path(__file__).resolve().parent.parent
# The PostgreSQL variants create throwaway databases on the server of the suite's own
# database (EBOK_TEST_DATABASE_URI) when it names one, else on the local server.
SUITE_DATABASE = os.environ.get("EBOK_TEST_DATABASE_URI")
POSTGRES_SERVER = (
    SUITE_DATABASE.rsplit("/", 1)[0]
    if SUITE_DATABASE
    else "postgresql+psycopg://postgres@127.0.0.1:5432"
)
CUSTOMER_COLUMNS = "number, first_name, last_name, email, phone"


@contextmanager
def postgres_database():
    """A fresh database on the PostgreSQL server, dropped afterwards."""
    name = f"ebok_import_test_{uuid.uuid4().hex[:12]}"
    server = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except OperationalError as problem:
        server.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_SERVER}: {problem}")
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.dispose()


# Both variants make their own databases, in the SQLite run already: make test-postgres
# leaves them out.
@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.own_database),
        pytest.param("postgresql", marks=pytest.mark.own_database),
    ]
)
def new_database(request, tmp_path):
    """A function that gives a new empty database each time, on SQLite or PostgreSQL."""
    if request.param == "sqlite" and SUITE_DATABASE:
        pytest.skip("the suite runs on PostgreSQL: the SQLite variant runs in the SQLite run")
    numbers = itertools.count()
    with ExitStack() as databases:

        def make() -> str:
            if request.param == "sqlite":
                return f"sqlite:///{tmp_path}/db{next(numbers)}.db"
            return databases.enter_context(postgres_database())

        yield make


def app_with_schema(url: str):
    """The app on the database, with its schema; the caller disposes of its engine."""
    app = app_on_database(url)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return app


def start_import(url: str, csv_path: Path, batch_size: int | None = None) -> subprocess.Popen:
    """`flask --app app customers import` in its own process, as an operator runs it."""
    env = {
        **os.environ,
        **PRODUCTION_ENVIRONMENT,  # production refuses to start without them
        "FLASK_SQLALCHEMY_DATABASE_URI": url,
    }
    if batch_size:
        env["FLASK_CUSTOMERS_IMPORT_BATCH_SIZE"] = str(batch_size)
    command = [sys.executable, "-m", "flask", "--app", "app", "customers", "import"]
    return subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        [*command, str(csv_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> str:
    output, errors = process.communicate(timeout=300)
    assert process.returncode == 0, errors
    return output


def customer_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM customers")).scalar_one()
    finally:
        engine.dispose()


def wait_for_customers(url: str, process: subprocess.Popen, at_least: int) -> int:
    """Polls until the import has committed some rows; fails if it ended first."""
    while (count := customer_count(url)) < at_least:
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    return count


def customers_table(url: str, with_ids: bool) -> list[tuple]:
    columns = f"id, {CUSTOMER_COLUMNS}" if with_ids else CUSTOMER_COLUMNS
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT {columns} FROM customers ORDER BY id"))  # noqa: S608
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def add_portal_customers(app) -> None:
    """One customer with an account, one who registers during the import."""
    with app.app_context():
        registered = Customer(
            number="200005",
            first_name="Ewa",
            last_name="Kamińska",
            email="ewa.kaminska@example.com",
            phone="+48600700805",
        )
        db.session.add_all(
            [
                registered,
                Customer(
                    number="200001", first_name="Anna", last_name="Nowak", phone="+48512345678"
                ),
                Account(customer=registered, password_hash=hash_password(TEST_PASSWORD)),
            ]
        )
        db.session.commit()


def use_the_portal(app) -> None:
    """Logs in, registers a new account by SMS and activates e-Faktura, each step checked."""
    ewa = Visitor(app.test_client(), htmx=False)
    response = follow(ewa, ewa.post("/", {"login": "200005", "password": TEST_PASSWORD}))
    assert response.status_code == 200 and "Strona Główna" in text_of(response)

    anna = Visitor(app.test_client(), htmx=True)
    response = anna.post("/rejestracja/", {"number": "200001", "action": "next"})
    assert "Wybierz sposób rejestracji:" in text_of(response)
    response = anna.post(
        "/rejestracja/sposob", {"channel": "sms", "phone": "512 345 678", "action": "next"}
    )
    assert response.status_code == 200
    code = last_code(app, "+48512345678")
    response = anna.post("/rejestracja/kod", {"code": code, "action": "next"})
    assert "Podaj hasło" in text_of(response)
    password = {"password": "Nowe#Haslo1", "password_repeat": "Nowe#Haslo1", "action": "next"}
    response = follow(anna, anna.post("/rejestracja/haslo", password))
    assert "Twoje konto zostało utworzone" in text_of(response)

    response = ewa.post(
        "/e-faktura/aktywuj",
        {"email": "ewa.kaminska@example.com", "source": "banner", "accept_terms": "y"},
    )
    assert response.status_code == 200
    assert "e-Faktura została aktywowana" in text_of(response)


@pytest.mark.slow
def test_the_portal_works_while_a_long_import_runs(new_database, tmp_path):
    url = new_database()
    app = app_with_schema(url)
    add_portal_customers(app)
    # Long enough to outlast the visit on a fast machine (50 000 rows no longer did).
    rows = 250_000
    csv_path = write_customers_csv(tmp_path / "customers.csv", rows)
    importing = start_import(url, csv_path)
    try:
        wait_for_customers(url, importing, at_least=3)  # a first batch is committed
        use_the_portal(app)
        # The check means something only if the import was running all along.
        assert importing.poll() is None, "the import ended before the portal was used"
    finally:
        output = finish(importing)
        with app.app_context():
            db.engine.dispose()
    assert output == f"added: {rows}, updated: 0, unchanged: 0, rejected: 0\n"


def write_file_with_problems(path: Path, rows: int) -> Path:
    """Valid rows, with a bad row and a number repeated from far back every thousand."""
    with open(path, "w", encoding="utf-8") as csv_file:
        csv_file.write(HEADER)
        for index in range(rows):
            if index % 1000 == 999:
                csv_file.write(customer_row(index - 990))  # a number from 990 lines up
            elif index % 1000 == 500:
                csv_file.write(f"{90_000_000 + index},Bad,Phone,,12345\n")
            else:
                csv_file.write(customer_row(index))
    return path


@pytest.mark.slow
def test_an_import_killed_halfway_and_run_again_ends_as_one_clean_run(new_database, tmp_path):
    csv_path = write_file_with_problems(tmp_path / "customers.csv", 20_000)
    clean_url, resumed_url = new_database(), new_database()
    app_with_schema(clean_url), app_with_schema(resumed_url)  # the schema only
    clean_report = finish(start_import(clean_url, csv_path, batch_size=500))
    assert clean_report.startswith("added: 19960, updated: 0, unchanged: 0, rejected: 40\n")
    assert "  line 1001: customer number repeated from line 11\n" in clean_report
    assert "  line 502: phone is not a valid phone number\n" in clean_report

    killed = start_import(resumed_url, csv_path, batch_size=500)
    wait_for_customers(resumed_url, killed, at_least=1000)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()  # reaps it and closes its pipes
    kept = customer_count(resumed_url)
    assert 1000 <= kept < 19960

    resumed_report = finish(start_import(resumed_url, csv_path, batch_size=500))
    # The same rejections; what the killed run committed now counts as unchanged.
    summary, _, rejections = resumed_report.partition("\n")
    assert summary == f"added: {19960 - kept}, updated: 0, unchanged: {kept}, rejected: 40"
    assert rejections == clean_report.partition("\n")[2]
    # On PostgreSQL the rolled back batch used up sequence values, so ids may differ there.
    with_ids = resumed_url.startswith("sqlite")
    assert customers_table(resumed_url, with_ids) == customers_table(clean_url, with_ids)


def test_sqlite_is_opened_for_a_web_app(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite settings; the suite runs on PostgreSQL")
        settings = {
            name: db.session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }
    # WAL; synchronous NORMAL is 1; foreign keys on.
    assert settings == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"],
        "foreign_keys": 1,
    }


def run_import(app, tmp_path, content: bytes, batch_size: int = 5000):
    app.config["CUSTOMERS_IMPORT_BATCH_SIZE"] = batch_size
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    result = app.test_cli_runner().invoke(args=["customers", "import", str(path)])
    assert "Traceback" not in result.output
    return result


def stored_numbers(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(Customer.number).order_by(Customer.number)))


def test_a_windows_1250_file_is_refused_with_what_to_do(app, tmp_path):
    content = (HEADER + "300001,Adam,Nowak,,\n300002,Zofia,Wiśniewska,,\n").encode("cp1250")
    result = run_import(app, tmp_path, content)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        'Error: line 3 is not UTF-8 text: save the file as UTF-8 (in Excel: "CSV UTF-8 '
        '(Comma delimited)") and import it again; nothing was imported'
    ]
    assert stored_numbers(app) == []


def test_a_file_exported_with_a_byte_order_mark_is_read(app, tmp_path):
    content = (HEADER + "300001,Zofia,Wiśniewska,,\n").encode("utf-8-sig")
    assert run_import(app, tmp_path, content).output.startswith("added: 1,")


def test_a_field_too_long_rejects_its_line_only(app, tmp_path):
    content = (HEADER + f"300001,{'A' * 140_000},Nowak,,\n300002,Beata,Lis,,\n").encode()
    result = run_import(app, tmp_path, content)
    assert result.exit_code == 0
    assert result.output == (
        "added: 1, updated: 0, unchanged: 0, rejected: 1\n  line 2: field too long\n"
    )
    assert stored_numbers(app) == ["300002"]


def test_a_nul_in_a_name_rejects_its_line_without_printing_it(app, tmp_path):
    content = HEADER + "300001,Bar\x00bara,Tajemnicza,barbara@example.com,\n300002,Beata,Lis,,\n"
    result = run_import(app, tmp_path, content.encode())
    assert result.exit_code == 0
    assert "line 2: the line contains a NUL character" in result.output
    assert "Tajemnicza" not in result.output and "barbara" not in result.output
    assert stored_numbers(app) == ["300002"]


def test_other_control_characters_in_a_name_are_refused(app, tmp_path):
    content = HEADER + "300001,Beata\x1b[31m,Lis,,\n"
    result = run_import(app, tmp_path, content.encode())
    assert "line 2: first_name contains a control character" in result.output


def test_an_unbalanced_quote_rejects_its_line_and_not_the_next(app, tmp_path):
    content = (
        HEADER
        + '300001,"Adam,Zieliński,adam@example.com,\n'
        + "300002,Beata,Lis,,600 700 901\n"
        + '300003,"Cezary "C" Kot",Kot,,\n'
        + '300004,"Dorota, Maria",Nowak,,\n'
    )
    result = run_import(app, tmp_path, content.encode())
    assert result.output == (
        "added: 2, updated: 0, unchanged: 0, rejected: 2\n"
        '  line 2: unbalanced or misplaced quote (")\n'
        '  line 4: unbalanced or misplaced quote (")\n'
    )
    assert stored_numbers(app) == ["300002", "300004"]


def test_importing_before_the_schema_exists_says_to_upgrade(tmp_path):
    app = app_on_database(f"sqlite:///{tmp_path}/new.db")
    result = run_import(app, tmp_path, (HEADER + "300001,Adam,Nowak,,\n").encode())
    assert result.exit_code == 1
    assert result.output == (
        "Error: the database has no customers table yet: run `flask --app app db upgrade` first\n"
    )


def test_duplicates_are_found_across_batches(app, tmp_path):
    content = HEADER + "".join(customer_row(index) for index in range(5)) + customer_row(1)
    result = run_import(app, tmp_path, content.encode(), batch_size=2)
    assert result.output == (
        "added: 5, updated: 0, unchanged: 0, rejected: 1\n"
        "  line 7: customer number repeated from line 3\n"
    )


def test_a_progress_line_on_a_terminal_only(tmp_path):
    url = f"sqlite:///{tmp_path}/progress.db"
    app_with_schema(url)
    csv_path = write_customers_csv(tmp_path / "customers.csv", 3000)
    # A pseudo-terminal as standard output: the operator watching the import.
    leader, follower = pty.openpty()
    env = {
        **os.environ,
        **PRODUCTION_ENVIRONMENT,  # production refuses to start without them
        "FLASK_SQLALCHEMY_DATABASE_URI": url,
    }
    env["FLASK_CUSTOMERS_IMPORT_BATCH_SIZE"] = "500"
    command = [sys.executable, "-m", "flask", "--app", "app", "customers", "import"]
    with subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        [*command, str(csv_path)], cwd=ROOT, env=env, stdout=follower, stderr=subprocess.PIPE
    ) as importing:
        os.close(follower)
        screen = b""
        while chunk := _read_pty(leader):
            screen += chunk
        assert importing.stderr is not None  # stderr=PIPE
        importing.stderr.close()
    os.close(leader)
    assert importing.returncode == 0
    shown = screen.decode()
    assert "Importing customers" in shown and "lines/s" in shown and "3001/3001" in shown
    assert shown.rstrip().endswith("added: 3000, updated: 0, unchanged: 0, rejected: 0")


def _read_pty(leader: int) -> bytes:
    try:
        return os.read(leader, 65536)
    except OSError:  # the process closed the terminal
        return b""


def test_changed_rows_are_updated_and_the_rest_left_alone(new_database, tmp_path):
    app = app_with_schema(new_database())
    app.config["CUSTOMERS_IMPORT_BATCH_SIZE"] = 40
    runner = app.test_cli_runner()
    first = write_customers_csv(tmp_path / "first.csv", 100)
    second = write_customers_csv(tmp_path / "second.csv", 100, version=1)
    try:
        result = runner.invoke(args=["customers", "import", str(first)])
        assert result.output == "added: 100, updated: 0, unchanged: 0, rejected: 0\n"
        result = runner.invoke(args=["customers", "import", str(second)])
        # Two rows in three have an e-mail address, and only that changed.
        assert result.output == "added: 0, updated: 67, unchanged: 33, rejected: 0\n"
        with app.app_context():
            stored = db.session.get(Customer, 1)
            assert stored is not None
            assert (stored.number, stored.email, stored.phone) == (
                "10000000",
                "klient10000000.v1@example.com",
                "+48600000000",
            )
    finally:
        with app.app_context():
            db.engine.dispose()


REFUSE_A_NAME = {
    # What a database refusing a row looks like: its message quotes the row on PostgreSQL.
    "postgresql": "ALTER TABLE customers ADD CONSTRAINT no_zofia CHECK (first_name <> 'Zofia')",
    "sqlite": "CREATE TRIGGER no_zofia BEFORE INSERT ON customers WHEN NEW.first_name = 'Zofia' "
    "BEGIN SELECT RAISE(ABORT, 'first_name Zofia is refused'); END",
}


def test_a_database_error_is_one_line_without_personal_data(new_database, tmp_path):
    url = new_database()
    app_with_schema(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(REFUSE_A_NAME[engine.dialect.name])
    engine.dispose()
    # Zofia is on line 6: the first batch of four lines goes in, the second is refused.
    csv_path = write_customers_csv(tmp_path / "customers.csv", 8)
    importing = start_import(url, csv_path, batch_size=4)
    output, errors = importing.communicate(timeout=60)
    assert importing.returncode == 1
    assert output == ""
    last_line = errors.strip().splitlines()[-1]
    assert last_line.startswith("Error: the database failed (")
    assert last_line.endswith(
        "what was committed before stays, and running the command again resumes"
    )
    assert "Traceback" not in errors
    assert "Zofia" not in errors.replace("first_name Zofia is refused", "")
    assert "@example.com" not in errors and "+48" not in errors
    assert customer_count(url) == 4


@pytest.mark.parametrize(
    "line",
    ["a,b,c\n", "a, b ,c\r\n", "x,,\r", ",,,\n", "a\tb,c", " a , b \n", "ą,ł,€\n", 'a,"b,c"\n'],
)
def test_a_line_is_read_as_the_csv_module_reads_it(line):
    # Lines without quotes are split on commas without the csv module (issue 26).
    [(_, fields, problem)] = records([line])
    assert (fields, problem) == (next(csv.reader([line], strict=True)), None)
