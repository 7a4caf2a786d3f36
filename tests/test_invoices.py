"""Faktury (SPEC §11, issue 11): the list with its year filter and pages (plain and htmx),
statuses, the PDF download, another customer's invoice, the Strona Główna cards, and the
new-invoice e-mail: once per invoice, however often and however concurrently imported."""

import hashlib
import html
import re
import shutil
import subprocess
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date
from invoice_files import invoice_row, tiny_pdf, write_folder
from sqlalchemy import select
from support import AuthActions, activate_einvoice, found, outbox, text_of

from ebok.extensions import db
from ebok.invoices.importing import import_invoices
from ebok.messages import run_worker
from ebok.models import Customer, Invoice, OutboxMessage

TODAY = date.today()


def log_in(visitor):
    """The registered customer 200005, signed in (support.AuthActions)."""
    AuthActions(visitor).log_in()
    return visitor


def import_folder(runner, folder):
    result = runner.invoke(args=["invoices", "import", str(folder)])
    assert result.exit_code == 0, result.output
    return result


def set_bank_account(app, number="200005", nrb="61109010140000071219812874"):
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == number)).one()
        customer.bank_account = nrb
        db.session.commit()


@pytest.fixture
def year_of_invoices(app, runner, customers, tmp_path):
    """Twelve months for the registered customer (paid, one due, one overdue), and one
    invoice of another customer."""
    rows = []
    for month in range(1, 12):
        issue = date(2026, month, 2)
        due = TODAY + timedelta(days=10) if month == 11 else TODAY - timedelta(days=5)
        paid = "" if month in (10, 11) else (issue + timedelta(days=10)).isoformat()
        rows.append(
            invoice_row(
                "200005",
                f"FV/2026/{month:02d}/{month:06d}",
                issue=issue.isoformat(),
                due=due.isoformat(),
                amount=f"{1000 + month}.5{month % 10}",
                paid_on=paid,
                pdf=f"{month}.pdf",
            )
        )
    rows.append(
        invoice_row(
            "200005", "FV/2025/12/000099", issue="2025-12-02", paid_on="2025-12-10", pdf="1.pdf"
        )
    )
    rows.append(invoice_row("200001", "FV/2026/11/000123", issue="2026-11-02", pdf="other.pdf"))
    pdfs = {f"{month}.pdf": tiny_pdf(f"month {month}") for month in range(1, 12)}
    pdfs["other.pdf"] = tiny_pdf("another customer")
    import_folder(runner, write_folder(tmp_path / "in", rows, pdfs))
    return pdfs


def test_faktury_lists_newest_first_with_statuses(app, visitor, year_of_invoices):
    log_in(visitor)
    response = visitor.get("/faktury")
    assert response.status_code == 200
    assert response.headers["Vary"].startswith("HX-Request")
    text = text_of(response)
    if visitor.htmx:
        assert "<html" not in response.get_data(as_text=True)
        assert response.headers["HX-Push-Url"] == "/faktury"
    else:
        assert 'aria-current="page">Faktury</a>' in response.get_data(as_text=True)
    numbers = [f"FV/2026/{month:02d}/{month:06d}" for month in (11, 10, 9)]
    positions = [text.index(number) for number in numbers]
    assert positions == sorted(positions)
    assert "FV/2026/11/000123" not in text  # another customer's
    due = TODAY + timedelta(days=10)
    assert "Do zapłaty" in text
    assert "Po terminie" in text
    assert "Opłacona" in text
    assert "Kwota 1 011,51 zł" in text.replace("\xa0", " ")
    assert "Pobierz PDF" in text
    assert f"{due.year}" in text


