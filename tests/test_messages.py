"""The outbox and its backends (SPEC §7): written with the change, sent once, retried."""

import email
import email.message
import email.policy
import http.client
import json
import logging
import os
import re
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Blueprint, Flask, abort, request
from sqlalchemy import event, select, update
from support import (
    PRODUCTION_ENVIRONMENT,
    app_on_database,
    ensure_database,
    found,
    last_link,
    outbox,
    text_of,
    wait_for,
    with_test_templates,
)

from ebok import messages
from ebok.cli import retry_command, status_command
from ebok.config import DEFAULTS
from ebok.extensions import db
from ebok.messages import (
    DeliveryCounts,
    backend_for,
    deliver_due,
    run_worker,
    send_email,
    send_sms,
    wakeup,
)
from ebok.messages.backends import HttpSmsBackend, SmtpBackend
from ebok.messages.outbox import backoff, claim_batch, release_stuck
from ebok.models import Customer, OutboxMessage, Verification, utcnow

PROJECT_ROOT = Path(__file__).resolve().parent.parent

EMAIL = "jan.kowalski@example.pl"
MASKED_EMAIL = "j***@example.pl"
PHONE = "+48512345678"
MASKED_PHONE = "+48 *** *** 678"
CODE = "482916"
LINK = "https://strefa.example.test/rejestracja/link/Zx81-secret-token"
SUBJECT = "Rejestracja w Strefie Klienta – potwierdź adres"
SECRETS = (CODE, LINK, EMAIL, PHONE)


# -- fixtures ---------------------------------------------------------------------------


def msg_make_app(database_uri: str, **config) -> Flask:
    """A small app with just the database and the messages machinery."""
    app = Flask("msg_test_app", template_folder=str(PROJECT_ROOT / "templates"))
    app.config.from_mapping(DEFAULTS)
    app.config.update(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "RATELIMIT_STORAGE_URI": "memory://",
            "MAIL_BACKEND": "dev",
            "SMS_BACKEND": "dev",
            "SMS_GATEWAY_TOKEN": "gateway-token-123",
        }
    )
    app.config.update(config)
    db.init_app(app)
    messages.init_app(app)
    app.register_blueprint(_msg_routes())
    return with_test_templates(app)


def _msg_routes() -> Blueprint:
    bp = Blueprint("msg_test", __name__)

    @bp.post("/msg-test/commit")
    def commit():
        send_sms(request.form["to"], "_test/hello", code=CODE)
        db.session.commit()
        return "sent"

    @bp.post("/msg-test/rollback")
    def rollback():
        send_sms(request.form["to"], "_test/hello", code=CODE)
        db.session.rollback()
        return "rolled back"

    @bp.post("/msg-test/error")
    def error():
        send_sms(request.form["to"], "_test/hello", code=CODE)
        abort(500)  # without a commit: the session is rolled back at teardown

    return bp


@pytest.fixture
def msg_app(database):
    """On the suite's database: SQLite, or PostgreSQL with EBOK_TEST_DATABASE_URI."""
    config = dict(database)
    app = msg_make_app(config.pop("SQLALCHEMY_DATABASE_URI"), **config)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def msg_ctx(msg_app):
    with msg_app.app_context():
        yield msg_app
        db.session.remove()


def msg_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def msg_smtp(smtp_server):
    """Real SMTP servers on demand: msg_smtp(port=None, **options)."""
    return lambda port=None, **options: smtp_server(port=port or 0, **options)


class MsgGateway:
    """A tiny SMS gateway on 127.0.0.1 that records requests and echoes them back."""

    def __init__(self):
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.delay = 0.0
        self.hang = threading.Event()  # set: every request waits until it is cleared
        self.released = threading.Event()
        self.on_request = None  # called while answering each request
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests it was answering at once
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with gateway.lock:
                    gateway.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "raw": raw}
                    )
                    gateway.in_flight += 1
                    gateway.most_in_flight = max(gateway.most_in_flight, gateway.in_flight)
                time.sleep(gateway.delay)
                if gateway.on_request is not None:
                    gateway.on_request()
                if gateway.hang.is_set():
                    gateway.released.wait()
                with gateway.lock:
                    gateway.in_flight -= 1
                # Like some real gateways, quote the request in the answer.
                answer = b'{"status": "echo", "request": ' + raw + b"}"
                self.send_response(gateway.status)
                if 300 <= gateway.status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's
        return f"http://{host}:{port}/api/sms"

    def bodies(self) -> list[dict]:
        return [json.loads(r["raw"]) for r in self.requests]

    def stop(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def msg_gateway(msg_app):
    gateway = MsgGateway()
    msg_app.config.update(SMS_BACKEND="http", SMS_GATEWAY_URL=gateway.url)
    yield gateway
    gateway.stop()


@pytest.fixture
def app_gateway(app):
    """The fake SMS gateway, for the whole app (the `app` fixture)."""
    gateway = MsgGateway()
    app.config.update(SMS_BACKEND="http", SMS_GATEWAY_URL=gateway.url)
    yield gateway
    gateway.stop()


def msg_row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message_id)
    assert row is not None, f"no outbox message #{message_id}"
    return row


def error_of(row: OutboxMessage) -> str:
    """The row's last_error, which it must have."""
    assert row.last_error is not None, f"outbox message #{row.id} has no last_error"
    return row.last_error


def body_of(mail: email.message.EmailMessage, subtype: str) -> str:
    """The text of the e-mail's text/`subtype` part, which it must have."""
    part = mail.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


