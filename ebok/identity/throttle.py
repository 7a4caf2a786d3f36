"""Throttling of guesses and of messages that cost money, per client and per customer.

The limits come from configuration (RATELIMIT_LOGIN = "10/15 minutes", ...) and are
counted in Flask-Limiter's storage: memory:// per process, Redis when several serve.

When Redis does not answer (down, or hung past RATELIMIT_STORAGE_TIMEOUT), each process
counts in its own memory until Redis is back, so customers can still log in; a limit that
guards money (hit(..., fail_closed=True), for SMS codes) refuses instead, since per-process
counts would let one client send several times as many. The outage is logged once per
process when it starts (ERROR) and when it ends (INFO), never per request.
"""

import logging
import threading
import time
from datetime import UTC, datetime

from flask import Flask, current_app
from flask_babel import format_date, format_time, ngettext, to_user_timezone
from flask_babel import gettext as _
from limits import parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import RateLimiter

from ebok.clients import client_address
from ebok.extensions import limiter

log = logging.getLogger("ebok.throttle")

REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")


def init_app(app: Flask) -> None:
    """Bounds every Redis call by the configured timeouts, without redis-py's retries (a
    hung Redis would otherwise cost each request several timeouts); call before
    limiter.init_app."""
    options = {**app.config.get("RATELIMIT_STORAGE_OPTIONS", {}), "wrap_exceptions": True}
    if app.config["RATELIMIT_STORAGE_URI"].startswith(REDIS_SCHEMES):
        from redis.backoff import NoBackoff  # only installed where Redis is used
        from redis.retry import Retry

        options.setdefault(
            "socket_connect_timeout", app.config["RATELIMIT_STORAGE_CONNECT_TIMEOUT"]
        )
        options.setdefault("socket_timeout", app.config["RATELIMIT_STORAGE_TIMEOUT"])
        options.setdefault("retry", Retry(NoBackoff(), 0))
    app.config["RATELIMIT_STORAGE_OPTIONS"] = options
    app.extensions["ebok.throttle"] = _Counting(app.config["RATELIMIT_STORAGE_RETRY_INTERVAL"])


class CountingUnavailable(Exception):
    """The shared counts cannot be reached, and this limit must not be counted per
    process: the action is refused for now."""


class _Counting:
    """Where the limits are counted now: the shared storage, or this process's memory
    while the shared one does not answer (tried again every retry_interval seconds)."""

    def __init__(self, retry_interval: float):
        self.retry_interval = retry_interval
        self.lock = threading.Lock()
        self.away_since: float | None = None
        self.next_try = 0.0
        # A strategy like the shared one, made at the first outage.
        self.in_memory: RateLimiter | None = None

    def run(self, count, *, fail_closed: bool):
        """Returns count(strategy) counted in the shared storage when it answers; in
        memory (or CountingUnavailable when fail_closed) when it does not."""
        if self._shared_worth_trying():
            try:
                result = count(limiter.limiter)
            except StorageError as error:
                self._went_away(error)
            else:
                self._came_back()
                return result
        if fail_closed:
            raise CountingUnavailable()
        return count(self.in_memory)

    def _shared_worth_trying(self) -> bool:
        with self.lock:
            if self.away_since is None:
                return True
            if time.monotonic() < self.next_try:
                return False
            # This request tries; the others keep counting in memory meanwhile.
            self.next_try = time.monotonic() + self.retry_interval
            return True

    def _went_away(self, error: StorageError) -> None:
        with self.lock:
            self.next_try = time.monotonic() + self.retry_interval
            if self.in_memory is None:
                self.in_memory = type(limiter.limiter)(MemoryStorage())
            if self.away_since is not None:
                return
            self.away_since = time.monotonic()
        log.error(
            "rate limit storage unreachable (%s): counting limits in this process's memory "
            "and refusing SMS codes until it is back",
            type(error.storage_error).__name__,
        )

    def _came_back(self) -> None:
        if self.away_since is None:  # the usual case, without taking the lock
            return
        with self.lock:
            if self.away_since is None:
                return
            away_for = time.monotonic() - self.away_since
            self.away_since = None
        log.info("rate limit storage reachable again after %.0f s", away_for)


@limiter.request_filter
def _no_per_route_limits() -> bool:
    """Every limit is counted by check() and hit() where a feature needs it; no view has a
    Flask-Limiter decorator or default limit, so its check before each request is skipped
    (it cost about a tenth of the login page's server time)."""
    return True


class Throttled(Exception):
    """Too many attempts; the customer may try again at retry_at (epoch seconds)."""

    def __init__(self, retry_at: float):
        super().__init__("throttled")
        self.retry_at = retry_at

    def wait_message(self) -> str:
        return wait_message(self.retry_at)


