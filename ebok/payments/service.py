"""Paying invoices online (SPEC §14): starting a payment, the provider's notification,
the states the return page and "Płatności" show, and the operators' reconciliation.

Money is never counted twice or lost:
- the payment row is written (and committed) before the customer leaves for the provider;
- a notification is believed only when its sign is the provider's (compared in constant
  time), its merchant, POS, payment, amount and currency are ours, and the provider
  confirms it (verify);
- a payment becomes `paid` in one transaction, by a conditional UPDATE ... WHERE state <>
  'paid' that writes the confirmation e-mail to the outbox only when it changed the row:
  two notifications at once (two workers) make one `paid` and one e-mail.
Billing stays the source of truth: an invoice's paid_on comes only from its import.
"""

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from flask_babel import ngettext
from sqlalchemy import CursorResult, Update, exists, func, select, update

from ebok import logs, messages
from ebok.extensions import db
from ebok.i18n import languages, lazy_pgettext
from ebok.models import (
    Account,
    Customer,
    Invoice,
    Payment,
    new_payment_session_id,
    payment_invoices,
    utcnow,
)
from ebok.payments.providers import (
    Notification,
    PaymentProvider,
    ProviderUnavailable,
    Registration,
)

log = logging.getLogger("ebok.payments")

DESCRIPTION_LENGTH = 1024  # Przelewy24's limit
STATES = ("waiting", "paid", "failed", "abandoned")


def to_minor_units(amount: Decimal) -> int:
    """1234.56 -> 123456: grosze from a Decimal, never through a float."""
    grosze = amount.scaleb(2)
    if grosze != grosze.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(grosze)


# -- what the pages show --------------------------------------------------------------


def paid_online(
    invoice_ids: list[int] | None = None, *, customer_id: int | None = None
) -> set[int]:
    """Of these invoices (or the customer's), those with a paid payment that billing has
    not yet booked (no paid_on): "Opłacona (płatność w trakcie księgowania)"."""
    query = (
        select(Invoice.id)
        .join(payment_invoices, payment_invoices.c.invoice_id == Invoice.id)
        .join(Payment, Payment.id == payment_invoices.c.payment_id)
        .where(Payment.state == "paid", Invoice.paid_on.is_(None))
    )
    if invoice_ids is not None:
        query = query.where(Invoice.id.in_(invoice_ids))
    if customer_id is not None:
        query = query.where(Invoice.customer_id == customer_id)
    return set(db.session.scalars(query))


def _not_paid_online() -> object:
    return ~exists().where(
        payment_invoices.c.invoice_id == Invoice.id,
        Payment.id == payment_invoices.c.payment_id,
        Payment.state == "paid",
    )


def payable_invoices(
    customer_id: int, invoice_ids: list[int] | None = None, *, lock: bool = False
) -> list[Invoice]:
    """The customer's invoices "Zapłać" may pay: unpaid in billing, not paid online.
    `lock`: the rows stay locked (PostgreSQL) until the transaction ends, so two "Zapłać"
    at once (a double click) start one payment; always in the same order."""
    query = select(Invoice).where(
        Invoice.customer_id == customer_id,
        Invoice.paid_on.is_(None),
        _not_paid_online(),  # type: ignore[arg-type]
    )
    if invoice_ids is not None:
        query = query.where(Invoice.id.in_(invoice_ids))
    query = query.order_by(Invoice.due_date, Invoice.id)
    if lock:
        query = query.with_for_update(of=Invoice)
    return list(db.session.scalars(query))


def waiting_payment(invoice_ids: list[int], now: datetime | None = None) -> Payment | None:
    """A payment of any of these invoices still waiting within the provider's time limit:
    "Zapłać" goes back to it instead of starting a second one. It may still be on its way
    to the provider (no redirect_url yet: another request is registering it)."""
    if not invoice_ids:
        return None
    return db.session.scalars(
        select(Payment)
        .join(payment_invoices, payment_invoices.c.payment_id == Payment.id)
        .where(
            payment_invoices.c.invoice_id.in_(invoice_ids),
            Payment.state == "waiting",
            Payment.expires_at > (now or utcnow()),
        )
        .order_by(Payment.id.desc())
    ).first()


