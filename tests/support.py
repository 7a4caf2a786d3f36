"""What the tests share besides fixtures: the test configuration, a customer's browser
speaking plain HTTP or htmx, and readers of the database and the outbox."""

import re

from sqlalchemy import select

from ebok.extensions import db
from ebok.models import Account, Customer, OutboxMessage

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


CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Visitor:
    """A customer's browser: plain requests (no JavaScript), or htmx partial requests."""

    def __init__(self, client, htmx: bool):
        self.client = client
        self.htmx = htmx
        self.csrf_token = None
        self.referer = None  # by default the page's own origin, as a browser sends it

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
        return {
            "id": account.id,
            "password_hash": account.password_hash,
            "session_token": account.session_token,
            "login_name": account.login_name,
        }


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives:
    `received` (envelopes), `messages` (parsed) and `sessions` (connections greeted)."""

    def __init__(self, *, refuse_rcpt: bool = False, port: int = 0, **controller_options):
        import asyncio
        import socket

        from aiosmtpd.controller import Controller

        if not port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        self.port = port
        self.received = []
        self.sessions = 0
        self.refuse_rcpt = refuse_rcpt
        self.loop = asyncio.new_event_loop()
        self.controller = Controller(
            self, hostname="127.0.0.1", port=port, loop=self.loop, **controller_options
        )

    @property
    def messages(self):
        from email import message_from_bytes, policy

        return [
            message_from_bytes(e.original_content, policy=policy.default) for e in self.received
        ]

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted"

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()
        self.loop.close()
