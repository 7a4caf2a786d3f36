"""Redis and the database away, stopped or frozen (issue 10, findings 2 and 5): the
portal keeps what it can working, says the rest in Polish with a 503 and Retry-After, and
recovers without a restart. The servers are real and private: a redis-server and a
PostgreSQL cluster each test starts, stops (kill), freezes (SIGSTOP) and starts again."""

import http.client
import logging
import threading
from urllib.parse import urlencode

import psycopg
import pytest
import redis as redis_client
from flask import abort
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from support import (
    TEST_PASSWORD,
    Browser,
    Gunicorn,
    PostgresServer,
    RedisServer,
    Visitor,
    app_on_database,
    outbox,
    text_of,
    wait_for,
)

from ebok.extensions import db
from ebok.identity.passwords import hash_password
from ebok.logs import audit
from ebok.models import Account, Customer

WRONG_PASSWORD = "Zle#Haslo1"
SMS_REFUSED = "Nie możemy teraz wysłać kodu SMS"


@pytest.fixture
def redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def app(make_app, redis):
    """The suite's app (and so its customers and visitors), counting in the private Redis."""
    return make_app(RATELIMIT_STORAGE_URI=redis.uri)


def _log_in(visitor, number, password):
    return visitor.post("/", {"login": number, "password": password}, follow_redirects=False)


def _messages(caplog, level):
    return [
        r.getMessage() for r in caplog.records if r.name == "flask-limiter" and r.levelno == level
    ]


def test_login_goes_on_counting_per_process_while_redis_is_down(
    app, redis, customers, make_visitor, caplog
):
    number = customers["registered"].number
    redis.kill()
    with caplog.at_level(logging.INFO, logger="flask-limiter"):
        assert _log_in(make_visitor(), number, TEST_PASSWORD).status_code == 303
        # Guesses are still counted (in this process) and refused after five.
        guesser = make_visitor()
        statuses = [_log_in(guesser, number, WRONG_PASSWORD).status_code for _ in range(6)]
        assert statuses == [422] * 5 + [429]
        # Said once (Flask-Limiter's in-memory fallback), not once per request.
        assert len(_messages(caplog, logging.WARNING)) == 1
        assert "unreachable" in _messages(caplog, logging.WARNING)[0]

        redis.start()
        stranger = make_visitor()
        wait_for(
            lambda: _log_in(stranger, "999999", WRONG_PASSWORD) and _messages(caplog, logging.INFO),
            "the app to find Redis again",
        )
    assert _messages(caplog, logging.INFO) == ["Rate limit storage recovered"]
    # Counted in Redis again, without a restart.
    with redis_client.Redis(unix_socket_path=str(redis.socket)) as connection:
        assert connection.keys("*")


def _to_channel_step(visitor, number):
    visitor.post("/rejestracja/", {"number": number, "action": "next"})


def _choose(visitor, channel, **datum):
    return visitor.post(
        "/rejestracja/sposob",
        {"channel": channel, **datum, "action": "next"},
        follow_redirects=False,
    )


def test_no_sms_code_is_sent_while_redis_is_down(app, redis, customers, visitor):
    """Flask-Limiter's in-memory fallback moves every limit to memory at once; an SMS costs
    money and per-process counts would let a client send several times as many, so
    throttle.hit(fail_closed=True) refuses it (a 503) while e-mail links go on."""
    customer = customers["both"]
    _to_channel_step(visitor, customer.number)
    redis.kill()

    response = _choose(visitor, "sms", phone="512 345 678")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert SMS_REFUSED in text_of(response)
    assert outbox(app, "sms") == []

    # A link by e-mail costs nothing: it is still sent, counted in this process.
    response = _choose(visitor, "email", email=customer.email)
    assert response.status_code == 303  # on to the code step, plain or htmx
    assert len(outbox(app, "email")) == 1

    redis.start()
    visitor.get("/rejestracja/sposob")
    wait_for(
        lambda: _choose(visitor, "sms", phone="512 345 678").status_code == 303,
        "SMS codes to be sent again once Redis is back",
    )
    assert len(outbox(app, "sms")) == 1


