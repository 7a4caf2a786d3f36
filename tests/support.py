"""What the tests share: the test configuration, the customers, a customer's browser
speaking plain HTTP or htmx, the actions of logging in and walking the wizard (flaskr's
AuthActions), readers of the database and the outbox, a real SMTP server, and real servers
to start, stop and freeze (redis-server, PostgreSQL, the app under gunicorn). The fixtures
in conftest.py hand these out."""

import html
import http.client
import importlib.util
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from ebok.extensions import db
from ebok.identity.passwords import hash_password
from ebok.models import Account, Customer, EInvoiceConsent, OutboxMessage

TEST_PASSWORD = "Haslo#2026x"  # the registered customer's
NEW_PASSWORD = "Nowe#Haslo1"  # one a customer sets in a test

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
        assert 'hx-swap-oob="innerHTML"' in body
    else:
        assert body.lstrip().lower().startswith("<!doctype html>")
        assert '<div id="panel"' in body


def field_value(response, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', response.get_data(as_text=True))
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""


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


# Real servers a test starts, stops and freezes: a private redis-server, a private
# PostgreSQL, and the app under gunicorn. Each listens only on this machine, on a Unix
# socket or a port picked at run time, and the test that starts it stops it.

WAIT = 20  # seconds any one wait for a server may take before the test fails
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition, what: str, timeout: float = WAIT):
    """Polls condition() until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own on a Unix socket (no port to share), that the test
    can kill, freeze (SIGSTOP) and bring back."""

    def __init__(self, directory: Path):
        self.executable = shutil.which("redis-server")
        if self.executable is None:
            pytest.skip("redis-server is not installed (Debian package redis-server)")
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.uri = f"redis+unix://{self.socket}"
        self.process = None
        self.start()

    def start(self) -> None:
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(  # noqa: S603
            [
                *(self.executable, "--port", "0", "--unixsocket", str(self.socket)),
                *("--save", "", "--appendonly", "no"),
            ],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
        )
        wait_for(self.socket.exists, "redis-server's socket")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(WAIT)

    def freeze(self) -> None:
        """It keeps its socket open and accepts connections, but answers nothing."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            self.process.wait(WAIT)


class PostgresServer:
    """A PostgreSQL cluster of the test's own (initdb into a temporary directory) on a free
    port, that the test can stop and start again. As root, the server runs as `postgres`."""

    BIN_DIRECTORIES = ("/usr/lib/postgresql/15/bin", "/usr/local/bin")

    def __init__(self):
        self.bin = next(
            (Path(d) for d in self.BIN_DIRECTORIES if (Path(d) / "pg_ctl").exists()), None
        )
        if self.bin is None:
            pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
        # Not under pytest's tmp_path: the postgres user must be able to reach it.
        self.directory = Path(tempfile.mkdtemp(prefix="ebok-postgres-"))
        self.as_server_user = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            self.as_server_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.directory / "data"
        self.port = free_port()
        self.uri = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()

    def _run(self, program: str, *arguments) -> None:
        subprocess.run(  # noqa: S603
            [*self.as_server_user, self.bin / program, *map(str, arguments)],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )

    def running(self) -> bool:
        status = subprocess.run(  # noqa: S603
            [*self.as_server_user, self.bin / "pg_ctl", "-D", str(self.data), "status"],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        return status.returncode == 0

    def start(self) -> None:
        if self.running():
            return
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.directory / "server.log"
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """As a crash or a cut network would: every connection ends at once. Mode "fast"
        is an operator's stop (systemctl stop): each session is told why it ends."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, …)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(  # noqa: S603
            ["pgrep", "-P", str(postmaster)],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """As a paused machine: connections stay open and the kernel still accepts new
        ones and acknowledges what is sent, but no process answers."""
        for pid in self.processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass  # a backend whose connection has ended meanwhile

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.directory, ignore_errors=True)


