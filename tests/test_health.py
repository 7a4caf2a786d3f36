"""/healthz and /readyz (issue 10, finding 8): for load balancers, JSON, without a session
or a cookie, exempt from rate limits, and never waiting on a hung dependency."""

import socket
import threading
from datetime import timedelta

import pytest
from support import TEST_CONFIG, RedisServer

from ebok import create_app
from ebok.extensions import db, limiter
from ebok.models import OutboxMessage, utcnow


def _get(app, path, **kwargs):
    return app.test_client().get(path, **kwargs)


@pytest.fixture
def make_app(database):
    """Apps on the suite's database with settings of their own, their pools closed after."""
    apps = []

    def make(**config):
        apps.append(create_app({**TEST_CONFIG, **database, **config}))
        return apps[-1]

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


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


def test_readyz_fails_when_the_outbox_falls_behind(app):
    app.config["READYZ_OUTBOX_MAX_AGE"] = 600
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


def test_probes_count_against_no_limit(make_app):
    """A load balancer probing every second is never throttled: nothing is counted."""
    app = make_app(RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    for _ in range(25):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
    with app.app_context():
        assert not list(limiter.storage.storage)  # memory://: what any limit counted
