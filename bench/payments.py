"""What a payment costs the portal (issue 23), against a baseline in the same run.

Run on demand: .venv/bin/python bench/payments.py [--quick] [--rounds N] [--per-round N]

Both sides talk to the same fake Przelewy24 (tests/support/przelewy24.py) on loopback,
which checks the Basic auth and every sign as the tests' does; it runs in a thread of this
process, so its cost lands on both sides alike. SQLite in a temporary folder. Prints:

    payments pay POST ms: app X, baseline Y, ratio Z
        "Zapłać" through the WSGI app (Flask's test client, a signed-in customer, CSRF):
        the unpaid invoice looked up, the payment row written and committed, the
        registration signed and posted, the redirect URL saved and committed, the 303;
        against one bare httpx POST of the same register JSON (a kept-alive client, as the
        app's shared one) to the same fake provider.
    payments notification ms: app X, baseline Y, ratio Z
        the provider's notification through the WSGI app (parsed, sign checked in constant
        time, the payment looked up, verify PUT to the fake provider, the conditional
        UPDATE and the confirmation e-mail written in one transaction); against one
        conditional UPDATE ... WHERE state <> 'paid' and its commit on the same database.
        The notification's ratio is mostly verify's HTTP round trip, which the protocol
        requires before a payment counts.

Rounds alternate app and baseline; each line gives the medians of the rounds' means.
"""

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from support import (  # noqa: E402
    CSRF_INPUT,
    TEST_PASSWORD,
    FakePrzelewy24,
    add_customers,
    app_on_database,
    p24_sign,
)
from support.przelewy24 import API_KEY, MERCHANT_ID, POS_ID  # noqa: E402

from ebok.extensions import db  # noqa: E402
from ebok.models import Customer, Invoice, Payment  # noqa: E402


def make_app(folder: str, p24: FakePrzelewy24):
    app = app_on_database(
        f"sqlite:///{folder}/bench.db",
        RATELIMIT_ENABLED=False,
        # Every "Zapłać" a new payment: none is left waiting to go back to.
        **{**p24.config, "P24_TIME_LIMIT": 0},
    )
    with app.app_context():
        db.create_all()
    add_customers(app)
    return app


def add_invoices(app, count: int) -> list[int]:
    with app.app_context():
        customer = db.session.scalars(sa.select(Customer).where(Customer.number == "200005")).one()
        today = date.today()
        invoices = [
            Invoice(
                customer_id=customer.id,
                number=f"FV/BENCH/{secrets.token_hex(6)}",
                issue_date=today,
                period_from=today - timedelta(days=30),
                period_to=today,
                due_date=today + timedelta(days=14),
                gross_amount=Decimal("89.99"),
                currency="PLN",
                delivery="paper",
                pdf_sha256="0" * 64,
                pdf_size=1,
                pdf_storage_key="none",
            )
            for _ in range(count)
        ]
        db.session.add_all(invoices)
        db.session.commit()
        return [invoice.id for invoice in invoices]


def signed_in_client(app):
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    token = CSRF_INPUT.search(page).group(1)
    answer = client.post(
        "/",
        data={"login": "200005", "password": TEST_PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/"},
    )
    assert answer.status_code == 303, answer.status_code
    page = client.get("/faktury").get_data(as_text=True)
    return client, CSRF_INPUT.search(page).group(1)


def app_pay(client, token, invoice_ids) -> float:
    start = time.perf_counter()
    for invoice_id in invoice_ids:
        answer = client.post(
            f"/faktury/{invoice_id}/zaplac",
            data={"csrf_token": token},
            headers={"Referer": "https://localhost/"},
        )
        assert answer.status_code == 303, answer.status_code
    return (time.perf_counter() - start) / len(invoice_ids)


def baseline_pay(http: httpx.Client, p24: FakePrzelewy24, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        session_id = secrets.token_urlsafe(24)
        signed = {"sessionId": session_id, "merchantId": MERCHANT_ID, "amount": 8999}
        signed["currency"] = "PLN"
        body = {
            "merchantId": MERCHANT_ID,
            "posId": POS_ID,
            "sessionId": session_id,
            "amount": 8999,
            "currency": "PLN",
            "description": "Faktura FV/2026/11/000123",
            "email": "ewa.kaminska@example.com",
            "country": "PL",
            "language": "pl",
            "urlReturn": "https://ebok.example.pl/platnosci/x",
            "urlStatus": "https://ebok.example.pl/platnosci/powiadomienie",
            "timeLimit": 15,
            "sign": p24_sign(signed),
        }
        answer = http.post(
            f"{p24.url}/api/v1/transaction/register", json=body, auth=(str(POS_ID), API_KEY)
        )
        assert answer.status_code == 200, answer.text
    return (time.perf_counter() - start) / count


def app_notify(app, p24, session_ids) -> float:
    client = app.test_client()
    bodies = [p24.pay(session_id) for session_id in session_ids]
    start = time.perf_counter()
    for body in bodies:
        answer = client.post("/platnosci/powiadomienie", data=body, content_type="application/json")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert json.loads(answer.get_data())["status"] == "paid"
    return (time.perf_counter() - start) / len(bodies)


def baseline_update(app, payment_ids) -> float:
    payments = Payment.__table__
    with app.app_context():
        engine = db.engine
        start = time.perf_counter()
        for payment_id in payment_ids:
            with engine.begin() as connection:
                changed = connection.execute(
                    payments.update()
                    .where(payments.c.id == payment_id, payments.c.state != "paid")
                    .values(state="paid", order_id=1, paid_at=sa.func.now())
                ).rowcount
                assert changed == 1
        return (time.perf_counter() - start) / len(payment_ids)


def report(name: str, app_times: list[float], baseline_times: list[float]) -> None:
    app_ms = statistics.median(app_times) * 1000
    baseline_ms = statistics.median(baseline_times) * 1000
    print(f"{name}: app {app_ms:.2f}, baseline {baseline_ms:.2f}, ratio {app_ms / baseline_ms:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of 20")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=50)
    options = parser.parse_args()
    rounds, per_round = (3, 20) if options.quick else (options.rounds, options.per_round)
    p24 = FakePrzelewy24()
    with tempfile.TemporaryDirectory() as folder, httpx.Client() as http:
        app = make_app(folder, p24)
        client, token = signed_in_client(app)
        pay_app, pay_base, notify_app, notify_base = [], [], [], []
        for _ in range(rounds):
            invoice_ids = add_invoices(app, per_round)
            pay_app.append(app_pay(client, token, invoice_ids))
            pay_base.append(baseline_pay(http, p24, per_round))
            with app.app_context():
                waiting = db.session.execute(
                    sa.select(Payment.id, Payment.session_id).where(Payment.state == "waiting")
                ).all()
            half = len(waiting) // 2
            notify_app.append(app_notify(app, p24, [row.session_id for row in waiting[:half]]))
            notify_base.append(baseline_update(app, [row.id for row in waiting[half:]]))
        assert p24.problems == [], p24.problems
        report("payments pay POST ms", pay_app, pay_base)
        report("payments notification ms", notify_app, notify_base)
        with app.app_context():
            db.engine.dispose()
    p24.stop()


if __name__ == "__main__":
    main()
