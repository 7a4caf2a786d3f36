"""Handing outbox messages to their backends: the worker (`flask outbox deliver`).

Requests only write messages; a worker process sends them, so a slow or hung SMTP server
or SMS gateway holds up the worker, never a page. Within the worker, each channel (e-mail,
SMS) has a loop of its own, and each sends up to OUTBOX_SENDERS_PER_CHANNEL messages at
once: a hung gateway never holds up e-mail, and a slow one never makes customers queue.
Each message's outcome is committed as soon as the server has answered, so a worker killed
mid-batch can repeat at most the messages it had on the wire (one per sender).
"""

import logging
import math
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from types import FrameType
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

from ebok.config import engine_options
from ebok.extensions import db
from ebok.messages import wakeup
from ebok.messages.backends import (
    BACKENDS,
    CONFIG_KEYS,
    Backend,
    DeliveryError,
    Outgoing,
    backend_for,
)
from ebok.messages.outbox import (
    BACKOFF_FIRST,
    claim_batch,
    claim_probe,
    claim_timeout,
    clear_dead_failures,
    make_due,
    postpone_due,
    record_failure,
    record_sent,
    release_stuck,
    renew_claims,
    return_unsent,
)
from ebok.models import utcnow

# What the CLI is told after each round (flask outbox deliver prints it).
Report = Callable[["DeliveryCounts"], None]
log = logging.getLogger("ebok.messages")

CHANNELS = tuple(CONFIG_KEYS)
# After this many failures in a row on one channel (down, timing out; not a refusal of one
# message), the channel's breaker opens: its other messages wait untried, and every
# OUTBOX_PROBE_INTERVAL seconds one of them goes out as a probe; when the probe gets
# through, the breaker closes and the channel's waiting messages are due at once.
BREAKER_FAILURES = 3
# A worker looks for stopped workers' claims and dead given-up messages this often (in
# seconds), not before every batch.
HOUSEKEEPING_EVERY = 5.0
# How often the looping worker runs its caller's chores (the app's other cleanups).
CHORES_EVERY = 600.0
# A sender closes its connection after this many seconds with nothing to send.
IDLE_CONNECTION = 2.0


@dataclass
class DeliveryCounts:
    """What one run did with the messages it looked at."""

    sent: int = 0
    retrying: int = 0  # failed this time, back to pending with a later next_attempt_at
    failed: int = 0  # given up: refused for good, or failed for the last time
    stale: int = 0  # not sent: its code or link was superseded, used or expired
    deferred: int = 0  # not tried: its backend kept failing, or the worker is stopping
    released: int = 0  # left in "sending" by a worker that died, made pending again

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed

    @property
    def claimed(self) -> int:
        return self.attempted + self.stale + self.deferred

    def __add__(self, other: "DeliveryCounts") -> "DeliveryCounts":
        return DeliveryCounts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def __str__(self) -> str:
        return ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields(self))


