"""Login limits are counted together however many processes serve: the app under real
gunicorn with two sync workers counting in Redis (and, for contrast, in memory://, where
each worker counts alone), and the same attempts in one process on memory:// and Redis.

To make both workers serve the attempts, the test keeps one worker busy with a request it
has not finished sending (a sync worker serves one connection at a time), so the other
takes the next attempts, then swaps them. The access log names the worker of each attempt.
"""

import http.client
from urllib.parse import urlencode

import pytest
from support import (
    TEST_PASSWORD,
    WAIT,
    Browser,
    Gunicorn,
    RedisServer,
    Visitor,
    app_on_database,
)

from ebok.extensions import db, limiter
from ebok.identity.passwords import hash_password
from ebok.models import Account, Customer

ACCOUNT_NUMBER = "200005"
LOGIN_NAME = "ewa.kaminska"  # the same account's login name
WRONG_PASSWORD = "Zle#Haslo1"
PER_ACCOUNT = 5  # RATELIMIT_LOGIN_PER_ACCOUNT's default, 5/15 minutes
PER_CLIENT = 10  # RATELIMIT_LOGIN for these servers (the default is 100), so runs stay short


def _seed(database_uri: str) -> None:
    app = app_on_database(database_uri)
    with app.app_context():
        db.create_all()
        customer = Customer(number=ACCOUNT_NUMBER, first_name="Ewa", last_name="Kamińska")
        db.session.add(
            Account(
                customer=customer,
                login_name=LOGIN_NAME,
                password_hash=hash_password(TEST_PASSWORD),
            )
        )
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server.uri
    finally:
        server.stop()


def _gunicorn(directory, storage_uri: str) -> Gunicorn:
    database_uri = f"sqlite:///{directory}/ebok.sqlite3"
    _seed(database_uri)
    return Gunicorn(
        directory,
        {
            "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
            "FLASK_RATELIMIT_STORAGE_URI": storage_uri,
            "FLASK_RATELIMIT_LOGIN": f"{PER_CLIENT}/15 minutes",
        },
    )


@pytest.fixture(scope="module")
def gunicorns(tmp_path_factory, private_redis):
    """Two servers started side by side: counting in the private Redis, and in memory://."""
    servers = {
        storage: _gunicorn(tmp_path_factory.mktemp(f"gunicorn_{storage}"), uri)
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


@pytest.mark.slow
def test_the_failed_logins_of_an_account_are_counted_across_workers(gunicorns):
    server = gunicorns["redis"]
    # Fewer attempts than the per-client limit: only the per-account limit can refuse them.
    browser = Browser(server, "198.51.100.1")

    def attempt(n, mark):
        # The customer number and the login name by turns: one account, one count.
        return browser.log_in((ACCOUNT_NUMBER, LOGIN_NAME)[n % 2], WRONG_PASSWORD, mark)

    statuses = _attempts_on_both_workers(server, attempt, 3, 4, "account")

    # Three failures on one worker and two on the other make five: the account waits,
    # whichever worker it asks and however it is typed.
    assert statuses == [422] * PER_ACCOUNT + [429, 429]
    _assert_told_by_flask_limiter(_log_in_for_headers(browser, ACCOUNT_NUMBER), PER_ACCOUNT)


def _log_in_for_headers(browser: Browser, login: str) -> http.client.HTTPResponse:
    """One more wrong login from the browser, answered with its headers."""
    body = urlencode(
        {"csrf_token": browser.csrf_token.decode(), "login": login, "password": WRONG_PASSWORD}
    )
    headers = {
        "X-Forwarded-For": browser.address,
        "Cookie": browser.cookie,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    connection = http.client.HTTPConnection("127.0.0.1", browser.server.port, timeout=WAIT)
    try:
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def _assert_told_by_flask_limiter(response, limit: int) -> None:
    """A 429 with the Retry-After and X-RateLimit-* headers of the limit used up, which
    Flask-Limiter sends from its own accounting."""
    assert response.status == 429
    assert 1 <= int(response.getheader("Retry-After")) <= 15 * 60
    assert response.getheader("X-RateLimit-Limit") == str(limit)
    assert response.getheader("X-RateLimit-Remaining") == "0"


@pytest.mark.slow
def test_the_failed_logins_of_a_client_are_counted_across_workers(gunicorns):
    server = gunicorns["redis"]
    # One address trying another unknown number each time: only the per-client limit counts.
    browser = Browser(server, "203.0.113.7")

    def attempt(n, mark):
        return browser.log_in(f"9000{n:02d}", WRONG_PASSWORD, mark)

    statuses = _attempts_on_both_workers(server, attempt, 6, 5, "client")

    assert statuses == [422] * PER_CLIENT + [429]


@pytest.mark.slow
def test_memory_storage_counts_each_worker_alone(gunicorns):
    """Why production with several workers needs Redis: with memory:// each worker saw
    only three of the six failures, so none refuses the account."""
    server = gunicorns["memory"]
    browser = Browser(server, "192.0.2.1")

    def attempt(n, mark):
        return browser.log_in(ACCOUNT_NUMBER, WRONG_PASSWORD, mark)

    statuses = _attempts_on_both_workers(server, attempt, 3, 3, "memory")

    assert statuses == [422] * 6


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.slow)])
def in_process_app(request, tmp_path):
    """The app in this process, counting in memory:// or in the private Redis."""
    if request.param == "memory":
        storage_uri = "memory://"
    else:
        storage_uri = request.getfixturevalue("private_redis")
    database_uri = f"sqlite:///{tmp_path}/ebok.sqlite3"
    _seed(database_uri)
    app = app_on_database(database_uri, RATELIMIT_STORAGE_URI=storage_uri)
    with app.app_context():
        limiter.reset()
    yield app
    with app.app_context():
        limiter.reset()
        db.engine.dispose()


def test_in_one_process_the_sixth_login_of_an_account_waits(in_process_app):
    visitor = Visitor(in_process_app.test_client(), htmx=False)
    responses = [
        visitor.post(
            "/", {"login": ACCOUNT_NUMBER, "password": WRONG_PASSWORD}, follow_redirects=False
        )
        for _ in range(PER_ACCOUNT + 1)
    ]
    assert [r.status_code for r in responses] == [422] * PER_ACCOUNT + [429]
    last = responses[-1]
    assert 1 <= int(last.headers["Retry-After"]) <= 15 * 60
    assert last.headers["X-RateLimit-Limit"] == str(PER_ACCOUNT)
    assert last.headers["X-RateLimit-Remaining"] == "0"
