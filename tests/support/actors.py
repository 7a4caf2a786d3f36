"""HTTP actors and what they need: the test configuration, the customers, a customer's
browser speaking plain HTTP or htmx, the actions of logging in and walking the wizard
(flaskr's AuthActions), and readers of the database and the outbox. The fixtures in
conftest.py hand these out."""

import html
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ebok.config import DEFAULTS
from ebok.extensions import db
from ebok.identity.passwords import hash_password
from ebok.models import Account, Customer, EInvoiceConsent, OutboxMessage

TEST_PASSWORD = "Haslo#2026x"  # the registered customer's
NEW_PASSWORD = "Nowe#Haslo1"  # one a customer sets in a test

# A complete production environment: every setting production requires (ebok/config.py's
# SETTINGS), none a placeholder. Tests that start production take it and override what
# they test; a test that stores invoices names its own FLASK_INVOICE_STORAGE (this one
# does not exist, so a write there fails rather than meeting another test's files).
PRODUCTION_ENVIRONMENT = {
    "FLASK_SECRET_KEY": "d3f1c0a7e94b52f86c0e7a1b39d4f2e5a8c6b0d9",
    "FLASK_SERVER_NAME": "ebok.example.pl",
    "FLASK_MAIL_DEFAULT_SENDER": "Strefa Klienta Kablonet <ebok@kablonet.example.pl>",
    "FLASK_SMS_GATEWAY_URL": "http://127.0.0.1:9/send",  # nothing listens: nothing leaves
    "FLASK_SMS_GATEWAY_TOKEN": "a-token-of-the-sms-gateway",
    "FLASK_SMS_SENDER": "Kablonet",
    "FLASK_INVOICE_STORAGE": "/nonexistent/strefa-klienta/invoices",
    "FLASK_CUSTOMER_SERVICE_PHONE": "22 555 01 23",
    "FLASK_GOOGLE_PLAY_URL": "https://play.google.com/store/apps/details?id=pl.kablonet.ebok",
    "FLASK_OPERATOR_NAME": "Kablonet",
    "FLASK_OPERATOR_EMAIL": "bok@kablonet.example.pl",
}

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


# Templates only the tests render (messages/_test/...), kept out of the app's templates/.
TEST_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def with_test_templates(app):
    """Lets `app` render the tests' own templates too, after its own."""
    from jinja2 import ChoiceLoader, FileSystemLoader

    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(TEST_TEMPLATES)])
    return app


def _default_languages() -> list[str]:
    languages = DEFAULTS["LANGUAGES"]
    assert isinstance(languages, list)
    return languages


# The interface languages the app offers unless configured otherwise (ebok.config).
DEFAULT_LANGUAGES = _default_languages()

CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def found(pattern: str | re.Pattern[str], text: str, flags: int = 0) -> re.Match[str]:
    """re.search that must find: the match, else the test fails naming the pattern."""
    match = re.search(pattern, text, flags)
    assert match is not None, f"no {pattern!r} in {text[:200]!r}"
    return match


class Visitor:
    """A customer's browser: plain requests (no JavaScript), or htmx partial requests."""

    def __init__(self, client, htmx: bool):
        self.client = client
        self.htmx = htmx
        self.csrf_token: str | None = None
        self.referer: str | None = None  # by default the page's own origin, as a browser sends it

    @property
    def headers(self) -> dict[str, str]:
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
        host = self.client.application.config["SERVER_NAME"] or "localhost"
        headers = {**self.headers, "Referer": self.referer or f"https://{host}/"}
        return self._remember_token(self.client.post(url, data=data, headers=headers, **kwargs))


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

    @property
    def html(self) -> str:
        """The HTML body, which an e-mail has (an SMS has none)."""
        assert self.body_html is not None, f"no HTML body in the {self.channel} to {self.recipient}"
        return self.body_html

    @property
    def title(self) -> str:
        """The subject, which an e-mail has (an SMS has none)."""
        assert self.subject is not None, f"no subject in the {self.channel} to {self.recipient}"
        return self.subject


def activate_einvoice(app, number="200005", since=datetime(2026, 1, 1)):
    """The account has e-Faktura active since `since`, with its consent record."""
    with app.app_context():
        account = db.session.scalars(
            select(Account).join(Account.customer).where(Customer.number == number)
        ).one()
        account.einvoice_since = since
        account.einvoice_address = "faktury.ewa@example.com"
        db.session.add(
            EInvoiceConsent(
                account_id=account.id,
                event="activated",
                address=account.einvoice_address,
                terms_version="2026-11",
                source="banner",
                recorded_at=since,
            )
        )
        db.session.commit()


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
    return found(r"\b(\d{6})\b", messages[-1].body_text).group(1)


def last_link(app, email: str) -> str:
    """The path of the newest link e-mailed to the address."""
    messages = outbox(app, "email", email)
    assert messages, f"no e-mail to {email}"
    url = found(r"https?://\S+/link/\S+", messages[-1].body_text).group(0)
    return re.sub(r"^https?://[^/]+", "", url)


def account_of(app, customer) -> dict[str, Any] | None:
    with app.app_context():
        account = db.session.scalars(
            select(Account).where(Account.customer_id == customer.id)
        ).first()
        if account is None:
            return None
        return {
            "id": account.id,
            "password_hash": account.password_hash,
            "login_name": account.login_name,
        }


def existing_account(app, customer) -> dict[str, Any]:
    """account_of a customer who must have an account."""
    account = account_of(app, customer)
    assert account is not None, f"customer {customer.number} has no account"
    return account