def _seed(database_uri: str, language=None, **config) -> None:
    """A registered customer (200005) and one who can register by SMS (200001); `config`
    may set the password hash's ARGON2_* parameters."""
    app = app_on_database(database_uri, **config)
    with app.app_context():
        db.drop_all()
        db.create_all()
        registered = Customer(number="200005", first_name="Ewa", last_name="Kamińska")
        password_hash = hash_password(TEST_PASSWORD)
        db.session.add(Account(customer=registered, password_hash=password_hash, language=language))
        db.session.add(
            Customer(number="200001", first_name="Anna", last_name="Nowak", phone="+48512345678")
        )
        db.session.commit()
        db.engine.dispose()


def test_a_frozen_redis_holds_no_gunicorn_worker(tmp_path_factory, redis):
    """Redis that accepts connections and answers nothing (SIGSTOP): every request is
    answered (gunicorn would kill a worker blocked for 30 s; the test waits 10 s for each),
    logins go on, SMS codes are refused, and all comes back after SIGCONT."""
    directory = tmp_path_factory.mktemp("gunicorn")
    database_uri = f"sqlite:///{directory}/ebok.sqlite3"
    _seed(database_uri)
    server = Gunicorn(
        directory,
        {
            "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
            "FLASK_RATELIMIT_STORAGE_URI": redis.uri,
            "FLASK_SMS_BACKEND": "dev",
            "FLASK_MAIL_BACKEND": "dev",
        },
    )
    sms_step = {"channel": "sms", "phone": "512 345 678", "action": "next"}
    try:
        server.wait_until_serving()
        customer = Browser(server, "203.0.113.9")
        assert customer.post("/rejestracja/", {"number": "200001", "action": "next"})[0] == 303
        redis.freeze()

        for n in range(4):  # enough for both workers
            browser = Browser(server, f"198.51.100.{n + 1}")
            login = {"login": "200005", "password": TEST_PASSWORD}
            assert browser.post("/", login, timeout=10)[0] == 303
        status, body = customer.post("/rejestracja/sposob", sms_step, timeout=10)
        assert status == 503
        assert SMS_REFUSED in body.decode()

        redis.thaw()
        wait_for(
            lambda: customer.post("/rejestracja/sposob", sms_step, timeout=10)[0] == 303,
            "SMS codes to be sent again once Redis answers",
        )
    finally:
        redis.thaw()
        server.stop()
        server.wait_until_stopped()
    output = server.output.read_text()
    # Loudly, once per worker that met the outage (two workers), not once per request.
    assert 1 <= output.count("Rate limit storage unreachable") <= 2, output


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer()
    yield server
    server.remove()


@pytest.fixture
def postgres_app(postgres):
    postgres.start()  # in case an earlier test stopped it and failed
    _seed(postgres.uri)
    app = app_on_database(postgres.uri)
    yield app
    with app.app_context():
        db.engine.dispose()


def _assert_outage_page(response, htmx: bool):
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    text = text_of(response)
    assert "Strefa Klienta jest chwilowo niedostępna" in text
    if htmx:
        assert "<html" not in response.get_data(as_text=True)
        assert "Wpisane dane są nadal w formularzu" in text
    else:
        assert "<html" in response.get_data(as_text=True)
        assert "Wróć i spróbuj ponownie za kilka minut" in text


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.own_database  # a private PostgreSQL server
def test_database_stopped_is_a_polish_503_for_everyone_and_passes(postgres_app, postgres, htmx):
    logged_in = Visitor(postgres_app.test_client(), htmx=htmx)
    logged_in.post("/", {"login": "200005", "password": TEST_PASSWORD})
    assert logged_in.client.get("/strona-glowna").status_code == 200
    anonymous = Visitor(postgres_app.test_client(), htmx=htmx)
    anonymous.get("/")

    postgres.stop()
    try:
        for response in (
            logged_in.get("/strona-glowna"),
            logged_in.get("/moje-konto"),
            anonymous.post("/", {"login": "200005", "password": TEST_PASSWORD}),
            anonymous.post("/rejestracja/", {"number": "200001", "action": "next"}),
        ):
            _assert_outage_page(response, htmx)
        health = logged_in.client.get("/healthz")  # with the customer's cookie
        assert health.status_code == 200
        assert "Set-Cookie" not in health.headers
        readiness = anonymous.client.get("/readyz")
        assert readiness.status_code == 503
        assert readiness.json["problems"] == ["database: OperationalError"]
    finally:
        postgres.start()

    # The same processes and pools, without a restart (pool_pre_ping drops dead links).
    assert "Ewa Kamińska" in text_of(logged_in.get("/strona-glowna"))
    assert anonymous.post("/", {"login": "200005", "password": TEST_PASSWORD}).status_code == 200
    assert "Ewa Kamińska" in text_of(anonymous.get("/strona-glowna"))
    assert anonymous.client.get("/readyz").status_code == 200