class Breaker:
    """One channel's record of failures in a row, kept across batches by a worker."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures_in_a_row = 0
        self.last_probe = 0.0  # time.monotonic() of the last probe

    @property
    def open(self) -> bool:
        return self.failures_in_a_row >= BREAKER_FAILURES

    def answered(self) -> bool:
        """The backend answered; returns True if the breaker was open until now."""
        with self.lock:
            was_open, self.failures_in_a_row = self.open, 0
        return was_open

    def failed(self) -> None:
        with self.lock:
            self.failures_in_a_row += 1

    def probe_due(self, interval: float) -> bool:
        with self.lock:
            if time.monotonic() - self.last_probe < interval:
                return False
            self.last_probe = time.monotonic()
            return True


class _Channel:
    """Sends one channel's messages: `senders` threads, each with a backend (connection)
    of its own kept while there is work, each message's outcome committed as soon as the
    server has answered. Claims are taken by fill() and renewed by renew() while sending
    takes long; close() lets the senders finish the messages under way."""

    def __init__(
        self, channel: str, app: Flask, stop: threading.Event | None, breaker: Breaker, senders: int
    ) -> None:
        self.channel = channel
        self.app = app
        self.stop = stop
        self.breaker = breaker
        self.senders = senders
        # (message, whether it is the breaker's probe), or None: the sender stops.
        self.queue: queue.SimpleQueue[tuple[Outgoing, bool] | None] = queue.SimpleQueue()
        # Claimed and not yet recorded: message id -> the claimed_at its row holds. The
        # lock is held while a claim is renewed or a failure written (only under our
        # claim), so a failure is never written under a claim time the row no longer has.
        self.claims: dict[int, datetime] = {}
        self.lock = threading.Lock()
        self.finished = threading.Condition(self.lock)
        self.counts = DeliveryCounts()
        # Renewing at a quarter of the claim timeout keeps every claim well alive.
        self.renew_every = claim_timeout(app.config).total_seconds() / 4
        self.renewed = time.monotonic()
        self.threads = [
            threading.Thread(target=self._sender, name=f"outbox-{channel}", daemon=True)
            for _ in range(senders)
        ]
        for thread in self.threads:
            thread.start()

    # -- the channel's loop: claiming, renewing, waiting ---------------------------------

    def fill(self, limit: int) -> int:
        """Claim up to `limit` due messages (while the breaker is open, now and then one
        probe) and hand them to the senders; returns how many were claimed."""
        probe = self.breaker.open
        if not probe:
            messages, stale_ids = claim_batch(limit, self.channel)
        elif self.breaker.probe_due(float(self.app.config["OUTBOX_PROBE_INTERVAL"])):
            messages, stale_ids = claim_probe(self.channel)
            # The rest wait untried, not overdue: /readyz then sees a worker at work.
            postpone_due(self.channel, utcnow() + BACKOFF_FIRST)
        else:
            return 0
        for message_id in stale_ids:
            log.info("Message %s not sent: its code or link is no longer valid", message_id)
        with self.lock:
            self.counts.stale += len(stale_ids)
            self.claims.update((message.id, message.claimed_at) for message in messages)
        for message in messages:
            self.queue.put((message, probe))
        return len(messages) + len(stale_ids)

    @property
    def free(self) -> int:
        with self.lock:
            return self.senders - len(self.claims)

    def wait_for_room(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for a free sender."""
        with self.lock:
            self.finished.wait_for(lambda: len(self.claims) < self.senders, timeout)

    def wait_until_done(self) -> None:
        """Wait for every claimed message's outcome, renewing the claims meanwhile."""
        while True:
            with self.lock:
                if not self.claims:
                    return
                self.finished.wait(self.renew_every)
            self.renew_if_due()

    def renew_if_due(self) -> None:
        with self.lock:
            if time.monotonic() - self.renewed < self.renew_every:
                return
            now = utcnow()
            for claimed_at in set(self.claims.values()):
                ids = [i for i, at in self.claims.items() if at == claimed_at]
                renew_claims(ids, claimed_at, now)
            self.claims = dict.fromkeys(self.claims, now)
            self.renewed = time.monotonic()

    def take_counts(self) -> DeliveryCounts:
        with self.lock:
            counts, self.counts = self.counts, DeliveryCounts()
        return counts

    def close(self) -> None:
        """Stop the senders once the messages handed to them are done (or, with `stop`
        set, handed back untried)."""
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()

    # -- the senders ----------------------------------------------------------------------

    def _sender(self) -> None:
        backend = None
        with self.app.app_context():
            try:
                while True:
                    try:
                        work = self.queue.get(timeout=IDLE_CONNECTION)
                    except queue.Empty:
                        if backend is not None:
                            backend.close()  # nothing to send: no idle connection kept
                            backend = None
                        continue
                    if work is None:
                        return
                    message, probe = work
                    try:
                        if self.stop is not None and self.stop.is_set():
                            self._return(message, due=utcnow())
                        elif self.breaker.open and not probe:
                            self._return(message, due=utcnow() + BACKOFF_FIRST)
                        else:
                            backend = backend or backend_for(self.channel, self.app.config)
                            self._deliver(backend, message)
                    except Exception as error:  # the database, mostly: the sender goes on
                        self._unrecorded(message, error)
            finally:
                if backend is not None:
                    backend.close()

    def _unrecorded(self, message: Outgoing, error: Exception) -> None:
        """The outcome could not be written: the row stays claimed, and a worker's
        housekeeping makes it pending again after the claim timeout."""
        with self.lock:
            self.claims.pop(message.id, None)
            self.finished.notify_all()
        log.error(
            "Message %s: its outcome could not be recorded (%s); it is tried again after "
            "the claim timeout",
            message.id,
            type(error).__name__,
        )

    def _return(self, message: Outgoing, due: datetime) -> None:
        """Back to pending untried: the worker stops, or the backend keeps failing."""
        with self.lock:
            return_unsent([message.id], self.claims.pop(message.id), due)
            self.counts.deferred += 1
            self.finished.notify_all()

    def _deliver(self, backend: Backend, message: Outgoing) -> None:
        try:
            backend.send(message)
        except DeliveryError as error:
            reason, permanent = str(error), error.permanent
        except Exception as error:  # a bug must not leave the message claimed
            reason, permanent = f"unexpected {type(error).__name__}", False
            log.error("Message %s: %s in the %s backend", message.id, reason, message.channel)
        else:
            # Outside the lock: not conditional on the claim, and senders' commits may
            # then overlap (PostgreSQL flushes them together).
            record_sent(message.id, backend.name, backend.keeps_body)
            with self.lock:
                del self.claims[message.id]
                self.counts.sent += 1
                self.finished.notify_all()
            log.info(
                "Message %s (%s to %s) sent by %s",
                message.id,
                message.channel,
                message.masked_recipient,
                backend.name,
            )
            self._answered()
            return
        with self.lock:
            claimed_at = self.claims.pop(message.id)
            status = record_failure(message, reason, permanent=permanent, claimed_at=claimed_at)
            if status == "failed":
                self.counts.failed += 1
            else:
                self.counts.retrying += 1
            self.finished.notify_all()
        _log_failure(message, reason, status, permanent)
        if permanent:
            self._answered()  # the server is there; it refused this one message
        else:
            self.breaker.failed()

    def _answered(self) -> None:
        if self.breaker.answered():
            made_due = make_due(self.channel)
            log.info(
                "The %s backend answers again; %s waiting messages due now", self.channel, made_due
            )


