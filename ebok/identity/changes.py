"""One history of the changes of what reaches the customer (SPEC §15): the contact e-mail
address and phone number (Moje dane: the current password, then a link or a code), the
e-Faktura address (the current password, then its own confirmation link) and the login
name (the current password). Each change made is a ContactChange row, shown to the
customer in their data; the contact ones are billing's (`flask contacts export`, and the
customers import keeps them until billing's file carries them); the others are settled
as they are made, billing having nothing to take from them."""

from ebok.extensions import db
from ebok.models import ContactChange, Customer, utcnow

# The fields billing keeps, and learns of from the export.
BILLING_FIELDS = ("email", "phone")


def record_change(
    customer: Customer, field: str, old_value: str | None, new_value: str | None
) -> None:
    """A change made now, written in the caller's transaction (the caller commits)."""
    now = utcnow()
    db.session.add(
        ContactChange(
            customer_id=customer.id,
            field=field,
            old_value=old_value,
            new_value=new_value or "",  # a login name removed
            requested_at=now,
            changed_at=now,
            settled_at=None if field in BILLING_FIELDS else now,
        )
    )
