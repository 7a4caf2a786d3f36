"""The outbox worker as a real process (issue 19.1): killed with SIGKILL in the middle of
a batch, it repeats at most the message it had on the wire, and loses none.

The worker runs as `flask outbox deliver --loop` against an SQLite file, sending to a real
SMTP server (aiosmtpd) that takes 0.1 s per message and notes every Message-ID it accepts.
"""

import asyncio
import collections
import os
import signal
import subprocess
import sys
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select
from support import (
    PRODUCTION_ENVIRONMENT,
    PROJECT_ROOT,
    SmtpServer,
    app_on_database,
    wait_for,
    with_test_templates,
)

from ebok.extensions import db
from ebok.messages import send_email
from ebok.models import OutboxMessage

MESSAGES = 40


class SlowCountingSink(SmtpServer):
    """Takes 0.1 s over each message, then notes its Message-ID and answers 250."""

    def __init__(self):
        super().__init__()
        self.message_ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.1)
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.message_ids.append(parsed["Message-ID"])
        return "250 Message accepted"


@pytest.fixture
def sink():
    server = SlowCountingSink().start()
    yield server
    server.stop()


@pytest.fixture
def outbox_database(tmp_path):
    uri = f"sqlite:///{tmp_path}/outbox.db"
    app = with_test_templates(app_on_database(uri))
    with app.app_context():
        db.create_all()
        for n in range(MESSAGES):
            with app.test_request_context():
                send_email(f"klient{n}@example.pl", "Faktura", "_test/hello", name="Jan", code=n)
        db.session.commit()
        db.session.remove()
    yield app, uri
    with app.app_context():
        db.engine.dispose()


def _start_worker(uri: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        **PRODUCTION_ENVIRONMENT,  # production refuses to start without them
        "FLASK_SQLALCHEMY_DATABASE_URI": uri,
        "FLASK_MAIL_BACKEND": "smtp",
        "FLASK_MAIL_SERVER": "127.0.0.1",
        "FLASK_MAIL_PORT": str(port),
        # Claims last 2 x 3 s: long enough for checkpoints of many messages, should the
        # worker record at checkpoints; short enough for the test.
        "FLASK_MAIL_TIMEOUT": "3",
        "FLASK_SMS_TIMEOUT": "3",
        "FLASK_SMS_BACKEND": "dev",
        "FLASK_OUTBOX_SENDERS_PER_CHANNEL": "1",
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "flask", "--app", "app", "outbox", "deliver", "--loop"]
        + ["--interval", "0.1"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _statuses(app) -> dict[str, int]:
    with app.app_context():
        counts = db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
        db.session.remove()
    return dict(counts)


@pytest.mark.slow
def test_a_killed_worker_repeats_at_most_the_message_on_the_wire(outbox_database, sink):
    app, uri = outbox_database
    workers = []
    try:
        for kill_after in (10, 25):
            worker = _start_worker(uri, sink.port)
            workers.append(worker)
            wait_for(lambda n=kill_after: len(sink.message_ids) >= n, f"{kill_after} messages")
            worker.send_signal(signal.SIGKILL)  # mid-batch: no chance to record anything
            worker.wait(timeout=10)
        workers.append(_start_worker(uri, sink.port))
        # The last worker takes over the dead ones' claims once they time out (6 s).
        wait_for(lambda: _statuses(app) == {"sent": MESSAGES}, "every message sent", 60)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=30)

    times_received = collections.Counter(sink.message_ids)
    assert len(times_received) == MESSAGES  # none lost
    repeated = sum(times - 1 for times in times_received.values())
    # Each kill may repeat the one message whose 250 came before its outcome was saved.
    assert repeated <= 2, f"{repeated} messages sent twice"
