"""Throttling of guesses and of messages that cost money, per client and per customer.

The limits come from configuration (RATELIMIT_LOGIN = "10/15 minutes", ...) and are
counted in Flask-Limiter's storage: memory:// per process, Redis when several serve.
"""

import time

from flask import current_app
from limits import parse_many

from ebok.clients import client_address
from ebok.extensions import limiter


class Throttled(Exception):
    """Too many attempts; the customer may try again at retry_at (epoch seconds)."""

    def __init__(self, retry_at: float):
        super().__init__("throttled")
        self.retry_at = retry_at

    @property
    def retry_after(self) -> int:
        return max(1, int(self.retry_at - time.time()) + 1)

    def wait_message(self) -> str:
        return wait_message(self.retry_at)


def _limits(name: str):
    return parse_many(current_app.config[name])


def _identity(name: str, subject: str | None) -> tuple[str, str]:
    return (name, subject if subject is not None else f"client:{client_address()}")


def check(name: str, subject: str | None = None) -> None:
    """Raises Throttled when the limit `name` is used up, without counting this attempt.
    `subject` is a customer's identity; without one the limit is per client address."""
    for item in _limits(name):
        if not limiter.limiter.test(item, *_identity(name, subject)):
            raise Throttled(limiter.limiter.get_window_stats(item, *_identity(name, subject))[0])


def hit(name: str, subject: str | None = None) -> None:
    """Counts one attempt; raises Throttled when this one is over the limit."""
    for item in _limits(name):
        if not limiter.limiter.hit(item, *_identity(name, subject)):
            raise Throttled(limiter.limiter.get_window_stats(item, *_identity(name, subject))[0])


def clear(name: str, subject: str | None = None) -> None:
    for item in _limits(name):
        limiter.limiter.clear(item, *_identity(name, subject))


def wait_message(retry_at: float) -> str:
    """'Spróbuj ponownie za 5 minut (o 16:45).' in the customer's language."""
    from datetime import UTC, datetime

    from flask_babel import format_time, ngettext

    minutes = max(1, -(-int(retry_at - time.time()) // 60))
    at = format_time(datetime.fromtimestamp(retry_at, UTC), "HH:mm")
    return ngettext(
        "Try again in %(num)d minute (at %(time)s).",
        "Try again in %(num)d minutes (at %(time)s).",
        minutes,
        time=at,
    )
