"""Whether the SMS carrying the wizard's code is late, for the code step (issue 19, item
5). A code is worth waiting for only while it lives: a customer whose SMS does not come
should hear so while sending another or choosing e-mail still helps.

Late: still unsent SMS_LATE_AFTER seconds after it was written to the outbox (the worker
hands a message over within seconds when the gateway answers), or given up ("failed").
Only reads the outbox; delivering is the worker's.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ebok.extensions import db
from ebok.models import OutboxMessage, Verification, utcnow

# Still on its way: the worker has not handed it over yet.
_UNSENT = ("pending", "sending")


@dataclass(frozen=True)
class CodeSms:
    late: bool
    # Seconds until it would be late, while it may still become so (the poll's delay).
    late_in: int | None = None


def code_sms(record: Verification) -> CodeSms:
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.verification_id == record.id, OutboxMessage.channel == "sms")
        .order_by(OutboxMessage.id.desc())
    ).first()
    if message is not None and message.status == "failed":
        return CodeSms(late=True)
    if message is None or message.status not in _UNSENT:
        return CodeSms(late=False)  # sent, or dead with its code (stale)
    late_after = timedelta(seconds=current_app.config["SMS_LATE_AFTER"])
    remaining = (message.created_at + late_after - utcnow()).total_seconds()
    if remaining <= 0:
        return CodeSms(late=True)
    return CodeSms(late=False, late_in=math.ceil(remaining))
