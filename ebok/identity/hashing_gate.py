"""A machine-wide bound on password hashes running at once, and admission control for the
ones that would wait too long (README, "Login storms").

An argon2 hash keeps a core busy for a fifth of a second; everything else the site serves is
cheap. Every hash (a login's verify, a current password's, a new password's) runs inside
`admitted()`, which lets at most HASHING_SLOTS of them run on this machine at once (the
cores, by default), whichever process or thread asks, so the hashes never take every core
from the pages. A hash that finds no free slot waits its turn in a machine-wide queue,
first come first served, of bounded length: as many as are served within
HASHING_WAIT_LIMIT seconds at the pace the queue has been served. When the queue is full,
or a waiter is still not served after that bound, HashingBusy is raised at once: the view
answers 503 with Retry-After.

The primitive is an exclusive `flock` on one of N files in a folder (HASHING_GATE_DIR):
the kernel releases it when its file is closed, so a worker killed in the middle of a hash
(gunicorn's timeout, the OOM killer) gives its slot back; a POSIX counting semaphore would
lose that slot until the next restart. The queue is a ticket counter in the folder's
`turns` file (the next ticket, the ticket served now, and the pace at which tickets have
been served; read and written under a `flock` of that file): each waiter holds a lock on
a place file with its ticket written in it, so a waiter that gave up or died is seen (its
place is not locked) and passed over.
"""

import fcntl
import math
import os
import random
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import after_this_request, current_app, g, has_request_context
from flask.wrappers import Response

from ebok.identity import throttle

# How often the first in line looks for a slot another process freed: a small part of one
# hash (~200 ms), and cheap (an open and a flock per slot); the others look less often, at
# most MAX_PAUSE apart.
POLL_SECONDS = 0.005
MAX_PAUSE = 0.05
# A waiter far from the front that sees the queue still for this long looks properly
# (passing over waiters ahead that are gone).
STUCK_SECONDS = 0.5
# Place files of the queue, reused in turn: more than any queue's length.
RING = 4096
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
    """This process's view of the gate: the `turns` file of each folder, the threads of
    this process waiting, and the running estimate of one hash's duration."""

    def __init__(self) -> None:
        self.changed = threading.Condition()  # a slot of this process was freed
        self.turns_lock = threading.Lock()  # flock does not exclude this process's threads
        self.turns: dict[str, int] = {}
        self.waiting = 0
        self.seconds: float | None = None


_waiting = _Waiting()


def _forget_parent() -> None:
    global _waiting
    _waiting = _Waiting()


# A forked child (a gunicorn worker) starts with its own descriptors and estimate.
os.register_at_fork(after_in_child=_forget_parent)


def _tell_when_to_retry(response: Response) -> Response:
    """A 503 because of a hash refused in this request (on the form, or the error page)
    says when to try again: Retry-After is the gate's, not a rate limit's."""
    retry_after = g.ebok_hashing_busy
    if response.status_code == 503:
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
    return math.floor(current_app.config["HASHING_WAIT_LIMIT"] * slot_count / _estimate())


