"""`flask invoices import FOLDER` (SPEC §11, issue 11): every rejection reason with its
line, idempotency, paid_on updates, the exit code, and the customers CSV's bank_account."""

import hashlib
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from invoice_files import invoice_row, tiny_pdf, write_folder, write_many
from sqlalchemy import create_engine, event, select
from support import PRODUCTION_ENVIRONMENT

from ebok.extensions import db
from ebok.invoices.storage import invoice_storage
from ebok.models import Customer, Invoice


def run_import(runner, folder):
    return runner.invoke(args=["invoices", "import", str(folder)])


def stored_invoices(app):
    with app.app_context():
        return {
            invoice.number: invoice
            for invoice in db.session.scalars(select(Invoice).order_by(Invoice.id))
        }


def test_import_adds_invoices_and_stores_pdfs_by_hash(app, runner, customers, tmp_path):
    pdf = tiny_pdf("one")
    folder = write_folder(
        tmp_path / "in",
        [invoice_row("200001", "FV/2026/11/000123", pdf="pdf/one.pdf")],
        {"pdf/one.pdf": pdf},
    )
    result = run_import(runner, folder)
    assert result.exit_code == 0, result.output
    assert "added: 1, updated: 0, unchanged: 0, rejected: 0" in result.output
    invoice = stored_invoices(app)["FV/2026/11/000123"]
    assert str(invoice.gross_amount) == "1234.56"
    assert invoice.customer_id == customers["both"].id
    assert invoice.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert invoice.pdf_size == len(pdf)
    assert invoice.delivery == "paper"
    with app.app_context():
        assert invoice_storage().read(invoice.pdf_storage_key, invoice.pdf_sha256) == pdf


def test_every_rejection_reason_is_reported_with_its_line(app, runner, customers, tmp_path):
    folder = write_folder(
        tmp_path / "in",
        [
            invoice_row("200001", "FV/1"),  # line 2: fine
            invoice_row("999999", "FV/2"),  # 3 unknown customer
            invoice_row("200001", "FV/3", issue="2026-02-30"),  # 4 bad date
            invoice_row("200001", "FV/4", amount='"12,50"'),  # 5 bad amount
            invoice_row("200001", "FV/5", pdf="missing.pdf"),  # 6 missing file
            invoice_row("200001", "FV/6", pdf="text.pdf"),  # 7 not a PDF
            invoice_row("200001", "FV/7", pdf="big.pdf"),  # 8 too large
            invoice_row("200002", "FV/1"),  # 9 number of another customer
            invoice_row("200001", "FV/8", pdf="../outside.pdf"),  # 10 outside the folder
            "200001,FV/9,2026-11-02\n",  # 11 wrong number of columns
            invoice_row("200001", "FV/10", currency="zł"),  # 12 currency
            invoice_row("200001", "FV/11", period=("2026-11-30", "2026-11-01")),  # 13
            invoice_row("200001", "FV/12", pdf=".."),  # 14 the folder's parent
            invoice_row("200001", "FV/13", pdf="."),  # 15 the folder itself
        ],
        {
            "a.pdf": tiny_pdf("a"),
            "text.pdf": b"hello, not a pdf",
            "big.pdf": tiny_pdf("x" * 2000),
        },
    )
    (tmp_path / "outside.pdf").write_bytes(tiny_pdf("outside"))
    app.config["INVOICE_MAX_PDF_BYTES"] = 1000
    result = run_import(runner, folder)
    assert result.exit_code == 1
    assert "added: 1, updated: 0, unchanged: 0, rejected: 13" in result.output
    expected = [
        "line 3: unknown customer 999999",
        "line 4: issue_date is not a date (YYYY-MM-DD): '2026-02-30'",
        "line 5: gross_amount is not an amount with a dot (1234.56): '12,50'",
        "line 6: pdf_file missing.pdf not found",
        "line 7: pdf_file text.pdf is not a PDF",
        "line 8: pdf_file big.pdf is larger than 1000 bytes",
        "line 9: invoice number FV/1 is already used by another customer",
        "line 10: pdf_file ../outside.pdf is outside the folder",
        "line 11: wrong number of columns",
        "line 12: currency is not a three-letter code (PLN)",
        "line 13: period_from is after period_to",
        "line 14: pdf_file .. is outside the folder",
        "line 15: pdf_file . is not a regular file",
    ]
    for line in expected:
        assert line in result.output
    assert list(stored_invoices(app)) == ["FV/1"]
    # Nothing of the rejected files was kept.
    storage = Path(app.config["INVOICE_STORAGE"])
    assert len(list(storage.rglob("*.pdf"))) == 1
    assert not list(storage.rglob("*.part"))