def _log_failure(message: Outgoing, reason: str, status: str, permanent: bool) -> None:
    if permanent:
        log.error(
            "Message %s (%s to %s) refused for good, given up: %s",
            message.id,
            message.channel,
            message.masked_recipient,
            reason,
        )
    elif status == "failed":
        log.error(
            "Message %s (%s to %s) failed for good after %s attempts: %s",
            message.id,
            message.channel,
            message.masked_recipient,
            message.attempts,
            reason,
        )
    else:
        log.warning(
            "Message %s (%s to %s) attempt %s failed, will retry: %s",
            message.id,
            message.channel,
            message.masked_recipient,
            message.attempts,
            reason,
        )


def deliver_channel(
    channel: str, limit: int, stop: threading.Event | None, breaker: Breaker
) -> DeliveryCounts:
    """Claim and send up to `limit` due messages of one channel, and wait for them; while
    its breaker is open, only a probe now and then. Call in an app context."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    senders = int(app.config["OUTBOX_SENDERS_PER_CHANNEL"])
    sending = _Channel(channel, app, stop, breaker, senders)
    try:
        sending.fill(limit)
        sending.wait_until_done()
    finally:
        sending.close()
    return sending.take_counts()


def deliver_due(
    limit: int = 100, stop: threading.Event | None = None, *, housekeeping: bool = True
) -> DeliveryCounts:
    """Deliver up to `limit` due pending messages of each channel, oldest first; call in
    an app context.

    With `housekeeping`, first returns to pending the messages a stopped worker left in
    "sending" for longer than the claim timeout (such a message may have been sent
    already), and clears given-up messages whose code or link has died.
    """
    counts = DeliveryCounts()
    if housekeeping:
        counts.released += _housekeeping()
    for channel in CHANNELS:
        counts += deliver_channel(channel, limit, stop, Breaker())
    return counts


def _housekeeping() -> int:
    released = release_stuck()
    for message_id, status in released:
        log.warning(
            "Message %s was left in 'sending' by a stopped worker; now %s (it may be sent twice)",
            message_id,
            status,
        )
    clear_dead_failures()
    return len(released)


class _DatabaseOutage:
    """Logs a database outage once when it starts and once when it ends, whichever of the
    worker's loops sees it first, not a traceback per loop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down = False

    def failed(self, error: DBAPIError) -> None:
        with self.lock:
            if not self.down:
                self.down = True
                log.error(
                    "Outbox worker: database unavailable: %s; trying again until it answers",
                    f"{type(error.orig).__name__}: {str(error.orig).strip().splitlines()[0]}"
                    if error.orig is not None and str(error.orig).strip()
                    else type(error).__name__,
                )

    def answered(self) -> None:
        with self.lock:
            if self.down:
                self.down = False
                log.info("Outbox worker: database reachable again")


