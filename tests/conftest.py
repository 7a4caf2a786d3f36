"""Fixtures: the app on a fresh SQLite database, a client that can speak plain HTTP or
htmx, and small helpers for customers, accounts and the captured outbox."""

import re

import pytest
from sqlalchemy import select

from ebok import create_app
from ebok.extensions import db, limiter
from ebok.models import Account, Customer, OutboxMessage
from ebok.passwords import hash_password

TEST_PASSWORD = "Haslo#2026x"

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    # Still above the ASVS floor (t=2, 19 MiB, p=1), just quicker than production's.
    "ARGON2_TIME_COST": 2,
    "ARGON2_MEMORY_COST": 19456,
    "ARGON2_PARALLELISM": 1,
    "SERVER_NAME": None,
    "CUSTOMER_SERVICE_PHONE": "22 123 45 67",
}


def _compile_catalogs() -> None:
    """The tests read the Polish interface, so they need the compiled catalogs; they are
    built from the .po files, never committed."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in Path(__file__).parent.parent.glob("translations/*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)


_compile_catalogs()


@pytest.fixture
def app(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/test.db"})
    with app.app_context():
        db.create_all()
        limiter.reset()
    # No app context stays pushed: each request gets its own, as in production.
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Visitor:
    """A customer's browser: plain requests (no JavaScript), or htmx partial requests."""

    def __init__(self, client, htmx: bool):
        self.client = client
        self.htmx = htmx
        self.csrf_token = None
        self.referer = "https://localhost/"

    @property
    def headers(self):
        if not self.htmx:
            return {}
        return {"HX-Request": "true", "HX-Request-Type": "partial", "HX-Target": "div#panel"}

    def _remember_token(self, response):
        text = response.get_data(as_text=True)
        match = CSRF_INPUT.search(text) or CSRF_META.search(text)
        if match:
            self.csrf_token = match.group(1)
        # Closing runs what the app does after the response, like handing messages over.
        response.close()
        return response

    def get(self, url, **kwargs):
        kwargs.setdefault("follow_redirects", True)
        return self._remember_token(self.client.get(url, headers=self.headers, **kwargs))

    def post(self, url, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            if self.csrf_token is None:
                self.get("/")
            data.setdefault("csrf_token", self.csrf_token)
        kwargs.setdefault("follow_redirects", True)
        # Tests run over https, as production does, where Flask-WTF checks the Referer.
        headers = {**self.headers, "Referer": self.referer}
        return self._remember_token(self.client.post(url, data=data, headers=headers, **kwargs))


@pytest.fixture(params=["plain", "htmx"])
def visitor(app, request):
    """Each test that uses it runs twice: without JavaScript and as htmx."""
    return Visitor(app.test_client(), htmx=request.param == "htmx")


@pytest.fixture
def make_visitor(app):
    return lambda htmx=False: Visitor(app.test_client(), htmx=htmx)


@pytest.fixture
def customers(app):
    """Customers of every kind the wizard must handle."""
    rows = {
        "both": Customer(number="200001", first_name="Anna", last_name="Nowak",
                         email="anna.nowak@example.com", phone="+48600700800"),
        "email_only": Customer(number="200002", first_name="Jan", last_name="Kowalski",
                               email="jan.kowalski@example.com"),
        "phone_only": Customer(number="200003", first_name="Maria", last_name="Wiśniewska",
                               phone="+48600700803"),
        "neither": Customer(number="200004", first_name="Piotr", last_name="Wójcik"),
        "registered": Customer(number="200005", first_name="Ewa", last_name="Kamińska",
                               email="ewa.kaminska@example.com", phone="+48600700805"),
    }
    with app.app_context():
        db.session.add_all(rows.values())
        db.session.add(Account(customer=rows["registered"],
                               password_hash=hash_password(TEST_PASSWORD)))
        db.session.commit()
        return {key: _Snapshot(customer) for key, customer in rows.items()}


class _Snapshot:
    """A customer's data as plain values, usable outside any app context."""

    def __init__(self, customer: Customer):
        self.id = customer.id
        self.number = customer.number
        self.email = customer.email
        self.phone = customer.phone


class Sent:
    """One message from the outbox, as plain values."""

    def __init__(self, message: OutboxMessage):
        self.channel = message.channel
        self.recipient = message.recipient
        self.subject = message.subject
        self.body_text = message.body_text
        self.body_html = message.body_html
        self.status = message.status


def outbox(app, channel=None, recipient=None) -> list[Sent]:
    with app.app_context():
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        if channel:
            statement = statement.where(OutboxMessage.channel == channel)
        if recipient:
            statement = statement.where(OutboxMessage.recipient == recipient)
        return [Sent(message) for message in db.session.scalars(statement)]


def last_code(app, phone: str) -> str:
    messages = outbox(app, "sms", phone)
    assert messages, f"no SMS to {phone}"
    return re.search(r"\b(\d{6})\b", messages[-1].body_text).group(1)


def last_link(app, email: str) -> str:
    """The path of the newest link e-mailed to the address."""
    messages = outbox(app, "email", email)
    assert messages, f"no e-mail to {email}"
    url = re.search(r"https?://\S+/link/\S+", messages[-1].body_text).group(0)
    return re.sub(r"^https?://[^/]+", "", url)


def account_of(app, customer) -> dict | None:
    with app.app_context():
        account = db.session.scalars(
            select(Account).where(Account.customer_id == customer.id)
        ).first()
        if account is None:
            return None
        return {"id": account.id, "password_hash": account.password_hash,
                "session_token": account.session_token, "login_name": account.login_name}