def test_a_second_run_changes_nothing_and_paid_on_is_updated(app, runner, customers, tmp_path):
    rows = [invoice_row("200001", "FV/1"), invoice_row("200001", "FV/2", issue="2026-10-02")]
    folder = write_folder(tmp_path / "in", rows)
    assert run_import(runner, folder).exit_code == 0
    first = {number: invoice.imported_at for number, invoice in stored_invoices(app).items()}
    again = run_import(runner, folder)
    assert "added: 0, updated: 0, unchanged: 2, rejected: 0" in again.output
    write_folder(
        folder, [rows[0], invoice_row("200001", "FV/2", issue="2026-10-02", paid_on="2026-11-20")]
    )
    paid = run_import(runner, folder)
    assert "added: 0, updated: 1, unchanged: 1, rejected: 0" in paid.output
    invoices = stored_invoices(app)
    assert str(invoices["FV/2"].paid_on) == "2026-11-20"
    assert invoices["FV/1"].paid_on is None
    assert {number: invoice.imported_at for number, invoice in invoices.items()} == first


def test_a_rerun_reads_no_pdf_of_a_stored_invoice(app, runner, customers, tmp_path, monkeypatch):
    """Billing's next export repeats the stored invoices for their paid_on: their PDFs
    are neither read ahead nor needed, even when they are gone from the folder."""
    from ebok.invoices import importing

    rows = [invoice_row("200001", "FV/1"), invoice_row("200001", "FV/2", issue="2026-10-02")]
    folder = write_folder(tmp_path / "in", rows)
    read: list[int] = []
    fingerprint = importing.fingerprint

    def counted(source, max_size):
        read.append(source.fileno())
        return fingerprint(source, max_size)

    monkeypatch.setattr(importing, "fingerprint", counted)
    assert run_import(runner, folder).exit_code == 0
    assert len(read) == 2
    read.clear()
    again = run_import(runner, folder)
    assert "added: 0, updated: 0, unchanged: 2, rejected: 0" in again.output
    assert read == []
    (folder / "a.pdf").unlink()
    gone = run_import(runner, folder)
    assert "added: 0, updated: 0, unchanged: 2, rejected: 0" in gone.output


def test_a_number_of_the_batch_before_counts_as_stored(app, runner, customers, tmp_path):
    """Batch 2 is read ahead while batch 1 is written: its lookup waits for batch 1."""
    app.config["INVOICES_IMPORT_BATCH_SIZE"] = 1
    folder = write_folder(
        tmp_path / "in",
        [
            invoice_row("200001", "FV/1"),
            invoice_row("200001", "FV/1", paid_on="2026-11-20", pdf="gone.pdf"),
            invoice_row("200002", "FV/1"),
        ],
    )
    result = run_import(runner, folder)
    assert "added: 1, updated: 1, unchanged: 0, rejected: 1" in result.output, result.output
    assert "line 4: invoice number FV/1 is already used by another customer" in result.output
    assert str(stored_invoices(app)["FV/1"].paid_on) == "2026-11-20"


