"""Handing outbox messages to their backends: right after a request, and by the worker."""

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from functools import partial

from flask import Flask, current_app, g

from ebok.messages.backends import BACKENDS, CONFIG_KEYS, DeliveryError, backend_for
from ebok.messages.outbox import (
    G_KEY,
    claim,
    due_ids,
    mark_failed_attempt,
    mark_sent,
    release_stuck,
)

log = logging.getLogger("ebok.messages")


@dataclass
class DeliveryCounts:
    """What one run did with the messages it looked at."""

    sent: int = 0
    retrying: int = 0  # failed this time, back to pending with a later next_attempt_at
    failed: int = 0  # failed for the last time (OUTBOX_MAX_ATTEMPTS)
    skipped: int = 0  # not there to take: another worker had it, or it rolled back
    released: int = 0  # left in "sending" by a worker that died, made pending again

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed

    def __add__(self, other: "DeliveryCounts") -> "DeliveryCounts":
        return DeliveryCounts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def __str__(self) -> str:
        return ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields(self))


_RESULT_FIELD = {"sent": "sent", "pending": "retrying", "failed": "failed", None: "skipped"}


class _Backends:
    """One backend per channel for a run, made when first needed."""

    def __init__(self, config) -> None:
        self.config = config
        self.made = {}

    def __getitem__(self, channel: str):
        if channel not in self.made:
            self.made[channel] = backend_for(channel, self.config)
        return self.made[channel]


def deliver_message(message_id: int, backends: _Backends | None = None) -> str | None:
    """Claim one message and hand it to its backend.

    Returns the message's new status ("sent", "pending" for a retry, "failed"), or None
    if the message was not there to claim.
    """
    backends = backends or _Backends(current_app.config)
    message = claim(message_id)
    if message is None:
        return None
    try:
        backend = backends[message.channel]
        backend.send(message)
    except DeliveryError as error:
        reason = str(error)
    except Exception as error:  # a bug must not leave the message claimed for 10 minutes
        reason = f"unexpected {type(error).__name__}"
        log.error("Message %s: %s in the %s backend", message.id, reason, message.channel)
    else:
        mark_sent(message, backend.name)
        log.info(
            "Message %s (%s to %s) sent by %s",
            message.id,
            message.channel,
            message.masked_recipient,
            backend.name,
        )
        return "sent"

    status = mark_failed_attempt(message, reason)
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
    return status


def deliver_ids(message_ids: Iterable[int]) -> DeliveryCounts:
    """Deliver the given messages if they are pending and due (e.g. just committed)."""
    counts = DeliveryCounts()
    backends = _Backends(current_app.config)
    for message_id in message_ids:
        _count(counts, deliver_message(message_id, backends))
    return counts


def deliver_due(limit: int = 100, stop: threading.Event | None = None) -> DeliveryCounts:
    """Deliver up to `limit` due pending messages, oldest first; call in an app context.

    First returns to pending the messages a crashed worker left in "sending" for more
    than ten minutes; such a message may have been sent already and may go out twice.
    """
    counts = DeliveryCounts()
    for message_id, status in release_stuck():
        counts.released += 1
        log.warning(
            "Message %s was left in 'sending' by a stopped worker; now %s (it may be sent twice)",
            message_id,
            status,
        )
    backends = _Backends(current_app.config)
    for message_id in due_ids(limit):
        if stop is not None and stop.is_set():
            break
        _count(counts, deliver_message(message_id, backends))
    return counts


def _count(counts: DeliveryCounts, status: str | None) -> None:
    field = _RESULT_FIELD[status]
    setattr(counts, field, getattr(counts, field) + 1)


def run_worker(
    loop: bool = False,
    interval: float = 5.0,
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
    try:
        while not stop.is_set():
            try:
                counts = deliver_due(limit, stop)
            except Exception:
                if not loop:
                    raise
                log.exception("Outbox delivery failed; trying again in %s s", interval)
                counts = DeliveryCounts()
            totals += counts
            if report is not None and (counts.attempted or counts.released):
                report(counts)
            if counts.attempted + counts.skipped >= limit:
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


# -- right after the request ------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Check the backend choices and deliver each request's messages after its response."""
    for channel, key in CONFIG_KEYS.items():
        choice = app.config.get(key) or "dev"
        if choice not in BACKENDS[channel]:
            raise ValueError(f"{key}={choice!r} is not one of: {', '.join(BACKENDS[channel])}")
    if app.config.get("SMS_BACKEND") == "http" and not app.config.get("SMS_GATEWAY_URL"):
        log.warning("SMS_BACKEND is http but SMS_GATEWAY_URL is not set; SMS will not go out")
    app.after_request(_deliver_after_response)


def _deliver_after_response(response):
    """Hand this request's messages to their backends once the response has been sent.

    The WSGI server calls the response's close() after writing it (gunicorn, the
    development server; the test client on response.close() or `with client.get(...)`),
    which is after the request context, and its database session, are gone: messages
    whose transaction rolled back no longer exist and are skipped.
    """
    message_ids = g.pop(G_KEY, None)
    if message_ids and current_app.config.get("OUTBOX_DELIVER_AFTER_REQUEST", True):
        app = current_app._get_current_object()
        response.call_on_close(partial(_deliver_in_new_context, app, tuple(message_ids)))
    return response


def _deliver_in_new_context(app: Flask, message_ids: tuple[int, ...]) -> None:
    with app.app_context():
        try:
            deliver_ids(message_ids)
        except Exception:
            # Nothing is lost: the messages stay pending for the worker.
            log.exception("Delivering messages %s after the request failed", message_ids)