@pytest.mark.config(INVOICES_PER_PAGE=5)
def test_pagination_and_year_filter(app, visitor, year_of_invoices):
    log_in(visitor)
    first = text_of(visitor.get("/faktury"))
    assert "strona 1 z 3" in first
    second = visitor.get("/faktury?strona=2")
    second_text = text_of(second)
    assert "FV/2026/06/000006" in second_text
    assert "FV/2026/11/000011" not in second_text
    if visitor.htmx:
        assert second.headers["HX-Push-Url"] == "/faktury?strona=2"
    only_2025 = text_of(visitor.get("/faktury?rok=2025"))
    assert "FV/2025/12/000099" in only_2025
    assert "FV/2026/" not in only_2025
    assert "1 faktura z 2025" in only_2025
    wrong = visitor.get("/faktury?rok=1999")
    assert wrong.status_code == 422
    assert "Nie masz faktur z tego roku" in text_of(wrong)
    no_page = visitor.get("/faktury?strona=0")
    assert no_page.status_code == 422
    assert "Nie ma takiej strony." in text_of(no_page)
    assert visitor.get("/faktury?strona=abc").status_code == 422


def test_empty_list_says_why(app, visitor, customers):
    log_in(visitor)
    text = text_of(visitor.get("/faktury"))
    assert "Nie masz jeszcze faktur" in text


def test_the_list_needs_login(app):
    client = app.test_client()
    response = client.get("/faktury")
    assert response.status_code == 302  # Flask-Login's redirect to the login page


def test_download_gives_the_stored_bytes(app, make_visitor, year_of_invoices):
    visitor = log_in(make_visitor())
    with app.app_context():
        invoice = db.session.scalars(
            select(Invoice).where(Invoice.number == "FV/2026/03/000003")
        ).one()
        invoice_id, number = invoice.id, invoice.number
    response = visitor.client.get(f"/faktury/{invoice_id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Disposition"] == 'attachment; filename="FV-2026-03-000003.pdf"'
    expected = year_of_invoices["3.pdf"]
    assert hashlib.sha256(response.data).hexdigest() == hashlib.sha256(expected).hexdigest()
    by_number = visitor.client.get(f"/faktury/numer/{number}")
    assert by_number.status_code == 200
    assert by_number.data == expected


def test_another_customers_invoice_is_404_by_id_and_by_number(app, make_visitor, year_of_invoices):
    visitor = log_in(make_visitor())
    with app.app_context():
        other = db.session.scalars(
            select(Invoice).where(Invoice.number == "FV/2026/11/000123")
        ).one()
        other_id = other.id
    assert visitor.client.get(f"/faktury/{other_id}.pdf").status_code == 404
    assert visitor.client.get("/faktury/numer/FV/2026/11/000123").status_code == 404
    assert visitor.client.get("/faktury/999999.pdf").status_code == 404


def test_a_damaged_file_is_not_served(app, make_visitor, year_of_invoices, tmp_path):
    visitor = log_in(make_visitor())
    with app.app_context():
        invoice = db.session.scalars(
            select(Invoice).where(Invoice.number == "FV/2026/03/000003")
        ).one()
        path = Path(app.config["INVOICE_STORAGE"]) / invoice.pdf_storage_key
        invoice_id = invoice.id
    path.write_bytes(tiny_pdf("tampered"))
    assert visitor.client.get(f"/faktury/{invoice_id}.pdf").status_code == 500


def test_home_cards(app, make_visitor, year_of_invoices):
    set_bank_account(app)
    visitor = log_in(make_visitor())
    page = visitor.get("/strona-glowna")
    text = text_of(page).replace("\xa0", " ")
    assert "Ostatnia faktura" in text
    assert "FV/2026/11/000011" in text
    # Two unpaid: 1010.50 + 1011.51, the older one overdue.
    assert "Do zapłaty 2 022,01 zł" in text
    overdue = TODAY - timedelta(days=5)
    assert f"Po terminie od {overdue.day} " in text
    assert "61 1090 1014 0000 0712 1981 2874" in text
    assert 'data-copy="61109010140000071219812874"' in page.get_data(as_text=True)


