"""Zapłać in a real browser (SPEC §14, issue 23), with the dev provider: "Zapłać
wszystko" on Strona Główna, the "Symulacja płatności" page, paying and rejecting, the
return page polling until the notification arrives (announced in the live region),
"Opłacona (płatność w trakcie księgowania)" on Faktury, Płatności, and the page shown when
the provider is down. axe-core on every new page and state, at both sizes."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from steps import log_in, open_menu

from ebok.extensions import db
from ebok.models import Customer, Invoice, Payment
from ebok.payments import service
from ebok.payments.providers import Notification

NRB = "61109010140000071219812874"
TODAY = date.today()


@pytest.fixture
def live_config():
    return {"PAYMENTS_POLL_INTERVAL": 1, "PAYMENTS_POLL_FOR": 30}


@pytest.fixture
def invoices(live):
    """Two unpaid invoices (one due, one overdue) of the registered customer."""
    with live.app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == "200005")).one()
        customer.bank_account = NRB
        for number, amount, due in (
            ("FV/2026/11/000011", "123.45", TODAY + timedelta(days=10)),
            ("FV/2026/10/000010", "99.99", TODAY - timedelta(days=3)),
        ):
            db.session.add(
                Invoice(
                    customer_id=customer.id,
                    number=number,
                    issue_date=due - timedelta(days=14),
                    period_from=due - timedelta(days=44),
                    period_to=due - timedelta(days=14),
                    due_date=due,
                    gross_amount=Decimal(amount),
                    currency="PLN",
                    delivery="paper",
                    pdf_sha256="0" * 64,
                    pdf_size=1000,
                    pdf_storage_key="none",
                )
            )
        db.session.commit()
    return live


def test_pay_everything_through_the_simulation(page, invoices, axe):
    log_in(page, invoices)
    axe(page, "Strona Główna with Zapłać wszystko")
    page.get_by_role("button", name="Zapłać wszystko").click()
    page.get_by_role("heading", name="Symulacja płatności").wait_for()
    assert "223,44" in page.inner_text("main")
    axe(page, "Symulacja płatności")
    page.get_by_role("button", name="Zapłać", exact=True).click()
    page.get_by_text("Płatność przyjęta").first.wait_for()
    assert "/platnosci/" in page.url
    axe(page, "Return page, payment received")
    open_menu(page)
    page.get_by_role("link", name="Faktury", exact=True).click()
    page.wait_for_url(invoices.url + "/faktury")
    assert page.get_by_text("Opłacona (płatność w trakcie księgowania)").count() == 2
    assert page.get_by_role("button", name="Zapłać").count() == 0
    axe(page, "Faktury with invoices paid online")
    page.get_by_role("link", name="Twoje płatności online").click()
    page.get_by_role("heading", name="Płatności").wait_for()
    axe(page, "Płatności")


def test_a_rejected_payment_and_a_payment_to_return_to(page, invoices, axe):
    log_in(page, invoices)
    page.goto(invoices.url + "/faktury")
    page.get_by_role("button", name="Zapłać za fakturę FV/2026/11/000011").click()
    page.get_by_role("heading", name="Symulacja płatności").wait_for()
    page.go_back()
    page.reload()
    resume = page.get_by_role("button", name="Wróć do płatności za fakturę FV/2026/11/000011")
    resume.wait_for()
    axe(page, "Faktury with a payment waiting")
    resume.click()
    page.get_by_role("heading", name="Symulacja płatności").wait_for()
    page.get_by_role("button", name="Odrzuć").click()
    page.get_by_text("Płatność nie doszła do skutku").first.wait_for()
    axe(page, "Return page, payment not completed")


def test_the_return_page_updates_itself_and_announces_it(page, invoices, axe):
    log_in(page, invoices)
    page.goto(invoices.url + "/faktury")
    page.get_by_role("button", name="Zapłać za fakturę FV/2026/10/000010").click()
    page.get_by_role("heading", name="Symulacja płatności").wait_for()
    with invoices.app.app_context():
        payment = db.session.scalars(select(Payment)).one()
        session_id, amount = payment.session_id, payment.amount
    page.goto(f"{invoices.url}/platnosci/{session_id}")
    page.get_by_text("Czekamy na potwierdzenie płatności").wait_for()
    axe(page, "Return page, waiting")
    with invoices.app.app_context():
        notification = Notification(1, 1, session_id, amount, amount, "PLN", 77, 25, "", "")
        assert service.mark_paid(payment.id, notification)
    page.locator("#status").get_by_text("Płatność przyjęta").wait_for()
    assert page.get_by_text("Czekamy na potwierdzenie płatności").count() == 0
    axe(page, "Return page after the poll")


@pytest.fixture
def provider_down(invoices):
    invoices.app.config.update(
        PAYMENTS_PROVIDER="przelewy24",
        P24_URL="http://127.0.0.1:9",  # nothing listens on the discard port
        P24_MERCHANT_ID=1,
        P24_POS_ID=1,
        P24_API_KEY="key",
        P24_CRC="crc",
        PAYMENTS_TIMEOUT=1,
    )
    return invoices


def test_the_provider_down_gives_a_clear_page(page, provider_down, axe):
    page.allowed_console_errors.append("the server responded with a status of 503")
    log_in(page, provider_down)
    page.get_by_role("button", name="Zapłać wszystko").click()
    page.get_by_role("heading", name="Płatności są chwilowo niedostępne").wait_for()
    assert "61 1090 1014 0000 0712 1981 2874" in page.inner_text("main")
    axe(page, "Payments unavailable")
    with provider_down.app.app_context():
        assert db.session.scalars(select(Payment.state)).all() == ["failed"]
    # A payment that never reached the provider is not listed: Płatności is still empty.
    page.goto(provider_down.url + "/platnosci")
    page.get_by_text("Nie masz jeszcze płatności online.").wait_for()
    axe(page, "Płatności without payments")
