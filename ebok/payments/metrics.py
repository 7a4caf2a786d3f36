"""Payments in /metrics (ebok/metrics.py's registry), read from the database at each
scrape: payments by state, and those waiting past the provider's time limit (a lost
notification, or `flask payments reconcile` not running). Refused notifications are
counted as the audit log's `payment.notification_refused` events."""

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from ebok import metrics
from ebok.payments import service


def payments_metrics() -> Iterable[Metric]:
    by_state = GaugeMetricFamily("ebok_payments", "Online payments by state.", labels=["state"])
    overdue = GaugeMetricFamily(
        "ebok_payments_waiting_past_time_limit",
        "Payments still waiting past the provider's time limit (flask payments reconcile).",
    )
    try:
        counts = service.counts()
        late = service.overdue_count()
    except SQLAlchemyError:
        return  # ebok_database_up says so
    for state, count in counts.items():
        by_state.add_metric([state], count)
    overdue.add_metric([], late)
    yield by_state
    yield overdue


def register() -> None:
    metrics.on_scrape(payments_metrics)