def test_home_without_invoices_or_account(app, make_visitor, customers):
    visitor = log_in(make_visitor())
    text = text_of(visitor.get("/strona-glowna"))
    assert "Nie masz jeszcze faktur" in text
    assert "data-copy" not in text


# -- the new-invoice e-mail ----------------------------------------------------------------


def test_notice_goes_once_per_invoice_to_the_einvoice_address(app, runner, customers, tmp_path):
    activate_einvoice(app)
    folder = write_folder(
        tmp_path / "in",
        [
            invoice_row("200005", "FV/2026/11/000001", amount="1234.56", due="2026-12-15"),
            invoice_row("200005", "FV/2025/12/000001", issue="2025-12-02"),  # before e-Faktura
            invoice_row("200001", "FV/2026/11/000002"),  # no e-Faktura
        ],
    )
    import_folder(runner, folder)
    import_folder(runner, folder)
    notices = outbox(app, "email")
    assert [message.recipient for message in notices] == ["faktury.ewa@example.com"]
    body = notices[0].body_text.replace("\xa0", " ")
    assert "FV/2026/11/000001" in notices[0].title
    assert "1 234,56 zł" in body
    assert "15 grudnia 2026" in body
    assert "/faktury" in body
    with app.app_context():
        delivery = dict(db.session.execute(select(Invoice.number, Invoice.delivery)).all())
        attachment = db.session.scalars(select(OutboxMessage.attachment)).one()
    assert delivery == {
        "FV/2026/11/000001": "electronic",
        "FV/2025/12/000001": "paper",
        "FV/2026/11/000002": "paper",
    }
    assert attachment is None


@pytest.mark.config(INVOICE_ATTACH_PDF=True)
def test_the_pdf_is_attached_only_when_configured(app, runner, customers, tmp_path):
    activate_einvoice(app)
    pdf = tiny_pdf("attached")
    import_folder(
        runner,
        write_folder(tmp_path / "in", [invoice_row("200005", "FV/2026/11/7")], {"a.pdf": pdf}),
    )
    with app.app_context():
        message = db.session.scalars(select(OutboxMessage)).one()
        assert message.attachment == pdf
        assert message.attachment_filename == "FV-2026-11-7.pdf"


def test_two_concurrent_imports_send_one_notice_per_invoice(app, customers, tmp_path):
    activate_einvoice(app)
    rows = [invoice_row("200005", f"FV/2026/11/{index:06d}") for index in range(60)]
    folder = write_folder(tmp_path / "in", rows)
    reports, errors = [], []
    start = threading.Barrier(2)

    def run():
        try:
            with app.app_context():
                start.wait()
                reports.append(import_invoices(str(folder), batch_size=7))
        except Exception as problem:  # noqa: BLE001 - reported below
            errors.append(problem)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(report.added for report in reports) == 60
    assert sum(report.added + report.unchanged for report in reports) == 120
    notices = outbox(app, "email")
    assert len(notices) == 60
    assert len({message.subject for message in notices}) == 60


# -- demo seed ---------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_seed_gives_a_year_of_invoices_with_real_pdfs(app, runner, tmp_path):
    """A year for each demo customer; for 100005, the registered one, enough years and
    invoices that Faktury shows its year filter and paging out of the box."""
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "Demo invoices with PDFs: 78 added" in result.output
    today = date.today()
    with app.app_context():
        invoices = db.session.scalars(
            select(Invoice).join(Invoice.customer).where(Customer.number == "100005")
        ).all()
        customer = db.session.scalars(select(Customer).where(Customer.number == "100005")).one()
        assert customer.bank_account is not None
    assert len(invoices) == 30 > 2 * app.config["INVOICES_PER_PAGE"]
    assert len({invoice.issue_date.year for invoice in invoices}) >= 3
    unpaid = [invoice for invoice in invoices if invoice.paid_on is None]
    assert sorted(invoice.due_date >= today for invoice in unpaid) == [False, True]
    again = runner.invoke(args=["demo", "seed"])
    assert "0 added, 78 already there" in again.output