def invoices_waiting(customer_id: int, now: datetime | None = None) -> set[int]:
    """The customer's invoices with a payment waiting within the provider's time limit."""
    return set(
        db.session.scalars(
            select(payment_invoices.c.invoice_id)
            .join(Payment, Payment.id == payment_invoices.c.payment_id)
            .where(
                Payment.customer_id == customer_id,
                Payment.state == "waiting",
                Payment.expires_at > (now or utcnow()),
            )
        )
    )


def payments_of(customer_id: int) -> list[Payment]:
    return list(
        db.session.scalars(
            select(Payment)
            .where(Payment.customer_id == customer_id, Payment.redirect_url.is_not(None))
            .order_by(Payment.created_at.desc(), Payment.id.desc())
        )
    )


def find_payment(customer_id: int, session_id: str) -> Payment | None:
    """The customer's own payment; None for anyone else's."""
    if "\x00" in session_id:
        return None
    return db.session.scalars(
        select(Payment).where(Payment.customer_id == customer_id, Payment.session_id == session_id)
    ).first()


# -- starting a payment ---------------------------------------------------------------


class StartProblem(enum.Enum):
    NOTHING_TO_PAY = "nothing_to_pay"  # paid meanwhile, or not the customer's
    UNAVAILABLE = "unavailable"  # the provider is down, slow or refuses us


@dataclass(frozen=True)
class GoToProvider:
    url: str
    payment: Payment
    resumed: bool  # a payment already waiting, not a new one


@dataclass(frozen=True)
class WaitingElsewhere:
    """A payment of these invoices is being registered by another request (a double
    click): its return page, never a second payment."""

    session_id: str


def start_payment(
    account: Account,
    invoice_ids: list[int] | None,
    provider: PaymentProvider,
    *,
    time_limit: int,
    language: str,
    urls: Callable[[str], tuple[str, str]],
) -> GoToProvider | WaitingElsewhere | StartProblem:
    """Starts paying these invoices of the account's customer (None: every unpaid one):
    the payment row first, then its registration with the provider. `urls(session_id)`
    gives the return page's and the notification's absolute URLs."""
    customer = account.customer
    invoices = payable_invoices(customer.id, invoice_ids, lock=True)
    if not invoices:
        db.session.rollback()
        return StartProblem.NOTHING_TO_PAY
    # One payment in progress per invoice: those with one waiting are left to it; when
    # that is all of them, "Zapłać" goes back to it.
    waiting = invoices_waiting(customer.id)
    free = [invoice for invoice in invoices if invoice.id not in waiting]
    if not free:
        already = waiting_payment([invoice.id for invoice in invoices])
        db.session.rollback()  # the invoices' locks go
        if already is None:  # its time limit passed a moment ago
            return StartProblem.NOTHING_TO_PAY
        if already.redirect_url is None:
            return WaitingElsewhere(already.session_id)
        return GoToProvider(already.redirect_url, already, resumed=True)
    currency = free[0].currency
    invoices = [invoice for invoice in free if invoice.currency == currency]

    now = utcnow()
    amount = to_minor_units(sum((invoice.gross_amount for invoice in invoices), Decimal(0)))
    session_id = new_payment_session_id()
    url_return, url_status = urls(session_id)
    # Everything the registration needs is read before the commit expires the objects.
    registration = Registration(
        session_id=session_id,
        amount=amount,
        currency=currency,
        description=_description(invoices),
        email=_email_of(account) or "",
        language=language,
        url_return=url_return,
        url_status=url_status,
        time_limit=time_limit,
    )
    customer_id, invoice_count = customer.id, len(invoices)
    payment = Payment(
        customer_id=customer_id,
        session_id=session_id,
        provider=provider.name,
        amount=amount,
        currency=currency,
        state="waiting",
        created_at=now,
        expires_at=now + timedelta(minutes=time_limit),
        invoices=invoices,
    )
    db.session.add(payment)
    db.session.commit()  # the row exists before anything leaves for the provider
    try:
        token = provider.register(registration)
    except ProviderUnavailable as error:
        log.error("payment %s: not registered: %s", payment.id, error)
        _finish(payment, "failed")
        logs.audit(
            "payment.register_failed",
            level=logging.WARNING,
            payment=payment.id,
            customer=customer_id,
        )
        return StartProblem.UNAVAILABLE
    redirect_url = provider.redirect_url(token)
    payment.redirect_url = redirect_url
    db.session.commit()
    logs.audit(
        "payment.started",
        payment=payment.id,
        customer=customer_id,
        amount=amount,
        invoices=invoice_count,
    )
    return GoToProvider(redirect_url, payment, resumed=False)