def msg_make_due(message_id: int) -> None:
    """Pretend the backoff has passed."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def msg_queue_sms(to=PHONE) -> int:
    message = send_sms(to, "_test/hello", code=CODE)
    db.session.commit()
    return message.id


def msg_queue_email(to=EMAIL) -> int:
    message = send_email(to, SUBJECT, "_test/hello", name="Jan", code=CODE, link=LINK)
    db.session.commit()
    return message.id


# -- writing to the outbox ------------------------------------------------------------


def test_send_email_renders_both_parts_into_the_callers_transaction(msg_ctx):
    message = send_email(EMAIL, SUBJECT, "_test/hello", name="Jan", code=CODE, link=LINK)

    assert message.id is not None
    assert message.channel == "email"
    assert message.status == "pending"
    assert message.recipient == EMAIL
    assert message.subject == SUBJECT
    assert f"Twój kod: {CODE}" in message.body_text
    assert message.body_html is not None and f'<a href="{LINK}">' in message.body_html
    db.session.rollback()  # the caller's change failed: the message goes with it
    assert db.session.scalar(select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_send_sms_renders_the_stripped_text(msg_ctx):
    message = send_sms(PHONE, "_test/hello", code=CODE)
    db.session.commit()

    row = msg_row(message.id)
    assert row.channel == "sms"
    assert row.body_text == f"Strefa Klienta: Twój kod to {CODE}. Nie podawaj go nikomu."
    assert row.subject is None and row.body_html is None


@pytest.mark.parametrize("to", ["512345678", "+48 512 345 678", "", "+48512345678\n"])
def test_send_sms_wants_an_e164_number(msg_ctx, to):
    with pytest.raises(ValueError, match="E.164"):
        send_sms(to, "_test/hello", code=CODE)


@pytest.mark.parametrize(
    ("to", "subject"),
    [("", "Temat"), ("no-at-sign", "Temat"), (EMAIL, "Temat\r\nBcc: x@example.pl")],
)
def test_send_email_refuses_header_injection_and_non_addresses(msg_ctx, to, subject):
    with pytest.raises(ValueError):
        send_email(to, subject, "_test/hello", name="Jan", code=CODE, link=LINK)


# -- SMTP -----------------------------------------------------------------------------


def test_smtp_delivers_plain_text_and_html_with_the_right_headers(msg_ctx, msg_smtp):
    server = msg_smtp()
    msg_ctx.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    message_id = msg_queue_email()

    counts = deliver_due()

    assert counts == DeliveryCounts(sent=1)
    [envelope] = server.received
    assert envelope.mail_from == "no-reply@example.invalid"
    assert envelope.rcpt_tos == [EMAIL]
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mail["From"] == "Strefa Klienta <no-reply@example.invalid>"
    assert mail["To"] == EMAIL
    assert mail["Subject"] == SUBJECT
    assert mail["Date"]
    assert mail["Message-ID"].startswith(f"<outbox.{message_id}.")
    assert mail["Message-ID"].endswith("@example.invalid>")
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    assert f"Twój kod: {CODE}" in body_of(mail, "plain")
    assert f'<a href="{LINK}">' in body_of(mail, "html")
    row = msg_row(message_id)
    assert (row.status, row.delivered_by, row.attempts) == ("sent", "smtp", 1)
    assert row.sent_at is not None
    assert (row.body_text, row.body_html) == ("", None)  # its code and link are gone


def test_smtp_down_keeps_the_message_and_delivers_it_once_the_server_is_up(msg_ctx, msg_smtp):
    port = msg_free_port()  # nothing listens here yet
    msg_ctx.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    message_id = msg_queue_email()

    before = utcnow()
    assert deliver_due() == DeliveryCounts(retrying=1)

    row = msg_row(message_id)
    assert (row.status, row.attempts, row.claimed_at) == ("pending", 1, None)
    assert "ConnectionRefusedError" in error_of(row)
    assert before + timedelta(seconds=29) <= row.next_attempt_at <= utcnow() + timedelta(seconds=31)
    assert deliver_due() == DeliveryCounts()  # not due yet: backoff

    server = msg_smtp(port=port)
    msg_make_due(message_id)
    assert deliver_due() == DeliveryCounts(sent=1)

    assert len(server.received) == 1
    row = msg_row(message_id)
    assert (row.status, row.attempts, row.delivered_by) == ("sent", 2, "smtp")


def test_smtp_temporary_refusal_is_retried(msg_ctx, msg_smtp):
    server = msg_smtp()

    async def busy(server_, session, envelope):
        return "451 4.3.0 Try again later"

    server.handle_DATA = busy
    msg_ctx.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    message_id = msg_queue_email()

    assert deliver_due() == DeliveryCounts(retrying=1)
    row = msg_row(message_id)
    assert row.status == "pending"
    assert "SMTPDataError" in error_of(row) and "451" in error_of(row)


def test_smtp_logs_in_only_when_a_username_is_set(msg_ctx, msg_smtp):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    server = msg_smtp(authenticator=authenticator, auth_require_tls=False)
    msg_ctx.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    msg_queue_email()
    assert deliver_due() == DeliveryCounts(sent=1)
    assert logins == []

    msg_ctx.config.update({"MAIL_USERNAME": "strefa", "MAIL_PASSWORD": "s3cret"})
    msg_queue_email()
    assert deliver_due() == DeliveryCounts(sent=1)
    assert logins == [(b"strefa", b"s3cret")]
    assert len(server.received) == 2


@pytest.mark.parametrize(
    ("use_tls", "use_ssl", "expected"),
    [
        (False, False, ["SMTP", "send_message", "quit"]),
        (True, False, ["SMTP", "starttls", "send_message", "quit"]),
        (False, True, ["SMTP_SSL", "send_message", "quit"]),
    ],
)
def test_smtp_uses_starttls_or_implicit_tls_as_configured(
    msg_ctx, monkeypatch, use_tls, use_ssl, expected
):
    calls = []

    class FakeSMTP:
        def __init__(self, host, port, timeout, **kwargs):
            calls.append(type(self).__name__)
            assert (host, port, timeout) == ("mail.example.test", 587, 7.0)

        def quit(self):
            calls.append("quit")

        def close(self):
            pass

        def starttls(self, context):
            calls.append("starttls")

        def send_message(self, mail):
            calls.append("send_message")

    class SMTP(FakeSMTP):
        pass

    class SMTP_SSL(FakeSMTP):  # the name smtplib uses
        pass

    monkeypatch.setattr(smtplib, "SMTP", SMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", SMTP_SSL)
    msg_ctx.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SERVER="mail.example.test",
        MAIL_PORT=587,
        MAIL_TIMEOUT=7,
        MAIL_USE_TLS=use_tls,
        MAIL_USE_SSL=use_ssl,
    )
    msg_queue_email()

    assert deliver_due() == DeliveryCounts(sent=1)
    assert calls == expected


# -- the SMS gateway ------------------------------------------------------------------


def test_sms_gateway_gets_the_exact_json_and_the_bearer_token(msg_ctx, msg_gateway):
    message_id = msg_queue_sms()

    assert deliver_due() == DeliveryCounts(sent=1)

    [sent] = msg_gateway.requests
    assert sent["path"] == "/api/sms"
    assert sent["headers"]["Authorization"] == "Bearer gateway-token-123"
    assert sent["headers"]["Content-Type"] == "application/json"
    body = json.loads(sent["raw"])
    assert list(body) == ["to", "message", "from", "idempotency_key"]
    row = msg_row(message_id)
    key = f"outbox.{message_id}.{row.created_at:%Y%m%d%H%M%S%f}"
    assert body == {
        "to": PHONE,
        "message": f"Strefa Klienta: Twój kod to {CODE}. Nie podawaj go nikomu.",
        "from": "StrefaKlienta",
        "idempotency_key": key,
    }
    assert sent["headers"]["Idempotency-Key"] == key
    assert (row.status, row.delivered_by, row.attempts) == ("sent", "http", 1)
    assert row.body_text == ""


def test_any_2xx_from_the_gateway_is_success(msg_ctx, msg_gateway):
    msg_gateway.status = 202
    message_id = msg_queue_sms()

    assert deliver_due() == DeliveryCounts(sent=1)
    assert msg_row(message_id).status == "sent"


@pytest.mark.parametrize("status", [500, 503, 408, 429, 302])
def test_a_gateway_error_is_retried_and_then_delivered(msg_ctx, msg_gateway, status):
    msg_gateway.status = status
    message_id = msg_queue_sms()

    assert deliver_due() == DeliveryCounts(retrying=1)
    row = msg_row(message_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == f"SMS gateway answered HTTP {status}"
    assert row.next_attempt_at > utcnow() + timedelta(seconds=25)

    msg_gateway.status = 200
    msg_make_due(message_id)
    assert deliver_due() == DeliveryCounts(sent=1)
    assert len(msg_gateway.requests) == 2
    assert msg_row(message_id).status == "sent"
    # The gateway can tell the second request is the same message as the first.
    first, second = msg_gateway.bodies()
    assert first["idempotency_key"] == second["idempotency_key"]


def test_an_unreachable_gateway_is_retried(msg_ctx):
    msg_ctx.config.update(
        SMS_BACKEND="http", SMS_GATEWAY_URL=f"http://127.0.0.1:{msg_free_port()}/api/sms"
    )
    message_id = msg_queue_sms()

    assert deliver_due() == DeliveryCounts(retrying=1)
    row = msg_row(message_id)
    assert row.status == "pending"
    assert error_of(row).startswith("SMS gateway unreachable: ConnectionRefusedError")


def test_a_missing_gateway_url_is_a_failure_not_a_crash(msg_ctx):
    msg_ctx.config.update(SMS_BACKEND="http", SMS_GATEWAY_URL=None)
    message_id = msg_queue_sms()

    assert deliver_due() == DeliveryCounts(retrying=1)
    assert "SMS_GATEWAY_URL" in error_of(msg_row(message_id))


# -- retries, backoff, giving up ------------------------------------------------------


def test_backoff_starts_at_30_seconds_doubles_and_stops_at_an_hour():
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert backoff(1000) == timedelta(hours=1)


def test_after_max_attempts_the_message_is_failed_and_kept(msg_ctx, msg_gateway, caplog):
    msg_ctx.config["OUTBOX_MAX_ATTEMPTS"] = 3
    msg_gateway.status = 500
    message_id = msg_queue_sms()
    caplog.set_level(logging.INFO, logger="ebok.messages")

    results = []
    for _ in range(3):
        results.append(deliver_due())
        msg_make_due(message_id)

    assert results == [DeliveryCounts(retrying=1)] * 2 + [DeliveryCounts(failed=1)]
    row = msg_row(message_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == "SMS gateway answered HTTP 500"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"Message {message_id}" in errors[0].getMessage()
    assert deliver_due() == DeliveryCounts()  # failed messages are left alone
    assert len(msg_gateway.requests) == 3


# -- never twice ----------------------------------------------------------------------


def test_running_the_worker_twice_sends_once(msg_ctx, msg_gateway):
    msg_queue_sms()

    assert deliver_due() == DeliveryCounts(sent=1)
    assert deliver_due() == DeliveryCounts()
    assert len(msg_gateway.requests) == 1


def test_a_claimed_message_cannot_be_claimed_again(msg_ctx, msg_gateway):
    message_id = msg_queue_sms()

    [claimed], stale = claim_batch(10)
    assert (claimed.id, claimed.attempts, stale) == (message_id, 1, [])
    assert claim_batch(10) == ([], [])
    assert deliver_due() == DeliveryCounts()  # another worker has it
    assert msg_gateway.requests == []
    assert msg_row(message_id).status == "sending"


def _deliver_concurrently(app, workers: int) -> list:
    results: list[DeliveryCounts | Exception] = []
    start = threading.Barrier(workers)

    def work():
        try:
            with app.app_context():
                start.wait()
                results.append(deliver_due())
        except Exception as error:  # reported below instead of escaping the thread
            results.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _assert_each_sent_once(app, gateway, message_ids, results):
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.sent for r in results) == len(message_ids)
    assert sorted(b["to"] for b in gateway.bodies()) == sorted(
        f"+4860070{n:04d}" for n in range(len(message_ids))
    )
    with app.app_context():
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
        assert statuses == ["sent"] * len(message_ids)


def test_concurrent_workers_send_each_message_once(msg_app, msg_gateway):
    msg_gateway.delay = 0.02
    with msg_app.app_context():
        message_ids = [msg_queue_sms(f"+4860070{n:04d}") for n in range(12)]

    results = _deliver_concurrently(msg_app, workers=4)

    _assert_each_sent_once(msg_app, msg_gateway, message_ids, results)


@pytest.fixture
def msg_pg_app():
    """PostgreSQL even when the suite runs on SQLite: the suite's PostgreSQL database
    (EBOK_TEST_DATABASE_URI) if set, else `test` on 127.0.0.1; skipped if unreachable."""
    pytest.importorskip("psycopg")
    url = os.environ.get(
        "EBOK_TEST_DATABASE_URI", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        ensure_database(url)
    except sa.exc.OperationalError as error:
        pytest.skip(f"PostgreSQL at {url} is not reachable: {error.orig}")
    schema = f"msg_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    app = msg_make_app(
        url,
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": True,
            "connect_args": {"options": f"-csearch_path={schema}"},
        },
    )
    try:
        with app.app_context():
            db.create_all()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_postgresql_concurrent_workers_send_each_message_once(msg_pg_app):
    gateway = MsgGateway()
    try:
        gateway.delay = 0.02
        msg_pg_app.config.update(SMS_BACKEND="http", SMS_GATEWAY_URL=gateway.url)
        with msg_pg_app.app_context():
            message_ids = [msg_queue_sms(f"+4860070{n:04d}") for n in range(12)]
            assert [m.id for m in claim_batch(1)[0]] == message_ids[:1]
            assert [m.id for m in claim_batch(1)[0]] == message_ids[1:2]
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(message_ids[:2]))
                .values(status="pending", attempts=0)
            )
            db.session.commit()

        results = _deliver_concurrently(msg_pg_app, workers=4)

        _assert_each_sent_once(msg_pg_app, gateway, message_ids, results)

        gateway.status = 500
        with msg_pg_app.app_context():
            message_id = msg_queue_sms()
            assert deliver_due() == DeliveryCounts(retrying=1)
            row = msg_row(message_id)
            assert (row.status, row.attempts, row.claimed_at) == ("pending", 1, None)
            assert row.last_error == "SMS gateway answered HTTP 500"
    finally:
        gateway.stop()


def test_a_message_left_sending_by_a_dead_worker_is_retried(msg_ctx, msg_gateway, caplog):
    caplog.set_level(logging.WARNING, logger="ebok.messages")
    stuck_id = msg_queue_sms()
    busy_id = msg_queue_sms("+48512345679")
    # The claim lasts twice the send timeout (10 s): 20 s, not ten minutes.
    for message_id, seconds in ((stuck_id, 25), (busy_id, 15)):
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                status="sending",
                attempts=1,
                claimed_at=utcnow() - timedelta(seconds=seconds),
            )
        )
    db.session.commit()

    assert deliver_due() == DeliveryCounts(sent=1, released=1)

    assert [b["to"] for b in msg_gateway.bodies()] == [PHONE]
    stuck, busy = msg_row(stuck_id), msg_row(busy_id)
    assert (stuck.status, stuck.attempts) == ("sent", 2)
    assert busy.status == "sending"  # a live worker may still be sending it
    assert "sent twice" in caplog.text


# -- requests only write ---------------------------------------------------------------


def test_a_rolled_back_message_is_never_sent(msg_ctx, msg_gateway):
    send_sms(PHONE, "_test/hello", code=CODE)
    db.session.rollback()

    assert deliver_due() == DeliveryCounts()
    assert msg_gateway.requests == []


def test_a_request_never_calls_the_backend_the_worker_does(msg_app, msg_gateway):
    with msg_app.test_client().post("/msg-test/commit", data={"to": PHONE}) as response:
        assert response.status_code == 200
    # The response is closed: nothing runs after it any more.

    assert msg_gateway.requests == []
    with msg_app.app_context():
        [row] = db.session.scalars(select(OutboxMessage)).all()
        assert (row.status, row.attempts) == ("pending", 0)
        assert deliver_due() == DeliveryCounts(sent=1)
    assert [b["to"] for b in msg_gateway.bodies()] == [PHONE]


def test_the_dev_backend_keeps_the_body_for_the_development_page(msg_ctx):
    message_id = msg_queue_sms()

    assert deliver_due() == DeliveryCounts(sent=1)
    row = msg_row(message_id)
    assert (row.status, row.delivered_by, row.attempts) == ("sent", "dev", 1)
    assert CODE in row.body_text


@pytest.mark.parametrize("route", ["/msg-test/rollback", "/msg-test/error"])
def test_a_request_that_rolls_back_sends_nothing(msg_app, msg_gateway, route):
    with msg_app.test_client().post(route, data={"to": PHONE}):
        pass

    with msg_app.app_context():
        assert db.session.scalars(select(OutboxMessage)).all() == []
        assert deliver_due() == DeliveryCounts()
    assert msg_gateway.requests == []


# -- the worker -----------------------------------------------------------------------


def test_run_worker_once_delivers_everything_due_in_batches(msg_ctx):
    for n in range(5):
        msg_queue_sms(f"+4860070{n:04d}")
    reports: list[DeliveryCounts] = []

    totals = run_worker(loop=False, limit=2, report=reports.append)

    assert totals == DeliveryCounts(sent=5)
    assert reports == [DeliveryCounts(sent=2), DeliveryCounts(sent=2), DeliveryCounts(sent=1)]
    assert str(totals) == "sent 5, retrying 0, failed 0, stale 0, deferred 0, released 0"


def test_run_worker_loops_until_stopped(msg_app):
    stop = threading.Event()
    outcome = []

    def worker():
        with msg_app.app_context():
            outcome.append(run_worker(loop=True, interval=0.01, stop=stop))

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        with msg_app.app_context():
            message_id = msg_queue_sms()
            deadline = time.monotonic() + 5
            while msg_row(message_id).status != "sent" and time.monotonic() < deadline:
                time.sleep(0.01)
            assert msg_row(message_id).status == "sent"
    finally:
        stop.set()
        thread.join()
    assert outcome == [DeliveryCounts(sent=1)]


# -- never the body -------------------------------------------------------------------


def test_errors_and_logs_never_hold_the_body_or_the_full_recipient(
    msg_ctx, msg_smtp, msg_gateway, caplog
):
    caplog.set_level(logging.DEBUG, logger="ebok")
    msg_gateway.status = 500
    refusing = msg_smtp(refuse_rcpt=True)
    msg_ctx.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=refusing.port)
    sms_id, email_id = msg_queue_sms(), msg_queue_email()

    assert deliver_due() == DeliveryCounts(retrying=1, failed=1)
    sms, mail = msg_row(sms_id), msg_row(email_id)
    assert sms.last_error == "SMS gateway answered HTTP 500"
    assert "550" in error_of(mail)

    msg_gateway.status = 200
    accepting = msg_smtp()
    msg_ctx.config["MAIL_PORT"] = accepting.port
    msg_make_due(sms_id)
    _set(email_id, status="pending", next_attempt_at=utcnow())
    assert deliver_due() == DeliveryCounts(sent=2)

    # Our own logs; the test SMTP server's debug log quotes whole messages.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("ebok"))
    assert MASKED_PHONE in logged and MASKED_EMAIL in logged
    for secret in SECRETS:
        assert secret not in logged
        assert secret not in (error_of(sms) + error_of(mail))


# -- choosing backends ----------------------------------------------------------------


def test_backends_follow_the_configuration(msg_ctx):
    config = dict(msg_ctx.config, MAIL_BACKEND="smtp", SMS_BACKEND="http")
    assert isinstance(backend_for("email", config), SmtpBackend)
    assert isinstance(backend_for("sms", config), HttpSmsBackend)
    config.update(MAIL_BACKEND="dev", SMS_BACKEND="dev")
    assert backend_for("email", config).name == backend_for("sms", config).name == "dev"


def test_an_unknown_backend_stops_the_app_from_starting(tmp_path):
    with pytest.raises(ValueError, match="MAIL_BACKEND='sendgrid'"):
        msg_make_app(f"sqlite:///{tmp_path}/t.db", MAIL_BACKEND="sendgrid")


# -- one connection per batch; a failing backend does not hold up the batch ---------------


@pytest.mark.parametrize("senders", [1, 3])
def test_each_sender_sends_its_share_of_a_batch_over_one_smtp_connection(
    msg_ctx, msg_smtp, senders
):
    server = msg_smtp()
    msg_ctx.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    msg_ctx.config["OUTBOX_SENDERS_PER_CHANNEL"] = senders
    for n in range(5):
        msg_queue_email(f"klient{n}@example.pl")

    assert deliver_due() == DeliveryCounts(sent=5)

    assert server.sessions == senders
    received = sorted(e.rcpt_tos for e in server.received)
    assert received == [[f"klient{n}@example.pl"] for n in range(5)]


def test_a_refused_recipient_does_not_cost_the_others_their_connection(msg_ctx, msg_smtp):
    server = msg_smtp()
    refused = "nie.ma@example.pl"

    async def refuse_one(server_, session, envelope, address, rcpt_options):
        if address == refused:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    server.handle_RCPT = refuse_one
    msg_ctx.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    msg_ctx.config["OUTBOX_SENDERS_PER_CHANNEL"] = 1
    msg_queue_email("a@example.pl")
    refused_id = msg_queue_email(refused)
    msg_queue_email("b@example.pl")

    assert deliver_due() == DeliveryCounts(sent=2, failed=1)
    assert server.sessions == 1
    assert "recipient refused (550)" in error_of(msg_row(refused_id))


def test_a_failing_gateway_is_left_alone_for_the_rest_of_the_batch(msg_ctx, msg_gateway):
    msg_ctx.config["OUTBOX_SENDERS_PER_CHANNEL"] = 1  # with more, each has one on the wire
    msg_gateway.status = 503
    sms_ids = [msg_queue_sms(f"+4860070{n:04d}") for n in range(6)]
    email_id = msg_queue_email()  # the dev backend: the other channel goes on

    assert deliver_due() == DeliveryCounts(sent=1, retrying=3, deferred=3)

    assert len(msg_gateway.requests) == 3
    assert msg_row(email_id).status == "sent"
    untried = [msg_row(message_id) for message_id in sms_ids[3:]]
    assert [(m.status, m.attempts, m.claimed_at) for m in untried] == [("pending", 0, None)] * 3
    assert deliver_due() == DeliveryCounts()  # they wait, as the failed ones do


def test_a_long_batch_keeps_its_claim_alive(msg_app, msg_gateway):
    # Claims last 2 x 1.5 s; the batch takes longer: one sender, 5 sends of 0.8 s each. The
    # margin of each send under its timeout (0.7 s) holds on a loaded machine too (0.2 s
    # did not: another worker's look at the claims runs inside each request).
    msg_app.config.update(MAIL_TIMEOUT=1.5, SMS_TIMEOUT=1.5, OUTBOX_SENDERS_PER_CHANNEL=1)
    msg_gateway.delay = 0.8
    released = []

    def another_worker_looks():
        with msg_app.app_context():
            released.extend(release_stuck())

    msg_gateway.on_request = another_worker_looks
    with msg_app.app_context():
        for n in range(5):
            msg_queue_sms(f"+4860070{n:04d}")

        assert deliver_due() == DeliveryCounts(sent=5)

    assert released == []
    assert len(msg_gateway.requests) == 5


# -- stale codes and links are not sent (issue 10.3) -----------------------------------------


def _register_by_sms(visitor, customer):
    visitor.post("/rejestracja/", {"number": customer.number, "action": "next"})
    visitor.post(
        "/rejestracja/sposob", {"channel": "sms", "phone": customer.phone[3:], "action": "next"}
    )


def _codes_in_the_outbox(app, phone):
    return [found(r"\b(\d{6})\b", m.body_text).group(1) for m in outbox(app, "sms", phone)]


def test_a_superseded_code_is_never_sent_after_the_newer_one(app, visitor, customers, app_gateway):
    customer = customers["both"]
    _register_by_sms(visitor, customer)
    visitor.post("/rejestracja/wyslij-ponownie")
    old_code, new_code = _codes_in_the_outbox(app, customer.phone)

    with app.app_context():
        assert run_worker() == DeliveryCounts(sent=1, stale=1)

    [sms] = app_gateway.bodies()
    assert new_code in sms["message"]
    assert [(m.status, m.body_text) for m in outbox(app, "sms")] == [("stale", ""), ("sent", "")]
    response = visitor.post("/rejestracja/kod", {"code": new_code, "action": "next"})
    assert "Podaj hasło" in text_of(response)


def test_an_expired_code_is_not_sent(app, visitor, customers, app_gateway):
    _register_by_sms(visitor, customers["both"])
    with app.app_context():
        db.session.execute(update(Verification).values(expires_at=utcnow()))
        db.session.commit()

        assert run_worker() == DeliveryCounts(stale=1)

    assert app_gateway.requests == []


def test_a_code_left_claimed_by_a_killed_worker_is_not_sent_once_expired(
    app, visitor, customers, app_gateway
):
    _register_by_sms(visitor, customers["both"])
    with app.app_context():
        db.session.execute(
            update(OutboxMessage).values(
                status="sending", attempts=1, claimed_at=utcnow() - timedelta(seconds=21)
            )
        )
        db.session.execute(update(Verification).values(expires_at=utcnow()))
        db.session.commit()

        assert run_worker() == DeliveryCounts(released=1, stale=1)

    assert app_gateway.requests == []


def test_a_link_already_opened_is_not_sent_again(app, visitor, customers):
    customer = customers["email_only"]
    visitor.post("/rejestracja/", {"number": customer.number, "action": "next"})
    visitor.post(
        "/rejestracja/sposob", {"channel": "email", "email": customer.email, "action": "next"}
    )
    assert "Podaj hasło" in text_of(visitor.get(last_link(app, customer.email)))

    with app.app_context():
        assert run_worker() == DeliveryCounts(stale=1)


def test_no_live_code_or_link_stays_in_the_database_once_sent(
    app, make_visitor, customers, app_gateway, smtp_server
):
    server = smtp_server()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    by_sms, by_email = make_visitor(), make_visitor()
    _register_by_sms(by_sms, customers["both"])
    by_sms.post("/rejestracja/wyslij-ponownie")
    by_email.post(
        "/zapomnialem-hasla/", {"number": customers["registered"].number, "action": "next"}
    )
    by_email.post(
        "/zapomnialem-hasla/sposob",
        {"channel": "email", "email": customers["registered"].email, "action": "next"},
    )

    with app.app_context():
        totals = run_worker()
    assert (totals.sent, totals.stale) == (2, 1)

    secrets = [found(r"\b(\d{6})\b", b["message"]).group(1) for b in app_gateway.bodies()]
    [mail] = server.messages
    link = found(r"https?://\S+/link/(\S+)", body_of(mail, "plain"))
    secrets.append(link.group(1))
    with app.app_context():
        stored = db.session.execute(select(OutboxMessage.__table__)).all()
    assert len(stored) == 3
    for secret in secrets:
        assert not [row for row in stored if secret in repr(tuple(row))]


# -- operators: outbox status, outbox retry (issue 10.4) ------------------------------------


def _verified_message(channel: str, lifetime: timedelta) -> int:
    """An outbox message carrying the code or link of a new Verification."""
    customer = Customer(number=uuid.uuid4().hex[:10], first_name="Jan", last_name="Nowak")
    db.session.add(customer)
    db.session.flush()
    verification = Verification(
        customer_id=customer.id,
        purpose="registration",
        channel=channel,
        secret_hash="x" * 64,
        expires_at=utcnow() + lifetime,
    )
    db.session.add(verification)
    db.session.flush()
    if channel == "sms":
        message = send_sms(PHONE, "_test/hello", verification_id=verification.id, code=CODE)
    else:
        message = send_email(
            EMAIL,
            SUBJECT,
            "_test/hello",
            verification_id=verification.id,
            name="J",
            code=CODE,
            link=LINK,
        )
    db.session.commit()
    return message.id


def _set(message_id: int, **values) -> None:
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
    db.session.commit()


def test_outbox_status_counts_by_state_and_shows_the_oldest_pending(msg_ctx):
    runner = msg_ctx.test_cli_runner()
    result = runner.invoke(status_command)
    assert result.output.splitlines() == [
        "pending 0, sending 0, sent 0, failed 0, stale 0",
        "oldest pending: none",
    ]
    old, _, failed = msg_queue_sms(), msg_queue_sms(), msg_queue_email()
    _set(old, created_at=utcnow() - timedelta(hours=1))
    _set(failed, status="failed", failed_because="refused", last_error="SMTPDataError: (554)")

    result = runner.invoke(status_command)

    first, second, *given_up = result.output.splitlines()
    assert first == "pending 2, sending 0, sent 0, failed 1, stale 0"
    assert given_up == [
        "failed because: refused 1",
        f"  failed #{failed} email to {MASKED_EMAIL}, refused: SMTPDataError: (554)",
    ]
    oldest = re.fullmatch(r"oldest pending: (\d+) s", second)
    assert oldest is not None, second
    waited = int(oldest.group(1))
    assert 3600 <= waited < 3600 + 60


def test_outbox_retry_failed_sends_links_and_notices_again_but_not_dead_codes(msg_ctx, msg_gateway):
    msg_ctx.config["OUTBOX_MAX_ATTEMPTS"] = 1
    msg_gateway.status = 500
    code = _verified_message("sms", timedelta(minutes=10))
    link = _verified_message("email", timedelta(days=3))
    notice = msg_queue_sms("+48600700999")
    msg_ctx.config["MAIL_BACKEND"] = "smtp"
    msg_ctx.config["MAIL_PORT"] = msg_free_port()  # nobody listens
    # Codes and links are retried while they live; given up here as if refused.
    assert deliver_due() == DeliveryCounts(failed=1, retrying=2)
    _set(code, status="failed")
    _set(link, status="failed")
    db.session.execute(
        update(Verification).where(Verification.channel == "sms").values(expires_at=utcnow())
    )
    db.session.commit()
    runner = msg_ctx.test_cli_runner()

    assert runner.invoke(retry_command).output == "retrying: 0, stale (not sent): 0\n"
    result = runner.invoke(retry_command, ["--failed"])

    assert result.output == "retrying: 2, stale (not sent): 1\n"
    assert [msg_row(i).status for i in (code, link, notice)] == ["stale", "pending", "pending"]
    assert msg_row(code).body_text == ""
    assert (msg_row(link).attempts, msg_row(notice).attempts) == (0, 0)
    msg_gateway.status = 200
    msg_ctx.config["MAIL_BACKEND"] = "dev"
    assert deliver_due() == DeliveryCounts(sent=2)
    assert [b["to"] for b in msg_gateway.bodies()][-1] == "+48600700999"


def test_outbox_retry_since_leaves_older_messages(msg_ctx):
    old, new = msg_queue_sms(), msg_queue_sms()
    _set(old, status="failed", created_at=utcnow() - timedelta(hours=3))
    _set(new, status="failed", created_at=utcnow() - timedelta(minutes=5))
    runner = msg_ctx.test_cli_runner()

    result = runner.invoke(retry_command, ["--failed", "--since", "1h"])

    assert result.output == "retrying: 1, stale (not sent): 0\n"
    assert (msg_row(old).status, msg_row(new).status) == ("failed", "pending")
    since = (utcnow() - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    assert runner.invoke(retry_command, ["--failed", "--since", since]).output.startswith(
        "retrying: 2,"
    )
    assert runner.invoke(retry_command, ["--since", "yesterday"]).exit_code == 2


def test_a_given_up_link_is_cleared_once_it_has_died(msg_ctx):
    link = _verified_message("email", timedelta(days=3))
    _set(link, status="failed")
    assert deliver_due() == DeliveryCounts()
    assert LINK in msg_row(link).body_text  # still worth an `outbox retry --failed`

    db.session.execute(update(Verification).values(expires_at=utcnow()))
    db.session.commit()
    deliver_due()

    assert (msg_row(link).status, msg_row(link).body_text) == ("stale", "")


# -- a hung gateway never stalls the site (issue 10.1), on real gunicorn ----------------------


class _Browser:
    """Plain HTTP with cookies kept by hand: production cookies are Secure, and the test
    speaks http on loopback."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name] = value
        return response.status, text

    def post_form(self, path: str, form: dict):
        _, page = self.request("GET", path)
        token = found(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        return self.request("POST", path, {**form, "csrf_token": token.group(1)})


def _wait_for(check, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def gunicorn_site(tmp_path):
    """The app on gunicorn (3 workers) and an outbox worker, with a hung SMS gateway."""
    gateway = MsgGateway()
    gateway.hang.set()
    database = f"sqlite:///{tmp_path}/site.db"
    setup = app_on_database(database)
    numbers = [f"30000{n}" for n in range(3)]
    with setup.app_context():
        db.create_all()
        for n, number in enumerate(numbers):
            db.session.add(
                Customer(
                    number=number, first_name="Jan", last_name="Nowak", phone=f"+4860070080{n}"
                )
            )
        db.session.commit()
        db.engine.dispose()
    env = {
        **os.environ,
        **PRODUCTION_ENVIRONMENT,  # production refuses to start without them
        "FLASK_SQLALCHEMY_DATABASE_URI": database,
        "FLASK_MAIL_BACKEND": "dev",
        "FLASK_SMS_BACKEND": "http",
        "FLASK_SMS_GATEWAY_URL": gateway.url,
        "FLASK_SMS_TIMEOUT": "60",  # longer than the test: only a hang-up frees a worker
    }
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    python = sys.executable
    site = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            python,
            "-m",
            "gunicorn",
            "--workers",
            "3",
            "--bind",
            f"fd://{listener.fileno()}",
            "app:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        pass_fds=[listener.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(  # noqa: S603
        [python, "-m", "flask", "--app", "app", "outbox", "deliver", "--loop", "--interval", "0.1"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port = listener.getsockname()[1]
    try:
        _wait_for(lambda: _answers(port), "gunicorn to answer")
        yield port, numbers, gateway
    finally:
        gateway.stop()  # releases the hung requests
        for process in (worker, site):
            process.terminate()
            process.wait(timeout=30)
        listener.close()


def _answers(port: int) -> bool:
    try:
        return _Browser(port).request("GET", "/")[0] == 200
    except OSError:
        return False


@pytest.mark.slow
def test_a_hung_sms_gateway_never_stalls_the_site(gunicorn_site):
    port, numbers, gateway = gunicorn_site
    # Three customers ask for a code: as many as gunicorn has workers.
    for n, number in enumerate(numbers):
        browser = _Browser(port)
        browser.post_form("/rejestracja/", {"number": number, "action": "next"})
        status, _ = browser.post_form(
            "/rejestracja/sposob", {"channel": "sms", "phone": f"60070080{n}", "action": "next"}
        )
        assert status == 303
        assert "Nie otrzymałeś SMS-a?" in browser.request("GET", "/rejestracja/kod")[1]
    # Each code goes on the wire at once (up to OUTBOX_SENDERS_PER_CHANNEL), none waits
    # behind another's hung request.
    _wait_for(lambda: len(gateway.requests) == 3, "the worker to send each code")

    # The gateway holds the worker's requests; the site answers everyone else (each
    # request would time out after 10 s if it had to wait for the gateway).
    for _ in range(6):
        status, page = _Browser(port).request("GET", "/")
        assert status == 200
        assert "Zaloguj" in page
    assert len(gateway.requests) == 3


# -- refused for good: given up at once, with the reason (issue 18.4) -------------------------


def _smtp_to(msg_ctx, server) -> None:
    msg_ctx.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)


def test_an_address_needing_smtputf8_is_given_up_at_once_on_a_server_without_it(msg_ctx, msg_smtp):
    server = msg_smtp(enable_SMTPUTF8=False)
    _smtp_to(msg_ctx, server)
    msg_ctx.config["OUTBOX_SENDERS_PER_CHANNEL"] = 1
    international = msg_queue_email("józef@example.pl")
    plain = msg_queue_email("jozef@example.pl")

    assert deliver_due() == DeliveryCounts(sent=1, failed=1)

    row = msg_row(international)
    assert (row.status, row.failed_because, row.attempts) == ("failed", "refused", 1)
    assert "SMTPUTF8" in error_of(row)
    assert msg_row(plain).status == "sent"
    assert [e.rcpt_tos for e in server.received] == [["jozef@example.pl"]]
    msg_make_due(international)
    assert deliver_due() == DeliveryCounts()  # never tried again by itself

    output = msg_ctx.test_cli_runner().invoke(status_command).output.splitlines()
    assert output[0] == "pending 0, sending 0, sent 1, failed 1, stale 0"
    assert output[2] == "failed because: refused 1"
    assert output[3].startswith(f"  failed #{international} email to j***@example.pl, refused: ")
    assert "SMTPUTF8" in output[3]


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("554 5.6.0 message refused", DeliveryCounts(failed=1)),
        ("552 5.3.4 message too big", DeliveryCounts(failed=1)),
        ("451 4.3.0 try again later", DeliveryCounts(retrying=1)),
    ],
)
def test_a_5xx_answer_to_the_message_gives_it_up_and_a_4xx_retries(
    msg_ctx, msg_smtp, answer, outcome
):
    server = msg_smtp()

    async def answer_data(server_, session, envelope):
        return answer

    server.handle_DATA = answer_data
    _smtp_to(msg_ctx, server)
    message_id = msg_queue_email()

    assert deliver_due() == outcome
    row = msg_row(message_id)
    assert error_of(row).startswith(f"SMTPDataError: ({answer[:3]}")
    assert row.failed_because == ("refused" if outcome.failed else None)


