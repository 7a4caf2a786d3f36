"""Messages to customers: e-mail and SMS through the outbox (SPEC §7).

    send_email(...) / send_sms(...)   write the message in the caller's transaction
    run_worker(loop=...)              the `flask outbox deliver [--loop]` command's work
    summary() / requeue(...)          the `flask outbox status` and `outbox retry` commands

A message is written to the outbox table in the same transaction as the change that
causes it, so it exists exactly when that change does. Requests never talk to SMTP or the
SMS gateway: the worker process claims due messages, each channel in a loop of its own
with a few senders, each sender over a connection of its own; on PostgreSQL a committed
message wakes its channel at once (LISTEN/NOTIFY, messages.wakeup), elsewhere the loop
polls. A failure stays pending and
is retried with backoff, a refusal for good is given up at once. A message is claimed
(and the claim committed) before it is sent and its outcome committed as soon as the
server answers, so it is sent once, except when a worker dies while it is on the wire:
after the claim timeout (twice the send timeout) it is tried again, with the same
Message-ID / idempotency key. A code or link that was
superseded, used or expired by then is not sent (status "stale"); the body of a sent or
stale message is cleared, so no live code or link stays in the table.
"""

from ebok.messages.backends import DeliveryError, Outgoing, backend_for
from ebok.messages.delivery import DeliveryCounts, deliver_due, init_app, run_worker
from ebok.messages.outbox import Requeued, Summary, requeue, send_email, send_sms, summary

__all__ = [
    "DeliveryCounts",
    "DeliveryError",
    "Outgoing",
    "Requeued",
    "Summary",
    "backend_for",
    "deliver_due",
    "init_app",
    "requeue",
    "run_worker",
    "send_email",
    "send_sms",
    "summary",
]
