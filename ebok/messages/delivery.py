"""Handing outbox messages to their backends: the worker (`flask outbox deliver`).

Requests only write messages; a worker process sends them, so a slow or hung SMTP server
or SMS gateway holds up the worker, never a page.
"""

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from flask import Flask, current_app

from ebok.messages.backends import BACKENDS, CONFIG_KEYS, DeliveryError, Outgoing, backend_for
from ebok.messages.outbox import (
    Outcomes,
    claim_batch,
    claim_timeout,
    clear_dead_failures,
    record,
    release_stuck,
    renew_claims,
)
from ebok.models import utcnow

log = logging.getLogger("ebok.messages")

# After this many failures in a row on one channel, the rest of the batch's messages on
# that channel wait for a later batch untried: a hung gateway costs a few timeouts per
# batch, not one per message, and the other channel goes on.
BREAKER_FAILURES = 3
# A worker looks for stopped workers' claims and dead given-up messages this often (in
# seconds), not before every batch.
HOUSEKEEPING_EVERY = 5.0


@dataclass
class DeliveryCounts:
    """What one run did with the messages it looked at."""

    sent: int = 0
    retrying: int = 0  # failed this time, back to pending with a later next_attempt_at
    failed: int = 0  # failed for the last time (OUTBOX_MAX_ATTEMPTS)
    stale: int = 0  # not sent: its code or link was superseded, used or expired
    deferred: int = 0  # not tried: its backend kept failing in this batch
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


class _Batch:
    """Sends one claimed batch, one backend per channel with its connection kept open,
    recording outcomes in one transaction at the end (and renewing the claim on the way
    when sending takes long)."""

    def __init__(self, messages: list[Outgoing], stop: threading.Event | None) -> None:
        self.messages = messages
        self.stop = stop
        self.claimed_at = messages[0].claimed_at
        self.outcomes = Outcomes.empty(self.claimed_at)
        self.backends: dict[str, Any] = {}
        self.failures_in_a_row: dict[str, int] = {}
        self.counts = DeliveryCounts()
        # Renewing at half the send timeout keeps every claim younger than claim_timeout.
        self.renew_every = claim_timeout(current_app.config).total_seconds() / 4
        self.renewed = time.monotonic()

    def run(self) -> DeliveryCounts:
        try:
            for position, message in enumerate(self.messages):
                if self.stop is not None and self.stop.is_set():
                    self._defer_all(self.messages[position:])
                    break
                self._deliver(message)
                if time.monotonic() - self.renewed >= self.renew_every:
                    self._checkpoint(self.messages[position + 1 :])
        finally:
            for backend in self.backends.values():
                backend.close()
            self._write()
        return self.counts

    def _backend(self, channel: str):
        if channel not in self.backends:
            self.backends[channel] = backend_for(channel, current_app.config)
        return self.backends[channel]

    def _deliver(self, message: Outgoing) -> None:
        if self.failures_in_a_row.get(message.channel, 0) >= BREAKER_FAILURES:
            self.outcomes.deferred.append(message.id)
            return
        try:
            backend = self._backend(message.channel)
            backend.send(message)
        except DeliveryError as error:
            reason = str(error)
        except Exception as error:  # a bug must not leave the message claimed
            reason = f"unexpected {type(error).__name__}"
            log.error("Message %s: %s in the %s backend", message.id, reason, message.channel)
        else:
            self.failures_in_a_row[message.channel] = 0
            self.outcomes.sent.setdefault(backend.name, []).append(message.id)
            log.info(
                "Message %s (%s to %s) sent by %s",
                message.id,
                message.channel,
                message.masked_recipient,
                backend.name,
            )
            return
        self.failures_in_a_row[message.channel] = self.failures_in_a_row.get(message.channel, 0) + 1
        self.outcomes.failed.append((message, reason))

    def _defer_all(self, messages: list[Outgoing]) -> None:
        self.outcomes.returned.extend(message.id for message in messages)

    def _checkpoint(self, remaining: list[Outgoing]) -> None:
        self._write()
        now = utcnow()
        renew_claims([message.id for message in remaining], self.claimed_at, now)
        self.claimed_at = now
        self.outcomes = Outcomes.empty(now)
        self.renewed = time.monotonic()

    def _write(self) -> None:
        outcomes = self.outcomes
        keep_body = [b.name for b in self.backends.values() if b.keeps_body]
        statuses = record(outcomes, keep_body)
        self.counts.sent += sum(len(ids) for ids in outcomes.sent.values())
        self.counts.deferred += len(outcomes.deferred) + len(outcomes.returned)
        for message, reason in outcomes.failed:
            _log_failure(message, reason, statuses.get(message.id))
            if statuses.get(message.id) == "failed":
                self.counts.failed += 1
            else:
                self.counts.retrying += 1
        self.outcomes = Outcomes.empty(self.claimed_at)


def _log_failure(message: Outgoing, reason: str, status: str | None) -> None:
    if status == "failed":
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


def deliver_due(
    limit: int = 100, stop: threading.Event | None = None, *, housekeeping: bool = True
) -> DeliveryCounts:
    """Deliver up to `limit` due pending messages, oldest first; call in an app context.

    With `housekeeping`, first returns to pending the messages a stopped worker left in
    "sending" for longer than the claim timeout (such a message may have been sent
    already), and clears given-up messages whose code or link has died.
    """
    counts = DeliveryCounts()
    if housekeeping:
        counts.released += _housekeeping()
    messages, stale_ids = claim_batch(limit)
    counts.stale += len(stale_ids)
    for message_id in stale_ids:
        log.info("Message %s not sent: its code or link is no longer valid", message_id)
    if messages:
        counts += _Batch(messages, stop).run()
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


def run_worker(
    loop: bool = False,
    interval: float = 1.0,
    *,
    limit: int = 100,
    report: Callable[[DeliveryCounts], None] | None = None,
    stop: threading.Event | None = None,
) -> DeliveryCounts:
    """Deliver every due message; with `loop`, keep doing so every `interval` seconds.

    Call in an app context. `report` is called with the counts of each batch that did
    something. Without `loop` it returns when nothing due is left; with `loop` it returns
    after SIGTERM or Ctrl+C (finishing the message under way) or when `stop` is set.
    Database errors end a single run, but a looping worker logs them and carries on.
    Returns the totals.
    """
    totals = DeliveryCounts()
    own_stop = stop is None
    stop = stop or threading.Event()
    restore = _stop_on_signals(stop) if loop and own_stop else {}
    next_housekeeping = 0.0
    try:
        while not stop.is_set():
            try:
                due = time.monotonic() >= next_housekeeping
                if due:
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY
                counts = deliver_due(limit, stop, housekeeping=due)
            except Exception:
                if not loop:
                    raise
                log.exception("Outbox delivery failed; trying again in %s s", interval)
                counts = DeliveryCounts()
            totals += counts
            if report is not None and (counts.claimed or counts.released):
                report(counts)
            if counts.claimed >= limit and counts.deferred < counts.claimed:
                continue  # a full batch: more may be due right now
            if not loop or stop.wait(interval):
                break
    finally:
        for signum, handler in restore.items():
            signal.signal(signum, handler)
    return totals


def _stop_on_signals(stop: threading.Event) -> dict:
    """Let SIGTERM and SIGINT finish the message under way instead of cutting it off."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(signum, frame):
        log.info("Outbox worker stopping after the message under way")
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