class _Loop:
    """The looping worker: a thread per channel, housekeeping in the calling thread."""

    def __init__(
        self,
        app: Flask,
        interval: float,
        limit: int,
        report: Report | None,
        stop: threading.Event,
        wakeups: wakeup.Wakeups,
        chores: Sequence[Callable[[], object]],
    ) -> None:
        self.app = app
        self.interval = interval
        self.limit = limit
        self.report = report
        self.stop = stop
        self.wakeups = wakeups
        self.chores = chores
        self.outage = _DatabaseOutage()
        self.lock = threading.Lock()
        self.totals = DeliveryCounts()

    def guarded(self, work: Callable[..., Any], *arguments: Any, queries: bool = True) -> Any:
        """Runs one piece of work; a failure is logged and the loop carries on (None).
        Work that `queries` the database every time tells when an outage is over."""
        try:
            result = work(*arguments)
        except DBAPIError as error:
            self.outage.failed(error)
            return None
        except Exception:
            log.exception("Outbox delivery failed; trying again in %s s", self.interval)
            return None
        if queries:
            self.outage.answered()
        return result

    def add(self, counts: DeliveryCounts) -> None:
        with self.lock:
            self.totals += counts
        if self.report is not None and (counts.claimed or counts.released):
            self.report(counts)

    def channel(self, channel: str) -> None:
        """Keeps the channel's senders busy: as soon as one is free, it gets the next due
        message, whatever the others are waiting for."""
        with self.app.app_context():
            senders = int(self.app.config["OUTBOX_SENDERS_PER_CHANNEL"])
            sending = _Channel(channel, self.app, self.stop, Breaker(), senders)
            try:
                while not self.stop.is_set():
                    # A wake-up from here on is for a message this look may miss.
                    self.wakeups.clear(channel)
                    free = sending.free
                    claimed = self.guarded(sending.fill, min(free, self.limit)) or 0
                    self.guarded(sending.renew_if_due, queries=False)
                    self.add(sending.take_counts())
                    if free == 0 or claimed >= free:
                        sending.wait_for_room(self.interval)  # busy: more may be due
                    else:
                        # Woken by a new message (PostgreSQL), or the poll interval.
                        self.wakeups.wait(channel, self.interval)
            finally:
                sending.close()
                self.add(sending.take_counts())

    def housekeeping(self) -> None:
        chores_done_at = -math.inf
        while not self.stop.is_set():
            released = self.guarded(_housekeeping)
            if released:
                self.add(DeliveryCounts(released=released))
            if time.monotonic() - chores_done_at >= CHORES_EVERY:
                chores_done_at = time.monotonic()
                for chore in self.chores:
                    self.guarded(chore)
            self.stop.wait(HOUSEKEEPING_EVERY)


