"""Login limits are counted together however many processes serve: the app under real
gunicorn with two sync workers counting in Redis (and, for contrast, in memory://, where
each worker counts alone), and the same attempts in one process on memory:// and Redis.

To make both workers serve the attempts, the test keeps one worker busy with a request it
has not finished sending (a sync worker serves one connection at a time), so the other
takes the next attempts, then swaps them. The access log names the worker of each attempt.
"""

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
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from support import TEST_CONFIG, TEST_PASSWORD, Visitor

from ebok import create_app
from ebok.extensions import db, limiter
from ebok.models import Account, Customer
from ebok.passwords import hash_password

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_NUMBER = "200005"
WRONG_PASSWORD = "Zle#Haslo1"
PER_ACCOUNT = 5  # RATELIMIT_LOGIN_PER_ACCOUNT's default, 5/15 minutes
PER_CLIENT = 10  # RATELIMIT_LOGIN's default, 10/15 minutes
WAIT = 20  # seconds any one wait for a server may take before the test fails


def _seed(database_uri: str) -> None:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_uri})
    with app.app_context():
        db.create_all()
        customer = Customer(number=ACCOUNT_NUMBER, first_name="Ewa", last_name="Kamińska")
        db.session.add(Account(customer=customer, password_hash=hash_password(TEST_PASSWORD)))
        db.session.commit()
        db.engine.dispose()


