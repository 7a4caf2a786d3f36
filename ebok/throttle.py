"""Throttling of guesses and of messages that cost money, per client and per customer.

The limits come from configuration (RATELIMIT_LOGIN = "10/15 minutes", ...) and are
counted in Flask-Limiter's storage: memory:// per process, Redis when several serve.
"""

import time
from datetime import UTC, datetime

from flask import current_app
from flask_babel import format_time, ngettext
from limits import parse_many

from ebok.clients import client_address
from ebok.extensions import limiter


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
    _apply(limiter.limiter.test, name, subject)


def hit(name: str, subject: str | None = None) -> None:
    """Counts one attempt; raises Throttled when this one is over the limit."""
    _apply(limiter.limiter.hit, name, subject)


def _apply(within_limit, name: str, subject: str | None) -> None:
    identity = _identity(name, subject)
    for item in _limits(name):
        if not within_limit(item, *identity):
            raise Throttled(limiter.limiter.get_window_stats(item, *identity).reset_time)


def seconds_until(retry_at: float) -> int:
    """For the Retry-After header."""
    return max(1, int(retry_at - time.time()) + 1)


def wait_message(retry_at: float) -> str:
    """'Spróbuj ponownie za 5 minut (o 16:45).' in the customer's language."""
    minutes = max(1, -(-int(retry_at - time.time()) // 60))
    at = format_time(datetime.fromtimestamp(retry_at, UTC), "HH:mm")
    return ngettext(
        "Try again in %(num)d minute (at %(time)s).",
        "Try again in %(num)d minutes (at %(time)s).",
        minutes,
        time=at,
    )