def run_worker(
    loop: bool = False,
    interval: float = 1.0,
    *,
    limit: int = 100,
    report: Callable[[DeliveryCounts], None] | None = None,
    stop: threading.Event | None = None,
    chores: Sequence[Callable[[], object]] = (),
) -> DeliveryCounts:
    """Deliver every due message; with `loop`, keep doing so every `interval` seconds.

    Call in an app context. `report` is called with the counts of each batch that did
    something. Without `loop` it returns when nothing due is left, and database errors
    end it. With `loop`, each channel runs in a thread of its own, database errors are
    logged (once per outage) and the loop carries on, and it returns after SIGTERM or
    Ctrl+C (finishing the messages under way) or when `stop` is set. Returns the totals.
    `chores` are the app's other cleanups (deleting timed-out sessions, say): run once
    without `loop`, every CHORES_EVERY seconds with it.
    """
    if not loop:
        for chore in chores:
            chore()
        return _deliver_all(limit, report)
    own_stop = stop is None
    stop = stop or threading.Event()
    wakeups = wakeup.Wakeups(CHANNELS)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = _Loop(app, interval, limit, report, stop, wakeups, chores)
    restore = _stop_on_signals(stop) if own_stop else {}
    threads = [
        threading.Thread(target=worker.channel, args=(channel,), name=f"outbox-{channel}")
        for channel in CHANNELS
    ]
    if wakeup.listens(db.engine.url):
        connect_args = engine_options(app.config).get("connect_args", {})
        threads.append(
            threading.Thread(
                target=wakeup.listen,
                args=(db.engine.url, connect_args, wakeups, stop),
                name="outbox-listener",
            )
        )
    try:
        for thread in threads:
            thread.start()
        worker.housekeeping()  # in this thread, which also receives the signals
    finally:
        stop.set()
        wakeups.wake_all()  # the channels' loops notice the stop at once
        for thread in threads:
            thread.join()
        for signum, handler in restore.items():
            signal.signal(signum, handler)
    return worker.totals


def _deliver_all(limit: int, report: Report | None) -> DeliveryCounts:
    totals = DeliveryCounts(released=_housekeeping())
    for channel in CHANNELS:
        breaker = Breaker()
        while True:
            counts = deliver_channel(channel, limit, None, breaker)
            totals += counts
            if report is not None and counts.claimed:
                report(counts)
            if counts.claimed < limit or counts.deferred >= counts.claimed:
                break
    return totals


def _stop_on_signals(stop: threading.Event) -> dict:
    """Let SIGTERM and SIGINT finish the messages under way instead of cutting them off."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("Outbox worker stopping after the messages under way")
        stop.set()

    return {signum: signal.signal(signum, handle) for signum in (signal.SIGTERM, signal.SIGINT)}


def init_app(app: Flask) -> None:
    """Check the backend choices when the app starts, not at the first message."""
    for channel, key in CONFIG_KEYS.items():
        choice = app.config.get(key) or "dev"
        if choice not in BACKENDS[channel]:
            raise ValueError(f"{key}={choice!r} is not one of: {', '.join(BACKENDS[channel])}")
    if app.config.get("SMS_BACKEND") == "http" and not app.config.get("SMS_GATEWAY_URL"):
        log.warning("SMS_BACKEND is http but SMS_GATEWAY_URL is not set; SMS will not go out")
