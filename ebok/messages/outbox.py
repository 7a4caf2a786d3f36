"""The outbox: writing messages in the caller's transaction, and the states of a row.

    pending --claim--> sending --sent--> sent
                          |
                          +--failure--> pending (next_attempt_at later) ... failed

Each state change is one short transaction of its own on a connection of its own, never
the caller's session, so delivering never commits (or waits for) anybody else's work.
A claim is a conditional UPDATE that only one worker can win, committed before the
message leaves; that is what keeps a message from being sent twice.
"""

import re
from datetime import datetime, timedelta

from flask import current_app, g, has_request_context, render_template
from sqlalchemy import select, update

from ebok.extensions import db
from ebok.messages.backends import Outgoing
from ebok.models import OutboxMessage, utcnow

# After a failed attempt n the next waits 30 s * 2**(n-1), but never more than an hour.
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
# A claim older than this belongs to a worker that died while sending (a live one gives
# up after MAIL_TIMEOUT / SMS_TIMEOUT seconds).
CLAIM_TIMEOUT = timedelta(minutes=10)
LAST_ERROR_LENGTH = OutboxMessage.__table__.c.last_error.type.length

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_outbox = OutboxMessage.__table__

# Where a request keeps the ids of the messages it wrote, to deliver them after it ends.
G_KEY = "_outbox_deliver_after_request"


# -- writing, in the caller's transaction --------------------------------------------


def send_email(to: str, subject: str, template: str, **context) -> OutboxMessage:
    """Put an e-mail into the outbox, in the current transaction; the caller commits.

    The plain-text part is templates/messages/{template}.txt, the HTML part
    templates/messages/{template}.html, both rendered with the given context.
    """
    subject = str(subject)  # a lazy gettext string is fine too
    if not to or "@" not in to or _has_line_break(to):
        raise ValueError("send_email needs one e-mail address")
    if _has_line_break(subject):
        raise ValueError("an e-mail subject is one line")
    message = OutboxMessage(
        channel="email",
        recipient=to,
        subject=subject,
        body_text=render_template(f"messages/{template}.txt", **context),
        body_html=render_template(f"messages/{template}.html", **context),
    )
    return _write(message)


def send_sms(to: str, template: str, **context) -> OutboxMessage:
    """Put an SMS into the outbox, in the current transaction; the caller commits.

    `to` is an E.164 number (+48600700800); the text is templates/messages/{template}.sms.txt.
    """
    if not _E164.fullmatch(to or ""):
        raise ValueError("send_sms needs a phone number in E.164 form, e.g. +48600700800")
    message = OutboxMessage(
        channel="sms",
        recipient=to,
        subject=None,
        body_text=render_template(f"messages/{template}.sms.txt", **context).strip(),
        body_html=None,
    )
    return _write(message)


def _has_line_break(text: str) -> bool:
    return "\r" in text or "\n" in text


def _write(message: OutboxMessage) -> OutboxMessage:
    db.session.add(message)
    db.session.flush()  # gives the id; the row exists only if the caller commits
    if has_request_context():
        g.setdefault(G_KEY, []).append(message.id)
    return message


# -- states of a row, each change its own transaction --------------------------------


def claim(message_id: int, now: datetime | None = None) -> Outgoing | None:
    """Take a due pending message for sending, or None if it is not there to take.

    None means another worker has it, it was sent, it is not due yet, or the
    transaction that wrote it rolled back.
    """
    now = now or utcnow()
    with db.engine.begin() as connection:
        taken = connection.execute(
            update(_outbox)
            .where(
                _outbox.c.id == message_id,
                _outbox.c.status == "pending",
                _outbox.c.next_attempt_at <= now,
            )
            .values(status="sending", claimed_at=now, attempts=_outbox.c.attempts + 1)
        )
        if taken.rowcount != 1:
            return None
        row = connection.execute(select(_outbox).where(_outbox.c.id == message_id)).one()
    return Outgoing(
        id=row.id,
        channel=row.channel,
        recipient=row.recipient,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        attempts=row.attempts,
        created_at=row.created_at,
        claimed_at=row.claimed_at,
    )


def mark_sent(message: Outgoing, backend_name: str, now: datetime | None = None) -> None:
    # Not conditional on the claim: whoever sent it, it has been sent.
    with db.engine.begin() as connection:
        connection.execute(
            update(_outbox)
            .where(_outbox.c.id == message.id)
            .values(status="sent", sent_at=now or utcnow(), delivered_by=backend_name)
        )


def mark_failed_attempt(message: Outgoing, error: str, now: datetime | None = None) -> str:
    """Put the message back for a later attempt, or give up; returns the new status."""
    now = now or utcnow()
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    status = "failed" if message.attempts >= max_attempts else "pending"
    with db.engine.begin() as connection:
        connection.execute(
            update(_outbox)
            .where(
                _outbox.c.id == message.id,
                _outbox.c.status == "sending",
                _outbox.c.claimed_at == message.claimed_at,
            )
            .values(
                status=status,
                next_attempt_at=now + backoff(message.attempts),
                last_error=error[:LAST_ERROR_LENGTH],
                claimed_at=None,
            )
        )
    return status


def backoff(attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts."""
    if attempts < 1:
        return timedelta(0)
    return min(BACKOFF_FIRST * 2 ** min(attempts - 1, 20), BACKOFF_MAX)


def release_stuck(now: datetime | None = None) -> list[tuple[int, str]]:
    """Return to pending (or fail) messages claimed by a worker that died while sending.

    This is the one case in which a message can go out twice: the worker may have died
    after the server accepted the message and before it recorded that.
    Returns (id, new status) pairs.
    """
    now = now or utcnow()
    cutoff = now - CLAIM_TIMEOUT
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    released = []
    with db.engine.begin() as connection:
        stuck = connection.execute(
            select(_outbox.c.id, _outbox.c.attempts).where(
                _outbox.c.status == "sending", _outbox.c.claimed_at < cutoff
            )
        ).all()
        for message_id, attempts in stuck:
            status = "failed" if attempts >= max_attempts else "pending"
            changed = connection.execute(
                update(_outbox)
                .where(
                    _outbox.c.id == message_id,
                    _outbox.c.status == "sending",
                    _outbox.c.claimed_at < cutoff,
                )
                .values(
                    status=status,
                    next_attempt_at=now,
                    claimed_at=None,
                    last_error="the worker stopped while sending; it may have been sent",
                )
            )
            if changed.rowcount == 1:
                released.append((message_id, status))
    return released


def due_ids(limit: int, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    with db.engine.connect() as connection:
        return list(
            connection.execute(
                select(_outbox.c.id)
                .where(_outbox.c.status == "pending", _outbox.c.next_attempt_at <= now)
                .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
                .limit(limit)
            ).scalars()
        )