def test_a_refused_recipient_is_given_up_at_once(msg_ctx, msg_smtp):
    _smtp_to(msg_ctx, msg_smtp(refuse_rcpt=True))
    message_id = msg_queue_email()

    assert deliver_due() == DeliveryCounts(failed=1)
    assert msg_row(message_id).failed_because == "refused"


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_a_gateway_client_error_is_given_up_at_once(msg_ctx, msg_gateway, status):
    msg_gateway.status = status
    message_id = msg_queue_sms()

    assert deliver_due() == DeliveryCounts(failed=1)
    row = msg_row(message_id)
    assert (row.status, row.failed_because) == ("failed", "refused")
    assert row.last_error == f"SMS gateway answered HTTP {status}"


def test_one_message_that_keeps_failing_never_makes_the_site_unready(app, app_gateway):
    """An old message retried with backoff is not a stuck outbox: /readyz stays 200."""
    app_gateway.status = 503
    with_test_templates(app)
    with app.app_context():
        message = send_sms(PHONE, "_test/hello", code=CODE)
        message.created_at = utcnow() - timedelta(hours=5)
        db.session.commit()
        message_id = message.id
        for _ in range(3):
            msg_make_due(message_id)
            assert deliver_due() == DeliveryCounts(retrying=1)
        db.session.remove()

    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json

    with app.app_context():  # nobody takes it once it is due: that is a stuck outbox
        _set(message_id, next_attempt_at=utcnow() - timedelta(hours=1))
        db.session.remove()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["problems"][0].startswith("outbox: oldest pending message waits 3")


