"""The outbox: writing messages in the caller's transaction, and the states of a row.

    pending --claim--> sending --sent--> sent (body cleared)
       ^                  |
       |                  +--failure--> pending (next_attempt_at later) ... failed
       |                  +--refused for good--> failed (failed_because "refused")
       |                  +--its code or link is dead--> stale (body cleared)
       +-------- outbox retry [--failed] -------------------------+

Every state change is a short transaction of its own on a connection of its own, never
the caller's session, so delivering never commits (or waits for) anybody else's work.
A worker claims a batch in one statement that only one worker can win per row
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite runs writers one at a time), commits the
claim before anything leaves, and records each message's outcome in a transaction of its
own as soon as the server has answered.
"""

import re
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import ColumnElement, Connection, String, and_, case, func, or_, select, update

from ebok.extensions import db
from ebok.messages import wakeup
from ebok.messages.backends import Outgoing, mask_recipient
from ebok.models import OutboxMessage, Verification, utcnow

# After a failed attempt n the next waits 30 s * 2**(n-1), but never more than an hour.
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
# Messages carrying a code or link: 5 s * 2**(n-1), never more than 30 s (see backoff).
SECRET_BACKOFF_FIRST = timedelta(seconds=5)
SECRET_BACKOFF_MAX = timedelta(seconds=30)
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
    **context: Any,
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
    **context: Any,
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


def _written_in(language: str | None) -> AbstractContextManager[Any]:
    """The block renders in `language`; without one, in the current locale."""
    return force_locale(language) if language else nullcontext()


def _has_line_break(text: str) -> bool:
    return "\r" in text or "\n" in text


def _write(message: OutboxMessage) -> OutboxMessage:
    # Only written: the worker process delivers, so no request ever waits on a backend.
    db.session.add(message)
    db.session.flush()  # gives the id; the row exists only if the caller commits
    wakeup.announce(message.channel)
    return message


# -- claiming a batch -------------------------------------------------------------------


def claim_timeout(config: Mapping) -> timedelta:
    """How long a claim holds: twice the longest a live worker waits for one send."""
    longest = max(float(config["MAIL_TIMEOUT"]), float(config["SMS_TIMEOUT"]))
    return timedelta(seconds=2 * longest)


def dead_verification(now: datetime) -> ColumnElement[bool]:
    """The SQL twin of verification._state: the code or link can no longer be used."""
    v = _verifications.c
    return or_(
        v.used_at.is_not(None),
        v.superseded_at.is_not(None),
        v.verified_at.is_not(None),  # already proved: the customer has it
        v.expires_at <= now,
        v.failed_attempts >= current_app.config["SMS_CODE_MAX_TRIES"],
    )


def _carries_dead_secret(now: datetime) -> ColumnElement[bool]:
    return _outbox.c.verification_id.in_(select(_verifications.c.id).where(dead_verification(now)))


def claim_batch(
    limit: int, channel: str | None = None, now: datetime | None = None
) -> tuple[list[Outgoing], list[int]]:
    """Claim up to `limit` due pending messages (of one channel, if given), oldest first,
    in one transaction.

    Returns the claimed messages to send, and the ids of those found stale (their code
    or link is superseded, used or expired), which are marked so and cleared instead.
    """
    now = now or utcnow()
    due = [_outbox.c.status == "pending", _outbox.c.next_attempt_at <= now]
    return _claim(due, channel, limit, now)


def claim_probe(channel: str, now: datetime | None = None) -> tuple[list[Outgoing], list[int]]:
    """Claim the channel's oldest pending message, due or not: the one try that tells
    whether a backend that kept failing answers again (the breaker's half-open probe)."""
    now = now or utcnow()
    return _claim([_outbox.c.status == "pending"], channel, 1, now)