def _wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    """A redis-server of this module's own, on a Unix socket: no port to share."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    directory = tmp_path_factory.mktemp("redis")
    sock = directory / "redis.sock"
    process = subprocess.Popen(  # noqa: S603
        [server, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for(sock.exists, "redis-server's socket")
        yield f"redis+unix://{sock}"
    finally:
        process.terminate()
        process.wait(WAIT)


class Gunicorn:
    """The app as production runs it, behind one listening socket this test made."""

    def __init__(self, directory: Path, storage_uri: str):
        if importlib.util.find_spec("gunicorn") is None:
            pytest.skip("gunicorn is not installed")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.access_log = directory / "access.log"
        self.error_log = directory / "error.log"
        database = directory / "ebok.sqlite3"
        _seed(f"sqlite:///{database}")
        empty_config = directory / "gunicorn.conf.py"
        empty_config.write_text("")
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FLASK_", "EBOK_", "GUNICORN_"))
        }
        environment.update(
            FLASK_SECRET_KEY=secrets.token_hex(32),
            FLASK_SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
            FLASK_RATELIMIT_STORAGE_URI=storage_uri,
            FLASK_PROXY_FIX_X_FOR="1",  # the client address comes from X-Forwarded-For
            FLASK_ARGON2_TIME_COST=str(TEST_CONFIG["ARGON2_TIME_COST"]),
            FLASK_ARGON2_MEMORY_COST=str(TEST_CONFIG["ARGON2_MEMORY_COST"]),
            FLASK_ARGON2_PARALLELISM=str(TEST_CONFIG["ARGON2_PARALLELISM"]),
        )
        fd = self.listener.fileno()
        self.process = subprocess.Popen(  # noqa: S603
            [
                *(sys.executable, "-m", "gunicorn", "app:app"),
                *("--config", str(empty_config), "--bind", f"fd://{fd}"),
                *("--workers", "2", "--worker-class", "sync", "--no-control-socket"),
                *("--access-logfile", str(self.access_log)),
                *("--access-logformat", "%(p)s %(q)s %(s)s"),
                *("--error-logfile", str(self.error_log)),
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            pass_fds=[fd],
        )

    def wait_until_serving(self) -> None:
        def serving():
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn stopped:\n{self.error_log.read_text()}")
            return self.request("GET", "/?ready=1")[0] == 200

        _wait_for(serving, "gunicorn to serve")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # quick shutdown: nothing is in flight

    def wait_until_stopped(self) -> None:
        self.process.wait(WAIT)
        self.listener.close()

    def request(self, method, path, headers=None, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
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
        _wait_for(lambda: self.waiting_connections() == 0, "a worker to take the connection")
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

        return _wait_for(found, f"the access log line of {mark}")[0]


class Browser:
    """A customer's browser against the gunicorn server: a session cookie and its CSRF
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

    def log_in(self, login: str, password: str, mark: str) -> int:
        body = urlencode(
            {"csrf_token": self.csrf_token.decode(), "login": login, "password": password}
        )
        headers = {
            **self._headers(),
            "Cookie": self.cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        status, _, _ = self.server.request("POST", f"/?{mark}=1", headers, body)
        return status


@pytest.fixture(scope="module")
def gunicorns(tmp_path_factory, private_redis):
    """Two servers started side by side: counting in the private Redis, and in memory://."""
    servers = {
        storage: Gunicorn(tmp_path_factory.mktemp(f"gunicorn_{storage}"), uri)
        for storage, uri in (("redis", private_redis), ("memory", "memory://"))
    }
    try:
        for server in servers.values():
            server.wait_until_serving()
        yield servers
    finally:
        for server in servers.values():
            server.stop()
        for server in servers.values():
            server.wait_until_stopped()


def _attempts_on_both_workers(server: Gunicorn, attempt, first: int, then: int, name: str):
    """Attempts 0..first-1 served by one worker, the next `then` by the other; returns the
    status of each, having checked in the access log that the workers were as planned."""
    marks = [f"{name}{n}" for n in range(first + then)]
    held = server.hold_a_worker()
    statuses = [attempt(n, mark) for n, mark in enumerate(marks[:first])]
    other_held = server.hold_a_worker()  # the worker that served the first attempts
    server.release(held)
    statuses += [attempt(n, mark) for n, mark in enumerate(marks[first:], first)]
    server.release(other_held)
    served = [server.worker_of(mark) for mark in marks]
    assert served == [served[0]] * first + [served[-1]] * then, served
    assert served[0] != served[-1], served
    return statuses


def test_the_failed_logins_of_an_account_are_counted_across_workers(gunicorns):
    server = gunicorns["redis"]
    # Fewer attempts than the per-client limit: only the per-account limit can refuse them.
    browser = Browser(server, "198.51.100.1")

    def attempt(n, mark):
        return browser.log_in(ACCOUNT_NUMBER, WRONG_PASSWORD, mark)

    statuses = _attempts_on_both_workers(server, attempt, 3, 4, "account")

    # Three failures on one worker and two on the other make five: the account waits,
    # whichever worker it asks.
    assert statuses == [422] * PER_ACCOUNT + [429, 429]


def test_the_failed_logins_of_a_client_are_counted_across_workers(gunicorns):
    server = gunicorns["redis"]
    # One address trying another unknown number each time: only the per-client limit counts.
    browser = Browser(server, "203.0.113.7")

    def attempt(n, mark):
        return browser.log_in(f"9000{n:02d}", WRONG_PASSWORD, mark)

    statuses = _attempts_on_both_workers(server, attempt, 6, 5, "client")

    assert statuses == [422] * PER_CLIENT + [429]


def test_memory_storage_counts_each_worker_alone(gunicorns):
    """Why production with several workers needs Redis: with memory:// each worker saw
    only three of the six failures, so none refuses the account."""
    server = gunicorns["memory"]
    browser = Browser(server, "192.0.2.1")

    def attempt(n, mark):
        return browser.log_in(ACCOUNT_NUMBER, WRONG_PASSWORD, mark)

    statuses = _attempts_on_both_workers(server, attempt, 3, 3, "memory")

    assert statuses == [422] * 6


@pytest.fixture(params=["memory", "redis"])
def in_process_app(request, tmp_path):
    """The app in this process, counting in memory:// or in the private Redis."""
    if request.param == "memory":
        storage_uri = "memory://"
    else:
        storage_uri = request.getfixturevalue("private_redis")
    database_uri = f"sqlite:///{tmp_path}/ebok.sqlite3"
    _seed(database_uri)
    app = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "RATELIMIT_STORAGE_URI": storage_uri,
        }
    )
    with app.app_context():
        limiter.reset()
    yield app
    with app.app_context():
        limiter.reset()
        db.engine.dispose()


def test_in_one_process_the_sixth_login_of_an_account_waits(in_process_app):
    visitor = Visitor(in_process_app.test_client(), htmx=False)
    statuses = [
        visitor.post(
            "/", {"login": ACCOUNT_NUMBER, "password": WRONG_PASSWORD}, follow_redirects=False
        ).status_code
        for _ in range(PER_ACCOUNT + 1)
    ]
    assert statuses == [422] * PER_ACCOUNT + [429]