# -- channels never wait for each other; a slow gateway serves customers side by side (19.4) --


def _looping(app):
    """start(interval=0.05) runs run_worker(loop=True) on `app` in a thread; stopped (and
    joined) at the end."""
    stop = threading.Event()
    threads = []

    def start(interval=0.05):
        def work():
            with app.app_context():
                run_worker(loop=True, interval=interval, stop=stop)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()


@pytest.fixture
def looping_worker(msg_app):
    yield from _looping(msg_app)


@pytest.fixture
def looping_pg_worker(msg_pg_app):
    yield from _looping(msg_pg_app)


# -- on PostgreSQL a committed message wakes the worker; polling is the fallback (26) ----------


AN_HOUR = 3600.0  # a poll interval no test outlives: only a wake-up delivers in time


def test_on_postgresql_a_committed_code_wakes_the_worker_at_once(msg_pg_app, looping_pg_worker):
    gateway = MsgGateway()
    try:
        msg_pg_app.config.update(SMS_BACKEND="http", SMS_GATEWAY_URL=gateway.url)
        looping_pg_worker(interval=AN_HOUR)
        _wait_until_listening(msg_pg_app)
        with msg_pg_app.app_context():
            for n in range(3):
                msg_queue_sms(f"+4860070{n:04d}")

        wait_for(lambda: len(gateway.requests) == 3, "three codes, without a poll")
    finally:
        gateway.stop()


