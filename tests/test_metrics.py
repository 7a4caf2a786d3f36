"""/metrics in Prometheus' text format (issue 28, 13): requests and latency by route,
logins by outcome, the outbox's backlog and age by channel, the last invoice import; for
the monitoring only (the health listener, and loopback through nginx); under gunicorn the
workers' counts add up."""

from datetime import timedelta

import pytest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.parser import text_string_to_metric_families
from support import (
    PROJECT_ROOT,
    TEST_PASSWORD,
    Browser,
    Gunicorn,
    add_customers,
    app_on_database,
    free_port,
)

from ebok import metrics
from ebok.extensions import db
from ebok.models import OutboxMessage, utcnow


@pytest.fixture
def client(app):
    return app.test_client()


def scrape(client) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one scrape."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    return samples(response.get_data(as_text=True))


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped, name, **labels) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_not_by_path(app, client):
    before = scrape(client)
    client.get("/")
    # A path with a number: its route counts (a redirect to the login page).
    client.get("/faktury/numer/FV/2026/11/000123")
    client.get("/no-such-page")
    client.get("/static/css/app.css").close()  # WhiteNoise's, before Flask: not counted
    after = scrape(client)
    login = {"endpoint": "auth.login", "method": "GET", "status": "200"}
    assert value(after, "ebok_http_requests_total", **login) == (
        value(before, "ebok_http_requests_total", **login) + 1
    )
    unmatched = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "ebok_http_requests_total", **unmatched) == (
        value(before, "ebok_http_requests_total", **unmatched) + 1
    )
    assert not [key for key in after if "000123" in str(key)]
    by_number = {"endpoint": "invoices.download_by_number", "method": "GET", "status": "302"}
    assert value(after, "ebok_http_requests_total", **by_number) == (
        value(before, "ebok_http_requests_total", **by_number) + 1
    )
    count = ("ebok_http_request_duration_seconds_count", (("endpoint", "auth.login"),))
    assert after[count] == before.get(count, 0) + 1


def test_logins_and_failures_are_counted(app, auth, customers):
    before = scrape(app.test_client())
    auth.post_login(password="Wrong#2026x")
    auth.log_in()
    after = scrape(app.test_client())
    for outcome in ("failed", "succeeded"):
        assert value(after, "ebok_logins_total", outcome=outcome) == (
            value(before, "ebok_logins_total", outcome=outcome) + 1
        ), outcome
    assert value(after, "ebok_audit_events_total", event="login_failed") == (
        value(before, "ebok_audit_events_total", event="login_failed") + 1
    )


def test_the_outbox_backlog_and_its_age_by_channel(app, client):
    now = utcnow()
    with app.app_context():
        db.session.add_all(
            [
                OutboxMessage(
                    channel="sms",
                    recipient="+48600100001",
                    body_text="x",
                    created_at=now - timedelta(seconds=600),
                    next_attempt_at=now - timedelta(seconds=300),
                ),
                OutboxMessage(channel="sms", recipient="+48600100002", body_text="x"),
                OutboxMessage(
                    channel="email", recipient="a@example.com", body_text="x", status="failed"
                ),
            ]
        )
        db.session.commit()
    scraped = scrape(client)
    assert value(scraped, "ebok_database_up") == 1
    assert value(scraped, "ebok_outbox_pending_messages", channel="sms") == 2
    assert value(scraped, "ebok_outbox_pending_messages", channel="email") == 0
    assert value(scraped, "ebok_outbox_failed_messages", channel="email") == 1
    assert 600 <= value(scraped, "ebok_outbox_oldest_pending_age_seconds", channel="sms") < 900
    assert 300 <= value(scraped, "ebok_outbox_oldest_due_age_seconds", channel="sms") < 600
    assert value(scraped, "ebok_outbox_oldest_due_age_seconds", channel="email") == 0


def test_a_feature_adds_its_own_metrics(app, client):
    """What payments (issue 23) does: a counter at its module level, and what only the
    database knows read when scraped."""
    paid = metrics.counter("ebok_test_payments_total", "Payments by state.", ["state"])
    assert metrics.counter("ebok_test_payments_total", "Payments by state.", ["state"]) is paid
    paid.labels("paid").inc(2)

    def waiting():
        family = CounterMetricFamily("ebok_test_waiting", "Waiting.", labels=["provider"])
        family.add_metric(["dev"], 3)
        yield family

    metrics.on_scrape(waiting)
    scraped = scrape(client)
    assert value(scraped, "ebok_test_payments_total", state="paid") >= 2
    assert value(scraped, "ebok_test_waiting_total", provider="dev") == 3


@pytest.mark.slow
def test_under_gunicorn_the_workers_counts_add_up_on_the_health_listener(tmp_path):
    database_uri = f"sqlite:///{tmp_path}/ebok.sqlite3"
    app = app_on_database(database_uri)
    with app.app_context():
        db.create_all()
    add_customers(app)
    health_port = free_port()
    server = Gunicorn(
        tmp_path,
        {
            "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
            "FLASK_HEALTH_BIND": f"127.0.0.1:{health_port}",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        },
        workers=2,
        config=PROJECT_ROOT / "gunicorn.conf.py",
    )

    def scrape_listener():
        status, cookie, body = server.request("GET", "/metrics", port=health_port)
        assert status == 200 and cookie is None
        return samples(body.decode())

    try:
        server.wait_until_serving()
        before = scrape_listener()
        pages = 24
        # Half while one worker is held, half while the other is: both serve some, however
        # quick a page is (two held requests, each a login page too, once released).
        held = server.hold_a_worker()
        for _ in range(pages // 2):
            assert server.request("GET", "/")[0] == 200
        other_held = server.hold_a_worker()
        server.release(held)
        for _ in range(pages - pages // 2):
            assert server.request("GET", "/")[0] == 200
        server.release(other_held)
        pages += 2
        for n in range(3):
            Browser(server, f"198.51.100.{n + 1}").log_in("200005", "Wrong#2026x", "x")
        Browser(server, "198.51.100.9").log_in("200005", TEST_PASSWORD, "x")
        login = {"endpoint": "auth.login", "method": "GET", "status": "200"}
        # Whichever worker answers the scrape, it adds up every worker's counts.
        for _ in range(4):
            after = scrape_listener()
            assert value(after, "ebok_http_requests_total", **login) == (
                value(before, "ebok_http_requests_total", **login) + pages + 4
            )
            assert value(after, "ebok_logins_total", outcome="failed") == 3
            assert value(after, "ebok_logins_total", outcome="succeeded") == 1
        pids = {line.split()[0] for line in server.access_log.read_text().splitlines()}
        assert len(pids) == 2, "one worker served every request"
    finally:
        server.stop()
        server.wait_until_stopped()