@contextmanager
def admitted(before_waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Runs the block holding one of the machine's hashing slots; raises HashingBusy
    (before running it) when the wait would pass HASHING_WAIT_LIMIT. `before_waiting` is
    called when there is a wait (to give back what the wait should not hold)."""
    folder = _folder()
    slot = _take_slot(folder, slots(), before_waiting)
    started = time.perf_counter()
    try:
        yield
    finally:
        os.close(slot)
        _measured(time.perf_counter() - started)
        with _waiting.changed:
            _waiting.changed.notify_all()


def waiting() -> int:
    """Threads of this process waiting for a slot."""
    return _waiting.waiting


def _take_slot(folder: Path, slot_count: int, before_waiting: Callable[[], None] | None) -> int:
    """A held slot's descriptor: at once when nobody waits and a slot is free, otherwise
    after every earlier ticket of the machine's queue."""
    deadline = time.monotonic() + current_app.config["HASHING_WAIT_LIMIT"]
    with _turns(folder) as turns:
        next_ticket, serving = turns.read()
        serving = turns.pass_over_absent(serving, next_ticket)
        if serving == next_ticket:
            slot = _lock_any(folder, "slot", slot_count)
            if slot is not None:
                turns.write(next_ticket, serving)
                turns.served(queued=False)
                return slot
        if _full(turns, next_ticket - serving, slot_count):
            turns.write(next_ticket, serving)
            raise _busy()
        ticket = next_ticket
        place = turns.take_place(ticket)
        turns.write(ticket + 1, serving)
    try:
        if before_waiting is not None:
            before_waiting()
        slot = _wait_for_turn(folder, slot_count, ticket, deadline)
    finally:
        os.close(place)  # served or gone: the ticket is passed over from now on
    if slot is None:
        raise _busy()
    return slot


def _full(turns: "_Turns", waiting: int, slot_count: int) -> bool:
    """Whether a new waiter would wait past HASHING_WAIT_LIMIT: HASHING_QUEUE waiters, or
    else as many as the queue serves within the bound at the pace it has been served
    (or, before any queue, at the slots' speed)."""
    if waiting >= min(queue_length(slot_count), RING - 1):
        return True
    pace = turns.pace()
    if current_app.config["HASHING_QUEUE"] is not None or pace is None:
        return False
    return (waiting + 1) * pace > current_app.config["HASHING_WAIT_LIMIT"]


def _wait_for_turn(folder: Path, slot_count: int, ticket: int, deadline: float) -> int | None:
    """When every earlier ticket is served or gone, a slot; None at the deadline."""
    with _waiting.changed:
        _waiting.waiting += 1
    seen, moved = -1, time.monotonic()
    try:
        while True:
            # Far from the front, a glance at the counter (no lock) is enough; near it, or
            # when the queue has not moved for a while (a waiter ahead gone), a proper look.
            serving = _glance(folder)
            if serving != seen:
                seen, moved = serving, time.monotonic()
            if ticket - serving <= slot_count or time.monotonic() - moved > STUCK_SECONDS:
                with _turns(folder) as turns:
                    next_ticket, serving = turns.read()
                    serving = turns.pass_over_absent(serving, ticket)
                    if serving >= ticket:  # this one's turn (or it was passed over: go)
                        slot = _lock_any(folder, "slot", slot_count)
                        if slot is not None:
                            turns.write(next_ticket, max(serving, ticket + 1))
                            turns.served(queued=True, more_waiting=next_ticket > ticket + 1)
                            return slot
                    turns.write(next_ticket, serving)
                moved = time.monotonic()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            # The first in line look often; the others about when their turn may come.
            ahead = ticket - serving - slot_count
            pause = ahead * _estimate() / slot_count / 2
            with _waiting.changed:
                _waiting.changed.wait(min(max(pause, POLL_SECONDS), MAX_PAUSE, remaining))
    finally:
        with _waiting.changed:
            _waiting.waiting -= 1


class _Turns:
    """The queue's counters, read and written while the `turns` file is locked."""

    def __init__(self, folder: Path, descriptor: int) -> None:
        self.folder = folder
        self.descriptor = descriptor

    def read(self) -> tuple[int, int]:
        data = os.pread(self.descriptor, 16, 0)
        if len(data) < 16:
            return 0, 0
        next_ticket, serving = struct.unpack("<QQ", data)
        return next_ticket, serving

    def write(self, next_ticket: int, serving: int) -> None:
        os.pwrite(self.descriptor, struct.pack("<QQ", next_ticket, serving), 0)

    def pace(self) -> float | None:
        """Seconds between two tickets served, while there was a queue (None: unknown)."""
        data = os.pread(self.descriptor, 16, 16)
        if len(data) < 16:
            return None
        interval = struct.unpack("<QQ", data)[1]
        return interval / 1e9 if interval else None

    def served(self, *, queued: bool, more_waiting: bool = False) -> None:
        """A slot was taken now: from the queue, or at once. The pace is measured only
        from one ticket to the next while others still waited (the slots busy all along):
        time with nobody waiting says nothing of how fast a queue moves."""
        now = time.monotonic_ns()  # the same clock in every process of the machine
        data = os.pread(self.descriptor, 16, 16)
        last, interval = struct.unpack("<QQ", data) if len(data) == 16 else (0, 0)
        if queued and last:  # the previous ticket served left this one waiting
            # At most half the bound: a queue of two is always let form, so the pace of a
            # machine that was starved for a while is measured again.
            since = min(now - last, int(current_app.config["HASHING_WAIT_LIMIT"] * 1e9 / 2))
            interval = since if not interval else int(interval + SMOOTHING * (since - interval))
        last = now if more_waiting else 0
        os.pwrite(self.descriptor, struct.pack("<QQ", last, interval), 16)

    def take_place(self, ticket: int) -> int:
        """Locks the ticket's place file and writes the ticket in it."""
        place = _open(self.folder / f"place-{ticket % RING}")
        fcntl.flock(place, fcntl.LOCK_EX)  # free: its previous ticket is RING behind
        os.pwrite(place, struct.pack("<Q", ticket), 0)
        return place

    def pass_over_absent(self, serving: int, upto: int) -> int:
        """The first ticket from `serving` on (before `upto`) whose waiter still waits."""
        while serving < upto and not self._waits(serving):
            serving += 1
        return serving

    def _waits(self, ticket: int) -> bool:
        place = _open(self.folder / f"place-{ticket % RING}")
        try:
            try:
                fcntl.flock(place, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.pread(place, 8, 0) == struct.pack("<Q", ticket)
            return False  # nobody holds it: that waiter was served, gave up or died
        finally:
            os.close(place)


@contextmanager
def _turns(folder: Path) -> Iterator[_Turns]:
    key = str(folder)
    with _waiting.turns_lock:
        descriptor = _waiting.turns.get(key)
        if descriptor is None:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = _waiting.turns[key] = _open(folder / "turns")
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield _Turns(folder, descriptor)
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


def _glance(folder: Path) -> int:
    """The ticket served now, read without the lock (only to decide when to look again)."""
    data = os.pread(_waiting.turns[str(folder)], 16, 0)
    return struct.unpack("<QQ", data)[1] if len(data) == 16 else 0


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _lock_any(folder: Path, kind: str, count: int) -> int | None:
    """An exclusive lock on one of `count` files of `kind`, tried from a random one, or
    None when every one is held. Each try opens the file anew: flock locks belong to an
    open file, so two threads of one process exclude each other too."""
    first = random.randrange(count)  # noqa: S311 (spreading the tries, not a secret)
    for offset in range(count):
        descriptor = _open(folder / f"{kind}-{(first + offset) % count}")
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        return descriptor
    return None


def _folder() -> Path:
    configured = current_app.config["HASHING_GATE_DIR"]
    return Path(configured or Path(current_app.instance_path) / "hashing-gate")


def _estimate() -> float:
    return _waiting.seconds or FIRST_ESTIMATE


def _measured(seconds: float) -> None:
    previous = _waiting.seconds
    _waiting.seconds = seconds if previous is None else previous + SMOOTHING * (seconds - previous)


def _busy() -> HashingBusy:
    retry_after = int(current_app.config["HASHING_RETRY_AFTER"])
    if has_request_context() and "ebok_hashing_busy" not in g:
        after_this_request(_tell_when_to_retry)
    g.ebok_hashing_busy = retry_after
    return HashingBusy(retry_after)