def test_a_transaction_notifies_once_per_channel_and_only_when_it_commits(msg_pg_app):
    notified = []

    def note(conn, cursor, statement, *args):
        if "pg_notify" in statement:
            notified.append(statement)

    with msg_pg_app.app_context():
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            for n in range(5):
                send_sms(f"+4860070{n:04d}", "_test/hello", code=CODE)
            db.session.rollback()
            assert notified == []
            for n in range(3):
                send_sms(f"+4860070{n:04d}", "_test/hello", code=CODE)
            send_email(EMAIL, SUBJECT, "_test/hello", name="Jan", code=CODE, link=LINK)
            db.session.commit()
            assert len(notified) == 2  # sms and email, not one per message
            db.session.execute(update(OutboxMessage).values(attempts=0))
            db.session.commit()
            assert len(notified) == 2  # a later transaction without messages: none
        finally:
            event.remove(db.engine, "before_cursor_execute", note)


def test_the_looping_worker_runs_its_chores(msg_app):
    done = threading.Event()
    stop = threading.Event()

    def work():
        with msg_app.app_context():
            run_worker(loop=True, interval=0.05, stop=stop, chores=(done.set,))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        assert done.wait(10), "the chore did not run"
    finally:
        stop.set()
        thread.join(timeout=30)


