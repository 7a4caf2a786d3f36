"""Customers from the billing system: the CSV import (SPEC §8) and the demo customers."""

import csv
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import select

from ebok.contact import (
    CUSTOMER_NUMBER_MAX_DIGITS,
    normalize_customer_number,
    normalize_email,
    normalize_phone,
)
from ebok.extensions import db
from ebok.models import Account, Customer
from ebok.passwords import hash_password

CSV_HEADER = ["customer_number", "first_name", "last_name", "email", "phone"]


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def import_customers(csv_file: IO[str]) -> ImportReport:
    """Adds new customers and updates known ones; never deletes anything. Each rejected
    row is reported with its line number and why. Commits once at the end."""
    report = ImportReport()
    reader = csv.DictReader(csv_file)
    if reader.fieldnames is None or [name.strip() for name in reader.fieldnames] != CSV_HEADER:
        raise ValueError(f"the first line must be: {','.join(CSV_HEADER)}")
    seen_numbers: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        values, problem = _clean_row(row)
        if problem is None and values["number"] in seen_numbers:
            problem = f"customer number repeated from line {seen_numbers[values['number']]}"
        if problem:
            report.rejected.append((line, problem))
            continue
        seen_numbers[values["number"]] = line
        customer = db.session.scalars(
            select(Customer).where(Customer.number == values["number"])
        ).first()
        if customer is None:
            db.session.add(Customer(**values))
            report.added += 1
        elif any(getattr(customer, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(customer, key, value)
            report.updated += 1
        else:
            report.unchanged += 1
    db.session.commit()
    return report


def _clean_row(row: dict) -> tuple[dict, str | None]:
    if None in row or any(value is None for value in row.values()):
        return {}, "wrong number of columns"
    raw = {key.strip(): (value or "").strip() for key, value in row.items()}
    number = normalize_customer_number(raw["customer_number"])
    if not number:
        return {}, "customer_number is empty"
    if not number.isdecimal() or len(number) > CUSTOMER_NUMBER_MAX_DIGITS:
        return {}, f"customer_number must be 1 to {CUSTOMER_NUMBER_MAX_DIGITS} digits"
    for name in ("first_name", "last_name"):
        if not raw[name]:
            return {}, f"{name} is empty"
        if len(raw[name]) > 100:
            return {}, f"{name} is longer than 100 characters"
    email = normalize_email(raw["email"]) if raw["email"] else None
    if raw["email"] and email is None:
        return {}, "email is not a valid e-mail address"
    phone = normalize_phone(raw["phone"]) if raw["phone"] else None
    if raw["phone"] and phone is None:
        return {}, "phone is not a valid phone number"
    values = {
        "number": number,
        "first_name": raw["first_name"],
        "last_name": raw["last_name"],
        "email": email,
        "phone": phone,
    }
    return values, None


# Each kind of customer a newcomer needs to try every path of the wizard.
DEMO_PASSWORD = "Strefa#2026"  # noqa: S105 (printed by `demo seed` on purpose)
DEMO_CUSTOMERS = [
    # number, first name, last name, e-mail, phone, registered, what it shows
    (
        "100001",
        "Anna",
        "Nowak",
        "anna.nowak@example.com",
        "+48600100001",
        False,
        "e-mail and phone",
    ),
    ("100002", "Jan", "Kowalski", "jan.kowalski@example.com", None, False, "e-mail only"),
    ("100003", "Maria", "Wiśniewska", None, "+48600100003", False, "phone only"),
    ("100004", "Piotr", "Wójcik", None, None, False, "neither: must call the centre"),
    (
        "100005",
        "Ewa",
        "Kamińska",
        "ewa.kaminska@example.com",
        "+48600100005",
        True,
        f"already registered, password {DEMO_PASSWORD}",
    ),
]


def seed_demo_customers() -> list[tuple]:
    """Adds the demo customers that are missing; returns all of them for printing."""
    for number, first, last, email, phone, registered, _ in DEMO_CUSTOMERS:
        customer = db.session.scalars(select(Customer).where(Customer.number == number)).first()
        if customer is None:
            customer = Customer(
                number=number, first_name=first, last_name=last, email=email, phone=phone
            )
            db.session.add(customer)
        if registered and customer.account is None:
            db.session.add(Account(customer=customer, password_hash=hash_password(DEMO_PASSWORD)))
    db.session.commit()
    return DEMO_CUSTOMERS
