"""Customers CSV files of any length, the same every time, for the import tests and
bench/import.py."""

from pathlib import Path

HEADER = "customer_number,first_name,last_name,email,phone\n"
FIRST_NAMES = ["Anna", "Jan", "Małgorzata", "Piotr", "Zofia", "Łukasz", "Ewa", "Grzegorz"]
LAST_NAMES = ["Nowak", "Wiśniewska", "Wójcik", "Kowalczyk", "Żak", "Dąbrowski", "Lis"]


def customer_row(index: int, first_number: int = 10_000_000, version: int = 0) -> str:
    """One valid line: about a third with both contacts, a third e-mail only, a third
    phone only, written in the ways billing exports them. Another `version` changes the
    e-mail address, so the same customer comes out updated."""
    number = first_number + index
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[index % len(LAST_NAMES)]
    email = f"klient{number}.v{version}@example.com" if index % 3 != 2 else ""
    national = f"{600_000_000 + index % 10_000_000:09d}"
    phone_formats = [
        f"{national[:3]} {national[3:6]} {national[6:]}",
        f"+48{national}",
        f"0048 {national[:3]}-{national[3:6]}-{national[6:]}",
    ]
    phone = phone_formats[index % 3] if index % 3 != 1 else ""
    return f"{number},{first},{last},{email},{phone}\n"


def write_customers_csv(
    path: Path, rows: int, first_number: int = 10_000_000, version: int = 0
) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as csv_file:
        csv_file.write(HEADER)
        for index in range(rows):
            csv_file.write(customer_row(index, first_number, version))
    return path
