"""Throttling of guesses and of messages that cost money, per client and per customer.

Flask-Limiter counts every limit: each is a `limiter.shared_limit` entered as a context
manager where a feature makes an attempt, scoped by its setting's name (RATELIMIT_LOGIN =
"10/15 minutes", ...) and keyed by its subject (the client's address, an account, a
customer and channel). A breach raises Flask-Limiter's RateLimitExceeded and sets
`limiter.current_limit`, from which it sends Retry-After and the X-RateLimit-* headers.
Counts live in its storage: memory:// per process, Redis when several serve.

When Redis does not answer (down, or hung past RATELIMIT_STORAGE_TIMEOUT), Flask-Limiter's
in-memory fallback counts in this process until Redis answers again, so customers can still
log in; a limit that guards money (hit(..., fail_closed=True), for SMS codes) refuses
instead, which the fallback cannot express (see hit).
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from flask.wrappers import Response
from flask_babel import format_date, format_time, ngettext, to_user_timezone
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded, RequestLimit, RouteLimit
from limits import parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage

from ebok.clients import client_address
from ebok.extensions import limiter

log = logging.getLogger("ebok.throttle")

REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")

# A limit as a feature names it: its setting and whom it counts (None: the client address).
Limit = tuple[str, str | None]


# Limits Flask-Limiter would check before every request, were any configured; the app
# declares none (each of its limits is entered where a feature makes an attempt).
REQUEST_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def init_app(app: Flask) -> None:
    """Flask-Limiter, with every Redis call bounded by the configured timeouts and without
    redis-py's retries (a hung Redis would otherwise cost each request several timeouts).

    Flask-Limiter checks default, application and meta limits before every request, and
    reads what the request's limits counted after it. With none of those configured the
    check finds nothing to count, and a request that entered no limit (most pages) leaves
    nothing to read, yet together they cost a fifth of the login page's server time: the
    check is left out then, and the hooks after the request run only after a limit was
    entered. The limits entered in hit, check and count_attempt check themselves as they
    are entered, as a decorated limit would."""
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
    flask_limiter_log = logging.getLogger("flask-limiter")
    flask_limiter_log.setLevel(logging.INFO)
    if not any(isinstance(f, _StorageOutagesOnly) for f in flask_limiter_log.filters):
        flask_limiter_log.addFilter(_StorageOutagesOnly())
    earlier = [list(app.after_request_funcs[None]), list(app.teardown_request_funcs[None])]
    limiter.init_app(app)
    if not any(app.config.get(name) for name in REQUEST_WIDE_LIMITS):
        app.before_request_funcs[None].remove(limiter._check_request_limit)
        after = (app.after_request_funcs[None], app.teardown_request_funcs[None])
        for hooks, before in zip(after, earlier, strict=True):
            hooks[:] = [hook if hook in before else _after_a_limit(hook) for hook in hooks]


class _StorageOutagesOnly(logging.Filter):
    """Flask-Limiter's log keeps its storage going away (WARNING) and coming back, not its
    line per breach: that one names the subject, a typed login among them (the audit log's
    login_throttled has its fingerprint instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.msg == "Rate limit storage recovered"


class CountingUnavailable(Exception):
    """The shared counts cannot be reached, and this limit must not be counted per
    process: the action is refused for now."""


def _declared(
    name: str,
    subject: str | None,
    *,
    cost: int = 1,
    deduct_when: Callable[[Response], bool] | None = None,
) -> RouteLimit:
    """The limit `name` for `subject` (the client address when None), read from the
    configuration at each use; shared, so every view counting it counts the same."""
    key = (lambda: subject) if subject is not None else (lambda: f"client:{client_address()}")
    return limiter.shared_limit(
        lambda: current_app.config[name],
        scope=name,
        key_func=key,
        cost=cost,
        deduct_when=deduct_when,
    )


# Flask-Limiter files a limit used as a context manager under the line that enters it, then
# evaluates what is filed there; all of ours are entered on one line (in _enter), so one
# thread at a time, or a thread could count another's limit.
_entering = threading.Lock()


def _enter(limit: RouteLimit) -> None:
    g.ebok_limit_entered = True
    with _entering, limit:
        pass


def _after_a_limit(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One of Flask-Limiter's hooks after the request, run when the request entered a
    limit (through _enter, the only way in)."""

    def run(value: Any) -> Any:
        return hook(value) if g.get("ebok_limit_entered") else value

    return run


def hit(name: str, subject: str | None = None, *, fail_closed: bool = False) -> None:
    """Counts one attempt; raises RateLimitExceeded when this one is over the limit.

    With fail_closed (a limit guarding money) raises CountingUnavailable when it was
    counted in this process's memory, Redis being away: per-process counts would let one
    client send several times as many SMS. Flask-Limiter's fallback is all or nothing (every
    limit goes to memory, none refuses), so this is ours: its strategy in use then counts
    in another storage than the configured one."""
    _enter(_declared(name, subject))
    if fail_closed and limiter.limiter.storage is not limiter.storage:
        raise CountingUnavailable()


def check(name: str, subject: str | None = None) -> None:
    """Raises RateLimitExceeded when the limit `name` is used up, without counting this
    attempt (Flask-Limiter only tests a limit it deducts after the response, never here)."""
    _enter(_declared(name, subject, deduct_when=lambda response: False))


def count_attempt(limits: Iterable[Limit]) -> None:
    """A guess (a password, a code) counted against each limit before it is checked, so
    concurrent guesses cannot pass a limit together (RateLimitExceeded when one is used
    up), and given back after the response when the request called attempt_was_right(),
    so the limits count only failures."""
    for name, subject in limits:
        _enter(_declared(name, subject))
        _enter(_declared(name, subject, cost=-1, deduct_when=_right))


def attempt_was_right() -> None:
    """The guess counted by count_attempt() was right: its counts are given back."""
    g.ebok_attempt_right = True


def _right(response: Response) -> bool:
    return g.get("ebok_attempt_right", False)


def once_per(name: str, subject: str) -> bool:
    """True the first time in the limit's window (a notice sent at most so often), counted
    like any limit; the answer's Retry-After and X-RateLimit-* still describe the limit the
    request itself ran into."""
    context = limiter.context
    reported = context.view_rate_limit, list(context.view_rate_limits)
    try:
        hit(name, subject)
    except RateLimitExceeded:
        return False
    finally:
        context.view_rate_limit, context.view_rate_limits = reported
    return True


def clear(name: str, subject: str) -> None:
    """Forgets what was counted against the limit `name` for `subject` (Flask-Limiter can
    reset only all of its storage): the same identifiers it counts under, key then scope.
    While the storage does not answer the counts stay, to expire with their window."""
    try:
        for item in parse_many(current_app.config[name]):
            limiter.limiter.clear(item, subject, name)
    except StorageError as error:
        log.warning("rate limit counts not cleared (%s)", type(error.storage_error).__name__)


@dataclass(frozen=True)
class Counted:
    """One limit's count for one subject, as the development messages page lists it."""

    limit: str  # the setting's name: RATELIMIT_LOGIN
    subject: str  # client:127.0.0.1, customer:200005
    count: int
    allowed: int
    until: datetime


def counted() -> list[Counted] | None:
    """What is counted now, for testers in development (the limits are as in production);
    None when the storage cannot list its counts: only memory://, development's, can."""
    storage = limiter.limiter.storage
    if not isinstance(storage, MemoryStorage):
        return None
    now = time.time()
    found = []
    for key, count in list(storage.storage.items()):
        # Flask-Limiter's key: LIMITER/<subject>/<scope>/<amount>/<multiples>/<granularity>
        subject, scope, amount, *_ = key.split("/", 1)[1].rsplit("/", 4)
        expires = storage.expirations.get(key, 0)
        if count > 0 and expires > now:
            until = datetime.fromtimestamp(expires, UTC)
            found.append(Counted(scope, subject, count, int(amount), until))
    return sorted(found, key=lambda item: (item.limit, item.subject))


def forget_all() -> None:
    """Every count gone (the development messages page's "clear" for testers)."""
    limiter.reset()


def _breached() -> RequestLimit | None:
    current = limiter.current_limit
    return current if current is not None and current.breached else None


def limit_reached() -> str | None:
    """The setting naming the limit this request ran into (its scope), if it ran into one."""
    breached = _breached()
    return breached.request_args[-1] if breached is not None else None


def retry_at() -> float | None:
    """When the limit this request ran into frees (epoch seconds), if it ran into one: its
    window's end (Flask-Limiter's reset_at, for its headers, is the next whole second)."""
    breached = _breached()
    return breached.window.reset_time if breached is not None else None


def retry_message() -> str:
    """When the customer may try again after the limit this request ran into."""
    retry = retry_at()
    assert retry is not None, "called where Flask-Limiter's RateLimitExceeded is caught"
    return wait_message(retry)


def report_no_limit() -> None:
    """This answer carries none of the request's limits' headers (a 503 whose Retry-After
    is the outage's: Flask-Limiter would put the later of the two)."""
    limiter.context.view_rate_limit = None


def storage_reachable() -> bool:
    """For /readyz: does the shared storage answer now (within its timeouts)?"""
    return limiter.storage.check()


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
