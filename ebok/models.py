"""Database models. They know nothing about requests."""

import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ebok.extensions import db
from ebok.normalising import sms_number

if TYPE_CHECKING:  # db.Model is made at run time; the type checker sees what it is
    from sqlalchemy.orm import DeclarativeBase

    class Model(DeclarativeBase):
        __table__: ClassVar[Table]  # every model here maps one plain table
else:
    Model = db.Model

# The largest value an Integer column (every id here) holds on PostgreSQL. A number from a
# URL past it names nothing: PostgreSQL would refuse the query, SQLite past 2^63 too.
LARGEST_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Customer(Model):
    """A customer as the billing system knows them; imported, never deleted here (past
    retention only their personal data goes, the row stays for their invoices)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164, e.g. +48600700800
    # The customer's own account number for transfers (NRB, 26 digits, checksum checked).
    bank_account: Mapped[str | None] = mapped_column(String(26))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Retention (README, "Retention"): when a customers file from billing last carried
    # the customer (refreshed at most daily), and when the portal removed their personal
    # data after they had been absent past CUSTOMERS_RETENTION_DAYS (None: kept).
    last_in_billing_at: Mapped[datetime | None] = mapped_column(default=utcnow, index=True)
    personal_data_removed_at: Mapped[datetime | None]

    account: Mapped["Account | None"] = relationship(back_populates="customer")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def sms_phone(self) -> str | None:
        """The phone number if it can receive an SMS (a mobile), else None."""
        return sms_number(self.phone)


class Account(UserMixin, Model):
    """The online account of a customer who has registered in Strefa Klienta."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    # Stored lower-case; never all digits, so it cannot be mistaken for a customer number.
    login_name: Mapped[str | None] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    # e-Faktura: active while einvoice_since is set. The version changes with every change
    # of the service, so a confirmation link sent before a change stops working.
    einvoice_address: Mapped[str | None] = mapped_column(String(254))
    einvoice_since: Mapped[datetime | None]
    einvoice_version: Mapped[int] = mapped_column(default=0)
    # An address waiting for its confirmation link to be opened (activation or a change),
    # shown to the customer with "send again" and "cancel"; cleared by any change.
    einvoice_pending_address: Mapped[str | None] = mapped_column(String(254))
    einvoice_pending_source: Mapped[str | None] = mapped_column(String(10))
    # The interface language the customer uses (SPEC §12: "pl", "en", "uk"), for messages
    # sent when the customer is not the one asking; None for accounts from before it was
    # kept (they get the default language).
    language: Mapped[str | None] = mapped_column(String(5))
    # Two-step login (SPEC §16): None (off) or "totp" (an authenticator app), with the
    # app's shared secret (base32) and the last time step a code was accepted for, so a
    # code is never accepted twice.
    two_step: Mapped[str | None] = mapped_column(String(10))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None]

    customer: Mapped[Customer] = relationship(back_populates="account")

    @property
    def einvoice_active(self) -> bool:
        return self.einvoice_since is not None


class LoginSession(Model):
    """A signed-in session (SPEC §16): the browser's cookie carries only a random id, kept
    here as its SHA-256 (a copy of this table lets no one in). Deleting the row ends the
    session at once, on every worker."""

    __tablename__ = "login_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Written at most once a minute (SESSION_LAST_SEEN_EVERY): the idle timeout counts from it.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    browser: Mapped[str] = mapped_column(String(100), default="")
    system: Mapped[str] = mapped_column(String(100), default="")
    network: Mapped[str] = mapped_column(String(50), default="")  # 203.0.113.0/24
    # Flask's session (the CSRF token, messages to show), in Flask's tagged JSON.
    data: Mapped[str] = mapped_column(Text, default="{}")

    # Loaded with the session in one query: the account is needed on every signed-in page.
    account: Mapped[Account] = relationship(lazy="joined")


class RememberedDevice(Model):
    """A browser that has logged in to the account (its device cookie names `nonce`):
    listed in Bezpieczeństwo, where forgetting it (deleting the row) makes it a stranger
    again."""

    __tablename__ = "remembered_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    browser: Mapped[str] = mapped_column(String(100), default="")
    system: Mapped[str] = mapped_column(String(100), default="")
    # Until when logging in on this browser skips the second step ("remember this browser").
    two_step_until: Mapped[datetime | None]