def test_sqlite_takes_the_new_invoices_in_several_statements(app, runner, customers, tmp_path):
    """As many rows per INSERT as SQLite takes parameters: here two."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        engine.dispose()

        @event.listens_for(engine, "connect")
        def two_rows_per_statement(dbapi_connection, _record):
            # 14 values a row: two rows fit, three do not.
            dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 2 * 14 + 13)

    rows = [
        invoice_row(
            "200001", f"FV/{n}", amount=f"{n}.5{n}", paid_on="2026-11-0" + str(n) if n % 2 else ""
        )
        for n in range(1, 6)
    ]
    result = run_import(runner, write_folder(tmp_path / "in", rows))
    assert "added: 5, updated: 0, unchanged: 0, rejected: 0" in result.output, result.output
    invoices = stored_invoices(app)
    assert [str(invoices[f"FV/{n}"].gross_amount) for n in range(1, 6)] == [
        "1.51",
        "2.52",
        "3.53",
        "4.54",
        "5.55",
    ]
    assert [str(invoices[f"FV/{n}"].paid_on) for n in range(1, 6)] == [
        "2026-11-01",
        "None",
        "2026-11-03",
        "None",
        "2026-11-05",
    ]


def test_a_number_repeated_in_the_file_is_rejected(app, runner, customers, tmp_path):
    folder = write_folder(
        tmp_path / "in", [invoice_row("200001", "FV/1"), invoice_row("200001", "FV/1")]
    )
    result = run_import(runner, folder)
    assert result.exit_code == 1
    assert "line 3: invoice number repeated from line 2" in result.output


def test_a_folder_without_invoices_csv_is_refused(app, runner, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_import(runner, tmp_path / "empty")
    assert result.exit_code == 1
    assert "has no invoices.csv" in result.output


def test_a_wrong_header_is_refused(app, runner, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "invoices.csv").write_text("number,amount\n1,2\n")
    result = run_import(runner, tmp_path / "in")
    assert result.exit_code == 1
    assert "the first line must be: customer_number,invoice_number" in result.output


# -- the customers CSV's bank_account ---------------------------------------------------

VALID_NRB = "61 1090 1014 0000 0712 1981 2874"


def test_customers_csv_takes_an_optional_bank_account(app, runner, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_number,first_name,last_name,email,phone,bank_account\n"
        f"300001,Anna,Wróblewska-Żak,anna@example.com,,{VALID_NRB}\n"
        "300002,Jan,Lis,jan@example.com,,61 1090 1014 0000 0712 1981 2875\n"
        "300003,Ewa,Lis,ewa@example.com,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["customers", "import", str(path)])
    assert "added: 2, updated: 0, unchanged: 0, rejected: 1" in result.output
    assert "line 3: bank_account is not a valid NRB account number" in result.output
    # An old file without the column imports, and keeps the stored account.
    path.write_text(
        "customer_number,first_name,last_name,email,phone\n"
        "300001,Anna,Wróblewska-Żak,anna2@example.com,\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["customers", "import", str(path)])
    assert "added: 0, updated: 1, unchanged: 0, rejected: 0" in result.output
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == "300001")).one()
        assert customer.bank_account == "61109010140000071219812874"
        assert customer.email == "anna2@example.com"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (VALID_NRB, "61109010140000071219812874"),
        ("PL61109010140000071219812874", "61109010140000071219812874"),
        ("61-1090-1014-0000-0712-1981-2874", "61109010140000071219812874"),
        ("62109010140000071219812874", None),  # checksum
        ("6110901014000007121981287", None),  # 25 digits
        ("DE89370400440532013000", None),
        ("", None),
    ],
)
def test_nrb_rule(typed, stored):
    from ebok.customers.bank_accounts import normalize_bank_account

    assert normalize_bank_account(typed) == stored


# -- a long file: memory stays flat ------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# Runs the command and prints its peak resident memory (KiB on Linux).
PEAK_MEMORY_OF = (
    "import resource, subprocess, sys; "
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
    "print(done.stdout[-300:], done.stderr[-2000:])"
)


def peak_memory_of_import(url: str, storage: Path, folder: Path) -> tuple[int, int, str]:
    env = {
        **os.environ,
        **PRODUCTION_ENVIRONMENT,  # production refuses to start without them
        "FLASK_SQLALCHEMY_DATABASE_URI": url,
        "FLASK_INVOICE_STORAGE": str(storage),
    }
    command = [sys.executable, "-m", "flask", "--app", "app", "invoices", "import", str(folder)]
    done = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-c", PEAK_MEMORY_OF, *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    first_line, output = done.stdout.split("\n", 1)
    exit_code, peak = (int(value) for value in first_line.split())
    return exit_code, peak, output


@pytest.mark.slow
def test_a_100_000_row_file_imports_in_flat_memory(tmp_path):
    url = f"sqlite:///{tmp_path}/long.db"
    engine = create_engine(url)
    db.metadata.create_all(engine)
    numbers = [str(400_000 + index) for index in range(1000)]
    with engine.begin() as connection:
        connection.execute(
            Customer.__table__.insert(),
            [
                {
                    "number": n,
                    "first_name": "Zofia",
                    "last_name": "Żak",
                    "updated_at": datetime.now(),
                }
                for n in numbers
            ],
        )
    engine.dispose()
    short = write_many(tmp_path / "short", numbers, 10_000)
    long = write_many(tmp_path / "long", numbers, 100_000, first=10_000)
    code, short_peak, output = peak_memory_of_import(url, tmp_path / "storage", short)
    assert code == 0, output
    code, long_peak, output = peak_memory_of_import(url, tmp_path / "storage", long)
    assert code == 0, output
    assert "added: 100000, updated: 0, unchanged: 0, rejected: 0" in output
    # Ten times the rows, the same memory give or take the allocator's noise (KiB).
    assert long_peak < short_peak + 16 * 1024, (short_peak, long_peak)


def test_the_readmes_example_folder_imports(app, runner):
    with app.app_context():
        db.session.add(Customer(number="100005", first_name="Ewa", last_name="Kamińska"))
        db.session.commit()
    result = run_import(runner, ROOT / "examples" / "invoices")
    assert result.exit_code == 0, result.output
    assert "added: 2, updated: 0, unchanged: 0, rejected: 0" in result.output
