"""The outbox: writing messages in the caller's transaction, and the states of a row.

    pending --claim--> sending --sent--> sent (body cleared)
       ^                  |
       |                  +--failure--> pending (next_attempt_at later) ... failed
       |                  +--its code or link is dead--> stale (body cleared)
       +-------- outbox retry [--failed] -------------------------+

Every state change is a short transaction of its own on a connection of its own, never
the caller's session, so delivering never commits (or waits for) anybody else's work.
A worker claims a batch in one statement that only one worker can win per row
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite runs writers one at a time), commits the
claim before anything leaves, and records the batch's outcomes in one transaction.
"""

import re
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import Connection, String, and_, case, func, or_, select, update

from ebok.extensions import db
from ebok.messages.backends import Outgoing
from ebok.models import OutboxMessage, Verification, utcnow

# After a failed attempt n the next waits 30 s * 2**(n-1), but never more than an hour.
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
LAST_ERROR_LENGTH = cast(String, OutboxMessage.__table__.c.last_error.type).length
# What a sent or stale message keeps of its body: codes and links must not outlive it.
CLEARED_BODY = ""
STATUSES = ("pending", "sending", "sent", "failed", "stale")

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_outbox = OutboxMessage.__table__
_verifications = Verification.__table__


# -- writing, in the caller's transaction --------------------------------------------


def send_email(
    to: str,
    subject: str,
    template: str,
    *,
    verification_id: int | None = None,
    attachment: tuple[str, bytes] | None = None,
    language: str | None = None,
    **context,
) -> OutboxMessage:
    """Put an e-mail into the outbox, in the current transaction; the caller commits.

    The plain-text part is templates/messages/{template}.txt, the HTML part
    templates/messages/{template}.html, both rendered with the given context. A message
    carrying the link of a Verification names it, so a dead link is never sent.
    `attachment` is one (file name, PDF bytes), cleared with the body once sent.

    The message is written in `language` (the recipient's stored one, for messages the
    customer did not cause), or else in the current request's language. Pass a lazy
    subject (`_l`) with a language, so it is translated into it too.
    """
    if not to or "@" not in to or _has_line_break(to):
        raise ValueError("send_email needs one e-mail address")
    with _written_in(language):
        subject = str(subject)
        if _has_line_break(subject):
            raise ValueError("an e-mail subject is one line")
        message = OutboxMessage(
            channel="email",
            recipient=to,
            subject=subject,
            body_text=render_template(f"messages/{template}.txt", **context),
            # html_email: the template's typography uses inline styles (templating._finish).
            body_html=render_template(f"messages/{template}.html", html_email=True, **context),
            verification_id=verification_id,
        )
    if attachment is not None:
        message.attachment_filename, message.attachment = attachment
    return _write(message)


def send_sms(
    to: str,
    template: str,
    *,
    verification_id: int | None = None,
    language: str | None = None,
    **context,
) -> OutboxMessage:
    """Put an SMS into the outbox, in the current transaction; the caller commits.

    `to` is an E.164 number (+48600700800); the text is templates/messages/{template}.sms.txt.
    A message carrying the code of a Verification names it, so a dead code is never sent.
    The text is in `language`, or else in the current request's (as send_email).
    """
    if not _E164.fullmatch(to or ""):
        raise ValueError("send_sms needs a phone number in E.164 form, e.g. +48600700800")
    with _written_in(language):
        body_text = render_template(f"messages/{template}.sms.txt", **context).strip()
    message = OutboxMessage(
        channel="sms",
        recipient=to,
        subject=None,
        body_text=body_text,
        body_html=None,
        verification_id=verification_id,
    )
    return _write(message)


def _written_in(language: str | None):
    """The block renders in `language`; without one, in the current locale."""
    return force_locale(language) if language else nullcontext()


def _has_line_break(text: str) -> bool:
    return "\r" in text or "\n" in text


def _write(message: OutboxMessage) -> OutboxMessage:
    # Only written: the worker process delivers, so no request ever waits on a backend.
    db.session.add(message)
    db.session.flush()  # gives the id; the row exists only if the caller commits
    return message


# -- claiming a batch -------------------------------------------------------------------


def claim_timeout(config: Mapping) -> timedelta:
    """How long a claim holds: twice the longest a live worker waits for one send."""
    longest = max(float(config["MAIL_TIMEOUT"]), float(config["SMS_TIMEOUT"]))
    return timedelta(seconds=2 * longest)