class RecoveryCode(Model):
    """One of an account's 10 single-use recovery codes for the second step, as a keyed
    hash; used_at once used."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class LoginEvent(Model):
    """A login or a failed attempt at an account's password, for the customer's history."""

    __tablename__ = "login_events"
    __table_args__ = (Index("ix_login_events_account_newest", "account_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    succeeded: Mapped[bool]
    browser: Mapped[str] = mapped_column(String(100), default="")
    system: Mapped[str] = mapped_column(String(100), default="")
    network: Mapped[str] = mapped_column(String(50), default="")


class Verification(Model):
    """One SMS code or e-mail link sent to prove a contact datum.

    Only a keyed hash of the code or link secret is stored. A newer verification for the
    same customer and purpose supersedes this one; setting the password uses it up.
    """

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "registration" or "reset"
    channel: Mapped[str] = mapped_column(String(10))  # "sms" or "email"
    secret_hash: Mapped[str] = mapped_column(String(64))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()


class OutboxMessage(Model):
    """An e-mail or SMS waiting to be sent, written in the transaction that causes it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # "email" or "sms"
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # The code or link this message carries: it is not sent once that is superseded, used
    # or expired (status "stale").
    verification_id: Mapped[int | None] = mapped_column(ForeignKey("verifications.id"))
    # pending -> sending -> sent; back to pending with a later next_attempt_at on failure;
    # failed when refused for good or after OUTBOX_MAX_ATTEMPTS; stale when its code or link
    # died first. The body of a sent or stale message is cleared: it may have carried a
    # code or link.
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Why a failed message was given up: "refused" (the server will never take it, at the
    # first answer saying so) or "attempts" (OUTBOX_MAX_ATTEMPTS used up).
    failed_because: Mapped[str | None] = mapped_column(String(10))
    delivered_by: Mapped[str | None] = mapped_column(String(10))
    # One file sent along (an invoice's PDF), cleared with the body once sent.
    attachment_filename: Mapped[str | None] = mapped_column(String(100))
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class EInvoiceConsent(Model):
    """The record of an e-Faktura consent given or withdrawn: an electronic invoice needs
    the recipient's acceptance, which can be withdrawn (SPEC §5.1)."""

    __tablename__ = "einvoice_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None once the online account is deleted (SPEC §15): the record stays, naming the
    # customer (customer_id, set then).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))  # "activated", "address_changed", "withdrawn"
    address: Mapped[str | None] = mapped_column(String(254))
    terms_version: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # "banner", "account" (where it was given)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invoice(Model):
    """An invoice as the billing system issued it (SPEC §11); imported, never computed or
    deleted here. Only `paid_on` changes after the first import."""

    __tablename__ = "invoices"
    __table_args__ = (
        # "This customer's invoices, newest first" (ORDER BY issue_date DESC, id DESC): one
        # range of this index read backwards, at any size; ascending columns keep the
        # index plain, so both databases and the migration compare alike.
        Index("ix_invoices_customer_newest", "customer_id", "issue_date", "id"),
        # "This customer's unpaid invoices" (paid_on IS NULL: what is owed, "Zapłać
        # wszystko", paid online): read without the paid ones, however long the history.
        Index("ix_invoices_customer_unpaid", "customer_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    number: Mapped[str] = mapped_column(String(40), unique=True)  # FV/2026/11/000123
    issue_date: Mapped[date]
    period_from: Mapped[date]
    period_to: Mapped[date]
    due_date: Mapped[date]
    gross_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date | None]
    # "electronic" or "paper": the e-Faktura status of the customer on the issue date.
    delivery: Mapped[str] = mapped_column(String(10))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int]
    pdf_storage_key: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set in the transaction that writes the new-invoice e-mail to the outbox: once only.
    new_invoice_notified_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()


# The invoices one payment pays (one for "Zapłać", every unpaid one for "Zapłać wszystko").
payment_invoices = Table(
    "payment_invoices",
    Model.metadata,
    Column("payment_id", ForeignKey("payments.id"), primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), primary_key=True, index=True),
)


def new_payment_session_id() -> str:
    return secrets.token_urlsafe(24)


class Payment(Model):
    """One online payment of a customer's invoices through the payment provider (SPEC §14).

    Written before the customer leaves for the provider's page. waiting -> paid (the
    provider's notification checked and verified), failed (the provider refused it) or
    abandoned (past the provider's time limit, the provider knows of no payment). Only a
    conditional UPDATE ... WHERE state = 'waiting' changes the state, so it changes once.
    Billing stays the source of truth for the invoices' paid_on (SPEC §11).
    """

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # Ours, random and unique: the provider's sessionId, and what the return page names.
    session_id: Mapped[str] = mapped_column(String(64), unique=True, default=new_payment_session_id)
    provider: Mapped[str] = mapped_column(String(20))  # "przelewy24", "dev"
    amount: Mapped[int] = mapped_column(BigInteger)  # grosze (minor units), from Decimal
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(10), default="waiting", index=True)
    # Where the customer pays (the provider's page with its token), to go back to it.
    redirect_url: Mapped[str | None] = mapped_column(String(500))
    order_id: Mapped[int | None] = mapped_column(BigInteger)  # the provider's, once paid
    method_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # After this the provider no longer takes the payment; "Zapłać" may start a new one.
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]  # paid, failed or abandoned
    confirmation_sent_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    invoices: Mapped[list[Invoice]] = relationship(
        secondary=payment_invoices, order_by="Invoice.issue_date"
    )

    @property
    def amount_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-2)


class ContactChange(Model):
    """A change of what reaches the customer, made in Strefa Klienta (SPEC §15,
    identity/changes.py). Written when asked for, with the proof (a link or code) it waits
    for; changed_at is set once the new value is proved (at once for a login name). For
    the contact e-mail and phone, billing learns of it from `flask contacts export`; the
    customers import keeps the new value until billing's file carries it, which settles
    the change (settled_at); the others are settled as they are made."""

    __tablename__ = "contact_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # "email" or "phone" (billing's), "einvoice_address" or "login_name" (identity/changes.py)
    field: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str | None] = mapped_column(String(254))
    new_value: Mapped[str] = mapped_column(String(254))
    verification_id: Mapped[int | None] = mapped_column(ForeignKey("verifications.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(index=True)
    settled_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()


class MarketingConsent(Model):
    """One change of a marketing consent (SPEC §15 "Zgody"): the history is the record,
    the latest row of a channel its state. Kept when the online account is deleted."""

    __tablename__ = "marketing_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # "email", "sms", "phone"
    granted: Mapped[bool]
    wording_version: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # the page it was given on
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
