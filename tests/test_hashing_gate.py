"""The machine's hashing slots and the busy answer (ebok/identity/hashing_gate.py): a slot
held elsewhere is a lock another open file holds, as another process's would be."""

import fcntl
import os
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.pool import QueuePool
from support import TEST_PASSWORD, WAIT, field_value, text_of, wait_for

from ebok.extensions import db
from ebok.identity import accounts, hashing_gate, passwords
from ebok.identity.hashing_gate import HashingBusy
from ebok.identity.passwords import hash_password, verify_password
from ebok.models import Account

BUSY_PL = "Wielu klientów loguje się teraz. Spróbuj ponownie za 5 sekund."


class HeldSlots:
    """Locks on the gate's files, as other processes hashing would hold them."""

    def __init__(self, app):
        self.folder = Path(app.config["HASHING_GATE_DIR"])
        self.folder.mkdir(parents=True, exist_ok=True)
        self.held: list[int] = []

    def hold(self, kind: str, count: int, first: int = 0) -> None:
        for number in range(first, first + count):
            descriptor = os.open(self.folder / f"{kind}-{number}", os.O_RDWR | os.O_CREAT)
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.held.append(descriptor)

    def release(self) -> None:
        while self.held:
            os.close(self.held.pop())


@pytest.fixture
def held(app):
    slots = HeldSlots(app)
    try:
        yield slots
    finally:
        slots.release()


@pytest.mark.config(HASHING_SLOTS=2, HASHING_QUEUE=0)
def test_a_hash_runs_while_a_slot_is_free_and_is_refused_at_once_when_none_is(app, held):
    with app.app_context():
        held.hold("slot", 1)
        assert verify_password(hash_password(TEST_PASSWORD), TEST_PASSWORD)
        held.hold("slot", 1, first=1)  # the second too: the machine hashes all it may
        with pytest.raises(HashingBusy) as refused:
            verify_password(None, TEST_PASSWORD)
        assert refused.value.retry_after == 5


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=1)
def test_a_waiter_takes_the_slot_when_it_is_freed_and_a_second_finds_the_queue_full(app, held):
    held.hold("slot", 1)
    outcome = []

    def verify():
        with app.app_context():
            outcome.append(verify_password(None, TEST_PASSWORD))

    waiter = threading.Thread(target=verify)
    waiter.start()
    wait_for(hashing_gate.waiting, "the hash to wait for a slot")
    with app.app_context(), pytest.raises(HashingBusy):
        verify_password(None, TEST_PASSWORD)  # the queue's one place is taken
    held.release()
    waiter.join(WAIT)
    assert outcome == [False]  # hashed (no account), not refused


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=5, HASHING_WAIT_LIMIT=0.2)
def test_no_hash_waits_past_the_bound(app, held):
    held.hold("slot", 1)
    with app.app_context(), pytest.raises(HashingBusy):
        verify_password(None, TEST_PASSWORD)
    assert hashing_gate.waiting() == 0


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=0)
def test_a_slot_held_by_a_process_that_dies_is_free_again(app):
    folder = Path(app.config["HASHING_GATE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "d = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(d, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(600)\n",
            str(folder / "slot-0"),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with app.app_context(), pytest.raises(HashingBusy):
            verify_password(None, TEST_PASSWORD)
        holder.send_signal(signal.SIGKILL)  # a worker killed in the middle of a hash
        holder.wait(WAIT)
        with app.app_context():
            assert verify_password(None, TEST_PASSWORD) is False
    finally:
        holder.kill()
        holder.wait(WAIT)
        if holder.stdout is not None:
            holder.stdout.close()


@pytest.mark.config(HASHING_SLOTS=2, HASHING_QUEUE=None, HASHING_WAIT_LIMIT=10)
def test_the_queue_is_what_the_slots_serve_within_the_bound(app, monkeypatch):
    with app.app_context():
        monkeypatch.setattr(hashing_gate._waiting, "seconds", 0.2)
        assert hashing_gate.queue_length(2) == 100  # 10 s × 2 slots ÷ 0.2 s
        monkeypatch.setattr(hashing_gate._waiting, "seconds", 0.4)  # a slower machine
        assert hashing_gate.queue_length(2) == 50


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=0)
def test_a_login_past_the_bound_is_answered_503_keeping_the_login(
    app, visitor, auth, customers, held
):
    held.hold("slot", 1)
    # More than the per-account limit (5): refused logins checked nothing, so none counts.
    for _ in range(7):
        response = auth.post_login("200005", TEST_PASSWORD)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert "X-RateLimit-Remaining" not in response.headers
        assert BUSY_PL in text_of(response)
        assert field_value(response, "login") == "200005"
        assert TEST_PASSWORD not in response.get_data(as_text=True)
    held.release()
    assert auth.log_in("200005").status_code == 200


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=0)
def test_the_busy_answer_is_in_the_visitors_language(app, make_visitor, customers, held):
    held.hold("slot", 1)
    for language, words in (
        ("en", "Many customers are logging in right now. Try again in 5 seconds."),
        ("uk", "Зараз входить багато клієнтів. Спробуйте ще раз через 5 секунд."),
    ):
        visitor = make_visitor()
        visitor.client.set_cookie("language", language)
        visitor.get("/")
        response = visitor.post("/", {"login": "200005", "password": TEST_PASSWORD})
        assert response.status_code == 503
        assert words in text_of(response)


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=0)
def test_a_current_password_past_the_bound_is_answered_503(app, visitor, auth, customers, held):
    auth.log_in("200005")
    visitor.get("/moje-konto/haslo")
    held.hold("slot", 1)
    new_password = "Nowe#Haslo2"
    response = visitor.post(
        "/moje-konto/haslo",
        {
            "current_password": TEST_PASSWORD,
            "password": new_password,
            "password_repeat": new_password,
        },
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert BUSY_PL in text_of(response)


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=1)
def test_a_ticket_whose_waiter_died_is_passed_over(app):
    folder = Path(app.config["HASHING_GATE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    # The queue says ticket 0 waits (the next ticket is 1, ticket 0 is served now), but no
    # process holds its place: its waiter died.
    (folder / "turns").write_bytes(struct.pack("<QQ", 1, 0))
    with app.app_context():
        assert verify_password(None, TEST_PASSWORD) is False
    assert struct.unpack("<QQ", (folder / "turns").read_bytes()[:16]) == (1, 1)


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=3)
def test_waiters_are_served_in_the_order_they_came(app, held, monkeypatch):
    served = []

    class Hasher:
        """Notes which thread hashes, as it hashes (holding the slot)."""

        def hash(self, password):
            served.append(threading.current_thread().name)

    monkeypatch.setattr(passwords, "_hasher", Hasher)
    held.hold("slot", 1)

    def verify():
        with app.app_context():
            verify_password(None, TEST_PASSWORD)

    waiters = []
    for count, name in enumerate(("first", "second", "third"), start=1):
        waiter = threading.Thread(target=verify, name=name)
        waiter.start()
        waiters.append(waiter)
        wait_for(lambda n=count: hashing_gate.waiting() == n, f"the {name} to wait")
    held.release()
    for waiter in waiters:
        waiter.join(WAIT)
    assert served == ["first", "second", "third"]


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=None, HASHING_WAIT_LIMIT=10)
def test_a_queue_served_slower_than_the_bound_admits_no_one(app, held):
    folder = Path(app.config["HASHING_GATE_DIR"])
    # Tickets have lately been served 11 s apart (a machine starved of CPU): even the first
    # in line would wait past the bound, so the answer comes at once.
    (folder / "turns").write_bytes(struct.pack("<QQQQ", 0, 0, 0, 11 * 10**9))
    held.hold("slot", 1)
    with app.app_context(), pytest.raises(HashingBusy):
        verify_password(None, TEST_PASSWORD)
    held.release()
    with app.app_context():
        assert verify_password(None, TEST_PASSWORD) is False  # a free slot: no queue at all