# Well under gunicorn's 30 s worker timeout, and above the longest a request may take
# against a frozen database: the pool's ping (6 s: the statement bound) and one new
# connection (2 s); the outage page asks for nothing more.
PROMPTLY = 12
OUTAGE_HEADING = "Strefa Klienta jest chwilowo niedostępna"
LOGIN = {"login": "200005", "password": TEST_PASSWORD}


def _gunicorn_on(postgres, directory, config=None, language=None, **options):
    """The app under gunicorn on the private PostgreSQL, seeded; `config` (e.g. ARGON2_*)
    applies to the seeding and to gunicorn alike."""
    config = config or {}
    postgres.start()  # in case an earlier test stopped it and failed
    _seed(postgres.uri, language, **config)
    environment = {
        "FLASK_SQLALCHEMY_DATABASE_URI": postgres.uri,
        "FLASK_SMS_BACKEND": "dev",
        "FLASK_MAIL_BACKEND": "dev",
        **{f"FLASK_{key}": str(value) for key, value in config.items()},
    }
    return Gunicorn(directory, environment, **options)


def _logged_in_cookies(server, address) -> str:
    """The cookies of a browser that has logged in (the session, device and language
    cookies all come with the login's answer)."""
    browser = Browser(server, address)
    body = urlencode({"csrf_token": browser.csrf_token.decode(), **LOGIN})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=PROMPTLY)
    try:
        headers = {
            "Cookie": browser.cookie,
            "X-Forwarded-For": address,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        assert response.status == 303
        cookies = [
            value.split(";", 1)[0] for name, value in response.getheaders() if name == "Set-Cookie"
        ]
    finally:
        connection.close()
    return "; ".join(cookies)


def _page(server, cookies, path, timeout=PROMPTLY):
    status, _, body = server.request("GET", path, {"Cookie": cookies}, timeout=timeout)
    return status, body.decode()


@pytest.mark.slow
@pytest.mark.own_database  # a private PostgreSQL server
def test_a_frozen_database_is_a_prompt_polish_503_and_comes_back(tmp_path_factory, postgres):
    """PostgreSQL stopped by SIGSTOP keeps its sockets open and answers nothing: every
    request that needs it gets the outage page within PROMPTLY seconds (not gunicorn's
    30 s kill), /healthz answers, and after SIGCONT all works again without a restart."""
    server = _gunicorn_on(postgres, tmp_path_factory.mktemp("gunicorn"))
    try:
        server.wait_until_serving()
        # Two customers, and so both workers, with pooled connections.
        customers = [_logged_in_cookies(server, f"198.51.100.{n + 1}") for n in range(2)]
        for cookies in customers:
            assert _page(server, cookies, "/strona-glowna")[0] == 200
        anonymous = Browser(server, "203.0.113.9")

        postgres.freeze()
        try:
            pages = [_page(server, cookies, "/strona-glowna") for cookies in customers]
            login_status, login_body = anonymous.post("/", LOGIN, timeout=PROMPTLY)
            health = server.request("GET", "/healthz", timeout=PROMPTLY)[0]
        finally:
            postgres.thaw()

        assert [status for status, _ in pages] == [503, 503]
        assert all(OUTAGE_HEADING in body for _, body in pages)
        assert login_status == 503
        assert OUTAGE_HEADING in login_body.decode()
        assert health == 200

        wait_for(lambda: anonymous.post("/", LOGIN)[0] == 303, "logins to work after SIGCONT")
        for cookies in customers:
            assert _page(server, cookies, "/strona-glowna")[0] == 200
    finally:
        postgres.thaw()
        server.stop()
        server.wait_until_stopped()


# A login that takes about two seconds to verify its password: long enough to stop the
# database while it is in flight.
SLOW_LOGIN = {"ARGON2_TIME_COST": 150}


def _sessions_in_a_transaction(postgres) -> int:
    """The app's connections that have read something and have waited inside their
    transaction for a while: a login hashing the password it has read the account for
    (its queries before come milliseconds apart)."""
    uri = postgres.uri.replace("+psycopg", "")
    with psycopg.connect(uri, autocommit=True) as connection:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
            "AND state_change < now() - interval '0.5 seconds'"
        )
        row = connection.execute(query).fetchone()
        assert row is not None  # count(*) has its one row
        return row[0]


