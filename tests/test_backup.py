"""`flask backup create DIR` and `flask backup restore BACKUP` (issue 28, 12): the
database and the invoice archive backed up while the portal runs, wiped, restored, and the
same invoices download with the same SHA-256 (scripts/check-install runs the same drill
on the installed package)."""

import hashlib
import re
import shutil

import pytest
from support import CUSTOMERS, PROJECT_ROOT, PostgresServer, app_on_database

from ebok.extensions import db
from ebok.models import Customer, Invoice

REGISTERED = CUSTOMERS["registered"]["number"]
DEMO_INVOICES = PROJECT_ROOT / "examples" / "invoices"
ORIGINALS = {
    hashlib.sha256(path.read_bytes()).hexdigest() for path in DEMO_INVOICES.glob("pdf/*.pdf")
}


def invoices_of(customer_number: str, tmp_path):
    """The demo invoices folder, for this customer."""
    folder = tmp_path / "from-billing"
    shutil.copytree(DEMO_INVOICES, folder)
    csv_path = folder / "invoices.csv"
    csv_path.write_text(csv_path.read_text().replace("\n100005,", f"\n{customer_number},"))
    return folder


def downloaded(auth) -> set[str]:
    """The SHA-256 of every PDF Faktury offers the logged-in customer."""
    page = auth.visitor.get("/faktury").get_data(as_text=True)
    links = set(re.findall(r'href="(/faktury/\d+\.pdf)"', page))
    assert links
    answers = [auth.visitor.client.get(link) for link in sorted(links)]
    assert all(answer.status_code == 200 for answer in answers)
    return {hashlib.sha256(answer.data).hexdigest() for answer in answers}


def the_backup(output: str):
    found = re.search(r" in (\S+)$", output.strip())
    assert found, output
    return found.group(1)


def test_backup_wipe_restore_and_the_same_invoices_download(app, runner, auth, customers, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the shared test database is no place for pg_restore: see the next test")
    imported = runner.invoke(args=["invoices", "import", str(invoices_of(REGISTERED, tmp_path))])
    assert imported.exit_code == 0, imported.output
    auth.log_in(REGISTERED)
    assert downloaded(auth) == ORIGINALS

    made = runner.invoke(args=["backup", "create", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    assert made.output.startswith("backed up: database.sqlite3 and 2 invoice PDFs in ")
    backup = the_backup(made.output)
    assert (tmp_path / "backups" / backup.rsplit("/", 1)[1] / "SHA256SUMS").exists()

    with app.app_context():  # the disaster
        db.drop_all()
    shutil.rmtree(app.config["INVOICE_STORAGE"])

    restored = runner.invoke(args=["backup", "restore", backup, "--yes"])
    assert restored.exit_code == 0, restored.output
    assert restored.output.startswith("restored: database.sqlite3 and 2 invoice PDFs from ")
    auth.log_in(REGISTERED)  # the same account, the same password
    assert downloaded(auth) == ORIGINALS


def test_a_damaged_backup_is_refused_before_anything_changes(app, runner, customers, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite's copy; PostgreSQL's dump is checked the same way")
    runner.invoke(args=["invoices", "import", str(invoices_of(REGISTERED, tmp_path))])
    made = runner.invoke(args=["backup", "create", str(tmp_path / "backups")])
    backup = the_backup(made.output)
    pdf = next((tmp_path / "backups").rglob("*.pdf"))
    pdf.write_bytes(pdf.read_bytes() + b"x")
    refused = runner.invoke(args=["backup", "restore", backup, "--yes"])
    assert refused.exit_code == 1
    assert "is missing or damaged: this backup cannot be restored" in refused.output
    unconfirmed = runner.invoke(args=["backup", "restore", backup], input="n\n")
    assert unconfirmed.exit_code == 1 and "Aborted" in unconfirmed.output


@pytest.mark.slow
def test_postgresql_backup_and_restore_with_pg_dump(tmp_path):
    server = PostgresServer()
    try:
        app = app_on_database(server.uri, INVOICE_STORAGE=str(tmp_path / "archive"))
        with app.app_context():
            db.create_all()
            db.session.add(Customer(number=REGISTERED, first_name="Jan", last_name="Kowalski"))
            db.session.commit()
        runner = app.test_cli_runner()
        folder = invoices_of(REGISTERED, tmp_path)
        assert runner.invoke(args=["invoices", "import", str(folder)]).exit_code == 0
        made = runner.invoke(args=["backup", "create", str(tmp_path / "backups")])
        assert made.exit_code == 0, made.output
        assert made.output.startswith("backed up: database.dump and 2 invoice PDFs")
        with app.app_context():
            db.drop_all()
            db.engine.dispose()
        shutil.rmtree(tmp_path / "archive")
        restored = runner.invoke(args=["backup", "restore", the_backup(made.output), "--yes"])
        assert restored.exit_code == 0, restored.output
        with app.app_context():
            from ebok.invoices.storage import invoice_storage

            stored = {
                hashlib.sha256(
                    invoice_storage().read(invoice.pdf_storage_key, invoice.pdf_sha256)
                ).hexdigest()
                for invoice in db.session.scalars(db.select(Invoice))
            }
            db.session.remove()
            db.engine.dispose()
        assert stored == ORIGINALS
    finally:
        server.remove()
