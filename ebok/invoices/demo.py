"""Demo invoices for `demo seed` (SPEC §11): about a year for each demo customer (two and
a half for the registered one, so that Faktury shows its year filter and paging), as the
billing system would hand them over, a folder with invoices.csv and real PDFs, imported
by the real import. The latest invoice is due, the one before it overdue, the rest paid.

The PDFs stand for billing's documents: their Polish text is data, like a customer's
name, not the portal's interface."""

import csv
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from sqlalchemy import select

from ebok.customers.csvfiles import ImportReport
from ebok.extensions import db
from ebok.invoices.formatting import pdf_filename
from ebok.invoices.importing import CSV_HEADER, CSV_NAME, import_invoices
from ebok.models import Invoice
from ebok.web.pdf_fonts import FAMILY, add_fonts

MONTHS = 12
# 100005, the demo's registered customer: invoices over three calendar years, more than
# two pages of Faktury.
MONTHS_OF = {"100005": 30}


def seed_demo_invoices(customers: list[tuple[str, str]], today: date | None = None) -> ImportReport:
    """customers: (number, full name). Returns the import's report (unchanged on a rerun)."""
    today = today or date.today()
    planned = {number: demo_invoices(number, today) for number, _ in customers}
    numbers = [invoice["invoice_number"] for rows in planned.values() for invoice in rows]
    known = set(db.session.scalars(select(Invoice.number).where(Invoice.number.in_(numbers))))
    with tempfile.TemporaryDirectory(prefix="demo-invoices-") as folder:
        with open(Path(folder) / CSV_NAME, "w", encoding="utf-8", newline="") as csv_file:
            writer = csv.writer(csv_file, lineterminator="\n")
            writer.writerow(CSV_HEADER)
            for number, name in customers:
                for invoice in planned[number]:
                    if invoice["invoice_number"] in known:
                        continue  # a rerun: the import counts it unchanged without its PDF
                    pdf = pdf_filename(invoice["invoice_number"])
                    (Path(folder) / pdf).write_bytes(invoice_pdf(name, number, invoice))
                    writer.writerow([invoice[column] for column in CSV_HEADER[:-1]] + [pdf])
        report = import_invoices(folder)
    report.unchanged += len(known)
    return report


def demo_invoices(customer_number: str, today: date) -> list[dict]:
    anchor = today - timedelta(days=3)
    rows = []
    for months_back in range(MONTHS_OF.get(customer_number, MONTHS)):
        year, month = divmod(anchor.year * 12 + anchor.month - 1 - months_back, 12)
        month += 1
        issue = date(year, month, min(anchor.day, 28))
        period_to = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
        due = today + timedelta(days=11) if months_back == 0 else issue + timedelta(days=14)
        amount = Decimal(89) + (months_back * 7 + int(customer_number)) % 40 + Decimal("0.99")
        rows.append(
            {
                "customer_number": customer_number,
                "invoice_number": f"FV/{year}/{month:02d}/{customer_number}",
                "issue_date": issue.isoformat(),
                "period_from": date(year, month, 1).isoformat(),
                "period_to": period_to.isoformat(),
                "due_date": due.isoformat(),
                "gross_amount": f"{amount:.2f}",
                "currency": "PLN",
                "paid_on": (issue + timedelta(days=10)).isoformat() if months_back >= 2 else "",
            }
        )
    return rows


def invoice_pdf(customer_name: str, customer_number: str, invoice: dict) -> bytes:
    """A one-page invoice with the font embedded, so pdftotext reads the Polish letters."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"Faktura {invoice['invoice_number']}")
    pdf.set_lang("pl")
    # The same bytes on every run: the document's date is its issue date.
    pdf.set_creation_date(
        datetime.combine(date.fromisoformat(invoice["issue_date"]), time(12), UTC)
    )
    add_fonts(pdf)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 18)
    pdf.cell(0, 12, f"Faktura VAT {invoice['invoice_number']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 11)
    gross = Decimal(invoice["gross_amount"])
    lines = [
        "Sprzedawca: Operator sieci kablowej (dane demonstracyjne)",
        f"Nabywca: {customer_name}, numer klienta {customer_number}",
        f"Data wystawienia: {invoice['issue_date']}",
        f"Okres rozliczeniowy: {invoice['period_from']} – {invoice['period_to']}",
        f"Termin płatności: {invoice['due_date']}",
        "",
        "Usługa: Internet światłowodowy i telewizja kablowa",
        f"Wartość netto: {gross / Decimal('1.23'):.2f} zł".replace(".", ","),
        "Stawka VAT: 23%",
        f"Do zapłaty brutto: {gross:.2f} zł".replace(".", ","),
    ]
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
