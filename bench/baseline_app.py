"""The baseline for the login page: a bare Flask app that renders the same HTML with Jinja
and keeps a CSRF-like token in its session, and nothing else (no extensions, no headers);
and for Faktury (bench/faktury.py, below).

bench/pages.py writes the template (the app's own login page, its token replaced by
{{ token }}) into a folder and starts gunicorn on `baseline_app:app` with
BENCH_TEMPLATE_FOLDER set; it is not part of the product.
"""

import os
import secrets

from flask import Flask, render_template, session

app = Flask(__name__, template_folder=os.environ.get("BENCH_TEMPLATE_FOLDER", "."))
app.secret_key = secrets.token_hex(32)


@app.get("/")
def login():
    token = session.setdefault("token", secrets.token_hex(20))
    return render_template("login.html", token=token)


# -- Faktury's baseline (bench/faktury.py): the page's three queries in SQLAlchemy Core and
# the same HTML from one compiled template (BENCH_TEMPLATE_FOLDER/faktury.html, the app's
# own page with its rows turned into a loop), formatted with Babel as the app formats them.

_engine = None
_STATUS = {"paid": "Opłacona", "due": "Do zapłaty", "overdue": "Po terminie"}


def _tables():
    global _engine
    if _engine is None:
        from sqlalchemy import MetaData, create_engine

        _engine = create_engine(os.environ["BENCH_DATABASE_URI"])
        _engine.metadata = MetaData()
        _engine.metadata.reflect(_engine)
    return _engine, _engine.metadata.tables


@app.get("/faktury")
def invoices():
    import hashlib
    from datetime import date

    from babel.dates import format_date, format_interval
    from babel.numbers import format_currency
    from flask import abort, request
    from sqlalchemy import exists, extract, func, select

    engine, tables = _tables()
    sessions, accounts, customers = (
        tables["login_sessions"],
        tables["accounts"],
        tables["customers"],
    )
    invoice, payments, paid = tables["invoices"], tables["payments"], tables["payment_invoices"]
    cookie = request.cookies.get(os.environ.get("BENCH_COOKIE_NAME", "__Host-session"), "")
    with engine.connect() as connection:
        customer = connection.execute(
            select(customers.c.id, customers.c.first_name, accounts.c.id)
            .select_from(sessions.join(accounts).join(customers))
            .where(sessions.c.id_hash == hashlib.sha256(cookie.encode()).hexdigest())
        ).first()
        if customer is None:
            abort(403)
        year = extract("year", invoice.c.issue_date)
        years = connection.execute(
            select(year, func.count())
            .where(invoice.c.customer_id == customer.id)
            .group_by(year)
            .order_by(year.desc())
        ).all()
        paid_online = exists().where(
            paid.c.invoice_id == invoice.c.id,
            payments.c.id == paid.c.payment_id,
            payments.c.state == "paid",
        )
        rows = connection.execute(
            select(invoice, paid_online.label("paid_online"))
            .where(invoice.c.customer_id == customer.id)
            .order_by(invoice.c.issue_date.desc(), invoice.c.id.desc())
            .limit(12)
        ).all()
    today = date.today()
    listed = []
    for row in rows:
        kind = "paid" if row.paid_on else "overdue" if row.due_date < today else "due"
        listed.append(
            {
                "id": row.id,
                "number": row.number,
                "kind": kind,
                "status": _STATUS[kind],
                "period": format_interval(row.period_from, row.period_to, "yMMMMd", locale="pl"),
                "issued": format_date(row.issue_date, "long", locale="pl"),
                "amount": format_currency(row.gross_amount, row.currency, locale="pl"),
                "due": format_date(row.due_date, "long", locale="pl"),
                "size": f"{max(1, round(row.pdf_size / 1024))} KB",
            }
        )
    token = session.setdefault("token", secrets.token_hex(20))
    total = sum(count for _, count in years)
    return render_template("faktury.html", token=token, rows=listed, total=total)
