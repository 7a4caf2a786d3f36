"""Prometheus metrics (issue 28, 13): a small registry the features add to, served at
/metrics on the health listener (ebok/health).

Every metric is made here or by `counter`/`histogram`/`gauge` at a feature's module level
(payments: `PAYMENTS = metrics.counter("ebok_payments_total", "...", ["state"])`), once per
process, and what only the database knows (the outbox's backlog, the last import) is read
when scraped, by the functions given to `on_scrape`.

Under gunicorn every worker counts in files of its own in PROMETHEUS_MULTIPROC_DIR
(gunicorn.conf.py sets it up before anything imports prometheus_client, empties it at start
and marks a worker's files dead when it exits); whichever worker answers /metrics adds them
all up. Without it (tests, `flask run`) the process's own registry is served.
"""

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

# prometheus_client chooses how values are kept when it is imported (just above), from
# this variable: decided once, the same way here, whatever the environment says later.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
# Pages answer in tens of milliseconds; a login's argon2 hash takes a few hundred.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_made: dict[str, Any] = {}
_scrape_hooks: list[Callable[[], Iterable[Metric]]] = []


def _make(kind: type, name: str, documentation: str, labels: Sequence[str], **options: Any) -> Any:
    """One metric per name and process: a module imported twice, or several apps in one
    process (the tests), get the same one."""
    if name not in _made:
        _made[name] = kind(name, documentation, labels, **options)
    return _made[name]


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    return _make(Counter, name, documentation, labels)


def histogram(
    name: str, documentation: str, labels: Sequence[str] = (), buckets: Sequence[float] = ()
) -> Histogram:
    return _make(Histogram, name, documentation, labels, buckets=buckets or LATENCY_BUCKETS)


def gauge(
    name: str, documentation: str, labels: Sequence[str] = (), multiprocess_mode: str = "max"
) -> Gauge:
    """`multiprocess_mode`: how the workers' values combine ("max", "sum", "mostrecent")."""
    return _make(Gauge, name, documentation, labels, multiprocess_mode=multiprocess_mode)


def on_scrape(collect: Callable[[], Iterable[Metric]]) -> None:
    """`collect` is called at every scrape (within the app context of the request) and
    returns metric families (prometheus_client.core.GaugeMetricFamily, ...)."""
    if collect not in _scrape_hooks:
        _scrape_hooks.append(collect)


class _ScrapeTime(Collector):
    def collect(self) -> Iterable[Metric]:
        for hook in _scrape_hooks:
            yield from hook()


def exposition() -> tuple[bytes, str]:
    """The text format of every metric: the workers' together under gunicorn."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    scrape_time = CollectorRegistry()
    scrape_time.register(_ScrapeTime())
    return generate_latest(registry) + generate_latest(scrape_time), CONTENT_TYPE_LATEST


# What every process counts.
REQUESTS = counter(
    "ebok_http_requests_total",
    "Requests answered, by route (the view's endpoint name), method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = histogram(
    "ebok_http_request_duration_seconds",
    "Time to answer a request, by route (the view's endpoint name).",
    ["endpoint"],
)
LOGINS = counter(
    "ebok_logins_total",
    "Login attempts by outcome: succeeded, failed (a wrong login or password), throttled.",
    ["outcome"],
)
AUDIT_EVENTS = counter("ebok_audit_events_total", "Events of the audit log, by event.", ["event"])
LOGIN_EVENTS = {
    "login_succeeded": "succeeded",
    "login_failed": "failed",
    "login_throttled": "throttled",
}


def count_audit_event(event: str) -> None:
    AUDIT_EVENTS.labels(event).inc()
    if event in LOGIN_EVENTS:
        LOGINS.labels(LOGIN_EVENTS[event]).inc()


def mark_process_dead(pid: int) -> None:
    """gunicorn.conf.py's child_exit: a worker gone, its live gauges no longer count."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid)