def _claim(
    where: list[Any], channel: str | None, limit: int, now: datetime
) -> tuple[list[Outgoing], list[int]]:
    if channel is not None:
        where = [*where, _outbox.c.channel == channel]
    chosen = (
        select(_outbox.c.id)
        .where(*where)
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        # A CTE is run once; as a plain subquery PostgreSQL may run it again for every
        # row, and the LIMIT would no longer hold.
        .cte("chosen")
    )
    with db.engine.begin() as connection:
        rows = connection.execute(
            update(_outbox)
            .where(_outbox.c.id.in_(select(chosen.c.id)), _outbox.c.status == "pending")
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


def withdraw_messages_to(recipients: Collection[str]) -> int:
    """Retention (ebok/mydata/retention.py): the portal no longer keeps these contacts.
    A message to one of them still waiting (pending, or failed and so retriable) is not
    sent: stale, its body and attachment cleared; every message to them but one being sent
    keeps the recipient only masked. In the caller's transaction; returns how many waiting
    messages were withdrawn."""
    if not recipients:
        return 0
    rows = db.session.execute(
        select(_outbox.c.id, _outbox.c.channel, _outbox.c.recipient, _outbox.c.status).where(
            _outbox.c.recipient.in_(list(recipients)), _outbox.c.status != "sending"
        )
    ).all()
    withdrawn = 0
    for message_id, channel, recipient, status in rows:
        values: dict[str, Any] = {"recipient": mask_recipient(channel, recipient)}
        if status in ("pending", "failed"):
            withdrawn += 1
            values.update(
                status="stale",
                body_text=CLEARED_BODY,
                body_html=None,
                attachment=None,
                attachment_filename=None,
            )
        db.session.execute(update(_outbox).where(_outbox.c.id == message_id).values(**values))
    return withdrawn


def _outgoing(row: Any) -> Outgoing:
    """The claimed row as an Outgoing: every field of it is a column of the outbox."""
    return Outgoing(**{field.name: getattr(row, field.name) for field in fields(Outgoing)})


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


# -- recording outcomes: one short transaction per message, as soon as it is known ---------
# A worker that dies can then repeat at most the messages it had on the wire.


def record_sent(
    message_id: int, backend_name: str, keep_body: bool, now: datetime | None = None
) -> None:
    """The server accepted the message. Its body is cleared (it carries codes and links),
    unless `keep_body` (the development backend, whose page shows them)."""
    cleared = {"body_text": CLEARED_BODY, "body_html": None}
    cleared |= {"attachment_filename": None, "attachment": None}
    with db.engine.begin() as connection:
        # Not conditional on the claim: whoever sent it, it has been sent.
        connection.execute(
            update(_outbox)
            .where(_outbox.c.id == message_id)
            .values(
                status="sent",
                sent_at=now or utcnow(),
                delivered_by=backend_name,
                claimed_at=None,
                **({} if keep_body else cleared),
            )
        )


def record_failure(
    message: Outgoing,
    error: str,
    *,
    permanent: bool,
    claimed_at: datetime,
    now: datetime | None = None,
) -> str:
    """Put the message back for a later attempt, or give up; returns the new status.

    A permanent failure is given up at once; a code or link is retried while it lives
    (it goes stale when it dies), anything else until OUTBOX_MAX_ATTEMPTS.
    """
    now = now or utcnow()
    carries_secret = message.verification_id is not None
    used_up = message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
    failed_because = None
    if permanent:
        failed_because = "refused"
    elif used_up and not carries_secret:
        failed_because = "attempts"
    status = "failed" if failed_because else "pending"
    with db.engine.begin() as connection:
        connection.execute(
            update(_outbox)
            .where(_ours(message.id, claimed_at))
            .values(
                status=status,
                failed_because=failed_because,
                next_attempt_at=now + backoff(message.attempts, carries_secret=carries_secret),
                last_error=error[:LAST_ERROR_LENGTH],
                claimed_at=None,
            )
        )
    return status


def return_unsent(message_ids: list[int], claimed_at: datetime, due: datetime) -> None:
    """Messages claimed but not tried (the worker stops, or their backend keeps failing)
    wait again, due at `due`, without the attempt counted."""
    if not message_ids:
        return
    with db.engine.begin() as connection:
        connection.execute(
            update(_outbox)
            .where(_ours(message_ids, claimed_at))
            .values(
                status="pending",
                attempts=_outbox.c.attempts - 1,  # this one was never made
                claimed_at=None,
                next_attempt_at=due,
            )
        )


def _ours(message_ids: int | list[int], claimed_at: datetime) -> ColumnElement[bool]:
    """Still under our claim: not released and taken by another worker meanwhile."""
    ids = message_ids if isinstance(message_ids, list) else [message_ids]
    return and_(
        _outbox.c.id.in_(ids), _outbox.c.status == "sending", _outbox.c.claimed_at == claimed_at
    )


def make_due(channel: str, now: datetime | None = None) -> int:
    """Make the channel's waiting messages due now: its backend answers again."""
    now = now or utcnow()
    return _reschedule(channel, _outbox.c.next_attempt_at > now, now)


def postpone_due(channel: str, until: datetime, now: datetime | None = None) -> int:
    """Make the channel's due messages wait until `until`: its backend keeps failing, and
    a probe will tell when it answers again (make_due)."""
    now = now or utcnow()
    return _reschedule(channel, _outbox.c.next_attempt_at <= now, until)


def _reschedule(channel: str, which: ColumnElement[bool], next_attempt_at: datetime) -> int:
    """Sets the next attempt of the channel's pending messages that `which` picks."""
    with db.engine.begin() as connection:
        return connection.execute(
            update(_outbox)
            .where(_outbox.c.status == "pending", _outbox.c.channel == channel, which)
            .values(next_attempt_at=next_attempt_at)
        ).rowcount


def backoff(attempts: int, *, carries_secret: bool = False) -> timedelta:
    """How long to wait after the given number of failed attempts.

    A code or link is worth sending only while it lives (an SMS code 10 minutes), so it
    is retried soon: 5 s, doubling, never more than 30 s apart.
    """
    if attempts < 1:
        return timedelta(0)
    first, most = BACKOFF_FIRST, BACKOFF_MAX
    if carries_secret:
        first, most = SECRET_BACKOFF_FIRST, SECRET_BACKOFF_MAX
    return min(first * 2 ** min(attempts - 1, 20), most)


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
                    failed_because="attempts" if given_up else None,
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
class GivenUp:
    id: int
    channel: str
    masked_recipient: str
    failed_because: str | None
    last_error: str | None


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]
    oldest_pending: datetime | None
    failed_because: dict[str, int]  # "refused" / "attempts" -> count of failed messages
    latest_failed: list[GivenUp]


