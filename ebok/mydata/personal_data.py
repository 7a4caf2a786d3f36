"""Moje dane's sections of the customer's data (ebok/web/personal_data.py): who the
customer is, the online account, the contact changes, the consents, e-Faktura and the
invoices list (not the PDFs). docs/personal-data.md documents each field."""

from flask.sansio.app import App
from sqlalchemy import select

from ebok.extensions import db
from ebok.i18n import _l
from ebok.identity.changes import BILLING_FIELDS
from ebok.models import Account, ContactChange, EInvoiceConsent, Invoice, MarketingConsent
from ebok.web.personal_data import Fields, Section, add_section


def customer_fields(account: Account) -> Fields:
    customer = account.customer
    return {
        "customer_number": customer.number,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "bank_account": customer.bank_account,
    }


def account_fields(account: Account) -> Fields:
    return {
        "login_name": account.login_name,
        "created_at": account.created_at,
        "password_changed_at": account.password_changed_at,
        "language": account.language,
    }


def contact_changes(account: Account) -> list[Fields]:
    rows = db.session.scalars(
        select(ContactChange)
        .where(ContactChange.customer_id == account.customer_id)
        .where(ContactChange.changed_at.is_not(None))
        .order_by(ContactChange.changed_at, ContactChange.id)
    )
    return [
        {
            "field": change.field,
            "old_value": change.old_value,
            "new_value": change.new_value,
            "changed_at": change.changed_at,
            "settled_with_billing_at": (
                change.settled_at if change.field in BILLING_FIELDS else None
            ),
        }
        for change in rows
    ]


def marketing_consents(account: Account) -> list[Fields]:
    rows = db.session.scalars(
        select(MarketingConsent)
        .where(MarketingConsent.customer_id == account.customer_id)
        .order_by(MarketingConsent.recorded_at, MarketingConsent.id)
    )
    return [
        {
            "channel": record.channel,
            "granted": record.granted,
            "wording_version": record.wording_version,
            "source": record.source,
            "recorded_at": record.recorded_at,
        }
        for record in rows
    ]


def einvoice_fields(account: Account) -> Fields:
    return {
        "active": account.einvoice_active,
        "address": account.einvoice_address,
        "since": account.einvoice_since,
        "address_waiting_for_confirmation": account.einvoice_pending_address,
    }


def einvoice_history(account: Account) -> list[Fields]:
    rows = db.session.scalars(
        select(EInvoiceConsent)
        .where(EInvoiceConsent.account_id == account.id)
        .order_by(EInvoiceConsent.recorded_at, EInvoiceConsent.id)
    )
    return [
        {
            "event": record.event,
            "address": record.address,
            "terms_version": record.terms_version,
            "source": record.source,
            "recorded_at": record.recorded_at,
        }
        for record in rows
    ]


def invoices(account: Account) -> list[Fields]:
    rows = db.session.scalars(
        select(Invoice)
        .where(Invoice.customer_id == account.customer_id)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    )
    return [
        {
            "invoice_number": invoice.number,
            "issue_date": invoice.issue_date,
            "period_from": invoice.period_from,
            "period_to": invoice.period_to,
            "due_date": invoice.due_date,
            "gross_amount": invoice.gross_amount,
            "currency": invoice.currency,
            "paid_on": invoice.paid_on,
            "delivery": invoice.delivery,
        }
        for invoice in rows
    ]


SECTIONS = [
    Section(
        "customer",
        _l("Your details"),
        {
            "customer_number": _l("Customer number"),
            "first_name": _l("First name"),
            "last_name": _l("Last name"),
            "email": _l("Contact e-mail"),
            "phone": _l("Contact phone"),
            "bank_account": _l("Your bank account number"),
        },
        customer_fields,
        order=10,
    ),
    Section(
        "account",
        _l("Your Strefa Klienta account"),
        {
            "login_name": _l("Login"),
            "created_at": _l("Registered"),
            "password_changed_at": _l("Password last set"),
            "language": _l("Language of messages"),
        },
        account_fields,
        order=20,
    ),
    Section(
        "contact_changes",
        _l("Changes of your contact details"),
        {
            "field": _l("What"),
            "old_value": _l("Before"),
            "new_value": _l("After"),
            "changed_at": _l("Changed"),
            "settled_with_billing_at": _l("In the billing system since"),
        },
        contact_changes,
        order=30,
        values={
            "email": _l("Contact e-mail"),
            "phone": _l("Contact phone"),
            "einvoice_address": _l("Address for invoice notices"),
            "login_name": _l("Login"),
        },
    ),
    Section(
        "marketing_consents",
        _l("History of your consents"),
        {
            "channel": _l("Channel"),
            "granted": _l("Consent given"),
            "wording_version": _l("Wording version"),
            "source": _l("Page"),
            "recorded_at": _l("Recorded"),
        },
        marketing_consents,
        order=40,
        values={
            "email": _l("Marketing by e-mail"),
            "sms": _l("Marketing by SMS"),
            "phone": _l("Marketing by phone"),
        },
    ),
    Section(
        "einvoice",
        _l("e-Faktura"),
        {
            "active": _l("Active"),
            "address": _l("Address for invoice notices"),
            "since": _l("Active since"),
            "address_waiting_for_confirmation": _l("Address waiting for confirmation"),
        },
        einvoice_fields,
        order=50,
    ),
    Section(
        "einvoice_history",
        _l("History of e-Faktura"),
        {
            "event": _l("Event"),
            "address": _l("Address for invoice notices"),
            "terms_version": _l("Terms version"),
            "source": _l("Page"),
            "recorded_at": _l("Recorded"),
        },
        einvoice_history,
        order=51,
        values={
            "activated": _l("e-Faktura switched on"),
            "address_changed": _l("Address changed"),
            "withdrawn": _l("e-Faktura switched off"),
        },
    ),
    Section(
        "invoices",
        _l("Invoices"),
        {
            "invoice_number": _l("Invoice number"),
            "issue_date": _l("Issued"),
            "period_from": _l("Period from"),
            "period_to": _l("Period to"),
            "due_date": _l("Due date"),
            "gross_amount": _l("Amount"),
            "currency": _l("Currency"),
            "paid_on": _l("Paid on"),
            "delivery": _l("Delivered"),
        },
        invoices,
        order=70,
        values={"electronic": _l("electronically"), "paper": _l("on paper")},
    ),
]


def register(app: App) -> None:
    for section in SECTIONS:
        add_section(app, section)