class Gunicorn:
    """The app as production runs it (sync workers), behind one listening socket this test
    made, configured only by FLASK_ variables, with its access and error logs in
    `directory`."""

    def __init__(
        self, directory: Path, environment: dict, workers: int = 2, config: Path | None = None
    ):
        """`config`: a gunicorn config file (e.g. the project's, for its hooks); the
        command line still sets the bind, the workers and the logs."""
        if importlib.util.find_spec("gunicorn") is None:
            pytest.skip("gunicorn is not installed")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.access_log = directory / "access.log"
        self.error_log = directory / "error.log"
        if config is None:
            config = directory / "gunicorn.conf.py"
            config.write_text("")
        clean = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FLASK_", "EBOK_", "GUNICORN_"))
        }
        clean.update(
            FLASK_SECRET_KEY=secrets.token_hex(32),
            FLASK_SERVER_NAME="ebok.example.pl",  # production refuses to start without it
            FLASK_PROXY_FIX_X_FOR="1",  # the client address comes from X-Forwarded-For
            FLASK_ARGON2_TIME_COST=str(TEST_CONFIG["ARGON2_TIME_COST"]),
            FLASK_ARGON2_MEMORY_COST=str(TEST_CONFIG["ARGON2_MEMORY_COST"]),
            FLASK_ARGON2_PARALLELISM=str(TEST_CONFIG["ARGON2_PARALLELISM"]),
        )
        clean.update(environment)
        fd = self.listener.fileno()
        # What the app itself logs: JSON lines on stderr (ebok/logs.py).
        self.output = directory / "output.log"
        self._output_file = self.output.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            [
                *(sys.executable, "-m", "gunicorn", "app:app"),
                *("--config", str(config), "--bind", f"fd://{fd}"),
                *("--workers", str(workers), "--worker-class", "sync", "--no-control-socket"),
                *("--access-logfile", str(self.access_log)),
                *("--access-logformat", "%(p)s %(q)s %(s)s"),
                *("--error-logfile", str(self.error_log)),
            ],
            cwd=PROJECT_ROOT,
            env=clean,
            pass_fds=[fd],
            stderr=self._output_file,
        )

    def wait_until_serving(self) -> None:
        def serving():
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn stopped:\n{self.error_log.read_text()}")
            return self.request("GET", "/?ready=1")[0] == 200

        wait_for(serving, "gunicorn to serve")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # quick shutdown: nothing is in flight

    def wait_until_stopped(self) -> None:
        self.process.wait(WAIT)
        self.listener.close()
        self._output_file.close()

    def request(self, method, path, headers=None, body=None, timeout=WAIT, port=None):
        """(status, Set-Cookie, body); (None, None, b"") when no answer came in time.
        `port`: another of the server's ports (the health listener's)."""
        connection = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.getheader("Set-Cookie"), response.read()
        except OSError:
            return None, None, b""
        finally:
            connection.close()

    def waiting_connections(self) -> int:
        """Connections in the accept queue: Linux reports it as tcpi_unacked of a listening
        socket's TCP_INFO."""
        info = self.listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return struct.unpack_from("I", info, 24)[0]

    def hold_a_worker(self) -> socket.socket:
        """Starts a request without finishing it: the worker that takes it waits for the
        rest, serving nobody else. Returns once a worker has taken it."""
        held = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        held.sendall(b"GET /?held=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        wait_for(lambda: self.waiting_connections() == 0, "a worker to take the connection")
        return held

    def release(self, held: socket.socket) -> None:
        held.sendall(b"Connection: close\r\n\r\n")
        while held.recv(65536):
            pass
        held.close()

    def worker_of(self, mark: str) -> str:
        """The worker (pid) that served the request marked ?<mark>=1, from the access log
        (written just after the response, so it may take a moment)."""

        def found():
            lines = self.access_log.read_text().splitlines()
            return [line.split()[0] for line in lines if f"{mark}=1 " in line]

        return wait_for(found, f"the access log line of {mark}")[0]


class Browser:
    """A customer's browser against a gunicorn server: a session cookie and its CSRF
    token, with the client address set by X-Forwarded-For."""

    def __init__(self, server: Gunicorn, address: str):
        self.server = server
        self.address = address
        status, cookie, body = server.request("GET", "/?page=1", self._headers())
        assert status == 200
        self.cookie = cookie.split(";", 1)[0]
        self.csrf_token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)[1]

    def _headers(self) -> dict:
        return {"X-Forwarded-For": self.address}

    def post(self, path: str, fields: dict, timeout: float = WAIT) -> tuple[int | None, bytes]:
        """(status, body), the status None when no answer came within `timeout`."""
        body = urlencode({"csrf_token": self.csrf_token.decode(), **fields})
        headers = {
            **self._headers(),
            "Cookie": self.cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        status, cookie, answer = self.server.request("POST", path, headers, body, timeout)
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return status, answer

    def log_in(self, login: str, password: str, mark: str) -> int:
        return self.post(f"/?{mark}=1", {"login": login, "password": password})[0]
