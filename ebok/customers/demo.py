"""The demo customers `demo seed` adds, one of each kind the wizard handles (SPEC §8)."""

from sqlalchemy import select

from ebok.extensions import db
from ebok.identity.passwords import hash_password
from ebok.models import Account, Customer

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


# Each demo customer's own account for transfers (valid NRB checksums), shown on Strona
# Główna with the amount to pay.
DEMO_BANK_ACCOUNT = "{check}114020040{number}00000001"
DEMO_CHECK_DIGITS = {"100001": "21", "100002": "65", "100003": "12", "100004": "56", "100005": "03"}


def demo_bank_account(number: str) -> str:
    return DEMO_BANK_ACCOUNT.format(check=DEMO_CHECK_DIGITS[number], number=f"0{number}")


def seed_demo_customers() -> list[tuple]:
    """Adds the demo customers that are missing; returns all of them for printing."""
    for number, first, last, email, phone, registered, _ in DEMO_CUSTOMERS:
        customer = db.session.scalars(select(Customer).where(Customer.number == number)).first()
        if customer is None:
            customer = Customer(
                number=number, first_name=first, last_name=last, email=email, phone=phone
            )
            db.session.add(customer)
        if customer.bank_account is None:
            customer.bank_account = demo_bank_account(number)
        if registered and customer.account is None:
            db.session.add(Account(customer=customer, password_hash=hash_password(DEMO_PASSWORD)))
    db.session.commit()
    return DEMO_CUSTOMERS