def _description(invoices: list[Invoice]) -> str:
    numbers = ", ".join(invoice.number for invoice in invoices)
    # Translators: the payment's title on the payment provider's page and in the bank's
    # statement; %(numbers)s is the invoice's number ("FV/2026/11/000123"), or several
    # separated by commas.
    text = ngettext("Invoice %(numbers)s", "Invoices %(numbers)s", len(invoices), numbers=numbers)
    return text[:DESCRIPTION_LENGTH]


def _email_of(account: Account) -> str | None:
    return account.customer.email or account.einvoice_address


def _finish(payment: Payment, state: str) -> None:
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.state == "waiting")
        .values(state=state, finished_at=utcnow())
    )
    db.session.commit()


# -- the provider's notification ------------------------------------------------------


class Handled(enum.Enum):
    PAID = "paid"  # 200: this notification made the payment paid
    ALREADY_PAID = "already_paid"  # 200: a repeat, nothing changed
    REFUSED = "refused"  # 400: not the provider's, not ours, or wrong; nothing changed
    UNAVAILABLE = "unavailable"  # 503: verify could not be asked; the provider sends again


def handle_notification(provider: PaymentProvider, body: bytes) -> Handled:
    notification = provider.parse_notification(body)
    if notification is None:
        return _refuse("malformed")
    if not provider.check_notification(notification):
        return _refuse("sign", session=notification.session_id[:64])
    payment = db.session.scalars(
        select(Payment).where(Payment.session_id == notification.session_id)
    ).first()
    if payment is None:
        return _refuse("unknown", session=notification.session_id[:64])
    if (
        notification.amount != payment.amount
        or notification.origin_amount != payment.amount
        or notification.currency != payment.currency
    ):
        return _refuse("amount", payment=payment.id)
    if payment.state == "paid":
        return Handled.ALREADY_PAID
    try:
        verified = provider.verify(notification)
    except ProviderUnavailable as error:
        log.error("payment %s: verify failed: %s", payment.id, error)
        return Handled.UNAVAILABLE
    if not verified:
        return _refuse("verify", payment=payment.id)
    return Handled.PAID if mark_paid(payment.id, notification) else Handled.ALREADY_PAID


def _refuse(reason: str, **fields: object) -> Handled:
    db.session.rollback()
    logs.audit("payment.notification_refused", level=logging.WARNING, reason=reason, **fields)
    return Handled.REFUSED


def mark_paid(payment_id: int, notification: Notification) -> bool:
    """Makes the payment paid and writes its confirmation e-mail, in one transaction;
    False when another notification did it first (the UPDATE changed no row)."""
    now = utcnow()
    changed = _changed_rows(
        update(Payment)
        .where(Payment.id == payment_id, Payment.state != "paid")
        .values(
            state="paid",
            order_id=notification.order_id,
            method_id=notification.method_id,
            paid_at=now,
            finished_at=now,
            confirmation_sent_at=now,
        )
    )
    if changed != 1:
        db.session.rollback()
        return False
    payment = db.session.get(Payment, payment_id)
    assert payment is not None
    db.session.refresh(payment)
    _write_confirmation(payment)
    db.session.commit()
    logs.audit("payment.paid", payment=payment.id, customer=payment.customer_id)
    return True