def _listeners(app, listening: bool = False) -> list[int]:
    with app.app_context():
        pids = db.session.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE application_name = :name"
                " AND (NOT :listening OR query LIKE 'LISTEN %')"
            ),
            {"name": wakeup.application_name(), "listening": listening},
        ).all()
        db.session.remove()
    return list(pids)


def _wait_until_listening(app) -> None:
    wait_for(lambda: _listeners(app, listening=True), "the listener")
    # Connecting wakes every channel once (for what came before); let that look be over,
    # so that only a notification can deliver what comes next. Were it not yet over, the
    # test would pass for the wrong reason, never fail for one.
    time.sleep(0.5)


def test_a_listener_that_lost_its_connection_listens_again_and_sends_what_came_meanwhile(
    msg_pg_app, looping_pg_worker, caplog
):
    caplog.set_level(logging.INFO, logger="ebok.messages")
    gateway = MsgGateway()
    try:
        msg_pg_app.config.update(SMS_BACKEND="http", SMS_GATEWAY_URL=gateway.url)
        looping_pg_worker(interval=AN_HOUR)
        (listener,) = wait_for(lambda: _listeners(msg_pg_app), "the listener's connection")
        with msg_pg_app.app_context():
            db.session.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": listener})
            msg_queue_sms()  # very likely while nobody listens

        wait_for(lambda: len(gateway.requests) == 1, "the code, after the listener is back")
        wait_for(lambda: _listeners(msg_pg_app) not in ([], [listener]), "a new connection")
        lost = [r.getMessage() for r in caplog.records if "not listening" in r.getMessage()]
        assert lost == [
            "Outbox worker: not listening for new messages (OperationalError); polling meanwhile"
        ]
    finally:
        gateway.stop()