def _limits(name: str):
    return parse_many(current_app.config[name])


def _identity(name: str, subject: str | None) -> tuple[str, str]:
    return (name, subject if subject is not None else f"client:{client_address()}")


def check(name: str, subject: str | None = None) -> None:
    """Raises Throttled when the limit `name` is used up, without counting this attempt.
    `subject` is a customer's identity; without one the limit is per client address."""
    _apply("test", name, subject, fail_closed=False)


def hit(name: str, subject: str | None = None, *, fail_closed: bool = False) -> None:
    """Counts one attempt; raises Throttled when this one is over the limit. With
    fail_closed (a limit guarding money) raises CountingUnavailable while Redis is away."""
    _apply("hit", name, subject, fail_closed=fail_closed)


def refund(name: str, subject: str | None = None) -> None:
    """Takes back an attempt counted by hit() that turned out right (a right password or
    code): counting before the check, then refunding, leaves no check-then-count race."""
    identity = _identity(name, subject)
    items = _limits(name)

    def give_back(strategy) -> None:
        for item in items:
            # The fixed window (Flask-Limiter's default) counts with INCR: a negative cost
            # takes one back.
            strategy.hit(item, *identity, cost=-1)

    _counting().run(give_back, fail_closed=False)


def clear(name: str, subject: str | None = None) -> None:
    """Forgets what was counted against the limit `name` for `subject`."""
    identity = _identity(name, subject)
    items = _limits(name)

    def forget(strategy) -> None:
        for item in items:
            strategy.clear(item, *identity)

    _counting().run(forget, fail_closed=False)


def _apply(method: str, name: str, subject: str | None, *, fail_closed: bool) -> None:
    identity = _identity(name, subject)
    items = _limits(name)

    def count(strategy) -> float | None:
        """The time the first used-up limit frees, or None when all allow it."""
        for item in items:
            if not getattr(strategy, method)(item, *identity):
                return strategy.get_window_stats(item, *identity).reset_time
        return None

    retry_at = _counting().run(count, fail_closed=fail_closed)
    if retry_at is not None:
        raise Throttled(retry_at)


def _counting() -> _Counting:
    return current_app.extensions["ebok.throttle"]


def storage_reachable() -> bool:
    """For /readyz: does the shared storage answer now (within its timeouts)?"""
    return limiter.storage.check()


def seconds_until(retry_at: float) -> int:
    """For the Retry-After header."""
    return max(1, int(retry_at - time.time()) + 1)


def wait_message(retry_at: float, now: float | None = None) -> str:
    """When the customer may try again, in words that read well however long the wait:
    minutes below an hour ("Spróbuj ponownie za 5 minut (o 16:45)."), hours later the same
    day, "jutro o 02:36" or a date when it ends on another day (the app's time zone,
    BABEL_DEFAULT_TIMEZONE)."""
    now = time.time() if now is None else now
    seconds = max(0, int(retry_at - now))
    at = datetime.fromtimestamp(retry_at, UTC)
    clock = format_time(at, "HH:mm")
    if seconds < 3600:
        minutes = max(1, -(-seconds // 60))
        # Translators: ends a message saying an action is paused ("Too many attempts.
        # %(wait)s"); %(num)d is the minutes to wait, %(time)s the clock time ("16:45").
        return ngettext(
            "Try again in %(num)d minute (at %(time)s).",
            "Try again in %(num)d minutes (at %(time)s).",
            minutes,
            time=clock,
        )
    days_later = (
        to_user_timezone(at).date() - to_user_timezone(datetime.fromtimestamp(now, UTC)).date()
    ).days
    if days_later == 0:
        hours = -(-seconds // 3600)
        # Translators: as "Try again in %(num)d minute…", for a wait of an hour or more
        # that ends today; %(num)d is the hours, rounded up.
        return ngettext(
            "Try again in %(num)d hour (at %(time)s).",
            "Try again in %(num)d hours (at %(time)s).",
            hours,
            time=clock,
        )
    if days_later == 1:
        # Translators: as "Try again in %(num)d minute…", for a wait that ends tomorrow;
        # %(time)s is the clock time ("02:36").
        return _("Try again tomorrow at %(time)s.", time=clock)
    # Translators: as "Try again in %(num)d minute…", for a wait that ends after
    # tomorrow; %(date)s is the day in words ("3 grudnia"), %(time)s the clock time.
    return _("Try again on %(date)s at %(time)s.", date=format_date(at, "d MMMM"), time=clock)
