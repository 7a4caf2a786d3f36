"""`flask billing import-folder FOLDER`: billing's drop folder imported on a schedule
(issue 28, 14): customers before invoices, each item moved aside with its report, never
two runs at once, half-written items left alone."""

import fcntl
import shutil

from sqlalchemy import func, select
from support import PROJECT_ROOT

from ebok.extensions import db
from ebok.invoices import drop_folder
from ebok.models import Customer, Invoice

HEADER = "customer_number,first_name,last_name,email,phone\n"
DEMO_INVOICES = PROJECT_ROOT / "examples" / "invoices"


def drop(tmp_path):
    folder = tmp_path / "billing"
    (folder / "customers").mkdir(parents=True)
    (folder / "invoices").mkdir()
    return folder


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_customers_then_invoices_each_moved_aside_with_its_report(app, runner, tmp_path):
    folder = drop(tmp_path)
    # The invoices come first in the listing, but need the customer the CSV brings.
    shutil.copytree(DEMO_INVOICES, folder / "invoices" / "2026-12-01")
    (folder / "customers" / "2026-12-01.csv").write_text(
        HEADER + "100005,Jan,Kowalski,jan.kowalski@example.com,600100005\n"
    )
    result = runner.invoke(args=["billing", "import-folder", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "customers 2026-12-01.csv: done",
        "  added: 1, updated: 0, unchanged: 0, rejected: 0",
        "invoices 2026-12-01: done",
        "  added: 2, updated: 0, unchanged: 0, rejected: 0",
    ]
    assert count(app, Customer) == 1 and count(app, Invoice) == 2
    assert not list((folder / "customers").iterdir())
    assert not list((folder / "invoices").iterdir())
    # Each name starts with the time it was moved aside, to the second: the two items may
    # be a second apart, so they are compared without it.
    done = sorted(path.name.split("_", 1)[1] for path in (folder / "done").iterdir())
    assert done == [
        "2026-12-01",
        "2026-12-01.csv",
        "2026-12-01.csv.report.txt",
        "2026-12-01.report.txt",
    ]
    reports = sorted((folder / "done").glob("*.report.txt"))
    assert reports[0].read_text().startswith("customers 2026-12-01.csv: done at ")

    # The next run finds nothing new.
    again = runner.invoke(args=["billing", "import-folder", str(folder)])
    assert again.exit_code == 0 and again.output == "nothing to import\n"


def test_rejected_lines_send_the_file_to_failed_and_the_run_exits_1(app, runner, tmp_path):
    folder = drop(tmp_path)
    (folder / "customers" / "a.csv").write_text(
        HEADER + "100005,Jan,Kowalski,,600100005\nnot-a-number,Ewa,Nowak,,600100006\n"
    )
    (folder / "customers" / "b.csv").write_text(HEADER + "100006,Ewa,Nowak,,600100006\n")
    result = runner.invoke(args=["billing", "import-folder", str(folder)])
    assert result.exit_code == 1
    assert "customers a.csv: failed" in result.output
    assert "customers b.csv: done" in result.output  # one bad file stops nothing else
    assert count(app, Customer) == 2
    (report,) = (folder / "failed").glob("*_a.csv.report.txt")
    assert "rejected: 1" in report.read_text() and "line 3:" in report.read_text()
    assert len(list((folder / "failed").glob("*_a.csv"))) == 1


def test_a_refused_file_goes_to_failed_with_the_reason(app, runner, tmp_path):
    folder = drop(tmp_path)
    (folder / "customers" / "excel.csv").write_bytes(HEADER.encode() + "1,Łukasz".encode("cp1250"))
    result = runner.invoke(args=["billing", "import-folder", str(folder)])
    assert result.exit_code == 1
    (report,) = (folder / "failed").glob("*.report.txt")
    assert "refused" in report.read_text() and "UTF-8" in report.read_text()


def test_items_still_being_written_are_left_alone(app, runner, tmp_path):
    folder = drop(tmp_path)
    (folder / "customers" / ".2026-12-01.csv").write_text(HEADER)  # renamed when complete
    (folder / "customers" / "2026-12-01.csv.part").write_text(HEADER)
    (folder / "invoices" / ".2026-12-01").mkdir()
    result = runner.invoke(args=["billing", "import-folder", str(folder)])
    assert result.exit_code == 0 and result.output == "nothing to import\n"
    assert len(list((folder / "customers").iterdir())) == 2


def test_never_two_runs_at_once(app, runner, tmp_path):
    folder = drop(tmp_path)
    (folder / "customers" / "a.csv").write_text(HEADER + "100005,Jan,Kowalski,,600100005\n")
    with open(folder / drop_folder.LOCK_NAME, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another run (another process: flock is per file)
        result = runner.invoke(args=["billing", "import-folder", str(folder)])
    assert result.exit_code == 0
    assert result.output.startswith("skipped: another import is running")
    assert (folder / "customers" / "a.csv").exists() and count(app, Customer) == 0
    # Once it is released, the next run imports.
    assert runner.invoke(args=["billing", "import-folder", str(folder)]).exit_code == 0
    assert count(app, Customer) == 1


def test_an_import_stopped_partway_stays_to_resume_and_stops_the_run(
    app, runner, tmp_path, monkeypatch
):
    folder = drop(tmp_path)
    (folder / "customers" / "a.csv").write_text(HEADER + "100005,Jan,Kowalski,,600100005\n")
    shutil.copytree(DEMO_INVOICES, folder / "invoices" / "x")

    def full_disk(path, batch_size, on_progress=None):
        from ebok.customers.csvfiles import ImportReport, ImportStopped

        raise ImportStopped("stopped at line 2: No space left on device", ImportReport())

    kinds = tuple(
        kind
        if kind.name != "customers"
        else drop_folder._Kind(kind.name, full_disk, kind.batch_size_key, kind.is_item)
        for kind in drop_folder.KINDS
    )
    monkeypatch.setattr(drop_folder, "KINDS", kinds)
    result = runner.invoke(args=["billing", "import-folder", str(folder)])
    assert result.exit_code == 1
    assert "customers a.csv: stopped" in result.output
    assert "invoices" not in result.output  # they wait for their customers
    assert (folder / "customers" / "a.csv").exists()
    (report,) = (folder / "failed").glob("*.report.txt")
    assert "No space left on device" in report.read_text()