def test_a_hung_sms_gateway_never_holds_up_email(msg_app, msg_gateway, msg_smtp, looping_worker):
    server = msg_smtp()
    msg_app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    msg_app.config["SMS_TIMEOUT"] = 60  # longer than the test: only a hang-up frees a sender
    msg_gateway.hang.set()
    with msg_app.app_context():
        for n in range(2):
            msg_queue_sms(f"+4860070{n:04d}")
        for n in range(3):
            msg_queue_email(f"klient{n}@example.pl")

    looping_worker()

    # Every e-mail arrives while the gateway still holds both SMS (which may reach it a
    # moment after the e-mails: the first SMS of a process makes its HTTP client).
    wait_for(lambda: len(server.received) == 3, "the e-mails")
    wait_for(lambda: len(msg_gateway.requests) == 2, "both SMS at the gateway")
    assert not msg_gateway.released.is_set()
    msg_gateway.released.set()


def test_a_slow_gateway_sends_several_codes_at_once(msg_ctx, msg_gateway):
    msg_ctx.config["OUTBOX_SENDERS_PER_CHANNEL"] = 4
    msg_gateway.delay = 0.3
    for n in range(8):
        msg_queue_sms(f"+4860070{n:04d}")

    assert deliver_due() == DeliveryCounts(sent=8)
    # Four customers' codes on the wire at once: the 8th waits for one answer, not seven.
    assert msg_gateway.most_in_flight == 4