def _in_flight_login(postgres, server) -> tuple[int | None, str, str]:
    """A login whose password is being verified when the database stops: its answer
    (status, body) and the app's log."""
    try:
        server.wait_until_serving()
        customer = Browser(server, "203.0.113.9")
        answers = []
        login = threading.Thread(
            target=lambda: answers.append(customer.post("/", LOGIN, timeout=PROMPTLY))
        )
        login.start()
        wait_for(lambda: _sessions_in_a_transaction(postgres), "the login to read the account")
        postgres.stop("fast")
        login.join()
    finally:
        server.stop()
        server.wait_until_stopped()
        postgres.start()
    status, body = answers[0]
    return status, body.decode(), server.output.read_text()


@pytest.mark.slow
@pytest.mark.own_database  # a private PostgreSQL server
def test_a_login_whose_saving_fails_is_a_503_and_no_login_succeeded(tmp_path_factory, postgres):
    """A first login saves the language the customer logs in with: that fails, so the
    customer gets the outage page and the audit log no login_succeeded."""
    server = _gunicorn_on(postgres, tmp_path_factory.mktemp("gunicorn"), SLOW_LOGIN)
    status, body, log = _in_flight_login(postgres, server)
    assert status == 503
    assert OUTAGE_HEADING in body
    assert "login_succeeded" not in log


@pytest.mark.own_database  # a private PostgreSQL server
def test_a_failing_teardown_is_logged_once_never_a_bare_500(tmp_path_factory, postgres):
    """A later login (its language already saved) still saves its session's row (SPEC
    §16): the customer gets the outage page, no login succeeded, and the transaction that
    cannot be rolled back on the dead connection is logged at most once instead of
    turning the answer into gunicorn's bare 500."""
    server = _gunicorn_on(postgres, tmp_path_factory.mktemp("gunicorn"), SLOW_LOGIN, "pl")
    status, body, log = _in_flight_login(postgres, server)
    assert status == 503
    assert OUTAGE_HEADING in body
    assert "login_succeeded" not in log
    assert log.count("database session not closed cleanly") <= 1, log


def test_audit_events_for_changes_wait_for_their_transaction(make_app, caplog):
    """A change's event is written at its commit, or when the request ends with an answer
    that is not a server error; never after a rollback or a 5xx. A refusal's at once."""
    app = make_app()  # counting in the suite's storage, not this module's Redis

    @app.get("/audited/<outcome>")
    def audited(outcome):
        if outcome == "answer":  # a change carried by the answer, as a login's cookie
            audit("logged_in_here")
            return "", 204
        db.session.add(Customer(number="299999", first_name="Jan", last_name="Nowak"))
        audit("customer_added")
        audit("customer_refused")
        if outcome == "commit":
            db.session.commit()
        elif outcome == "rollback":
            db.session.rollback()
        else:
            abort(503)
        return "", 204

    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="ebok.audit"):
        for outcome in ("commit", "rollback", "failure", "answer"):
            client.get(f"/audited/{outcome}")
    events = [r.audit["audit"] for r in caplog.records if r.name == "ebok.audit"]
    assert events == [
        *("customer_refused", "customer_added"),  # commit
        "customer_refused",  # rollback
        "customer_refused",  # failure
        "logged_in_here",
    ]


@pytest.mark.own_database  # a private PostgreSQL server
def test_operators_long_commands_run_without_the_pages_time_bounds(postgres):
    """A page's statement may take DATABASE_STATEMENT_TIMEOUT; an import or a migration,
    once lift_time_bounds() ran, as long as it needs."""
    from ebok.database import lift_time_bounds

    postgres.start()
    _seed(postgres.uri)
    slow = text("SELECT pg_sleep(1.5)")
    app = app_on_database(postgres.uri, DATABASE_STATEMENT_TIMEOUT=0.3)
    try:
        with app.app_context():
            with pytest.raises(OperationalError):
                db.session.execute(slow)
            db.session.rollback()
            lift_time_bounds()
            db.session.execute(slow)
            db.session.commit()
            db.session.execute(slow)  # a later checkout too
    finally:
        with app.app_context():
            db.engine.dispose()
