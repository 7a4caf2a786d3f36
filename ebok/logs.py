"""Logging: one JSON object per line on standard error (plain lines in development), at
the level of FLASK_LOG_LEVEL. Link tokens are cut from every logged URL, and a
typed login is logged only as a keyed fingerprint (SPEC §10: no secrets in logs)."""

import hashlib
import hmac
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, after_this_request, current_app, g, has_request_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ebok import metrics
from ebok.clients import client_address
from ebok.extensions import db

# Paths that carry a secret in their last part (the wizard's and e-Faktura's links), and
# any other long token-like path part or query value, in case a new link is added.
_TOKEN_IN_PATH = re.compile(r"(/(?:link|potwierdz)/)[^/\s?#\"']+")
_LONG_TOKEN = re.compile(r"(?<=[/=])[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-.]{20,}")
REDACTED = "[token]"  # as gunicorn.conf.py writes it


def cut_tokens(text: str) -> str:
    """'/rejestracja/link/eyJ...' -> '/rejestracja/link/[token]'."""
    return _LONG_TOKEN.sub(REDACTED, _TOKEN_IN_PATH.sub(rf"\1{REDACTED}", text))


def fingerprint(value: str) -> str:
    """A keyed hash of what a visitor typed: attempts on one login can be told apart in
    the log without the log holding the typed text (it may be a mistyped password)."""
    key = current_app.config["SECRET_KEY"]
    key_bytes = key.encode() if isinstance(key, str) else key
    return hmac.new(key_bytes, value.encode(), hashlib.sha256).hexdigest()[:12]


_audit_log = logging.getLogger("ebok.audit")

# Events that record a refusal or a failure, named so (login_failed, login_throttled,
# password_change_refused, code_rejected, …) or listed: written at once, whatever becomes
# of the request. Every other event describes a change, written only once it is saved.
REFUSAL_ENDINGS = ("_failed", "_refused", "_throttled", "_rejected")
OTHER_REFUSALS = frozenset({"contact_mismatch", "login_name_taken_meanwhile"})
_HELD = "ebok_audit_held"  # in flask.g: (event, level, fields) waiting to be saved
_SAVED = "ebok_audit_saved"  # in flask.g: a commit has saved everything written so far


def audit(event: str, *, level: int = logging.INFO, **fields: object) -> None:
    """One audit event (every authentication and e-Faktura change): accounts and
    customers by id, the client by address, never a typed login, password, code, token or
    full contact datum (a login as fingerprint(), an address masked).

    In a request, a change not yet committed is held: written when the database session
    commits, dropped when it rolls back, and at the end of the request written unless the
    answer is a server error (a login's change is the session cookie in the answer)."""
    if has_request_context():
        fields["client"] = client_address()
        if not _is_refusal(event) and not _all_saved():
            _held().append((event, level, fields))
            return
    _write(event, level, fields)


def _held() -> list:
    """This request's held events; the first one held asks for them to be written after
    the view (a request that holds none pays nothing for it)."""
    held = g.get(_HELD)
    if held is None:
        held = []
        setattr(g, _HELD, held)
        after_this_request(_write_held_unless_failed)
    return held


def _is_refusal(event: str) -> bool:
    return event.endswith(REFUSAL_ENDINGS) or event in OTHER_REFUSALS


def _write(event: str, level: int, fields: dict) -> None:
    metrics.count_audit_event(event)
    described = " ".join(f"{name}={value}" for name, value in fields.items())
    _audit_log.log(level, "%s %s", event, described, extra={"audit": {"audit": event, **fields}})


def _all_saved() -> bool:
    """A commit in this request has saved all it wrote, and nothing is written since (a
    service that commits, then audits)."""
    session = db.session()
    return g.get(_SAVED, False) and not (session.new or session.dirty or session.deleted)


def hold_audit_until_saved() -> None:
    """Connects audit() to the session's transactions."""
    for name, listener in (
        ("after_commit", _committed),
        ("after_flush", _written),
        ("after_rollback", _rolled_back),
    ):
        if not sa_event.contains(db.session, name, listener):
            sa_event.listen(db.session, name, listener)


def _committed(_session: Session) -> None:
    if has_request_context():
        setattr(g, _SAVED, True)
        for held in g.pop(_HELD, []):
            _write(*held)


def _written(_session: Session, _flush_context: Any) -> None:
    if has_request_context():
        setattr(g, _SAVED, False)


def _rolled_back(_session: Session) -> None:
    if has_request_context():
        setattr(g, _SAVED, False)
        g.pop(_HELD, None)


def _write_held_unless_failed(response: Response) -> Response:
    held = g.pop(_HELD, [])
    if response.status_code < 500:
        for event_fields in held:
            _write(*event_fields)
    return response


class CutTokens(logging.Filter):
    """Cuts link tokens from a record's message, whoever logs it (gunicorn's access log,
    Werkzeug's request lines, Flask's "Exception on /…/link/<token>")."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cut = cut_tokens(message)
        if cut != message:
            record.msg, record.args = cut, None
        return True


# Werkzeug colours its request lines on a terminal: noise in JSON.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class JsonLines(logging.Formatter):
    """One event per line: a traceback is a field, its newlines escaped by JSON."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": _ANSI.sub("", record.getMessage()),
        }
        event.update(getattr(record, "audit", {}))
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return cut_tokens(json.dumps(event, ensure_ascii=False))


class PlainLines(logging.Formatter):
    """Development (`flask run`): lines a person reads, colours and tracebacks as they
    are; the audit events' fields are in their message already."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return cut_tokens(super().format(record))


class _StandardError(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_HANDLER_NAME = "ebok-json-lines"


def configure_logging(app: Flask) -> None:
    """Installs the handler once per process (the factory may run many times in tests):
    JSON lines, or plain lines in development (FLASK_DEBUG)."""
    root = logging.getLogger()
    handler = next((each for each in root.handlers if each.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = _StandardError()
        handler.set_name(_HANDLER_NAME)
        handler.addFilter(CutTokens())
        root.addHandler(handler)
    # The app built last decides (one per process, but for the tests').
    handler.setFormatter(PlainLines() if app.debug else JsonLines())
    # Gunicorn's loggers keep their own handlers; the filter still cuts tokens there.
    for name in ("gunicorn.access", "gunicorn.error", "werkzeug"):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, CutTokens) for existing in logger.filters):
            logger.addFilter(CutTokens())
    level = app.config["LOG_LEVEL"]  # a name (FLASK_LOG_LEVEL=DEBUG) or a number
    logging.getLogger("ebok").setLevel(level.upper() if isinstance(level, str) else level)
