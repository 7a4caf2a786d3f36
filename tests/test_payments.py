"""Zapłać (SPEC §14, issue 23) over HTTP, plain and htmx, against a fake Przelewy24 on
loopback that checks every sign and the Basic auth: starting a payment (the row before the
redirect, one waiting payment per invoice), the notification (forged, wrong, unknown,
repeated), verify, the confirmation e-mail, the return page and its polling, "Płatności",
the provider down, hanging, answering 500 or a bad token, and the operators' commands."""

import json
import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from support import (
    PRODUCTION_ENVIRONMENT,
    TEST_PASSWORD,
    AuthActions,
    FakePrzelewy24,
    follow,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.models import Customer, Invoice, Payment
from ebok.payments.providers.przelewy24 import page_language, sign
from ebok.payments.service import to_minor_units

TODAY = date.today()
NOTIFY = "/platnosci/powiadomienie"


@pytest.fixture
def p24(app):
    fake = FakePrzelewy24()
    app.config.update(fake.config, PAYMENTS_TIMEOUT=1)
    yield fake
    fake.stop()


def add_invoice(app, number, amount="123.45", *, customer="200005", paid_on=None, due=None):
    with app.app_context():
        owner = db.session.scalars(select(Customer).where(Customer.number == customer)).one()
        invoice = Invoice(
            customer_id=owner.id,
            number=number,
            issue_date=TODAY - timedelta(days=20),
            period_from=TODAY - timedelta(days=50),
            period_to=TODAY - timedelta(days=20),
            due_date=due or TODAY + timedelta(days=10),
            gross_amount=Decimal(amount),
            currency="PLN",
            paid_on=paid_on,
            delivery="paper",
            pdf_sha256="0" * 64,
            pdf_size=1000,
            pdf_storage_key="none",
        )
        db.session.add(invoice)
        db.session.commit()
        return invoice.id


@pytest.fixture
def invoices(app, customers):
    return {
        "due": add_invoice(app, "FV/2026/11/000011", "123.45"),
        "overdue": add_invoice(app, "FV/2026/10/000010", "99.99", due=TODAY - timedelta(days=3)),
        "paid": add_invoice(app, "FV/2026/09/000009", "50.00", paid_on=TODAY - timedelta(days=30)),
        "other": add_invoice(app, "FV/2026/11/000999", "10.00", customer="200001"),
    }


def log_in(visitor):
    AuthActions(visitor).log_in()
    return visitor


def payments(app):
    with app.app_context():
        return [
            {
                "session_id": payment.session_id,
                "state": payment.state,
                "amount": payment.amount,
                "invoices": [invoice.number for invoice in payment.invoices],
                "redirect_url": payment.redirect_url,
                "order_id": payment.order_id,
            }
            for payment in db.session.scalars(select(Payment).order_by(Payment.id))
        ]


def pay(visitor, url):
    """Posts a "Zapłać" button; where the browser is sent (the answer, not followed)."""
    response = visitor.post(url, follow_redirects=False)
    if visitor.htmx and response.status_code == 200 and "HX-Redirect" in response.headers:
        return response.headers["HX-Redirect"], response
    if response.status_code == 303:
        return response.headers["Location"], response
    return None, response


# -- units ---------------------------------------------------------------------------------


def test_the_sign_is_przelewy24s_documented_one():
    # Compact JSON, in the documented order, slashes and Polish letters unescaped.
    fields = {"sessionId": "a/b", "merchantId": 1, "amount": 100, "currency": "PLN"}
    text = '{"sessionId":"a/b","merchantId":1,"amount":100,"currency":"PLN","crc":"ż"}'
    import hashlib

    assert sign(fields, "ż") == hashlib.sha384(text.encode()).hexdigest()


@given(st.decimals(min_value=0, max_value=10**8, places=2, allow_nan=False, allow_infinity=False))
def test_amounts_become_grosze_exactly(amount):
    assert to_minor_units(amount) == int(amount * 100)
    assert isinstance(to_minor_units(amount), int)


def test_a_third_decimal_place_is_refused():
    with pytest.raises(ValueError):
        to_minor_units(Decimal("1.005"))


def test_the_payment_page_gets_the_customers_language_where_it_has_it():
    assert page_language("pl") == "pl"
    assert page_language("en") == "en"
    assert page_language("uk") == "en"  # Przelewy24 has no Ukrainian page


# -- starting a payment ----------------------------------------------------------------------


def test_pay_registers_and_sends_the_customer_to_the_provider(app, visitor, invoices, p24):
    log_in(visitor)
    page = visitor.get("/faktury")
    assert f'action="/faktury/{invoices["due"]}/zaplac"' in page.get_data(as_text=True)
    assert f'action="/faktury/{invoices["paid"]}/zaplac"' not in page.get_data(as_text=True)
    target, _ = pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    (payment,) = payments(app)
    registered = p24.registered[payment["session_id"]]
    token = registered["token"]
    assert target == f"{p24.url}/trnRequest/{token}"
    assert payment["state"] == "waiting"
    assert payment["amount"] == 12345 == registered["amount"]
    assert payment["invoices"] == ["FV/2026/11/000011"]
    assert registered["description"] == "Faktura FV/2026/11/000011"
    assert registered["email"] == "ewa.kaminska@example.com"
    assert registered["language"] == "pl"
    assert registered["urlStatus"].endswith(NOTIFY)
    assert registered["urlReturn"].endswith(f"/platnosci/{payment['session_id']}")
    assert p24.problems == []


def test_pay_everything_pays_every_unpaid_invoice_at_once(app, visitor, invoices, p24):
    log_in(visitor)
    home = visitor.get("/strona-glowna").get_data(as_text=True)
    assert 'action="/platnosci/zaplac-wszystko"' in home
    assert "Zapłać wszystko" in home
    target, _ = pay(visitor, "/platnosci/zaplac-wszystko")
    (payment,) = payments(app)
    assert target.startswith(f"{p24.url}/trnRequest/")
    assert payment["amount"] == 12345 + 9999
    assert sorted(payment["invoices"]) == ["FV/2026/10/000010", "FV/2026/11/000011"]
    assert p24.registered[payment["session_id"]]["description"].startswith("Faktury ")


def test_a_waiting_payment_is_resumed_not_started_again(app, visitor, invoices, p24):
    log_in(visitor)
    first, _ = pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    page = visitor.get("/faktury").get_data(as_text=True)
    assert "Wróć do płatności" in page
    again, _ = pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    assert again == first
    assert len(payments(app)) == 1
    # After the provider's time limit a new payment may start.
    with app.app_context():
        for payment in db.session.scalars(select(Payment)):
            payment.expires_at = datetime(2020, 1, 1)
        db.session.commit()
    third, _ = pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    assert third != first
    assert len(payments(app)) == 2


def test_pay_everything_leaves_an_invoice_with_a_waiting_payment_to_it(app, visitor, invoices, p24):
    log_in(visitor)
    single, _ = pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    everything, _ = pay(visitor, "/platnosci/zaplac-wszystko")
    assert everything != single
    first, second = payments(app)
    assert first["invoices"] == ["FV/2026/11/000011"]
    assert second["invoices"] == ["FV/2026/10/000010"]  # not the one already waiting
    # Everything is now waiting: "Zapłać wszystko" goes back to the newest payment.
    home = text_of(visitor.get("/strona-glowna"))
    assert "Zapłać wszystko" not in home and "Wróć do płatności" in home
    again, _ = pay(visitor, "/platnosci/zaplac-wszystko")
    assert again == everything
    assert len(payments(app)) == 2


def test_another_customers_or_a_paid_invoice_is_not_paid(app, visitor, invoices, p24):
    log_in(visitor)
    for invoice in ("other", "paid"):
        target, response = pay(visitor, f"/faktury/{invoices[invoice]}/zaplac")
        assert target is None or target.endswith("/faktury")
    assert payments(app) == []
    assert p24.registered == {}


def test_pay_needs_the_csrf_token_and_a_post(app, visitor, invoices, p24):
    log_in(visitor)
    assert visitor.post(f"/faktury/{invoices['due']}/zaplac", csrf=False).status_code == 400
    assert visitor.get(f"/faktury/{invoices['due']}/zaplac").status_code in (404, 405)
    assert payments(app) == []


def test_pay_needs_a_login(app, make_visitor, invoices, p24):
    visitor = make_visitor()
    response = visitor.post(f"/faktury/{invoices['due']}/zaplac", follow_redirects=False)
    assert response.status_code in (302, 303, 400)
    assert payments(app) == []


@pytest.mark.parametrize("mode", ["down", "hang", "error", "bad_token", "wrong_key"])
def test_a_provider_that_fails_gives_the_unavailable_page(
    app, visitor, invoices, p24, mode, caplog
):
    if mode == "down":
        p24.stop()
    elif mode == "wrong_key":
        app.config["P24_API_KEY"] = "not-the-key"
    else:
        p24.mode = mode
    log_in(visitor)
    with caplog.at_level(logging.ERROR, "ebok.payments"):
        target, response = pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    p24.release.set()
    assert target is None
    assert response.status_code == 503
    text = text_of(response)
    assert "Płatności są chwilowo niedostępne" in text
    assert "przelewem" in text
    (payment,) = payments(app)
    assert payment["state"] == "failed"  # written before, given up after
    assert "not registered" in caplog.text
    if mode == "wrong_key":
        assert p24.problems == ["POST /api/v1/transaction/register: wrong Basic auth"]


# -- the notification ------------------------------------------------------------------------


@pytest.fixture
def started(app, make_visitor, invoices, p24):
    """A payment of the due invoice, registered; its sessionId."""
    visitor = log_in(make_visitor())
    pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    return payments(app)[0]["session_id"]


def notify(app, body):
    return app.test_client().post(NOTIFY, data=body, content_type="application/json")


def test_a_notification_verified_makes_the_payment_paid_once(app, p24, started, visitor):
    body = p24.pay(started)
    response = notify(app, body)
    assert response.status_code == 200
    assert p24.verified == [started]
    (payment,) = payments(app)
    assert payment["state"] == "paid"
    assert payment["order_id"] == p24.paid[started]
    (mail,) = outbox(app, "email")
    assert mail.recipient == "ewa.kaminska@example.com"
    assert "FV/2026/11/000011" in mail.body_text
    assert "123,45" in mail.body_text
    # A repeat changes nothing and answers 200.
    assert notify(app, body).status_code == 200
    assert len(outbox(app, "email")) == 1
    # The invoice now reads as paid, being booked, and leaves the amount to pay.
    log_in(visitor)
    page = text_of(visitor.get("/faktury"))
    assert "Opłacona (płatność w trakcie księgowania)" in page
    home = text_of(visitor.get("/strona-glowna"))
    assert "99,99 zł" in home and "223,44" not in home


def test_payments_are_in_the_metrics(app, p24, started):
    """/metrics: payments by state, and those left waiting past the provider's limit."""
    from datetime import timedelta

    from prometheus_client.parser import text_string_to_metric_families
    from sqlalchemy import update

    from ebok.extensions import db
    from ebok.models import Payment, utcnow

    def scraped() -> dict[tuple[str, tuple], float]:
        text = app.test_client().get("/metrics").get_data(as_text=True)
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    assert scraped()[("ebok_payments", (("state", "waiting"),))] == 1
    assert scraped()[("ebok_payments_waiting_past_time_limit", ())] == 0
    with app.app_context():
        db.session.execute(update(Payment).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert scraped()[("ebok_payments_waiting_past_time_limit", ())] == 1


def test_the_customers_data_lists_their_payments(app, p24, started, visitor):
    """Pobierz moje dane: payments are the customer's data too (docs/personal-data.md)."""
    notify(app, p24.pay(started))
    log_in(visitor)
    visitor.post("/moje-konto/moje-dane", {"current_password": TEST_PASSWORD})
    (payment,) = visitor.client.get("/moje-konto/moje-dane/plik").get_json()["payments"]
    assert payment["state"] == "paid" and payment["amount"] == "123.45"
    assert payment["invoice_numbers"] == "FV/2026/11/000011"
    assert payment["order_id"] == p24.paid[started]
    page = text_of(visitor.get("/moje-konto/moje-dane/podglad"))
    assert "Płatności" in page and "Przyjęta" in page


@pytest.mark.parametrize(
    "forgery",
    ["wrong_crc", "wrong_amount", "unknown_session", "not_json", "wrong_merchant", "missing"],
)
def test_forged_or_wrong_notifications_change_nothing(app, p24, started, forgery, caplog):
    body = p24.pay(started)
    fields = json.loads(body)
    if forgery == "wrong_crc":
        body = p24.pay(started, crc="guessed")
    elif forgery == "wrong_amount":
        from support import p24_sign

        fields.update(amount=1, originAmount=1)
        fields["sign"] = p24_sign({k: v for k, v in fields.items() if k != "sign"})
        body = json.dumps(fields).encode()
    elif forgery == "unknown_session":
        from support import p24_sign

        fields["sessionId"] = "never-made"
        fields["sign"] = p24_sign({k: v for k, v in fields.items() if k != "sign"})
        body = json.dumps(fields).encode()
    elif forgery == "wrong_merchant":
        from support import p24_sign

        fields["merchantId"] = 1
        fields["sign"] = p24_sign({k: v for k, v in fields.items() if k != "sign"})
        body = json.dumps(fields).encode()
    elif forgery == "not_json":
        body = b"merchantId=1"
    else:
        del fields["orderId"]
        body = json.dumps(fields).encode()
    with caplog.at_level(logging.INFO, "ebok.audit"):
        response = notify(app, body)
    assert response.status_code == 400
    assert payments(app)[0]["state"] == "waiting"
    assert p24.verified == []
    assert outbox(app, "email") == []
    assert "payment.notification_refused" in caplog.text


def test_a_notification_is_not_believed_without_verify(app, p24, started):
    body = p24.pay(started)
    p24.mode = "error"
    assert notify(app, body).status_code == 503  # Przelewy24 sends it again later
    assert payments(app)[0]["state"] == "waiting"
    p24.mode = "ok"
    assert notify(app, body).status_code == 200
    assert payments(app)[0]["state"] == "paid"


# -- the return page and Płatności ------------------------------------------------------------


def test_the_return_page_shows_our_state_and_polls_until_it_changes(
    app, make_visitor, invoices, p24
):
    for htmx in (False, True):
        visitor = log_in(make_visitor(htmx=htmx))
        pay(visitor, "/platnosci/zaplac-wszystko")
    session_id = payments(app)[0]["session_id"]
    visitor = log_in(make_visitor())
    page = visitor.get(f"/platnosci/{session_id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Czekamy na potwierdzenie płatności" in text
    assert "Sprawdź ponownie" in text
    body = page.get_data(as_text=True)
    assert f'data-hx-get="/platnosci/{session_id}?proba=1"' in body
    assert 'data-hx-trigger="load delay:3s"' in body
    poller = make_visitor(htmx=True)
    poller.client = visitor.client
    poll = poller.get(f"/platnosci/{session_id}?proba=1").get_data(as_text=True)
    assert poll.lstrip().startswith('<div id="payment-state"') and "proba=2" in poll
    assert "data-hx-swap-oob" not in poll
    # The polls end.
    last = poller.get(f"/platnosci/{session_id}?proba=40").get_data(as_text=True)
    assert "data-hx-get" not in last and "Sprawdź ponownie" in last
    notify(app, p24.pay(session_id))
    done = poller.get(f"/platnosci/{session_id}?proba=2").get_data(as_text=True)
    assert "Płatność przyjęta" in done and "data-hx-get" not in done
    assert '<div id="status" data-hx-swap-oob="innerHTML"><p>Płatność przyjęta</p></div>' in done
    listing = text_of(visitor.get("/platnosci"))
    assert "Przyjęta" in listing and "223,44 zł" in listing


def test_the_return_page_never_trusts_its_url(app, make_visitor, invoices, p24):
    owner = log_in(make_visitor())
    pay(owner, f"/faktury/{invoices['due']}/zaplac")
    session_id = payments(app)[0]["session_id"]
    # Nobody else's, and never a state from the query string.
    assert owner.get("/platnosci/not-a-payment").status_code == 404
    page = text_of(owner.get(f"/platnosci/{session_id}?status=success"))
    assert "Płatność przyjęta" not in page


def test_plain_and_htmx_pages_have_their_shape(app, visitor, invoices, p24):
    from support import assert_shape

    log_in(visitor)
    pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    session_id = payments(app)[0]["session_id"]
    for url in (f"/platnosci/{session_id}", "/platnosci"):
        response = visitor.get(url)
        assert response.status_code == 200
        assert_shape(visitor, response)


# -- the dev provider -------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["pay", "reject"])
def test_the_simulation_page_pays_or_rejects(app, visitor, invoices, action):
    assert app.config["PAYMENTS_PROVIDER"] == "dev"
    log_in(visitor)
    target, _ = pay(visitor, "/platnosci/zaplac-wszystko")
    assert target.startswith("/dev/platnosc/")
    page = visitor.get(target)
    assert "Symulacja płatności" in text_of(page)
    response = follow(visitor, visitor.post(target, {"action": action}))
    text = text_of(response)
    if action == "pay":
        assert "Płatność przyjęta" in text
        assert len(outbox(app, "email")) == 1
    else:
        assert "Płatność nie doszła do skutku" in text
        assert outbox(app, "email") == []


@pytest.mark.config(PAYMENTS_PROVIDER="przelewy24")
def test_the_simulation_page_exists_only_for_the_dev_provider(app, visitor, customers):
    log_in(visitor)
    assert visitor.get("/dev/platnosc/anything").status_code == 404


# -- operators ---------------------------------------------------------------------------------


def test_export_reconcile_and_status(app, runner, make_visitor, invoices, p24):
    visitor = log_in(make_visitor())
    pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    pay(visitor, f"/faktury/{invoices['overdue']}/zaplac")
    lost, abandoned = (payment["session_id"] for payment in payments(app))
    p24.pay(lost)  # paid, but its notification never arrives
    with app.app_context():
        for payment in db.session.scalars(select(Payment)):
            payment.expires_at = datetime(2020, 1, 1)
        db.session.commit()
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "1 paid" in result.output and "1 abandoned" in result.output
    states = {payment["session_id"]: payment["state"] for payment in payments(app)}
    assert states == {lost: "paid", abandoned: "abandoned"}
    assert len(outbox(app, "email")) == 1
    status = runner.invoke(args=["payments", "status"])
    assert "paid 1" in status.output and "abandoned 1" in status.output
    assert "waiting past the time limit: 0" in status.output
    export = runner.invoke(args=["payments", "export", "--since", "2020-01-01"])
    assert export.exit_code == 0, export.output
    header, row = export.output.strip().splitlines()
    assert header == "payment_id,order_id,customer_number,invoice_numbers,amount,currency,paid_at"
    fields = row.split(",")
    assert fields[1:6] == [str(p24.paid[lost]), "200005", "FV/2026/11/000011", "123.45", "PLN"]


def test_billing_paid_on_stops_the_offer(app, visitor, invoices, p24):
    log_in(visitor)
    with app.app_context():
        invoice = db.session.get(Invoice, invoices["due"])
        assert invoice is not None
        invoice.paid_on = TODAY
        db.session.commit()
    page = visitor.get("/faktury").get_data(as_text=True)
    assert f"/faktury/{invoices['due']}/zaplac" not in page


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300))
def test_any_body_is_answered_400_never_500(app, customers, p24, body):
    response = notify(app, body)
    assert response.status_code == 400


# -- production settings ------------------------------------------------------------------------

PRODUCTION = PRODUCTION_ENVIRONMENT
P24 = {
    "FLASK_PAYMENTS_PROVIDER": "przelewy24",
    "FLASK_P24_URL": "https://sandbox.przelewy24.pl",
    "FLASK_P24_MERCHANT_ID": "123456",
    "FLASK_P24_POS_ID": "123456",
    "FLASK_P24_API_KEY": "key",
    "FLASK_P24_CRC": "crc",
}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({**P24, "FLASK_P24_CRC": ""}, "FLASK_P24_CRC not set"),
        ({**P24, "FLASK_P24_API_KEY": "", "FLASK_P24_URL": ""}, "FLASK_P24_URL, FLASK_P24_API_KEY"),
        ({**P24, "FLASK_P24_URL": "http://sandbox.przelewy24.pl"}, "must be an https:// URL"),
        ({"FLASK_PAYMENTS_PROVIDER": "dev"}, "FLASK_PAYMENTS_PROVIDER is dev"),
        ({"FLASK_PAYMENTS_PROVIDER": "payu"}, "is not one of"),
    ],
)
def test_production_refuses_payments_half_set_up(environment, production_app, settings, message):
    environment(**PRODUCTION, **settings)
    with pytest.raises((RuntimeError, ValueError), match=message):
        production_app()