def _changed_rows(statement: Update) -> int:
    return cast(CursorResult, db.session.execute(statement)).rowcount


def _write_confirmation(payment: Payment) -> None:
    customer: Customer = payment.customer
    account = customer.account
    address = customer.email or (account.einvoice_address if account else None)
    if not address:
        return
    messages.send_email(
        address,
        # Translators: the subject of the e-mail confirming an online payment.
        lazy_pgettext("e-mail subject", "Your payment has been received"),
        "payment_received",
        language=languages.of_account(account) if account else None,
        payment=payment,
    )


def mark_failed(payment: Payment) -> bool:
    """The provider (or the simulation page) gave the payment up."""
    changed = _changed_rows(
        update(Payment)
        .where(Payment.id == payment.id, Payment.state == "waiting")
        .values(state="failed", finished_at=utcnow())
    )
    db.session.commit()
    if changed:
        logs.audit("payment.failed", payment=payment.id, customer=payment.customer_id)
    return bool(changed)


# -- operators --------------------------------------------------------------------------


@dataclass
class Reconciled:
    paid: int = 0  # a lost notification: the provider had the money, verified now
    abandoned: int = 0
    unavailable: int = 0  # the provider did not answer: tried again next run


def reconcile(provider: PaymentProvider, now: datetime | None = None) -> Reconciled:
    """Asks the provider about every payment left waiting past its time limit."""
    result = Reconciled()
    overdue = list(
        db.session.scalars(
            select(Payment).where(
                Payment.state == "waiting", Payment.expires_at <= (now or utcnow())
            )
        )
    )
    for payment in overdue:
        try:
            transaction = provider.transaction(payment.session_id)
            if transaction is None or not transaction.paid or transaction.order_id is None:
                _finish(payment, "abandoned")
                result.abandoned += 1
                continue
            if transaction.amount != payment.amount or transaction.currency != payment.currency:
                log.error("payment %s: the provider's amount differs; left waiting", payment.id)
                logs.audit("payment.reconcile_mismatch", level=logging.WARNING, payment=payment.id)
                continue
            notification = Notification(
                merchant_id=0,
                pos_id=0,
                session_id=payment.session_id,
                amount=transaction.amount,
                origin_amount=transaction.amount,
                currency=transaction.currency,
                order_id=transaction.order_id,
                method_id=0,
                statement="",
                sign="",
            )
            if provider.verify(notification) and mark_paid(payment.id, notification):
                result.paid += 1
        except ProviderUnavailable as error:
            log.error("payment %s: reconcile: %s", payment.id, error)
            result.unavailable += 1
    return result


@dataclass(frozen=True)
class ExportRow:
    payment_id: int
    order_id: int | None
    customer_number: str
    invoice_numbers: str
    amount: str
    currency: str
    paid_at: str


def paid_since(since: datetime) -> list[ExportRow]:
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.state == "paid", Payment.paid_at >= since)
        .order_by(Payment.paid_at, Payment.id)
    )
    return [
        ExportRow(
            payment_id=payment.id,
            order_id=payment.order_id,
            customer_number=payment.customer.number,
            invoice_numbers=" ".join(invoice.number for invoice in payment.invoices),
            amount=f"{payment.amount_decimal:.2f}",
            currency=payment.currency,
            paid_at=f"{payment.paid_at:%Y-%m-%dT%H:%M:%SZ}" if payment.paid_at else "",
        )
        for payment in payments
    ]


def counts() -> dict[str, int]:
    rows = db.session.execute(select(Payment.state, func.count()).group_by(Payment.state))
    found = {state: count for state, count in rows}
    return {state: found.get(state, 0) for state in STATES}


def overdue_count(now: datetime | None = None) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(Payment.state == "waiting", Payment.expires_at <= (now or utcnow()))
        )
        or 0
    )
