"""A machine-wide bound on password hashes running at once, and admission control for the
ones that would wait too long (README, "Login storms").

An argon2 hash keeps a core busy for a fifth of a second; everything else the site serves is
cheap. Every hash (a login's verify, a current password's, a new password's) runs inside
`admitted()`, which lets at most HASHING_SLOTS of them run on this machine at once (the
cores, by default), whichever process or thread asks, so the hashes never take every core
from the pages. A hash that finds no free slot waits in a machine-wide queue of bounded
length, sized so that its last place is served within HASHING_WAIT_LIMIT seconds at the
speed the hashes have been going; when the queue is full, or a waiter is still not served
after that bound, HashingBusy is raised at once: the view answers 503 with Retry-After.

The primitive is an exclusive `flock` on one of N files in a folder (HASHING_GATE_DIR):
the kernel releases it when its file is closed, so a worker killed in the middle of a hash
(gunicorn's timeout, the OOM killer) gives its slot back; a POSIX counting semaphore would
lose that slot until the next restart. The queue's places are files locked the same way.
A process's waiting threads queue in order behind one of them, which tries the slots again
whenever a slot of this process is freed and every POLL_SECONDS otherwise (a slot freed by
another process).
"""

import fcntl
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g
from flask.wrappers import Response

from ebok.identity import throttle

# How often the first waiter of a process looks for a slot another process freed: a small
# part of one hash (~200 ms), and cheap (an open and a flock per slot).
POLL_SECONDS = 0.005
# The estimate of one hash's seconds before any was measured in this process.
FIRST_ESTIMATE = 0.25
# Weight of the latest hash in the running estimate.
SMOOTHING = 0.2


class HashingBusy(Exception):
    """So many hashes wait on this machine that this one would wait past the bound; the
    customer may try again in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"password hashing busy; retry after {retry_after} s")
        self.retry_after = retry_after


class _Waiting:
    """This process's threads waiting for a slot, in order, and the running estimate of
    one hash's duration."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.queue: deque[object] = deque()
        self.seconds: float | None = None
        self.folders: set[str] = set()


_waiting = _Waiting()


def _forget_parent() -> None:
    global _waiting
    _waiting = _Waiting()


# A forked child (a gunicorn worker) starts with its own, empty queue.
os.register_at_fork(after_in_child=_forget_parent)


def init_app(app: Flask) -> None:
    app.after_request(_tell_when_to_retry)


def _tell_when_to_retry(response: Response) -> Response:
    """A 503 because of a hash refused in this request (on the form, or the error page)
    says when to try again: Retry-After is the gate's, not a rate limit's."""
    retry_after = g.get("ebok_hashing_busy")
    if retry_after is not None and response.status_code == 503:
        throttle.report_no_limit()
        response.headers["Retry-After"] = str(retry_after)
    return response


def slots() -> int:
    """HASHING_SLOTS, or the cores this process may run on."""
    return current_app.config["HASHING_SLOTS"] or len(os.sched_getaffinity(0))


def queue_length(slot_count: int) -> int:
    """HASHING_QUEUE, or as many waiters as the slots serve within HASHING_WAIT_LIMIT at
    the speed measured."""
    configured = current_app.config["HASHING_QUEUE"]
    if configured is not None:
        return int(configured)
    seconds = _waiting.seconds or FIRST_ESTIMATE
    return math.floor(current_app.config["HASHING_WAIT_LIMIT"] * slot_count / seconds)


@contextmanager
def admitted() -> Iterator[None]:
    """Runs the block holding one of the machine's hashing slots; raises HashingBusy
    (before running it) when the wait would pass HASHING_WAIT_LIMIT."""
    folder = _folder()
    slot_count = slots()
    slot = _take_slot(folder, slot_count)
    started = time.perf_counter()
    try:
        yield
    finally:
        os.close(slot)
        _measured(time.perf_counter() - started)
        with _waiting.changed:
            _waiting.changed.notify_all()


def _take_slot(folder: Path, slot_count: int) -> int:
    """A held slot's descriptor. A newcomer never passes a waiting thread of this process;
    one that must wait takes a place in the queue first."""
    with _waiting.changed:
        if not _waiting.queue:
            slot = _lock_any(folder, "slot", slot_count)
            if slot is not None:
                return slot
    place = _lock_any(folder, "queue", queue_length(slot_count))
    if place is None:
        raise _busy()
    try:
        slot = _wait_in_turn(folder, slot_count)
    finally:
        os.close(place)
    if slot is None:
        raise _busy()
    return slot


def _wait_in_turn(folder: Path, slot_count: int) -> int | None:
    """Waits behind this process's earlier waiters, then for a slot, until the bound."""
    deadline = time.monotonic() + current_app.config["HASHING_WAIT_LIMIT"]
    me = object()
    with _waiting.changed:
        _waiting.queue.append(me)
        try:
            while True:
                first = _waiting.queue[0] is me
                if first:
                    slot = _lock_any(folder, "slot", slot_count)
                    if slot is not None:
                        return slot
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                _waiting.changed.wait(min(POLL_SECONDS, remaining) if first else remaining)
        finally:
            _waiting.queue.remove(me)
            _waiting.changed.notify_all()


def _lock_any(folder: Path, kind: str, count: int) -> int | None:
    """An exclusive lock on one of `count` files of `kind`, tried from a random one, or
    None when every one is held. Each try opens the file anew: flock locks belong to an
    open file, so two threads of one process exclude each other too."""
    if count <= 0:
        return None
    first = random.randrange(count)  # noqa: S311 (spreading the tries, not a secret)
    for offset in range(count):
        descriptor = os.open(
            folder / f"{kind}-{(first + offset) % count}",
            os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
            0o600,
        )
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        return descriptor
    return None


def _folder() -> Path:
    configured = current_app.config["HASHING_GATE_DIR"]
    folder = Path(configured or Path(current_app.instance_path) / "hashing-gate")
    if str(folder) not in _waiting.folders:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _waiting.folders.add(str(folder))
    return folder


def _measured(seconds: float) -> None:
    previous = _waiting.seconds
    _waiting.seconds = seconds if previous is None else previous + SMOOTHING * (seconds - previous)


def _busy() -> HashingBusy:
    retry_after = int(current_app.config["HASHING_RETRY_AFTER"])
    g.ebok_hashing_busy = retry_after
    return HashingBusy(retry_after)