# Customers of every kind the wizard must handle; "registered" has an account with
# TEST_PASSWORD. The HTTP tests and the browser tests use the same ones.
CUSTOMERS = {
    "both": {
        "number": "200001",
        "first_name": "Anna",
        "last_name": "Nowak",
        "email": "anna.nowak@example.com",
        "phone": "+48512345678",
    },
    "email_only": {
        "number": "200002",
        "first_name": "Jan",
        "last_name": "Kowalski",
        "email": "jan.kowalski@example.com",
    },
    "phone_only": {
        "number": "200003",
        "first_name": "Maria",
        "last_name": "Wiśniewska",
        "phone": "+48600700803",
    },
    "neither": {"number": "200004", "first_name": "Piotr", "last_name": "Wójcik"},
    "registered": {
        "number": "200005",
        "first_name": "Ewa",
        "last_name": "Kamińska",
        "email": "ewa.kaminska@example.com",
        "phone": "+48600700805",
    },
}


def add_customers(app) -> dict[str, "_Snapshot"]:
    """Adds CUSTOMERS to the app's database, the registered one with its account."""
    rows = {key: Customer(**values) for key, values in CUSTOMERS.items()}
    with app.app_context():
        db.session.add_all(rows.values())
        db.session.add(
            Account(customer=rows["registered"], password_hash=hash_password(TEST_PASSWORD))
        )
        db.session.commit()
        return {key: _Snapshot(customer) for key, customer in rows.items()}


def give_account(app, customer, password=TEST_PASSWORD) -> None:
    with app.app_context():
        db.session.add(
            Account(
                customer=db.session.get(Customer, customer.id),
                password_hash=hash_password(password),
            )
        )
        db.session.commit()


class AuthActions:
    """Logging in and out as a customer's browser does."""

    def __init__(self, visitor):
        self.visitor = visitor

    def post_login(self, login="200005", password=TEST_PASSWORD, *, visitor=None):
        """The answer to the login form's post, as the browser gets it."""
        visitor = visitor or self.visitor
        return visitor.post("/", {"login": login, "password": password})

    def log_in(self, login="200005", password=TEST_PASSWORD, *, visitor=None):
        """Logs in and lands on Strona Główna; returns that page."""
        visitor = visitor or self.visitor
        response = follow(visitor, self.post_login(login, password, visitor=visitor))
        assert response.request.path == "/strona-glowna", "the login failed"
        return response

    def log_out(self, *, visitor=None):
        visitor = visitor or self.visitor
        return follow(visitor, visitor.post("/wyloguj"))


class WizardActions:
    """Walks a flow's wizard as the customer does, step by step or to a step at once."""

    def __init__(self, app, visitor, prefix="/rejestracja"):
        self.app = app
        self.visitor = visitor
        self.prefix = prefix

    def start(self, typed):
        return self.visitor.post(f"{self.prefix}/", {"number": typed, "action": "next"})

    def choose(self, channel, typed):
        field = "phone" if channel == "sms" else "email"
        return self.visitor.post(
            f"{self.prefix}/sposob", {"channel": channel, field: typed, "action": "next"}
        )

    def enter_code(self, code):
        return self.visitor.post(f"{self.prefix}/kod", {"code": code, "action": "next"})

    def resend(self):
        return self.visitor.post(f"{self.prefix}/wyslij-ponownie")

    def set_password(self, password=NEW_PASSWORD, repeat=None):
        return self.visitor.post(
            f"{self.prefix}/haslo",
            {"password": password, "password_repeat": repeat or password, "action": "next"},
        )

    def to_code(self, customer):
        """To the code step: the number, then SMS to the phone on file."""
        self.start(customer.number)
        response = self.choose("sms", customer.phone)
        assert response.request.path == f"{self.prefix}/kod"
        return response

    def to_password(self, customer):
        """To the password step, by the SMS code; returns the code sent."""
        self.to_code(customer)
        code = last_code(self.app, customer.phone)
        response = self.enter_code(code)
        assert response.request.path == f"{self.prefix}/haslo"
        return code

    def send_link(self, customer):
        """To the check-your-inbox step: the number, then e-mail to the address on file."""
        self.start(customer.number)
        return self.choose("email", customer.email)


def follow(visitor, response):
    """Follows the full-page navigation htmx is told to make with HX-Redirect."""
    target = response.headers.get("HX-Redirect")
    if target:
        assert visitor.htmx
        # A full navigation: no htmx headers, and the new page brings a new CSRF token.
        return visitor._remember_token(visitor.client.get(target, follow_redirects=True))
    return response


# Tags inside a line of text: they join their neighbours, as a browser shows them.
INLINE_TAGS = re.compile(r"</?(?:a|span|strong|b|em|i|abbr|code)\b[^>]*>")


def text_of(response) -> str:
    """The response body as a customer reads it: tags removed (inline ones without a
    space: "Aktywuj <span>e-Fakturę</span>?" reads "Aktywuj e-Fakturę?"), entities
    decoded, no-break spaces read as spaces."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", INLINE_TAGS.sub("", body))
    return re.sub(r"\s+", " ", html.unescape(body))


def assert_shape(visitor, response):
    """htmx gets the panel's fragment with its own <title>; a plain request a full page."""
    body = response.get_data(as_text=True)
    if visitor.htmx:
        assert "<html" not in body
        assert body.lstrip().startswith("<title>")
        assert 'data-hx-swap-oob="innerHTML"' in body
    else:
        assert body.lstrip().lower().startswith("<!doctype html>")
        assert '<div id="panel"' in body


def field_value(response, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', response.get_data(as_text=True))
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""
