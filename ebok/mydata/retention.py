"""Retention (README, "Retention"): a customer billing's customers files have not carried
for CUSTOMERS_RETENTION_DAYS has left; the portal deletes their online account as
"Usuń konto w Strefie Klienta" does (ebok/mydata/deletion.py) and removes the personal
data it keeps of them: names, contacts and bank account, the values of their contact
changes, and the messages waiting for those contacts. What the law keeps stays: the
customer's number, invoices and their PDFs (five years of accounting records), payments,
marketing consents and the e-Faktura record. They are not told: they have left, and the
last contact may no longer be theirs.

Absent means older than the period *and* older than the newest carried time by more than
its precision: a customers file came since without them, so billing sending no files at
all removes nobody."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, false, func, select, update

from ebok.customers.batches import CARRIED_PRECISION
from ebok.extensions import db
from ebok.logs import audit
from ebok.messages.outbox import withdraw_messages_to
from ebok.models import Account, ContactChange, Customer, utcnow
from ebok.mydata.deletion import end_unused_codes, remove_account


@dataclass
class RetentionReport:
    customers: int = 0  # whose personal data went (or would go, in a dry run)
    accounts: int = 0  # online accounts deleted
    contact_changes: int = 0  # whose values were removed
    messages: int = 0  # waiting messages withdrawn


def absent_customers(days: int, now: datetime) -> Select[Customer]:
    """The customers whose personal data is due to go, oldest absence first."""
    newest = db.session.scalar(select(func.max(Customer.last_in_billing_at)))
    if newest is None:
        return select(Customer).where(false())
    before = min(now - timedelta(days=days), newest - CARRIED_PRECISION)
    return (
        select(Customer)
        .where(Customer.personal_data_removed_at.is_(None), Customer.last_in_billing_at < before)
        .order_by(Customer.last_in_billing_at, Customer.id)
    )


def customers_numbered(numbers: list[str]) -> Select[Customer]:
    """Customers billing marked as gone, named by the operator, whatever their files say."""
    return select(Customer).where(
        Customer.number.in_(numbers), Customer.personal_data_removed_at.is_(None)
    )


def apply_retention(
    days: int,
    *,
    numbers: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionReport:
    """Removes the personal data of every absent customer (or, given `numbers`, of those
    customers at once), one transaction each (a run stopped halfway keeps what it did;
    the next one goes on). Idempotent: a customer whose data went is marked and never
    counted again, until a customers file carries them again. `dry_run` counts and
    changes nothing. `days` of 0 or less is retention switched off: without `numbers`,
    nobody goes."""
    now = now or utcnow()
    report = RetentionReport()
    if days <= 0 and not numbers:
        return report
    chosen = customers_numbered(numbers) if numbers else absent_customers(days, now)
    if dry_run:
        for customer in db.session.scalars(chosen).all():
            report.customers += 1
            report.accounts += customer.account is not None
    else:
        due = db.session.scalars(chosen.with_only_columns(Customer.id)).all()
        db.session.commit()  # ends the read: each customer is read again in its own turn
        for customer_id in due:
            locked = _still_due(chosen, customer_id)
            if locked is None:
                db.session.rollback()
                continue
            report.customers += 1
            _remove_personal_data(locked, now, report)
            db.session.commit()
    audit(
        "retention_dry_run" if dry_run else "retention_applied",
        days=days,
        named=len(numbers or ()),
        customers=report.customers,
        accounts=report.accounts,
        contact_changes=report.contact_changes,
        messages=report.messages,
    )
    return report


def _still_due(chosen: Select[Customer], customer_id: int) -> Customer | None:
    """The customer, locked until the commit, if `chosen` still takes them: an import that
    carried them again since the list was read wins, and one that comes now waits (a row
    lock on PostgreSQL; on SQLite the write lock, taken before reading)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    return db.session.scalars(chosen.where(Customer.id == customer_id).with_for_update()).first()


def _remove_personal_data(customer: Customer, now: datetime, report: RetentionReport) -> None:
    account = customer.account
    contacts = _contacts_of(customer, account)
    account_id = account.id if account else None
    if account is not None:
        remove_account(account, source="retention")
        report.accounts += 1
    else:
        end_unused_codes(customer.id, now)
    changed = db.session.execute(
        update(ContactChange)
        .where(ContactChange.customer_id == customer.id)
        .values(
            old_value=None,
            new_value="",
            # Settled: an import must not put an emptied "portal value" back into billing's row.
            settled_at=func.coalesce(ContactChange.settled_at, now),
        )
    )
    report.contact_changes += changed.rowcount or 0  # type: ignore[attr-defined]
    customer.first_name = customer.last_name = ""
    customer.email = customer.phone = customer.bank_account = None
    customer.personal_data_removed_at = now
    db.session.flush()
    report.messages += withdraw_messages_to(contacts - _contacts_of_others(contacts))
    audit("customer_data_removed", customer=customer.id, account=account_id)


def _contacts_of(customer: Customer, account: Account | None) -> set[str]:
    """Every address and number the portal may have written to for this customer."""
    contacts = {customer.email, customer.phone}
    if account is not None:
        contacts |= {account.einvoice_address, account.einvoice_pending_address}
    values = db.session.execute(
        select(ContactChange.old_value, ContactChange.new_value).where(
            ContactChange.customer_id == customer.id
        )
    )
    for old_value, new_value in values:
        contacts |= {old_value, new_value}
    return {contact for contact in contacts if contact}


def _contacts_of_others(contacts: set[str]) -> set[str]:
    """Those of `contacts` another customer or account still has (a family shares an
    address): their messages stay."""
    if not contacts:
        return set()
    listed = list(contacts)
    shared: set[str | None] = set()
    for column in (
        Customer.email,
        Customer.phone,
        Account.einvoice_address,
        Account.einvoice_pending_address,
    ):
        shared |= set(db.session.scalars(select(column).where(column.in_(listed))))
    return {contact for contact in shared if contact}
