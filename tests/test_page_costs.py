"""What Strona Główna and Faktury cost the database per request (issue 26): the queries a
request runs and the invoices it loads, counted with SQLAlchemy's events, not timed. A
customer with 1 200 invoices costs what one with 12 does."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, insert, select
from support import AuthActions

from ebok.extensions import db
from ebok.invoices import formatting
from ebok.models import Customer, Invoice
from ebok.web import templating


@dataclass
class Costs:
    statements: list[str] = field(default_factory=list)
    invoices_loaded: int = 0


@contextmanager
def counted(app) -> Iterator[Costs]:
    """The SQL statements run and the Invoice objects built while the block runs."""
    costs = Costs()

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        costs.statements.append(statement)

    def on_load(target, context):
        costs.invoices_loaded += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(Invoice, "load", on_load)
    try:
        yield costs
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(Invoice, "load", on_load)


def give_invoices(app, count: int, number: str = "200005") -> None:
    """`count` monthly invoices, newest first from today: the newest due, the rest paid."""
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == number)).one()
        rows = []
        for n in range(count):
            issued = date.today() - timedelta(days=30 * n)
            rows.append(
                {
                    "customer_id": customer.id,
                    "number": f"FV/{number}/{n:06d}",
                    "issue_date": issued,
                    "period_from": issued - timedelta(days=30),
                    "period_to": issued - timedelta(days=1),
                    "due_date": issued + timedelta(days=14),
                    "gross_amount": Decimal("89.99"),
                    "currency": "PLN",
                    "paid_on": None if n == 0 else issued + timedelta(days=7),
                    "delivery": "paper",
                    "pdf_sha256": "0" * 64,
                    "pdf_size": 48_000,
                    "pdf_storage_key": f"{customer.id}/{n}.pdf",
                }
            )
        db.session.execute(insert(Invoice), rows)
        db.session.commit()


@pytest.fixture
def signed_in(app, visitor, customers):
    AuthActions(visitor).log_in()
    return visitor


def test_strona_glowna_costs_the_same_for_12_and_1200_invoices(app, signed_in):
    """The latest invoice is one row (ORDER BY … LIMIT 1), the sums are SQL's: no request
    loads a customer's whole history."""
    costs = {}
    for count in (12, 1_200):
        with app.app_context():
            db.session.execute(Invoice.__table__.delete())
            db.session.commit()
        give_invoices(app, count)
        with counted(app) as costs[count]:
            response = signed_in.get("/strona-glowna")
        assert response.status_code == 200
        assert "FV/200005/000000" in response.text  # the newest, on the latest-invoice card
    # The latest invoice, and the one unpaid invoice "Zapłać wszystko" would pay.
    assert costs[1_200].invoices_loaded == costs[12].invoices_loaded <= 2
    assert len(costs[1_200].statements) == len(costs[12].statements)


@pytest.mark.parametrize("url", ["/faktury", "/faktury?rok=2026", "/faktury?strona=2"])
def test_faktury_takes_three_queries(app, signed_in, url):
    """The session with its account and customer; the years with their counts (one GROUP
    BY); one page of invoices, each with whether it is paid online. (Payments off: tests
    run in development, where the dev provider is the default.)"""
    app.config["PAYMENTS_PROVIDER"] = None
    give_invoices(app, 30)
    with counted(app) as costs:
        response = signed_in.get(url)
    assert response.status_code == 200
    assert "tag--due" in response.text or "tag--paid" in response.text
    assert len(costs.statements) <= 3, costs.statements
    assert costs.invoices_loaded <= 12


def test_faktury_with_payments_adds_only_the_payments_queries(app, signed_in):
    """With "Zapłać": the invoices paid online and those with a payment waiting, once per
    page however many rows have a button."""
    give_invoices(app, 30)
    with counted(app) as costs:
        response = signed_in.get("/faktury")
    assert response.status_code == 200
    assert response.text.count('class="pay-form pay-form--compact"') == 1
    assert len(costs.statements) <= 5, costs.statements


def test_faktury_asks_for_the_language_once_per_render(app, signed_in, monkeypatch):
    """The catalog and the language are bound once per render (ebok/web/templating.py),
    not looked up in Flask-Babel's context for each label, date and amount."""
    app.config["PAYMENTS_PROVIDER"] = None
    give_invoices(app, 12)
    asked = {"catalog": 0, "locale": 0}

    def counting(name, real):
        def wrapper(*args, **kwargs):
            asked[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        templating, "get_translations", counting("catalog", templating.get_translations)
    )
    monkeypatch.setattr(formatting, "get_locale", counting("locale", formatting.get_locale))
    response = signed_in.get("/faktury")
    assert response.status_code == 200
    assert "89,99\N{NO-BREAK SPACE}zł" in response.text
    # Once per render, and in macros imported without the page's context (about 40 and
    # 48 before: one for each label, date and amount).
    assert asked["catalog"] <= 4, asked
    assert asked["locale"] == 0, asked