@pytest.mark.config(HASHING_SLOTS=1, HASHING_QUEUE=1)
def test_a_waiting_check_holds_no_database_connection(app, held):
    """Waiting logins must not take every pooled connection from the pages."""
    held.hold("slot", 1)
    outcome = []

    def log_in():
        with app.app_context():
            account = db.session.scalars(select(Account)).first()  # the login's reads
            outcome.append(verify_password(account.password_hash if account else None, "x"))

    with app.app_context():
        pool = db.engine.pool
        assert isinstance(pool, QueuePool)
        before = pool.checkedout()
    waiter = threading.Thread(target=log_in)
    waiter.start()
    wait_for(hashing_gate.waiting, "the check to wait for a slot")
    assert pool.checkedout() == before
    held.release()
    waiter.join(WAIT)
    assert outcome == [False]


def test_a_hash_of_the_old_parameters_is_redone_at_login(app, visitor, auth, customers):
    """p=4 (the parameters before the hashing gate) becomes the configured p=1."""
    with app.app_context():
        old = PasswordHasher(
            time_cost=app.config["ARGON2_TIME_COST"],
            memory_cost=app.config["ARGON2_MEMORY_COST"],
            parallelism=4,
        ).hash(TEST_PASSWORD)
        db.session.execute(update(Account).values(password_hash=old))
        db.session.commit()
    auth.log_in()
    with app.app_context():
        stored = db.session.scalars(select(Account.password_hash)).one()
    assert stored != old and ",p=1$" in stored


def test_a_rehash_the_machine_is_too_busy_for_waits_for_another_login(
    app, visitor, auth, customers, monkeypatch
):
    with app.app_context():
        before = db.session.scalars(select(Account.password_hash)).one()
    app.config["ARGON2_TIME_COST"] += 1  # the stored hash has older parameters

    def busy(password):
        raise HashingBusy(5)

    monkeypatch.setattr(accounts, "hash_password", busy)
    assert auth.log_in().status_code == 200  # the password was right: logged in
    with app.app_context():
        assert db.session.scalars(select(Account.password_hash)).one() == before
