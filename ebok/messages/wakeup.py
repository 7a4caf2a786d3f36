"""Waking the looping outbox worker as soon as a message is committed (PostgreSQL).

A transaction that wrote messages runs one NOTIFY per channel just before it commits, and
PostgreSQL delivers a notification only when that transaction commits: the worker never
wakes for a message that was rolled back, and never before the row is there to be
claimed; an import writing thousands of notices sends one. The worker's listener, on a
connection of its own, wakes the message's channel; the channel's loop waits on its
wake-up with the poll interval as the limit, so polling stays the fallback (SQLite, a
listener that lost its connection, the moments while it reconnects).
"""

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from ebok.extensions import db

log = logging.getLogger(__name__)

# PostgreSQL's channel name (an identifier): one for the outbox, the payload is ours.
NOTIFY_CHANNEL = "ebok_outbox"
# How often a listener that lost its connection tries again (the channels poll meanwhile).
RETRY_EVERY = 2.0
# A listener that heard nothing for this long asks the server something: a connection a
# firewall or a failover dropped without a word shows only when something is sent.
PING_AFTER = 30.0
# The channels the session's transaction wrote messages of, notified before it commits.
_WRITTEN = "ebok_outbox_channels"


def announce(channel: str) -> None:
    """Tells a listening worker, when the current transaction commits, that a message of
    `channel` is waiting. Nothing on other databases: their worker polls."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.info.setdefault(_WRITTEN, set()).add(channel)


@event.listens_for(Session, "before_commit")
def _notify(session: Session) -> None:
    for channel in sorted(session.info.pop(_WRITTEN, ())):
        session.execute(select(func.pg_notify(NOTIFY_CHANNEL, channel)))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


class Wakeups:
    """One event per channel: set by the listener (or by stopping), waited on by the
    channel's loop, which clears it before each look for due messages (a wake-up that
    comes during the look is kept for the next)."""

    def __init__(self, channels: Iterable[str]) -> None:
        self.events = {channel: threading.Event() for channel in channels}

    def wake(self, channel: str) -> None:
        woken = self.events.get(channel)
        if woken is not None:
            woken.set()

    def wake_all(self) -> None:
        for each in self.events.values():
            each.set()

    def clear(self, channel: str) -> None:
        self.events[channel].clear()

    def wait(self, channel: str, timeout: float) -> None:
        """Until the channel is woken or `timeout` seconds pass."""
        self.events[channel].wait(timeout)


def listens(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def application_name() -> str:
    """How the listener's connection shows in pg_stat_activity."""
    return f"strefa-klienta outbox listener {os.getpid()}"


def listen(
    url: URL, connect_args: Mapping[str, Any], wakeups: Wakeups, stop: threading.Event
) -> None:
    """The listener thread's work, until `stop`: LISTEN on a connection of its own (with
    the app's connection settings: timeouts, keepalives, TLS) and wake the channel each
    notification names. A lost connection is logged once and tried again every
    RETRY_EVERY seconds; on each (re)connection every channel is woken, for what was
    committed while nobody listened."""
    import psycopg  # the driver, loaded where PostgreSQL is used only

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    settings = {**connect_args, "application_name": application_name()}
    lost = False
    while not stop.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True, **settings) as connection:
                connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                if lost:
                    log.info("Outbox worker: listening for new messages again")
                lost = False
                wakeups.wake_all()
                _hear(connection, wakeups, stop)
        except psycopg.Error as error:
            if not lost:
                log.warning(
                    "Outbox worker: not listening for new messages (%s); polling meanwhile",
                    type(error).__name__,
                )
            lost = True
            stop.wait(RETRY_EVERY)


def _hear(connection: Any, wakeups: Wakeups, stop: threading.Event) -> None:
    quiet = 0.0
    while not stop.is_set():
        heard = False
        # A short timeout, so that stopping is noticed.
        for notification in connection.notifies(timeout=0.5):
            wakeups.wake(notification.payload)
            heard = True
        quiet = 0.0 if heard else quiet + 0.5
        if quiet >= PING_AFTER:
            connection.execute("SELECT 1")  # raises when the connection is gone
            quiet = 0.0