PDFTOTEXT = shutil.which("pdftotext")


@pytest.mark.skipif(not PDFTOTEXT, reason="poppler-utils (pdftotext) is not installed")
def test_demo_pdf_shows_polish_letters(app):
    from ebok.invoices.demo import demo_invoices, invoice_pdf

    invoice = demo_invoices("100005", date(2026, 11, 30))[0]
    with app.app_context():
        content = invoice_pdf("Anna Wróblewska-Żak", "100005", invoice)
    assert PDFTOTEXT is not None
    text = subprocess.run(  # noqa: S603 (our own PDF into poppler)
        [PDFTOTEXT, "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()
    assert "Anna Wróblewska-Żak" in text
    assert invoice["invoice_number"] in text
    assert "Termin płatności" in text


def test_the_attached_pdf_reaches_the_smtp_server_and_leaves_the_outbox(
    app, runner, customers, tmp_path, smtp_server
):
    """The outbox's attachment support (ebok/messages/): sent as application/pdf with the
    invoice's file name, then cleared with the body."""
    server = smtp_server()
    app.config.update(
        INVOICE_ATTACH_PDF=True, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port
    )
    activate_einvoice(app)
    pdf = tiny_pdf("sent")
    import_folder(
        runner,
        write_folder(tmp_path / "in", [invoice_row("200005", "FV/2026/11/8")], {"a.pdf": pdf}),
    )
    with app.app_context():
        assert run_worker().sent == 1
        stored = db.session.scalars(select(OutboxMessage)).one()
        assert (stored.status, stored.attachment, stored.attachment_filename) == (
            "sent",
            None,
            None,
        )
    [mail] = server.messages
    assert mail["To"] == "faktury.ewa@example.com"
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "FV-2026-11-8.pdf"
    assert attachment.get_content() == pdf
    assert "Nowa faktura FV/2026/11/8" in mail["Subject"]


def test_where_is_the_electronic_invoice_points_to_faktury(app, make_visitor, customers):
    login_page = text_of(make_visitor().get("/"))
    assert "Gdzie jest Elektroniczna Faktura?" in login_page
    assert "na stronie Faktury" in login_page
    visitor = log_in(make_visitor())
    details = visitor.get("/e-faktura/szczegoly").get_data(as_text=True)
    assert 'href="/faktury">Zobacz swoje faktury</a>' in details


# -- issue 21: Faktury readable at a glance ------------------------------------------------


def in_language(visitor, language):
    visitor.client.set_cookie("language", language)
    return visitor


def test_faktury_is_one_table_with_labelled_cells(app, make_visitor, year_of_invoices):
    """A table (number, period, issue date, amount, due date, status, PDF), newest first;
    every cell also carries its column's name, read when the table becomes cards."""
    visitor = log_in(make_visitor())
    body = visitor.get("/faktury").get_data(as_text=True)
    assert body.count('<table class="invoice-table"') == 1
    headers = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', body)
    assert [text_of_html(header) for header in headers] == [
        "Numer faktury",
        "Okres",
        "Data wystawienia",
        "Kwota",
        "Termin płatności",
        "Status",
        "Plik PDF",
    ]
    rows = re.findall(r'<tr class="invoice-table__row[^"]*">(.*?)</tr>', body, flags=re.S)
    assert len(rows) == 12
    numbers = [found(r"FV/\d{4}/\d{2}/\d+", row).group(0) for row in rows]
    assert numbers[:3] == ["FV/2026/11/000011", "FV/2026/10/000010", "FV/2026/09/000009"]
    for row in rows:
        labels = re.findall(r'<span class="invoice-table__label">(.*?)</span>', row)
        assert labels == [
            "Okres",
            "Data wystawienia",
            "Kwota",
            "Termin płatności",
            "Status",
            "Plik PDF",
        ]
    # The status in words, and an overdue one marked by a sign as well as a colour.
    overdue = next(row for row in rows if "FV/2026/10/" in row)
    assert "Po terminie" in text_of_html(overdue)
    assert "⚠" in overdue
    assert "Opłacona" in text_of_html(rows[2])


def test_each_rows_pdf_link_is_its_own_invoice(app, make_visitor, year_of_invoices):
    """The rows' links come from one URL built per page, not url_for per row: each is still
    its own invoice's, under a path prefix too (the portal mounted below a path)."""
    visitor = log_in(make_visitor())
    with app.app_context():
        ids = {
            number: id_ for number, id_ in db.session.execute(select(Invoice.number, Invoice.id))
        }
    for prefix in ("", "/strefa"):
        response = visitor.client.get("/faktury", environ_overrides={"SCRIPT_NAME": prefix})
        body = response.get_data(as_text=True)
        rows = re.findall(r'<tr class="invoice-table__row[^"]*">(.*?)</tr>', body, flags=re.S)
        assert len(rows) == 12
        for row in rows:
            number = found(r"FV/\d{4}/\d{2}/\d+", row).group(0)
            assert f'href="{prefix}/faktury/{ids[number]}.pdf"' in row


def text_of_html(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def test_an_overdue_amount_says_so_on_strona_glowna(app, make_visitor, year_of_invoices):
    visitor = log_in(make_visitor())
    body = visitor.get("/strona-glowna").get_data(as_text=True)
    text = text_of_html(body).replace("\xa0", " ")
    overdue = TODAY - timedelta(days=5)
    assert "Najbliższy termin płatności" not in text
    with app.test_request_context():
        words = format_date(overdue, "long", locale="pl")
    assert f"Po terminie od {words}" in text
    assert re.search(r'class="[^"]*to-pay__overdue[^"]*"[^>]*>\s*<span aria-hidden="true">⚠', body)


def test_a_due_amount_gives_its_date(app, runner, make_visitor, customers, tmp_path):
    due = TODAY + timedelta(days=10)
    import_folder(
        runner,
        write_folder(tmp_path / "in", [invoice_row("200005", "FV/1", due=due.isoformat())]),
    )
    text = text_of(log_in(make_visitor()).get("/strona-glowna"))
    assert f"Najbliższy termin płatności: {format_date(due, 'long', locale='pl')}" in text
    assert "Po terminie" not in text


@pytest.mark.parametrize(
    ("language", "period"),
    [("pl", "1–31 grudnia 2026"), ("en", "1 – 31 Dec 2026"), ("uk", "1–31 груд. 2026 р.")],
)
def test_periods_are_one_interval(app, runner, make_visitor, customers, tmp_path, language, period):
    row = invoice_row("200005", "FV/2026/12/1", period=("2026-12-01", "2026-12-31"))
    import_folder(runner, write_folder(tmp_path / "in", [row]))
    visitor = in_language(log_in(make_visitor()), language)
    for url in ("/faktury", "/strona-glowna"):
        text = text_of(visitor.get(url)).replace("\u2009", " ")
        assert period.replace("\u2009", " ") in text, url


def test_the_account_number_as_nrb_and_iban(app, make_visitor, year_of_invoices):
    set_bank_account(app)
    body = log_in(make_visitor()).get("/strona-glowna").get_data(as_text=True)
    text = text_of_html(body)
    assert "61 1090 1014 0000 0712 1981 2874" in text
    assert "PL61 1090 1014 0000 0712 1981 2874" in text
    copies = re.findall(r'data-copy="([^"]+)"', body)
    assert copies == ["61109010140000071219812874", "PL61109010140000071219812874"]
    assert "Kopiuj IBAN" in text


def test_english_dates_and_amounts_are_british(app, make_visitor, year_of_invoices):
    visitor = in_language(log_in(make_visitor()), "en")
    text = text_of(visitor.get("/faktury")).replace("\xa0", " ")
    assert "2 November 2026" in text
    assert "November 2, 2026" not in text
    assert "PLN 1,011.51" in text
