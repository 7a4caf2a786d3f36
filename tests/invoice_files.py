"""Invoice folders for the tests and bench/invoices.py: invoices.csv and small PDFs."""

from pathlib import Path

HEADER = (
    "customer_number,invoice_number,issue_date,period_from,period_to,due_date,"
    "gross_amount,currency,paid_on,pdf_file\n"
)


def tiny_pdf(text: str) -> bytes:
    """A small file that starts and ends as a PDF does; different text, different hash."""
    return f"%PDF-1.4\n% {text}\n%%EOF\n".encode()


def invoice_row(
    customer: str,
    number: str,
    issue: str = "2026-11-02",
    due: str = "2026-12-15",
    amount: str = "1234.56",
    paid_on: str = "",
    pdf: str = "a.pdf",
    period: tuple[str, str] = ("2026-11-01", "2026-11-30"),
    currency: str = "PLN",
) -> str:
    fields = [customer, number, issue, *period, due, amount, currency, paid_on, pdf]
    return ",".join(fields) + "\n"


def write_folder(folder: Path, rows: list[str], pdfs: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "invoices.csv").write_text(HEADER + "".join(rows), encoding="utf-8")
    for name, content in (pdfs if pdfs is not None else {"a.pdf": tiny_pdf("a")}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def write_many(folder: Path, customer_numbers: list[str], rows: int, first: int = 0) -> Path:
    """`rows` invoices spread over the customers, all pointing at one small PDF (stored
    once, by its hash), streamed to the file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.pdf").write_bytes(tiny_pdf("bulk"))
    with open(folder / "invoices.csv", "w", encoding="utf-8") as csv_file:
        csv_file.write(HEADER)
        for index in range(first, first + rows):
            customer = customer_numbers[index % len(customer_numbers)]
            year, month = 2020 + index // 12 % 7, index % 12 + 1
            csv_file.write(
                invoice_row(
                    customer,
                    f"FV/{year}/{month:02d}/{index:07d}",
                    issue=f"{year}-{month:02d}-02",
                    due=f"{year}-{month:02d}-20",
                    amount=f"{50 + index % 200}.{index % 100:02d}",
                    period=(f"{year}-{month:02d}-01", f"{year}-{month:02d}-28"),
                )
            )
    return folder
