"""A full invoice storage during `flask invoices import` (issue 19 item 6), on a real small
filesystem: a 2 MiB tmpfs mounted for the test (skipped where mounting is not permitted).
The import runs as its own process, as an operator runs it: it prints the report of what
it committed, says where it stopped and what to do, exits with 1, and leaves no PDF that
no invoice refers to; run again once there is room, it finishes the job."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from invoice_files import invoice_row, write_folder
from sqlalchemy import create_engine, text
from support import PRODUCTION_ENVIRONMENT, app_on_database

from ebok.extensions import db
from ebok.models import Customer

ROOT = Path(__file__).resolve().parent.parent
KIB = 1024


def run_as_root(*command: str) -> subprocess.CompletedProcess:
    """mount and umount, with fixed arguments."""
    return subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603


@pytest.fixture
def small_volume(tmp_path):
    """A 2 MiB tmpfs at tmp_path/storage, unmounted afterwards."""
    mount_point = tmp_path / "storage"
    mount_point.mkdir()
    mounted = run_as_root("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        assert run_as_root("umount", str(mount_point)).returncode == 0


@pytest.fixture
def customer_database(tmp_path) -> str:
    """A SQLite database (not on the small volume) with one customer."""
    url = f"sqlite:///{tmp_path}/invoices.db"
    app = app_on_database(url)
    with app.app_context():
        db.create_all()
        db.session.add(Customer(number="200001", first_name="Anna", last_name="Nowak"))
        db.session.commit()
        db.engine.dispose()
    return url


def pdf_of(size: int, text: str) -> bytes:
    head, tail = f"%PDF-1.4\n% {text}\n".encode(), b"\n%%EOF\n"
    return head + b"0" * (size - len(head) - len(tail)) + tail


def run_import(url: str, storage: Path, folder: Path, **settings: str):
    env = {
        **os.environ,
        **PRODUCTION_ENVIRONMENT,  # production refuses to start without them
        "FLASK_SQLALCHEMY_DATABASE_URI": url,
        "FLASK_INVOICE_STORAGE": str(storage),
        **{f"FLASK_{name}": value for name, value in settings.items()},
    }
    return subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "flask", "--app", "app", "invoices", "import", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def invoice_numbers(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT number FROM invoices ORDER BY id")))
    finally:
        engine.dispose()


def stored_files(storage: Path) -> list[Path]:
    return sorted(path for path in storage.rglob("*") if path.is_file())


@pytest.mark.slow
def test_a_full_disk_stops_with_a_report_and_leaves_no_orphan_pdfs(
    small_volume, customer_database, tmp_path
):
    a, b, c, d = (pdf_of(600 * KIB, name) for name in "abcd")
    folder = write_folder(
        tmp_path / "in",
        [
            invoice_row("200001", "FV/1", pdf="a.pdf"),  # line 2 ┐
            invoice_row("200001", "FV/2", pdf="b.pdf"),  # 3      │ first batch: committed
            invoice_row("200001", "FV/3", pdf="a.pdf"),  # 4      ┘ (A stored once)
            invoice_row("200001", "FV/4", pdf="a.pdf"),  # 5      ┐ second batch: A is there
            invoice_row("200001", "FV/5", pdf="c.pdf"),  # 6      │ C is written,
            invoice_row("200001", "FV/6", pdf="d.pdf"),  # 7      ┘ D does not fit
            invoice_row("200001", "FV/7", pdf="a.pdf"),  # 8
        ],
        {"a.pdf": a, "b.pdf": b, "c.pdf": c, "d.pdf": d},
    )
    settings = {"INVOICES_IMPORT_BATCH_SIZE": "3", "INVOICE_STORAGE_MIN_FREE_BYTES": "0"}

    full = run_import(customer_database, small_volume, folder, **settings)

    assert full.returncode == 1
    assert "Traceback" not in full.stderr
    assert full.stdout == "added: 3, updated: 0, unchanged: 0, rejected: 0\n"
    assert f"stopped at line 7: storing its PDF in the invoice storage ({small_volume})" in (
        full.stderr
    )
    assert "No space left on device" in full.stderr
    assert "lines 5 to 7 are not, and the PDFs stored for them were removed" in full.stderr
    assert "Free space on the storage's volume" in full.stderr
    assert invoice_numbers(customer_database) == ["FV/1", "FV/2", "FV/3"]
    # C, written for the rolled back batch, is gone; A (also used by that batch) stays,
    # since committed invoices refer to it; no half-written file is left.
    assert [path.read_bytes() for path in stored_files(small_volume)] in ([a, b], [b, a])

    assert run_as_root("mount", "-o", "remount,size=4m", str(small_volume)).returncode == 0
    again = run_import(customer_database, small_volume, folder, **settings)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "added: 4, updated: 0, unchanged: 3, rejected: 0\n"
    assert len(stored_files(small_volume)) == 4


@pytest.mark.slow
def test_the_reserve_is_checked_before_each_batch(small_volume, customer_database, tmp_path):
    pdfs = {f"{name}.pdf": pdf_of(300 * KIB, name) for name in "abcdef"}
    folder = write_folder(
        tmp_path / "in",
        [invoice_row("200001", f"FV/{index}", pdf=name) for index, name in enumerate(pdfs)],
        pdfs,
    )
    settings = {
        "INVOICES_IMPORT_BATCH_SIZE": "2",
        "INVOICE_STORAGE_MIN_FREE_BYTES": str(1536 * KIB),
    }

    stopped = run_import(customer_database, small_volume, folder, **settings)

    # 2 MiB free before the first batch; after its two files, less than the reserve.
    assert stopped.returncode == 1
    assert stopped.stdout == "added: 2, updated: 0, unchanged: 0, rejected: 0\n"
    assert f"stopped before line 4: the invoice storage ({small_volume}) has " in stopped.stderr
    assert "less than the reserve FLASK_INVOICE_STORAGE_MIN_FREE_BYTES (1572864)" in stopped.stderr
    assert invoice_numbers(customer_database) == ["FV/0", "FV/1"]
    assert len(stored_files(small_volume)) == 2


def test_a_storage_that_cannot_be_used_stops_the_import_with_what_to_check(
    app, runner, customers, tmp_path
):
    (tmp_path / "a-file").write_text("not a directory")
    app.config["INVOICE_STORAGE"] = str(tmp_path / "a-file" / "invoices")
    folder = write_folder(tmp_path / "in", [invoice_row("200001", "FV/1")])
    result = runner.invoke(args=["invoices", "import", str(folder)])
    assert result.exit_code == 1
    assert "added: 0, updated: 0, unchanged: 0, rejected: 0" in result.output
    assert "stopped before line 2: the invoice storage" in result.output
    assert "cannot be used: Not a directory" in result.output
    assert "Check that FLASK_INVOICE_STORAGE exists" in result.output


@pytest.mark.slow
def test_a_batch_the_database_refuses_leaves_no_pdf_behind(customer_database, tmp_path):
    engine = create_engine(customer_database)
    with engine.begin() as connection:  # the database fails the second batch's insert
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_fv3 BEFORE INSERT ON invoices WHEN NEW.number = 'FV/3' "
            "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
        )
    engine.dispose()
    pdfs = {f"{name}.pdf": pdf_of(10 * KIB, name) for name in "abcd"}
    folder = write_folder(
        tmp_path / "in",
        [invoice_row("200001", f"FV/{index}", pdf=name) for index, name in enumerate(pdfs)],
        pdfs,
    )
    storage = tmp_path / "storage"

    failed = run_import(customer_database, storage, folder, INVOICES_IMPORT_BATCH_SIZE="2")

    assert failed.returncode == 1
    assert "the database failed" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert invoice_numbers(customer_database) == ["FV/0", "FV/1"]
    assert sorted(path.read_bytes() for path in stored_files(storage)) == [
        pdfs["a.pdf"],
        pdfs["b.pdf"],
    ]