def summary(latest: int = 10) -> Summary:
    """Counts by state, the oldest pending message, and the given-up ones: how many for
    each reason, and the `latest` with what the server said."""
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
        failed = _outbox.c.status == "failed"
        reasons = connection.execute(
            select(_outbox.c.failed_because, func.count())
            .where(failed)
            .group_by(_outbox.c.failed_because)
        ).all()
        rows = connection.execute(
            select(
                _outbox.c.id,
                _outbox.c.channel,
                _outbox.c.recipient,
                *[_outbox.c.failed_because, _outbox.c.last_error],
            )
            .where(failed)
            .order_by(_outbox.c.id.desc())
            .limit(latest)
        ).all()
    return Summary(
        counts,
        oldest,
        {reason or "attempts": count for reason, count in reasons},
        [
            GivenUp(row.id, row.channel, mask_recipient(row.channel, row.recipient), *row[3:])
            for row in rows
        ],
    )


@dataclass(frozen=True)
class Requeued:
    retrying: int
    stale: int


def requeue(include_failed: bool, since: datetime | None, now: datetime | None = None) -> Requeued:
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
                failed_because=None,
                next_attempt_at=now,
                # A given-up message starts over; a waiting one keeps its count.
                attempts=case((_outbox.c.status == "failed", 0), else_=_outbox.c.attempts),
            )
        ).rowcount
    return Requeued(retrying=retrying, stale=stale)
