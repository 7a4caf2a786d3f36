"""Two notifications of one payment at once, and a double click on "Zapłać" (issue 23):
the app as production runs it, gunicorn with several sync workers on a private
PostgreSQL, the fake Przelewy24 taking its time to verify so that the workers overlap.
One payment becomes paid, one confirmation e-mail is written, every notification is
answered 200; one payment is started, one registration made."""

import http.client
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from support import (
    TEST_PASSWORD,
    FakePrzelewy24,
    Gunicorn,
    PostgresServer,
    add_customers,
    app_on_database,
)

from ebok.extensions import db
from ebok.models import Customer, Invoice, OutboxMessage, Payment

pytestmark = pytest.mark.slow

AT_ONCE = 6


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    postgres = PostgresServer()
    p24 = FakePrzelewy24()
    seeding_app = app_on_database(postgres.uri)
    with seeding_app.app_context():
        db.create_all()
    add_customers(seeding_app)
    server = Gunicorn(
        tmp_path_factory.mktemp("gunicorn"),
        {"FLASK_SQLALCHEMY_DATABASE_URI": postgres.uri}
        | {f"FLASK_{key}": str(value) for key, value in p24.config.items()},
        workers=3,
    )
    try:
        server.wait_until_serving()
        yield server, seeding_app, p24
    finally:
        server.stop()
        server.wait_until_stopped()
        p24.stop()
        with seeding_app.app_context():
            db.engine.dispose()
        postgres.remove()


def waiting_payment(app, p24, number):
    """A payment of a new invoice, registered with the provider; its sessionId."""
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == "200005")).one()
        today = datetime(2026, 12, 1).date()
        invoice = Invoice(
            customer_id=customer.id,
            number=number,
            issue_date=today,
            period_from=today,
            period_to=today,
            due_date=today,
            gross_amount=Decimal("89.99"),
            currency="PLN",
            delivery="paper",
            pdf_sha256="0" * 64,
            pdf_size=1,
            pdf_storage_key="none",
        )
        payment = Payment(
            customer_id=customer.id,
            provider="przelewy24",
            amount=8999,
            currency="PLN",
            expires_at=datetime.now() + timedelta(minutes=15),
            redirect_url=f"{p24.url}/trnRequest/X",
            invoices=[invoice],
        )
        db.session.add(payment)
        db.session.commit()
        p24.registered[payment.session_id] = {"amount": 8999, "currency": "PLN"}
        return payment.session_id


def test_notifications_at_once_make_one_payment_and_one_email(servers):
    server, app, p24 = servers
    session_id = waiting_payment(app, p24, "FV/2026/12/000001")
    body = p24.pay(session_id)
    p24.verify_delay = 0.5  # every worker passes its checks before any of them updates

    def notify(_):
        return server.request(
            "POST",
            "/platnosci/powiadomienie",
            {"Content-Type": "application/json", "X-Forwarded-For": "192.0.2.20"},
            body,
        )

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(notify, range(AT_ONCE)))
    statuses = [status for status, _, _ in answers]
    assert statuses == [200] * AT_ONCE
    replies = sorted(json.loads(reply)["status"] for _, _, reply in answers)
    assert replies.count("paid") == 1
    assert len(p24.verified) >= 2  # they did overlap: more than one got as far as verify
    with app.app_context():
        payment = db.session.scalars(select(Payment).where(Payment.session_id == session_id)).one()
        assert payment.state == "paid"
        assert payment.order_id == p24.paid[session_id]
        emails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email"))
        assert len(list(emails)) == 1


def signed_in(server) -> tuple[dict, str]:
    """Logs the registered customer in: the headers that carry the session, and the
    session's CSRF token."""

    def call(method, path, headers, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request(method, path, body=body, headers={**address, **headers})
        response = connection.getresponse()
        answer = (response.status, response.headers.get_all("Set-Cookie") or [], response.read())
        connection.close()
        return answer

    def token_of(page):
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match is not None
        return match[1].decode()

    address = {"X-Forwarded-For": "192.0.2.30"}
    jar: dict[str, str] = {}

    def keep(cookies):
        for cookie in cookies:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            jar[name] = value

    status, cookies, page = call("GET", "/", {})
    keep(cookies)
    form = urlencode({"login": "200005", "password": TEST_PASSWORD, "csrf_token": token_of(page)})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, cookies, _ = call("POST", "/", {**headers, "Cookie": _jar(jar)}, form)
    assert status == 303
    keep(cookies)
    status, cookies, page = call("GET", "/faktury", {"Cookie": _jar(jar)})
    assert status == 200
    keep(cookies)
    return {**address, "Cookie": _jar(jar)}, token_of(page)


def _jar(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def test_zaplac_twice_at_once_starts_one_payment(servers):
    """A double click: several "Zapłać" of one invoice at once, on several workers. The
    invoice's row is locked until the payment is written: one payment, one registration;
    the other clicks go to it (its page, or its return page while it is registered).
    The window between the check and the commit is short: this checks the outcome, it
    does not prove the lock is needed (it passes without it on an idle machine)."""
    server, app, p24 = servers
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == "200005")).one()
        today = datetime(2026, 12, 1).date()
        invoice = Invoice(
            customer_id=customer.id,
            number="FV/2026/12/000002",
            issue_date=today,
            period_from=today,
            period_to=today,
            due_date=today,
            gross_amount=Decimal("10.00"),
            currency="PLN",
            delivery="paper",
            pdf_sha256="0" * 64,
            pdf_size=1,
            pdf_storage_key="none",
        )
        db.session.add(invoice)
        db.session.commit()
        invoice_id = invoice.id
    cookies, token = signed_in(server)
    registered_before = len(p24.registered)
    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(
            pool.map(
                lambda _: server.request(
                    "POST",
                    f"/faktury/{invoice_id}/zaplac",
                    {**cookies, "Content-Type": "application/x-www-form-urlencoded"},
                    urlencode({"csrf_token": token}),
                ),
                range(AT_ONCE),
            )
        )
    assert [status for status, _, _ in answers] == [303] * AT_ONCE
    with app.app_context():
        made = db.session.scalars(
            select(Payment).where(Payment.invoices.any(Invoice.id == invoice_id))
        ).all()
        assert len(made) == 1
    assert len(p24.registered) == registered_before + 1