# -- codes after an outage (19.5) ---------------------------------------------------------------


def test_codes_and_links_back_off_briefly_others_up_to_an_hour():
    assert [backoff(n, carries_secret=True).total_seconds() for n in range(1, 7)] == [
        5,
        10,
        20,
        30,
        30,
        30,
    ]
    assert backoff(7).total_seconds() == 1920


def test_a_code_is_retried_soon_while_it_lives_a_notice_is_given_up(msg_ctx, msg_gateway):
    msg_ctx.config["OUTBOX_MAX_ATTEMPTS"] = 3
    msg_gateway.status = 503
    code = _verified_message("sms", timedelta(minutes=10))
    notice = msg_queue_sms("+48600700999")

    for attempt in range(1, 6):
        msg_make_due(code)
        msg_make_due(notice)
        deliver_due()
        row = msg_row(code)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.next_attempt_at - utcnow() <= timedelta(seconds=30)
    assert (msg_row(notice).status, msg_row(notice).failed_because) == ("failed", "attempts")


def test_waiting_codes_go_out_as_soon_as_the_gateway_answers_again(
    msg_app, msg_gateway, looping_worker
):
    msg_app.config["OUTBOX_PROBE_INTERVAL"] = 0.1
    msg_gateway.status = 503
    with msg_app.app_context():
        for _ in range(3):
            _verified_message("sms", timedelta(minutes=10))
    looping_worker()

    # Three failures in a row open the breaker; a probe follows (a fourth request).
    wait_for(lambda: len(msg_gateway.requests) >= 5, "the breaker's probes")
    with msg_app.app_context():
        due_after_backoff = dict(
            db.session.execute(select(OutboxMessage.id, OutboxMessage.next_attempt_at)).all()
        )
        db.session.remove()
    msg_gateway.status = 200

    def sent_at():
        with msg_app.app_context():
            rows = db.session.execute(
                select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.sent_at)
            ).all()
            db.session.remove()
        return all(row.status == "sent" for row in rows) and rows

    rows = wait_for(sent_at, "the codes")
    # The probe got through and the others followed, none waiting out its backoff.
    assert all(row.sent_at < due_after_backoff[row.id] for row in rows)


# -- a database outage is logged when it starts and when it ends (19.8) ---------------------------


def test_a_database_outage_is_logged_once_when_it_starts_and_once_when_it_ends(tmp_path, caplog):
    folder = tmp_path / "not-yet"
    app = msg_make_app(f"sqlite:///{folder}/outbox.db")
    caplog.set_level(logging.INFO, logger="ebok")
    stop = threading.Event()

    def work():
        with app.app_context():
            run_worker(loop=True, interval=0.02, stop=stop)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        time.sleep(1)  # many rounds of the loops, each failing
        # The database comes back whole: made elsewhere and moved into place, so the
        # worker never finds an empty file between the folder and the tables (that is a
        # second outage, "no such table", and was logged as one).
        ready = tmp_path / "ready"
        ready.mkdir()
        maker = msg_make_app(f"sqlite:///{ready}/outbox.db")
        with maker.app_context():
            db.create_all()
            db.engine.dispose()
        ready.rename(folder)
        with app.app_context():
            message_id = msg_queue_sms()
            wait_for(lambda: msg_row(message_id).status == "sent", "the message")
            db.session.remove()
    finally:
        stop.set()
        worker.join(timeout=30)

    logged = [r for r in caplog.records if r.name.startswith("ebok")]
    down = [r for r in logged if "database unavailable" in r.getMessage()]
    up = [r for r in logged if "database reachable again" in r.getMessage()]
    assert [(r.levelname, r.exc_info) for r in down] == [("ERROR", None)]
    assert "OperationalError" in down[0].getMessage()
    assert [r.levelname for r in up] == ["INFO"]
    assert not [r for r in logged if r.levelno >= logging.ERROR and r not in down]
    with app.app_context():
        db.engine.dispose()
