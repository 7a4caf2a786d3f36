"""What /metrics shows beyond the counters each process keeps (ebok/metrics.py): every
request by route and its latency, counted here; the outbox's backlog and the last invoice
import, read from the database when scraped."""

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import Flask, Request
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ebok import metrics
from ebok.extensions import db
from ebok.models import Invoice, OutboxMessage, utcnow

CHANNELS = ("email", "sms")


class RequestMetrics:
    """WSGI middleware around Flask: counts every answer Flask makes by route, method and
    status, and times it from the request to the answer's headers (the hooks and the
    session's saving included). Static files, served by WhiteNoise before Flask, are not
    counted. Two hooks per request did the same for a few times the cost."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()

        def counting_start_response(status: str, *args: Any) -> Any:
            # Flask's request, once it made one (a test client may have put its own here).
            flask_request = environ.get("werkzeug.request")
            if isinstance(flask_request, Request):
                # The route, never the path: a path holds tokens and invoice numbers, and
                # every distinct one would be a series of its own.
                requests, latency = _series(
                    flask_request.endpoint or "unmatched", flask_request.method, int(status[:3])
                )
                requests.inc()
                latency.observe(time.perf_counter() - started)
            return start_response(status, *args)

        return self.wsgi_app(environ, counting_start_response)


# As many as the metrics' own series (routes x methods x statuses); prometheus_client's
# labels() checks and converts its values on every call.
@lru_cache(maxsize=1024)
def _series(endpoint: str, method: str, status: int) -> tuple[Any, Any]:
    return (
        metrics.REQUESTS.labels(endpoint, method, str(status)),
        metrics.LATENCY.labels(endpoint),
    )


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0


def database_metrics() -> Iterable[Metric]:
    up = GaugeMetricFamily("ebok_database_up", "1 when the database answered the scrape.")
    pending = GaugeMetricFamily(
        "ebok_outbox_pending_messages",
        "Messages waiting to be sent, by channel.",
        labels=["channel"],
    )
    oldest = GaugeMetricFamily(
        "ebok_outbox_oldest_pending_age_seconds",
        "How long the oldest message still waiting was written ago, by channel (0: none).",
        labels=["channel"],
    )
    overdue = GaugeMetricFamily(
        "ebok_outbox_oldest_due_age_seconds",
        "How long the longest-due waiting message has been due, by channel (0: none due).",
        labels=["channel"],
    )
    failed = GaugeMetricFamily(
        "ebok_outbox_failed_messages", "Messages given up on, by channel.", labels=["channel"]
    )
    last_invoice = GaugeMetricFamily(
        "ebok_invoices_last_imported_timestamp_seconds",
        "When the newest invoice was imported (Unix time; 0: none yet).",
    )
    try:
        now = utcnow()
        waiting = {
            channel: (count, created, due)
            for channel, count, created, due in db.session.execute(
                select(
                    OutboxMessage.channel,
                    func.count(),
                    func.min(OutboxMessage.created_at),
                    func.min(OutboxMessage.next_attempt_at),
                )
                .where(OutboxMessage.status == "pending")
                .group_by(OutboxMessage.channel)
            )
        }
        given_up = {
            channel: count
            for channel, count in db.session.execute(
                select(OutboxMessage.channel, func.count())
                .where(OutboxMessage.status == "failed")
                .group_by(OutboxMessage.channel)
            )
        }
        newest_invoice = db.session.scalar(select(func.max(Invoice.imported_at)))
    except SQLAlchemyError:
        db.session.rollback()
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    for channel in sorted({*CHANNELS, *waiting, *given_up}):
        count, created, due = waiting.get(channel, (0, None, None))
        pending.add_metric([channel], count)
        oldest.add_metric([channel], _seconds_since(created, now))
        overdue.add_metric([channel], _seconds_since(due, now))
        failed.add_metric([channel], given_up.get(channel, 0))
    # The database keeps naive UTC times.
    last_invoice.add_metric(
        [], newest_invoice.replace(tzinfo=UTC).timestamp() if newest_invoice else 0
    )
    yield from (up, pending, oldest, overdue, failed, last_invoice)


def init_app(app: Flask) -> None:
    app.wsgi_app = RequestMetrics(app.wsgi_app)  # type: ignore[method-assign]  # WSGI middleware
    metrics.on_scrape(database_metrics)