def dead_verification(now: datetime):
    """The SQL twin of verification._state: the code or link can no longer be used."""
    v = _verifications.c
    return or_(
        v.used_at.is_not(None),
        v.superseded_at.is_not(None),
        v.verified_at.is_not(None),  # already proved: the customer has it
        v.expires_at <= now,
        v.failed_attempts >= current_app.config["SMS_CODE_MAX_TRIES"],
    )


def _carries_dead_secret(now: datetime):
    return _outbox.c.verification_id.in_(select(_verifications.c.id).where(dead_verification(now)))


def claim_batch(limit: int, now: datetime | None = None) -> tuple[list[Outgoing], list[int]]:
    """Claim up to `limit` due pending messages, oldest first, in one transaction.

    Returns the claimed messages to send, and the ids of those found stale (their code
    or link is superseded, used or expired), which are marked so and cleared instead.
    """
    now = now or utcnow()
    due = (
        select(_outbox.c.id)
        .where(_outbox.c.status == "pending", _outbox.c.next_attempt_at <= now)
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        # A CTE is run once; as a plain subquery PostgreSQL may run it again for every
        # row, and the LIMIT would no longer hold.
        .cte("due")
    )
    with db.engine.begin() as connection:
        rows = connection.execute(
            update(_outbox)
            .where(_outbox.c.id.in_(select(due.c.id)), _outbox.c.status == "pending")
            .values(status="sending", claimed_at=now, attempts=_outbox.c.attempts + 1)
            .returning(*_outbox.c)
        ).all()
        stale = _mark_stale(connection, [r.id for r in rows if r.verification_id], now)
    rows = sorted(rows, key=lambda row: (row.next_attempt_at, row.id))
    return [_outgoing(row) for row in rows if row.id not in stale], sorted(stale)


def _mark_stale(connection: Connection, message_ids: list[int], now: datetime) -> set[int]:
    if not message_ids:
        return set()
    stale = connection.execute(
        update(_outbox)
        .where(_outbox.c.id.in_(message_ids), _carries_dead_secret(now))
        .values(status="stale", claimed_at=None, body_text=CLEARED_BODY, body_html=None)
        .returning(_outbox.c.id)
    )
    return set(stale.scalars())


def _outgoing(row) -> Outgoing:
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
        attachment_filename=row.attachment_filename,
        attachment=row.attachment,
    )


def renew_claims(message_ids: list[int], claimed_at: datetime, now: datetime) -> None:
    """Tell other workers the batch's remaining messages are still being worked on."""
    if not message_ids:
        return
    with db.engine.begin() as connection:
        connection.execute(
            update(_outbox)
            .where(
                _outbox.c.id.in_(message_ids),
                _outbox.c.status == "sending",
                _outbox.c.claimed_at == claimed_at,
            )
            .values(claimed_at=now)
        )


# -- recording a batch's outcomes, in one transaction ------------------------------------


@dataclass
class Outcomes:
    """What happened to the messages of a batch since they were last recorded."""

    claimed_at: datetime
    sent: dict[str, list[int]]  # backend name -> ids
    failed: list[tuple[Outgoing, str]]  # message, safe error text
    deferred: list[int]  # not tried: their backend kept failing in this batch
    returned: list[int]  # not tried: the worker is stopping

    @classmethod
    def empty(cls, claimed_at: datetime) -> "Outcomes":
        return cls(claimed_at, {}, [], [], [])


def record(outcomes: Outcomes, keep_body: Iterable[str] = (), now: datetime | None = None):
    """Write a batch's outcomes; returns {message id: new status} for the failures.

    The bodies of sent messages are cleared (they carry codes and links), except for
    backends named in `keep_body` (the development one, whose page shows them).
    """
    now = now or utcnow()
    ours = and_(_outbox.c.status == "sending", _outbox.c.claimed_at == outcomes.claimed_at)
    statuses = {}
    with db.engine.begin() as connection:
        for backend_name, message_ids in outcomes.sent.items():
            cleared = {
                "body_text": CLEARED_BODY,
                "body_html": None,
                "attachment_filename": None,
                "attachment": None,
            }
            if backend_name in keep_body:
                cleared = {}
            # Not conditional on the claim: whoever sent it, it has been sent.
            connection.execute(
                update(_outbox)
                .where(_outbox.c.id.in_(message_ids))
                .values(
                    status="sent",
                    sent_at=now,
                    delivered_by=backend_name,
                    claimed_at=None,
                    **cleared,
                )
            )
        for message, error in outcomes.failed:
            statuses[message.id] = _record_failure(connection, ours, message, error, now)
        for message_ids, due in (
            (outcomes.deferred, now + BACKOFF_FIRST),
            (outcomes.returned, now),
        ):
            if message_ids:
                connection.execute(
                    update(_outbox)
                    .where(_outbox.c.id.in_(message_ids), ours)
                    .values(
                        status="pending",
                        attempts=_outbox.c.attempts - 1,  # this one was never made
                        claimed_at=None,
                        next_attempt_at=due,
                    )
                )
    return statuses


