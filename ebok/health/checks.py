"""What /readyz checks, each bounded in time: a hung database or Redis makes it answer
"no answer", never makes it wait."""

import threading
from datetime import datetime, timedelta

from flask import Flask, Request
from sqlalchemy import func, select

from ebok.extensions import db
from ebok.identity import throttle
from ebok.identity.sessions import Session
from ebok.models import OutboxMessage, utcnow
from ebok.web.security import SessionInterface

# The monitoring's paths: no session, and the only ones the health listener answers.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class NoSessionForProbes(SessionInterface):
    """Probes get no session: nothing to load (no account, so no database for /healthz)
    and no cookie to set, whatever cookie the caller sends."""

    def open_session(self, app: Flask, request: Request) -> Session | None:
        if request.path in PROBE_PATHS:
            return None  # Flask uses a null session, which it never saves
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = NoSessionForProbes()
    app.extensions["ebok.health"] = _DatabaseProbe()


def readiness_problems(app: Flask) -> list[str]:
    problems = app.extensions["ebok.health"].problems(app, app.config["HEALTH_CHECK_TIMEOUT"])
    # Redis calls are bounded by RATELIMIT_STORAGE_TIMEOUT; memory:// always answers.
    if not throttle.storage_reachable():
        problems.append("redis: no answer")
    return problems


class _DatabaseProbe:
    """Runs the database check in a thread of its own so that a hung database costs
    /readyz at most `timeout` seconds; while one check hangs, no other starts, so a
    hung database holds one thread and one connection, not one per probe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def problems(self, app: Flask, timeout: float) -> list[str]:
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return ["database: no answer (an earlier check still waits)"]
            result: list[str] = []
            thread = threading.Thread(
                target=_check_database, args=(app, result), name="readyz", daemon=True
            )
            self.thread = thread
            thread.start()
        thread.join(timeout)
        if thread.is_alive():
            return ["database: no answer"]
        return result


def _check_database(app: Flask, problems: list[str]) -> None:
    """Appends what is wrong: the database unreachable, or the outbox stuck."""
    with app.app_context():
        try:
            oldest_due = db.session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow()
                )
            )
        except Exception as error:  # whatever it is, the database is not usable
            problems.append(f"database: {type(error).__name__}")
            return
        finally:
            db.session.remove()
    problems.extend(_outbox_problems(oldest_due, app.config["READYZ_OUTBOX_MAX_AGE"]))


def _outbox_problems(oldest_due: datetime | None, max_age: float) -> list[str]:
    """The outbox as a whole is stuck when a message has been due for longer than
    `max_age` seconds: a live worker takes every due message within its poll interval.
    One message that keeps failing never counts: each failure makes it due later, and a
    refused one is given up at once; a backend that is down keeps the worker probing it,
    while its other messages wait with a later due time."""
    if oldest_due is None or utcnow() - oldest_due <= timedelta(seconds=max_age):
        return []
    age = int((utcnow() - oldest_due).total_seconds())
    return [f"outbox: oldest pending message waits {age} s since it was due; no worker takes it"]
