"""Waking the looping outbox worker as soon as a message is committed (PostgreSQL).

Writing a message also runs NOTIFY in the writer's transaction, and PostgreSQL delivers
a notification only when that transaction commits: the worker never wakes for a message
that was rolled back, and never before the row is there to be claimed. The worker's
listener, on a connection of its own, wakes the message's channel; the channel's loop
waits on its wake-up with the poll interval as the limit, so polling stays the fallback
(SQLite, a listener that lost its connection, the moments while it reconnects).
"""

import logging
import os
import threading
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.engine import URL

from ebok.extensions import db

log = logging.getLogger(__name__)

# PostgreSQL's channel name (an identifier): one for the outbox, the payload is ours.
NOTIFY_CHANNEL = "ebok_outbox"
# How often a listener that lost its connection tries again (the channels poll meanwhile).
RETRY_EVERY = 2.0


def announce(channel: str) -> None:
    """Tells a listening worker, when the current transaction commits, that a message of
    `channel` is waiting. Nothing on other databases: their worker polls."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_notify(NOTIFY_CHANNEL, channel)))


class Wakeups:
    """One event per channel: set by the listener (or by stopping), waited on by the
    channel's loop."""

    def __init__(self, channels: Iterable[str]) -> None:
        self.events = {channel: threading.Event() for channel in channels}

    def wake(self, channel: str) -> None:
        event = self.events.get(channel)
        if event is not None:
            event.set()

    def wake_all(self) -> None:
        for event in self.events.values():
            event.set()

    def wait(self, channel: str, timeout: float) -> None:
        """Until the channel is woken or `timeout` seconds pass. A wake-up that came
        while the loop was busy is not lost: the loop returns at once and looks again."""
        event = self.events[channel]
        event.wait(timeout)
        event.clear()


def listens(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def application_name() -> str:
    """How the listener's connection shows in pg_stat_activity."""
    return f"strefa-klienta outbox listener {os.getpid()}"


def listen(url: URL, wakeups: Wakeups, stop: threading.Event) -> None:
    """The listener thread's work, until `stop`: LISTEN on a connection of its own and
    wake the channel each notification names. A lost connection is logged once and
    tried again every RETRY_EVERY seconds; on each (re)connection every channel is
    woken, for what was committed while nobody listened."""
    import psycopg  # the driver, loaded where PostgreSQL is used only

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    lost = False
    while not stop.is_set():
        try:
            with psycopg.connect(
                conninfo, autocommit=True, connect_timeout=5, application_name=application_name()
            ) as connection:
                connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                if lost:
                    log.info("Outbox worker: listening for new messages again")
                lost = False
                wakeups.wake_all()
                while not stop.is_set():
                    # A short timeout, so that stopping is noticed.
                    for notification in connection.notifies(timeout=0.5):
                        wakeups.wake(notification.payload)
        except psycopg.Error as error:
            if not lost:
                log.warning(
                    "Outbox worker: not listening for new messages (%s); polling meanwhile",
                    type(error).__name__,
                )
            lost = True
            stop.wait(RETRY_EVERY)
