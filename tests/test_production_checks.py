"""Production refuses to start (or to run a command) with a setup that would leak or
mislead (issue 9.10), and logs one JSON line per event under gunicorn (issue 9.5)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from support import PRODUCTION_ENVIRONMENT, app_on_database, found

from ebok.extensions import db
from ebok.models import Customer

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
PRODUCTION_ENV = PRODUCTION_ENVIRONMENT  # complete: every setting production requires
REAL_KEY = PRODUCTION_ENV["FLASK_SECRET_KEY"]  # random enough


# The same on every database (each test makes its own SQLite one): test-postgres leaves it out.
pytestmark = pytest.mark.own_database


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FLASK_SERVER_NAME": "ebok.example.pl"}, "FLASK_SECRET_KEY is not set"),
        ({**PRODUCTION_ENV, "FLASK_SECRET_KEY": "x"}, "FLASK_SECRET_KEY is too short"),
        ({**PRODUCTION_ENV, "FLASK_SECRET_KEY": "k" * 31}, "FLASK_SECRET_KEY is too short"),
        ({"FLASK_SECRET_KEY": REAL_KEY}, "FLASK_SERVER_NAME is not set"),
        ({**PRODUCTION_ENV, "FLASK_DEBUG": "1"}, "FLASK_DEBUG is set"),
        ({"FLASK_DEBUG": "1"}, "FLASK_DEBUG is set"),
        # The CLI flag leaking into gunicorn's environment does not make it development.
        (
            {"FLASK_DEBUG": "1", "FLASK_RUN_FROM_CLI": "true", "SERVER_SOFTWARE": "gunicorn/27"},
            "FLASK_DEBUG is set",
        ),
        ({"FLASK_TESTING": "true", "SERVER_SOFTWARE": "gunicorn/27"}, "FLASK_TESTING is set"),
    ],
)
def test_production_refuses_to_start(environment, env, message, production_app):
    environment(**env)
    with pytest.raises(RuntimeError, match=message):
        production_app()


def test_a_32_byte_key_and_a_server_name_start_production(environment, production_app):
    environment(**{**PRODUCTION_ENV, "FLASK_SECRET_KEY": REAL_KEY[:32]})
    app = production_app()
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert app.test_client().get("/dev/wiadomosci").status_code == 404


def test_a_single_old_key_given_as_text_is_one_fallback(environment, production_app):
    environment(**PRODUCTION_ENV, FLASK_SECRET_KEY_FALLBACKS="an-old-key-of-enough-length-xxxxx")
    app = production_app()
    assert app.config["SECRET_KEY_FALLBACKS"] == ["an-old-key-of-enough-length-xxxxx"]
    assert app.config["WTF_CSRF_SECRET_KEY"] == ["an-old-key-of-enough-length-xxxxx", REAL_KEY]


def test_flask_run_in_debug_mode_is_development(environment, production_app):
    """What `make run` does: `flask run` with FLASK_DEBUG=1 and no key."""
    environment(FLASK_DEBUG="1", FLASK_RUN_FROM_CLI="true")
    app = production_app()
    assert app.config["MAIL_BACKEND"] == "dev"
    assert app.config["SECRET_KEY"]  # the development key


def test_demo_seed_refuses_in_production(environment, production_app):
    environment(**PRODUCTION_ENV)
    app = production_app()
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code != 0
    assert "only in development" in result.output
    with app.app_context():
        assert db.session.query(Customer).count() == 0


# A real gunicorn, as production runs it.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_env(**values) -> dict:
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("FLASK_") and name != "SERVER_SOFTWARE"
    }
    # The health listener of gunicorn.conf.py on a free port: no other gunicorn is met.
    return {**base, "FLASK_HEALTH_BIND": "127.0.0.1:0", **values}


def test_gunicorn_with_flask_debug_and_no_key_refuses_to_start(tmp_path):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed in this environment")
    process = subprocess.run(  # noqa: S603
        [str(GUNICORN), "--bind", f"127.0.0.1:{free_port()}", "--workers", "1", "app:app"],
        cwd=ROOT,
        env=gunicorn_env(
            FLASK_DEBUG="1",
            FLASK_SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/g.db",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode != 0
    assert "FLASK_DEBUG is set, but the app is not run by `flask run`" in process.stderr


class Server:
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path):
        self.url = url
        self.process = process
        self.log_path = log_path
        self.cookies = SimpleCookie()

    def request(self, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        cookie = "; ".join(f"{key}={morsel.value}" for key, morsel in self.cookies.items())
        request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
            self.url + path, data=body, headers={"Cookie": cookie}
        )
        try:
            response = urllib.request.urlopen(request, timeout=10)  # noqa: S310
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)
        return response.status, response.read().decode()

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        """A graceful stop: every worker has written its lines when it returns."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def gunicorn_server(tmp_path):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed in this environment")
    database = f"sqlite:///{tmp_path}/g.db"
    app = app_on_database(database)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(  # noqa: S603
            [
                str(GUNICORN),
                *("--config", str(ROOT / "gunicorn.conf.py")),  # as production runs it
                *("--bind", f"127.0.0.1:{port}", "--workers", "2"),
                "app:app",
            ],
            cwd=ROOT,
            env=gunicorn_env(
                **PRODUCTION_ENV,
                FLASK_SQLALCHEMY_DATABASE_URI=database,
                FLASK_RATELIMIT_STORAGE_URI="memory://",
                FLASK_ARGON2_TIME_COST="2",
                FLASK_ARGON2_MEMORY_COST="19456",
                FLASK_ARGON2_PARALLELISM="1",
            ),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                server.request("/manifest.webmanifest")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{server.log()}")
                time.sleep(0.2)
        yield server
    finally:
        server.stop()


def test_gunicorn_logs_json_lines_without_typed_logins_or_tokens(gunicorn_server):
    status, page = gunicorn_server.request("/")
    assert status == 200
    token = found(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    typed_login = "Moje#Tajne#Haslo7"
    status, _ = gunicorn_server.request(
        "/", {"csrf_token": token, "login": typed_login, "password": "whatever"}
    )
    assert status == 422
    link_token = "eyJ2IjoxLCJzIjoic2VjcmV0In0.ZZZZZZ.abcdefghijklmnopqrstuvwxyz012345"
    gunicorn_server.request(f"/rejestracja/link/{link_token}")
    gunicorn_server.request(f"/e-faktura/potwierdz/{link_token}")

    gunicorn_server.stop()
    log = gunicorn_server.log()
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(
        event["logger"] == "ebok.audit"
        and event.get("audit") == "login_failed"
        and event["client"]
        and event["event"].startswith("login_failed login=")
        for event in events
    ), log
    assert typed_login not in log and typed_login.casefold() not in log
    assert link_token not in log and "abcdefghijklmnopqrstuvwxyz012345" not in log
    assert "/rejestracja/link/[token]" in log, log  # gunicorn.conf.py's access log, cut


# Every key that verifies signatures gets the key's checks (issue 18.5).

DEV_KEY_FALLBACK = f'["{REAL_KEY}", "development-only-secret-key-do-not-use-in-production"]'


@pytest.mark.parametrize(
    ("env", "message"),
    [
        # The development key is public: anything it signs (a device cookie that lifts the
        # login limit, an e-Faktura confirmation link) can be forged by anyone.
        (
            {**PRODUCTION_ENV, "FLASK_SECRET_KEY_FALLBACKS": DEV_KEY_FALLBACK},
            r"FLASK_SECRET_KEY_FALLBACKS\[1\] is the development key",
        ),
        (
            {**PRODUCTION_ENV, "FLASK_SECRET_KEY_FALLBACKS": "short"},
            r"FLASK_SECRET_KEY_FALLBACKS\[0\] is too short",
        ),
        (
            {**PRODUCTION_ENV, "FLASK_SECRET_KEY_FALLBACKS": "change-me" * 4},
            r"FLASK_SECRET_KEY_FALLBACKS\[0\] is not random",
        ),
        ({**PRODUCTION_ENV, "FLASK_SECRET_KEY": "a" * 64}, "FLASK_SECRET_KEY is not random"),
        ({**PRODUCTION_ENV, "FLASK_SECRET_KEY": "change-me" * 4}, "FLASK_SECRET_KEY is not random"),
        # Not a piece repeated, but typed: too few different characters.
        (
            {**PRODUCTION_ENV, "FLASK_SECRET_KEY": "0" * 30 + "12345"},
            "FLASK_SECRET_KEY is not random",
        ),
        # Many different characters, but a short piece typed again and again.
        (
            {**PRODUCTION_ENV, "FLASK_SECRET_KEY": "0123456789ab" * 3},
            "FLASK_SECRET_KEY is not random",
        ),
    ],
)
def test_every_signing_key_is_checked(environment, env, message, production_app):
    environment(**env)
    with pytest.raises(RuntimeError, match=message):
        production_app()


def test_generated_keys_pass_the_checks(environment, production_app):
    import secrets

    for _ in range(50):
        environment(
            **{
                **PRODUCTION_ENV,
                "FLASK_SECRET_KEY": secrets.token_hex(16),  # the shortest a generator gives
                "FLASK_SECRET_KEY_FALLBACKS": json.dumps([secrets.token_urlsafe(32)]),
            }
        )
        production_app()


# The language cookie (issue 18.12): __Host-language in production, the old name read once.


def test_production_keeps_the_language_in_a_host_cookie(environment, production_app):
    environment(**PRODUCTION_ENV)
    client = production_app().test_client()
    base = "https://ebok.example.pl"
    page = client.get("/", base_url=base).get_data(as_text=True)
    token = found(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    response = client.post(
        "/jezyk",
        data={"csrf_token": token, "language": "en", "next": "/"},
        base_url=base,
        headers={"Referer": f"{base}/"},
    )
    assert response.status_code == 303
    cookie = client.get_cookie("__Host-language", domain="ebok.example.pl")
    assert cookie is not None and cookie.value == "en"
    assert cookie.secure and cookie.path == "/"
    assert client.get_cookie("language", domain="ebok.example.pl") is None
    assert '<html lang="en">' in client.get("/", base_url=base).get_data(as_text=True)


def test_the_old_language_cookie_is_read_once_then_replaced(environment, production_app):
    environment(**PRODUCTION_ENV)
    client = production_app().test_client()
    base = "https://ebok.example.pl"
    client.set_cookie("language", "uk", domain="ebok.example.pl")
    response = client.get("/", base_url=base)
    assert '<html lang="uk">' in response.get_data(as_text=True)
    assert client.get_cookie("__Host-language", domain="ebok.example.pl").value == "uk"
    assert client.get_cookie("language", domain="ebok.example.pl") is None  # deleted
    # From now on only the new cookie speaks, and nothing is set again.
    again = client.get("/", base_url=base)
    assert '<html lang="uk">' in again.get_data(as_text=True)
    assert not [c for c in again.headers.getlist("Set-Cookie") if "language=" in c]


# Forwarded headers only from the proxy (issue 18.10).


def echo_client(app):
    """A page that shows what the app believes about the client: its address (limits and
    the audit log use it) and the scheme (HSTS, Secure cookies)."""
    from flask import request

    from ebok.clients import client_address

    @app.get("/who-am-i")
    def who_am_i():
        return f"{client_address()} {request.scheme}"

    return app.test_client()


FORGED = {"X-Forwarded-For": "10.9.9.9", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_count_only_from_a_trusted_proxy(environment, production_app):
    environment(**PRODUCTION_ENV, FLASK_PROXY_FIX_X_FOR="1", FLASK_PROXY_FIX_X_PROTO="1")
    client = echo_client(production_app())

    def seen_from(peer: str) -> str:
        response = client.get(
            "/who-am-i",
            base_url="http://ebok.example.pl",
            headers=FORGED,
            environ_base={"REMOTE_ADDR": peer},
        )
        return response.get_data(as_text=True)

    assert seen_from("127.0.0.1") == "10.9.9.9 https"  # nginx on this machine: the default
    assert seen_from("::1") == "10.9.9.9 https"
    # Anyone else reaching gunicorn directly: their own address, and plain http.
    assert seen_from("198.51.100.7") == "198.51.100.7 http"
    assert seen_from("127.0.0.2") == "127.0.0.2 http"


def test_the_trusted_proxies_are_a_setting(environment, production_app):
    environment(
        **PRODUCTION_ENV,
        FLASK_PROXY_FIX_X_FOR="1",
        FLASK_PROXY_TRUSTED='["10.0.0.0/24", "2001:db8::5"]',
    )
    client = echo_client(production_app())
    for peer, seen in [
        ("10.0.0.17", "10.9.9.9"),
        ("2001:db8::5", "10.9.9.9"),
        ("10.0.1.17", "10.0.1.17"),
        ("127.0.0.1", "127.0.0.1"),  # no longer trusted once the setting names others
    ]:
        response = client.get("/who-am-i", headers=FORGED, environ_base={"REMOTE_ADDR": peer})
        assert response.get_data(as_text=True).split()[0] == seen, peer


def test_a_proxy_setting_that_is_no_address_refuses_to_start(environment, production_app):
    environment(**PRODUCTION_ENV, FLASK_PROXY_FIX_X_FOR="1", FLASK_PROXY_TRUSTED='["nginx.local"]')
    with pytest.raises(RuntimeError, match="FLASK_PROXY_TRUSTED"):
        production_app()


def start_gunicorn(tmp_path, bind: str, **env) -> tuple[subprocess.Popen, Path]:
    log_path = tmp_path / "gunicorn-bind.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(  # noqa: S603
            [
                str(GUNICORN),
                *("--config", str(ROOT / "gunicorn.conf.py")),
                *("--bind", bind, "--workers", "1"),
                "app:app",
            ],
            cwd=ROOT,
            env=gunicorn_env(
                **PRODUCTION_ENV,
                FLASK_SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/g.db",
                FLASK_RATELIMIT_STORAGE_URI="memory://",
                **env,
            ),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return process, log_path


def serving_log(process: subprocess.Popen, log_path: Path) -> str:
    """gunicorn's log once a worker has booted; the server is stopped."""
    try:
        deadline = time.monotonic() + 30
        while "Booting worker" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)
    return log_path.read_text()


EXPOSED = "workers must sit behind nginx"


def test_gunicorn_exposed_with_proxy_headers_trusted_refuses_to_start(tmp_path):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed in this environment")
    port = free_port()
    process, log_path = start_gunicorn(
        tmp_path, f"0.0.0.0:{port}", FLASK_PROXY_FIX_X_FOR="1", FLASK_PROXY_FIX_X_PROTO="1"
    )
    try:
        assert process.wait(timeout=60) != 0
    finally:
        if process.poll() is None:  # it started after all: stop it
            process.kill()
            process.wait()
    log = log_path.read_text()
    assert "gunicorn listens on 0.0.0.0:" in log and "FLASK_PROXY_FIX_X_FOR" in log, log
    assert "FLASK_PROXY_ON_ANOTHER_HOST" in log, log
    assert "Listening at" not in log  # refused before it bound the port


@pytest.mark.parametrize(
    "env",
    [
        # The operator's word that a buffering proxy on another host is in front.
        {"FLASK_PROXY_FIX_X_FOR": "1", "FLASK_PROXY_ON_ANOTHER_HOST": "true"},
        {},  # no proxy headers trusted, but exposed all the same
    ],
)
def test_gunicorn_exposed_warns_loudly(tmp_path, env):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed in this environment")
    process, log_path = start_gunicorn(tmp_path, f"0.0.0.0:{free_port()}", **env)
    log = serving_log(process, log_path)
    assert "[WARNING]" in log and EXPOSED in log, log


@pytest.mark.parametrize("bind", ["127.0.0.1:{port}", "[::1]:{port}", "unix:{tmp}/g.sock"])
def test_gunicorn_on_loopback_or_a_socket_starts_quietly(tmp_path, bind):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed in this environment")
    process, log_path = start_gunicorn(
        tmp_path,
        bind.format(port=free_port(), tmp=tmp_path),
        FLASK_PROXY_FIX_X_FOR="1",
        FLASK_PROXY_FIX_X_PROTO="1",
    )
    log = serving_log(process, log_path)
    assert EXPOSED not in log, log
