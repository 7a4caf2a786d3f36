"""Real processes a test starts, stops and freezes: an SMTP server (aiosmtpd), a private
redis-server, a private PostgreSQL, the app under gunicorn, and a customer's browser
speaking to that gunicorn."""

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
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest

from ebok import create_app
from support.actors import PRODUCTION_ENVIRONMENT, TEST_CONFIG

if TYPE_CHECKING:
    from aiosmtpd.smtp import Envelope


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
        self.received: list[Envelope] = []
        self.sessions = 0
        self.refuse_rcpt = refuse_rcpt
        self.loop = asyncio.new_event_loop()
        self.controller = Controller(
            self, hostname="127.0.0.1", port=port, loop=self.loop, **controller_options
        )

    @property
    def messages(self):
        from email import message_from_bytes, policy

        contents = [envelope.original_content for envelope in self.received]
        assert None not in contents, "an envelope without its DATA"
        return [message_from_bytes(c, policy=policy.default) for c in contents if c is not None]

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
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


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
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.skip("redis-server is not installed (Debian package redis-server)")
        self.executable = executable
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.uri = f"redis+unix://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None
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

    def _started(self) -> subprocess.Popen[bytes]:
        assert self.process is not None, "redis-server was never started"
        return self.process

    def kill(self) -> None:
        self._started().kill()
        self._started().wait(WAIT)

    def freeze(self) -> None:
        """It keeps its socket open and accepts connections, but answers nothing."""
        self._started().send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._started().send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._started().poll() is None:
            self.thaw()
            self._started().terminate()
            self._started().wait(WAIT)


class PostgresServer:
    """A PostgreSQL cluster of the test's own (initdb into a temporary directory) on a free
    port, that the test can stop and start again. As root, the server runs as `postgres`."""

    BIN_DIRECTORIES = ("/usr/lib/postgresql/15/bin", "/usr/local/bin")

    def __init__(self):
        bin_directory = next(
            (Path(d) for d in self.BIN_DIRECTORIES if (Path(d) / "pg_ctl").exists()), None
        )
        if bin_directory is None:
            pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
        self.bin = bin_directory
        # Not under pytest's tmp_path: the postgres user must be able to reach it.
        self.directory = Path(tempfile.mkdtemp(prefix="ebok-postgres-"))
        self.as_server_user: list[str] = []
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
    """The app under gunicorn (sync workers, or production's gthread ones), behind one
    listening socket this test made, configured only by FLASK_ variables, with its access
    and error logs in `directory`."""

    def __init__(
        self,
        directory: Path,
        environment: dict,
        workers: int = 2,
        config: Path | None = None,
        threads: int | None = None,
    ):
        """`config`: a gunicorn config file (e.g. the project's, for its hooks); the
        command line still sets the bind, the workers and the logs. `threads`: gthread
        workers with that many threads each (production's), instead of sync ones."""
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
        clean.update(PRODUCTION_ENVIRONMENT)  # production refuses to start without them
        clean.update(
            FLASK_SECRET_KEY=secrets.token_hex(32),
            FLASK_PROXY_FIX_X_FOR="1",  # the client address comes from X-Forwarded-For
            FLASK_ARGON2_TIME_COST=str(TEST_CONFIG["ARGON2_TIME_COST"]),
            FLASK_ARGON2_MEMORY_COST=str(TEST_CONFIG["ARGON2_MEMORY_COST"]),
            FLASK_ARGON2_PARALLELISM=str(TEST_CONFIG["ARGON2_PARALLELISM"]),
            # The hashing slots of this server's workers only.
            FLASK_HASHING_GATE_DIR=str(directory / "hashing-gate"),
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
                *("--workers", str(workers), "--no-control-socket"),
                *(
                    # One thread: with more (gunicorn.conf.py's), gunicorn makes them gthread.
                    ("--worker-class", "sync", "--threads", "1")
                    if threads is None
                    else ("--worker-class", "gthread", "--threads", str(threads))
                ),
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
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
        assert token is not None, "no CSRF token on the home page"
        self.csrf_token = token[1]

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

    def log_in(self, login: str, password: str, mark: str) -> int | None:
        return self.post(f"/?{mark}=1", {"login": login, "password": password})[0]

    def signed_in_cookies(self, login: str, password: str) -> str:
        """Logs in; the Cookie header of the signed-in customer's next requests (the
        session, device and language cookies all come with the login's answer)."""
        body = urlencode(
            {"csrf_token": self.csrf_token.decode(), "login": login, "password": password}
        )
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=WAIT)
        try:
            headers = {
                **self._headers(),
                "Cookie": self.cookie,
                "Content-Type": "application/x-www-form-urlencoded",
            }
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            assert response.status == 303, response.status
            cookies = [
                value.split(";", 1)[0]
                for name, value in response.getheaders()
                if name == "Set-Cookie"
            ]
        finally:
            connection.close()
        return "; ".join(cookies)


def app_on_database(database_uri: str, **config):
    """The app with the test settings on a database of the test's own: a private server's,
    or a file that gunicorn or a command shares. Everything else takes the `app` fixture
    (or `make_app`), whose database the suite provides."""
    return create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_uri, **config})
