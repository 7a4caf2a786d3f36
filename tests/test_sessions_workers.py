"""An ended session is dead at once on every worker (SPEC §16, issue 25): the app under
real gunicorn with two sync workers sharing one database; one browser ends another's
session, whose next requests fail on both workers.

To choose the worker of a request, the test keeps the other one busy with a request it
has not finished sending (a sync worker serves one connection at a time); the access log
names the worker of each request."""

import http.client
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from support import TEST_PASSWORD, WAIT, Gunicorn, app_on_database

from ebok.extensions import db
from ebok.identity.passwords import hash_password
from ebok.models import Account, Customer

pytestmark = pytest.mark.slow

ACCOUNT_NUMBER = "200005"


class CookieBrowser:
    """A browser keeping every cookie the server sets (the session's and the device's)."""

    def __init__(self, server: Gunicorn, address: str):
        self.server = server
        self.address = address
        self.cookies: dict[str, str] = {}
        self.csrf_token = ""

    def request(self, method: str, path: str, fields: dict | None = None) -> tuple[int, str]:
        headers = {"X-Forwarded-For": self.address}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode({"csrf_token": self.csrf_token, **fields})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=WAIT)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            text = response.read().decode()
        finally:
            connection.close()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
        if token:
            self.csrf_token = token[1]
        return response.status, text


def _seed(database_uri: str) -> None:
    app = app_on_database(database_uri)
    with app.app_context():
        db.create_all()
        customer = Customer(number=ACCOUNT_NUMBER, first_name="Ewa", last_name="Kamińska")
        db.session.add(Account(customer=customer, password_hash=hash_password(TEST_PASSWORD)))
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gunicorn_sessions")
    database_uri = f"sqlite:///{directory}/ebok.sqlite3"
    _seed(database_uri)
    gunicorn = Gunicorn(directory, {"FLASK_SQLALCHEMY_DATABASE_URI": database_uri})
    try:
        gunicorn.wait_until_serving()
        yield gunicorn
    finally:
        gunicorn.stop()
        gunicorn.wait_until_stopped()


def log_in(browser: CookieBrowser) -> None:
    assert browser.request("GET", "/")[0] == 200
    status, _ = browser.request("POST", "/", {"login": ACCOUNT_NUMBER, "password": TEST_PASSWORD})
    assert status == 303
    assert "__Host-session" in browser.cookies


def on_each_worker(server: Gunicorn, browser: CookieBrowser, path: str, name: str) -> list[int]:
    """GET `path` once on each worker: the statuses, having checked the workers differ."""
    statuses = []
    held = server.hold_a_worker()
    statuses.append(browser.request("GET", f"{path}?{name}0=1")[0])
    other_held = server.hold_a_worker()  # the worker that served the first request
    server.release(held)
    statuses.append(browser.request("GET", f"{path}?{name}1=1")[0])
    server.release(other_held)
    assert server.worker_of(f"{name}0") != server.worker_of(f"{name}1")
    return statuses


def test_a_session_ended_from_another_browser_dies_on_every_worker(server):
    phone = CookieBrowser(server, "198.51.100.7")
    desktop = CookieBrowser(server, "203.0.113.9")
    log_in(phone)
    log_in(desktop)
    assert on_each_worker(server, phone, "/strona-glowna", "before") == [200, 200]
    assert desktop.request("GET", "/moje-konto/bezpieczenstwo")[0] == 200
    assert desktop.request("POST", "/moje-konto/bezpieczenstwo/wyloguj-inne", {})[0] == 303
    assert on_each_worker(server, phone, "/strona-glowna", "after") == [302, 302]
    assert on_each_worker(server, desktop, "/strona-glowna", "desktop") == [200, 200]


def test_a_logout_is_dead_on_every_worker_even_when_the_cookie_is_sent_again(server):
    browser = CookieBrowser(server, "192.0.2.1")
    log_in(browser)
    cookie = browser.cookies["__Host-session"]
    assert browser.request("GET", "/strona-glowna")[0] == 200  # its CSRF token
    assert browser.request("POST", "/wyloguj", {})[0] == 303
    browser.cookies["__Host-session"] = cookie  # a copy kept by someone else
    assert on_each_worker(server, browser, "/strona-glowna", "replayed") == [302, 302]
