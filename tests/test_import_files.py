"""What an invoices folder may hold that is not a plain PDF, and what a CSV may hold that
is not plain text (issue 18 items 1 and 2): symbolic links and special files are rejected
rows, never opened or followed; values echoed in a report never reach the operator's
terminal as control characters."""

import os
import threading
from pathlib import Path

import pytest
from invoice_files import invoice_row, tiny_pdf, write_folder
from sqlalchemy import select

from ebok.customers.csvfiles import escaped_for_terminal
from ebok.extensions import db
from ebok.models import Invoice


@pytest.fixture
def storage(app, tmp_path) -> Path:
    app.config["INVOICE_STORAGE"] = str(tmp_path / "storage")
    return tmp_path / "storage"


def run_import(runner, folder: Path, color: bool = False):
    # color=True: the output is handled as a terminal's (click strips nothing).
    return runner.invoke(args=["invoices", "import", str(folder)], color=color)


def imported_numbers(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Invoice.number).order_by(Invoice.number)))


def test_symbolic_links_are_rejected_rows_whatever_they_point_at(
    app, runner, customers, storage, tmp_path
):
    first = write_folder(tmp_path / "first", [invoice_row("200001", "FV/1")])
    assert run_import(runner, first).exit_code == 0
    stored_pdf = next(storage.rglob("*.pdf"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes(tiny_pdf("another customer's invoice"))

    folder = write_folder(
        tmp_path / "in",
        [
            invoice_row("200001", "FV/2", pdf="stored.pdf"),  # line 2
            invoice_row("200001", "FV/3", pdf="secret.pdf"),  # 3
            invoice_row("200001", "FV/4", pdf="linked/secret.pdf"),  # 4
            invoice_row("200001", "FV/5", pdf="sub/../secret.pdf"),  # 5
            invoice_row("200001", "FV/6", pdf="sub/own.pdf"),  # 6: fine
        ],
        {"sub/own.pdf": tiny_pdf("own")},
    )
    (folder / "stored.pdf").symlink_to(stored_pdf)
    (folder / "secret.pdf").symlink_to(outside / "secret.pdf")
    (folder / "linked").symlink_to(outside, target_is_directory=True)

    result = run_import(runner, folder)
    assert result.exit_code == 1
    assert "added: 1, updated: 0, unchanged: 0, rejected: 4" in result.output
    assert "line 2: pdf_file stored.pdf is a symbolic link" in result.output
    assert "line 3: pdf_file secret.pdf is a symbolic link" in result.output
    assert "line 4: pdf_file linked/secret.pdf goes through a symbolic link (linked)" in (
        result.output
    )
    assert "line 5: pdf_file sub/../secret.pdf is a symbolic link" in result.output
    assert imported_numbers(app) == ["FV/1", "FV/6"]
    assert len(list(storage.rglob("*.pdf"))) == 2  # FV/1's and FV/6's, nothing of outside


def test_a_path_outside_the_folder_is_rejected_even_through_a_subfolder(
    app, runner, customers, storage, tmp_path
):
    (tmp_path / "elsewhere.pdf").write_bytes(tiny_pdf("elsewhere"))
    folder = write_folder(
        tmp_path / "in",
        [invoice_row("200001", "FV/1", pdf="sub/../../elsewhere.pdf")],
        {"sub/a.pdf": tiny_pdf("a")},
    )
    result = run_import(runner, folder)
    assert "line 2: pdf_file sub/../../elsewhere.pdf is outside the folder" in result.output
    assert imported_numbers(app) == []


def test_a_named_pipe_is_rejected_without_being_opened_for_reading(
    app, runner, customers, storage, tmp_path
):
    folder = write_folder(
        tmp_path / "in",
        [invoice_row("200001", "FV/1", pdf="pipe.pdf"), invoice_row("200001", "FV/2")],
    )
    os.mkfifo(folder / "pipe.pdf")
    # An import that opens the pipe for reading waits for a writer; this one comes after
    # a while, so such an import ends (with another reason) instead of hanging the suite.
    finished = threading.Event()

    def unblock_a_waiting_reader():
        if not finished.wait(10):
            with open(folder / "pipe.pdf", "wb"):
                pass

    writer = threading.Thread(target=unblock_a_waiting_reader, daemon=True)
    writer.start()
    try:
        result = run_import(runner, folder)
    finally:
        finished.set()
        writer.join()
    assert "added: 1, updated: 0, unchanged: 0, rejected: 1" in result.output
    assert "line 2: pdf_file pipe.pdf is not a regular file" in result.output
    assert imported_numbers(app) == ["FV/2"]


def test_a_directory_is_not_a_regular_file(app, runner, customers, storage, tmp_path):
    folder = write_folder(tmp_path / "in", [invoice_row("200001", "FV/1", pdf="sub")])
    (folder / "sub").mkdir()
    result = run_import(runner, folder)
    assert "line 2: pdf_file sub is not a regular file" in result.output


# -- item 2: what a report echoes ------------------------------------------------------

HOSTILE = "\x1b]0;owned\x07\x1b[2K\x1b[1A\x9b2J\u202eevil\u2066.pdf"


def test_a_report_shows_control_and_bidi_characters_escaped(
    app, runner, customers, storage, tmp_path
):
    folder = write_folder(
        tmp_path / "in",
        [
            invoice_row("200001", "FV/1", pdf=HOSTILE),
            invoice_row("200001", "FV/2", amount=f'"1{HOSTILE}"'),
            invoice_row("200001", "FV/3", due=HOSTILE),
        ],
    )
    result = run_import(runner, folder, color=True)
    assert result.exit_code == 1
    escaped = r"\x1b]0;owned\x07\x1b[2K\x1b[1A\x9b2J\u202eevil\u2066.pdf"
    assert f"line 2: pdf_file {escaped} not found" in result.output
    assert "line 3: gross_amount is not an amount with a dot" in result.output
    assert "line 4: due_date is not a date" in result.output
    for raw in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066"):
        assert raw not in result.output


def test_a_refused_folder_name_is_shown_escaped(app, runner, storage, tmp_path):
    folder = tmp_path / "in\x1b[2Kvoices"
    folder.mkdir()
    result = run_import(runner, folder, color=True)
    assert result.exit_code == 1
    assert "in\\x1b[2Kvoices has no invoices.csv" in result.output
    assert "\x1b" not in result.output


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Wróblewska-Żak ąęł €", "Wróblewska-Żak ąęł €"),
        ("a\tb\nc\rd\x00e\x7f", r"a\x09b\x0ac\x0dd\x00e\x7f"),
        ("\x85\x9b\xa0", "\\x85\\x9b\xa0"),
        (
            "\u202ecod.exe\u202c \u061c\u200e\u200f\u2067",
            r"\u202ecod.exe\u202c \u061c\u200e\u200f\u2067",
        ),
    ],
)
def test_escaped_for_terminal(value, shown):
    assert escaped_for_terminal(value) == shown
