"""Messages to customers: e-mail and SMS through the outbox (SPEC §7).

    send_email(...) / send_sms(...)   write the message in the caller's transaction
    init_app(app)                     delivers a request's messages after its response
    run_worker(loop=...)              the `flask outbox deliver [--loop]` command's work

A message is written to the outbox table in the same transaction as the change that
causes it, so it exists exactly when that change does. After the response has gone out
it is handed to its backend; if that fails it stays pending and the worker retries it
with backoff. A message is claimed (and the claim committed) before it is sent, so it
is never sent twice, except when a worker dies in the middle of sending: ten minutes
later the message is returned to pending and may go out a second time.
"""

from ebok.messages.backends import DeliveryError, Outgoing, backend_for
from ebok.messages.delivery import (
    DeliveryCounts,
    deliver_due,
    deliver_ids,
    deliver_message,
    init_app,
    run_worker,
)
from ebok.messages.outbox import send_email, send_sms

__all__ = [
    "DeliveryCounts",
    "DeliveryError",
    "Outgoing",
    "backend_for",
    "deliver_due",
    "deliver_ids",
    "deliver_message",
    "init_app",
    "run_worker",
    "send_email",
    "send_sms",
]