def _record_failure(connection: Connection, ours, message: Outgoing, error: str, now) -> str:
    """Put the message back for a later attempt, or give up; returns the new status."""
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    status = "failed" if message.attempts >= max_attempts else "pending"
    connection.execute(
        update(_outbox)
        .where(_outbox.c.id == message.id, ours)
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


# -- housekeeping ------------------------------------------------------------------------


def release_stuck(now: datetime | None = None) -> list[tuple[int, str]]:
    """Return to pending (or fail) messages claimed by a worker that died while sending.

    This is the one case in which a message can go out twice: the worker may have died
    after the server accepted the message and before it recorded that. The retry carries
    the same Message-ID / idempotency key, so the receiving side can drop the copy; a
    code or link that died meanwhile is found stale when it is claimed again.
    Returns (id, new status) pairs.
    """
    now = now or utcnow()
    cutoff = now - claim_timeout(current_app.config)
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    stuck = and_(_outbox.c.status == "sending", _outbox.c.claimed_at < cutoff)
    released = []
    with db.engine.begin() as connection:
        for given_up, status in ((False, "pending"), (True, "failed")):
            enough = _outbox.c.attempts >= max_attempts
            changed = connection.execute(
                update(_outbox)
                .where(stuck, enough if given_up else ~enough)
                .values(
                    status=status,
                    next_attempt_at=now,
                    claimed_at=None,
                    last_error="the worker stopped while sending; it may have been sent",
                )
                .returning(_outbox.c.id)
            )
            released += [(message_id, status) for message_id in changed.scalars()]
    return released


def clear_dead_failures(now: datetime | None = None) -> int:
    """Mark stale (and clear) given-up messages whose code or link has died since.

    A failed message keeps its body while its link still works, for `outbox retry`.
    """
    now = now or utcnow()
    with db.engine.begin() as connection:
        return connection.execute(
            update(_outbox)
            .where(_outbox.c.status == "failed", _carries_dead_secret(now))
            .values(status="stale", body_text=CLEARED_BODY, body_html=None)
        ).rowcount


# -- for operators: outbox status / outbox retry -------------------------------------------


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]
    oldest_pending: datetime | None


def summary() -> Summary:
    with db.engine.connect() as connection:
        counts = dict.fromkeys(STATUSES, 0)
        counts.update(
            connection.execute(
                select(_outbox.c.status, func.count()).group_by(_outbox.c.status)
            ).all()
        )
        oldest = connection.execute(
            select(func.min(_outbox.c.created_at)).where(_outbox.c.status == "pending")
        ).scalar()
    return Summary(counts, oldest)


@dataclass(frozen=True)
class Requeued:
    retrying: int
    stale: int


def requeue(include_failed: bool, since: datetime | None, now: datetime | None = None):
    """Make waiting messages due now (with `include_failed`, given-up ones too, with a
    fresh count of attempts); those whose code or link has died are marked stale."""
    now = now or utcnow()
    statuses = ["pending", "failed"] if include_failed else ["pending"]
    chosen: list[Any] = [_outbox.c.status.in_(statuses)]
    if since is not None:
        chosen.append(_outbox.c.created_at >= since)
    with db.engine.begin() as connection:
        stale = connection.execute(
            update(_outbox)
            .where(*chosen, _carries_dead_secret(now))
            .values(status="stale", body_text=CLEARED_BODY, body_html=None)
        ).rowcount
        retrying = connection.execute(
            update(_outbox)
            .where(*chosen)
            .values(
                status="pending",
                next_attempt_at=now,
                # A given-up message starts over; a waiting one keeps its count.
                attempts=case((_outbox.c.status == "failed", 0), else_=_outbox.c.attempts),
            )
        ).rowcount
    return Requeued(retrying=retrying, stale=stale)