def test_production_without_a_provider_offers_no_payments(environment, production_app):
    environment(**PRODUCTION)
    app = production_app()
    assert app.config["PAYMENTS_PROVIDER"] is None
    environment(**PRODUCTION, **P24)
    assert production_app().config["PAYMENTS_PROVIDER"] == "przelewy24"


# -- languages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "waiting", "page_language"),
    [
        ("en", "We are waiting for the payment to be confirmed", "en"),
        ("uk", "Очікуємо підтвердження платежу", "en"),  # no Ukrainian page at Przelewy24
    ],
)
def test_the_pages_and_the_provider_page_follow_the_language(
    app, make_visitor, invoices, p24, language, waiting, page_language
):
    visitor = make_visitor()
    visitor.client.set_cookie("language", language)
    log_in(visitor)
    pay(visitor, f"/faktury/{invoices['due']}/zaplac")
    (payment,) = payments(app)
    assert p24.registered[payment["session_id"]]["language"] == page_language
    assert waiting in text_of(visitor.get(f"/platnosci/{payment['session_id']}"))


def test_the_confirmation_goes_out_in_the_customers_language(app, p24, started):
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == "200005")).one()
        assert customer.account is not None
        customer.account.language = "uk"
        db.session.commit()
    assert notify(app, p24.pay(started)).status_code == 200
    (mail,) = outbox(app, "email")
    assert "Ми отримали ваш онлайн-платіж" in mail.body_text
    assert mail.subject == "Ваш платіж прийнято"
