"""How fast `customers import` is against a straightforward bulk load (issues 7 and 14).

Run on demand: .venv/bin/python bench/import.py [--quick] [--rows N] [--million]
  [--databases sqlite,postgresql]

For each database, on a fresh empty table and a generated file (tests/csv_files.py), in
one run:
- baseline: a process that validates each row with the app's own rules (ebok.normalising) and
  loads the rows straight, streaming: executemany INSERT in one transaction on SQLite, COPY
  on PostgreSQL;
- app: `flask --app app customers import FILE` into the emptied table;
- app again on the same, unchanged file (a daily re-import).
Baseline and app take turns (--rounds, default 2) and the best turn of each counts.
Each runs as its own process, timed from start to exit, with the project's modules compiled
beforehand as an installed package has them; peak memory is the process's
ru_maxrss. On a loaded machine the wall-clock rates mostly measure the neighbours, so the
rows per CPU second of the importing process are printed too (the database server's own
work is not in them: on PostgreSQL the wall-clock line is the one that counts it).
Prints `name: app X, baseline Y, ratio Z` lines (ratio = app / baseline, so for
rows/s above 1 is better, for memory below 1 is lighter). --million adds 1 000 000 rows
on PostgreSQL (a few minutes). PostgreSQL is skipped, saying so, when it does not answer.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production_environment() -> dict:
    """The tests' complete production environment (every setting production requires)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.actors import PRODUCTION_ENVIRONMENT

    return dict(PRODUCTION_ENVIRONMENT)


sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from csv_files import write_customers_csv  # noqa: E402
from databases import fresh_database  # noqa: E402

COLUMNS = ("number", "first_name", "last_name", "email", "phone", "updated_at")


def run_timed(command: list[str], env: dict) -> tuple[float, float, str, float]:
    """(seconds, peak resident MB, standard output, CPU seconds) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    output = process.stdout.read().decode()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024, output, usage.ru_utime + usage.ru_stime


def compile_project_once() -> None:
    """Both processes then find the project's modules compiled, as an installed package has
    them (pip compiles a wheel's modules as it installs them, and the libraries here are
    compiled too), in the checkout's __pycache__ folders, which git ignores. Without it,
    where PYTHONDONTWRITEBYTECODE is set (as on CI's machines), every process would
    compile them again as it starts, and the app, with more modules than the baseline,
    would pay more for that."""
    subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "compileall", "-q", "app.py", "ebok", "bench", "tests/csv_files.py"],
        cwd=ROOT,
        check=True,
    )


def app_import(url: str, csv_path: Path) -> tuple[float, float, str, float]:
    env = {
        **os.environ,
        # Production mode, as an operator runs it: every setting it requires.
        **production_environment(),
        "FLASK_SECRET_KEY": "bench-" + "k" * 40,
        "FLASK_LOG_LEVEL": "WARNING",
        "FLASK_SQLALCHEMY_DATABASE_URI": url,
    }
    command = [sys.executable, "-m", "flask", "--app", "app", "customers", "import"]
    return run_timed([*command, str(csv_path)], env)


def baseline_import(url: str, csv_path: Path) -> tuple[float, float, str, float]:
    command = [sys.executable, __file__, "--baseline-child", url, str(csv_path)]
    return run_timed(command, dict(os.environ))


def validated_rows(csv_path: str):
    """The rows as the app would store them, checked by the same rules, one at a time."""
    from ebok.models import utcnow
    from ebok.normalising import normalize_customer_number, normalize_email, normalize_phone

    now = utcnow()
    with open(csv_path, encoding="utf-8-sig", newline="") as csv_file:
        reader = csv.reader(csv_file)
        next(reader)
        for number, first_name, last_name, email, phone in reader:
            number = normalize_customer_number(number.strip())
            email = normalize_email(email) if email.strip() else None
            phone = normalize_phone(phone) if phone.strip() else None
            if number.isdecimal() and first_name.strip() and last_name.strip():
                yield number, first_name.strip(), last_name.strip(), email, phone, now


def baseline_child(url: str, csv_path: str) -> None:
    """Validate, then load straight: what the app's import is measured against."""
    rows = validated_rows(csv_path)
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        placeholders = ", ".join("?" * len(COLUMNS))
        with connection:
            connection.executemany(
                f"INSERT INTO customers ({', '.join(COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
                rows,
            )
        connection.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
            with connection.cursor().copy(
                f"COPY customers ({', '.join(COLUMNS)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)


@contextmanager
def database(kind: str, folder: str):
    """A fresh database with the app's schema, or None when PostgreSQL does not answer."""
    with fresh_database(kind, folder, "ebok_import_bench") as url:
        if url is not None:
            _create_schema(url)
        yield url


def _create_schema(url: str) -> None:
    from ebok import create_app
    from ebok.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def empty_customers(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM customers")
    engine.dispose()


def compare(kind: str, url: str, csv_path: Path, rows: int, rounds: int) -> None:
    """Baseline and app take turns on the emptied table; the best of the rounds counts
    (the machine is shared: the slower runs measure the neighbours)."""
    base, app = [], []
    for _ in range(rounds):
        base.append(baseline_import(url, csv_path))
        empty_customers(url)
        app.append(app_import(url, csv_path))
        assert app[-1][2].startswith(f"added: {rows}, "), app[-1][2]
        if len(app) < rounds:
            empty_customers(url)
    again_seconds, _, report, _ = app_import(url, csv_path)
    assert report.startswith(f"added: 0, updated: 0, unchanged: {rows}, "), report
    empty_customers(url)
    base_seconds, app_seconds = min(run[0] for run in base), min(run[0] for run in app)
    label = f"customers import {kind} {rows} rows"
    line(f"{label}, rows/s", rows / app_seconds, rows / base_seconds)
    line(f"{label} again unchanged, rows/s", rows / again_seconds, rows / base_seconds)
    base_cpu, app_cpu = min(run[3] for run in base), min(run[3] for run in app)
    line(f"{label}, rows per CPU second of the process", rows / app_cpu, rows / base_cpu)
    line(f"{label}, peak memory MB", max(run[1] for run in app), max(run[1] for run in base))


def line(name: str, app: float, baseline: float) -> None:
    print(f"{name}: app {app:.1f}, baseline {baseline:.1f}, ratio {app / baseline:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="20 000 rows: a short run")
    parser.add_argument("--million", action="store_true", help="also 1 000 000 on PostgreSQL")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=2, help="turns of baseline and app")
    parser.add_argument("--baseline-child", nargs=2, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.baseline_child:
        baseline_child(*arguments.baseline_child)
        return
    rows = 20_000 if arguments.quick else arguments.rows
    print("load average: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    with tempfile.TemporaryDirectory() as folder:
        compile_project_once()
        csv_path = write_customers_csv(Path(folder) / "customers.csv", rows)
        for kind in arguments.databases.split(","):
            with database(kind, folder) as url:
                if url:
                    compare(kind, url, csv_path, rows, arguments.rounds)
                    if arguments.million and kind == "postgresql":
                        million = write_customers_csv(Path(folder) / "million.csv", 1_000_000)
                        compare(kind, url, million, 1_000_000, rounds=1)


if __name__ == "__main__":
    main()
