"""/healthz and /readyz (issue 10, finding 8): for load balancers, JSON, without a session
or a cookie, exempt from rate limits, and never waiting on a hung dependency."""

import signal
import socket
import threading
from datetime import timedelta

import pytest
from limits.storage import MemoryStorage
from support import (
    PROJECT_ROOT,
    TEST_PASSWORD,
    Browser,
    Gunicorn,
    RedisServer,
    add_customers,
    app_on_database,
    free_port,
    wait_for,
)

from ebok.extensions import db, limiter
from ebok.models import OutboxMessage, utcnow


def _get(app, path, **kwargs):
    return app.test_client().get(path, **kwargs)


def test_healthz_says_the_process_is_up(app):
    response = _get(app, "/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "problems": []}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_needs_no_database(make_app, tmp_path):
    app = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/ebok.db",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    )
    assert _get(app, "/healthz").status_code == 200
    assert _get(app, "/readyz").json["problems"] == ["database: OperationalError"]


def test_readyz_with_everything_reachable(app):
    response = _get(app, "/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "problems": []}
    assert "Set-Cookie" not in response.headers


def test_probes_ignore_a_session_cookie_and_set_none(app, customers, make_visitor):
    visitor = make_visitor()
    visitor.post("/", {"login": customers["registered"].number, "password": "Haslo#2026x"})
    for path in ("/healthz", "/readyz"):
        response = visitor.client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers


def _pending_message(app, age: timedelta) -> None:
    with app.app_context():
        db.session.add(
            OutboxMessage(
                channel="sms",
                recipient="+48512345678",
                body_text="x",
                created_at=utcnow() - age,
                next_attempt_at=utcnow() - age,  # due since then, and no worker took it
            )
        )
        db.session.commit()


@pytest.mark.config(READYZ_OUTBOX_MAX_AGE=600)
def test_readyz_fails_when_the_outbox_falls_behind(app):
    _pending_message(app, timedelta(minutes=5))
    assert _get(app, "/readyz").status_code == 200

    _pending_message(app, timedelta(minutes=11))
    response = _get(app, "/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "fail"
    [problem] = response.json["problems"]
    assert problem.startswith("outbox: oldest pending message waits 6")


def test_readyz_fails_without_redis(make_app, tmp_path_factory):
    redis = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        app = make_app(RATELIMIT_STORAGE_URI=redis.uri)
        assert _get(app, "/readyz").status_code == 200
        redis.freeze()
        response = _get(app, "/readyz")
        assert response.status_code == 503
        assert response.json["problems"] == ["redis: no answer"]
        redis.thaw()
        redis.kill()
        assert _get(app, "/readyz").json["problems"] == ["redis: no answer"]
        redis.start()
        assert _get(app, "/readyz").status_code == 200
    finally:
        redis.stop()


@pytest.fixture
def hung_database():
    """A "server" that accepts connections and never answers them."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/ebok"
    listener.close()  # the waiting connections are reset, so the app's check ends


def _answer_within(seconds, request):
    """The response, or None when none came in time (instead of hanging the suite)."""
    answers = []
    thread = threading.Thread(target=lambda: answers.append(request()), daemon=True)
    thread.start()
    thread.join(seconds)
    return answers[0] if answers else None


def test_readyz_answers_while_the_database_hangs(make_app, hung_database):
    app = make_app(SQLALCHEMY_DATABASE_URI=hung_database, HEALTH_CHECK_TIMEOUT=0.2)
    for _ in range(2):  # the second while the first check still waits
        response = _answer_within(10, lambda: _get(app, "/readyz"))
        assert response is not None, "/readyz waited on the hung database"
        assert response.status_code == 503
        assert response.json["problems"][0].startswith("database: no answer")
    assert _get(app, "/healthz").status_code == 200


@pytest.mark.config(RATELIMIT_STORAGE_URI="memory://")
def test_probes_count_against_no_limit(app):
    """A load balancer probing every second is never throttled: nothing is counted."""
    client = app.test_client()
    for _ in range(25):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
    with app.app_context():
        assert isinstance(limiter.storage, MemoryStorage)  # memory://
        assert not list(limiter.storage.storage)  # what any limit counted


# Seconds a load balancer would give a probe: far less than a login storm keeps the
# workers busy.
PROBE_TIMEOUT = 2
# Each login spends about two seconds hashing (argon2 with 150 passes), holding its worker.
SLOW_LOGIN = {"ARGON2_TIME_COST": 150}


def _gunicorn_with_health_listener(directory, **config) -> tuple[Gunicorn, int]:
    """The app under gunicorn with the project's gunicorn.conf.py (its hooks), a health
    listener on a port of its own, and the customers; `config` for the seeding and gunicorn
    alike. Returns the server and the listener's port."""
    database_uri = f"sqlite:///{directory}/ebok.sqlite3"
    app = app_on_database(database_uri, **config)
    with app.app_context():
        db.create_all()
    add_customers(app)
    health_port = free_port()
    server = Gunicorn(
        directory,
        {
            "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
            "FLASK_HEALTH_BIND": f"127.0.0.1:{health_port}",
            **{f"FLASK_{key}": str(value) for key, value in config.items()},
        },
        config=PROJECT_ROOT / "gunicorn.conf.py",
    )
    return server, health_port


@pytest.mark.slow
def test_health_never_waits_behind_a_login_storm(tmp_path):
    """While slow logins hold both workers and more wait in the app's queue, the probes on
    the health listener answer at once, and the listener serves nothing else."""
    server, health_port = _gunicorn_with_health_listener(tmp_path, **SLOW_LOGIN)
    try:
        server.wait_until_serving()
        customers = [Browser(server, f"198.51.100.{n + 1}") for n in range(6)]
        logins = [
            threading.Thread(target=lambda c=customer: c.log_in("200005", TEST_PASSWORD, "x"))
            for customer in customers
        ]
        for login in logins:
            login.start()
        wait_for(lambda: server.waiting_connections() >= 2, "logins to wait in the queue")

        probes = [
            server.request("GET", path, timeout=PROBE_TIMEOUT, port=health_port)
            for path in ("/healthz", "/readyz", "/healthz")
        ]
        queued = server.waiting_connections()
        elsewhere = server.request("GET", "/", timeout=PROBE_TIMEOUT, port=health_port)[0]
        for login in logins:
            login.join()
    finally:
        server.stop()
        server.wait_until_stopped()

    assert [status for status, _, _ in probes] == [200, 200, 200]
    assert all(cookie is None for _, cookie, _ in probes)
    assert queued >= 1  # the probes answered while logins still waited for a worker
    assert elsewhere == 404


@pytest.mark.slow
def test_the_health_listener_outlives_a_reload(tmp_path):
    """A reload (HUP) forks new workers and stops the old ones; the master keeps the
    listener, and the new workers answer on it."""
    server, health_port = _gunicorn_with_health_listener(tmp_path)
    try:
        server.wait_until_serving()
        assert server.request("GET", "/healthz", port=health_port)[0] == 200
        server.process.send_signal(signal.SIGHUP)

        def log_lines(text):
            return [line for line in server.error_log.read_text().splitlines() if text in line]

        wait_for(lambda: len(log_lines("Worker exiting")) == 2, "the old workers to stop")
        wait_for(lambda: len(log_lines("Booting worker")) == 4, "the new workers to boot")
        # While the new workers load the app, a probe waits in the queue; none is refused.
        first = server.request("GET", "/healthz", port=health_port)[0]
        statuses = [
            server.request("GET", path, timeout=PROBE_TIMEOUT, port=health_port)[0]
            for path in ("/healthz", "/readyz") * 3
        ]
    finally:
        server.stop()
        server.wait_until_stopped()
    assert first == 200
    assert statuses == [200] * 6
