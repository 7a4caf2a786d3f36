"""Payments' section of the customer's data ("Pobierz moje dane", ebok/web/personal_data.py;
docs/personal-data.md documents each field). Payments stay with the customer when the
online account is deleted (billing's records), so they are the customer's, not the
account's."""

from flask.sansio.app import App

from ebok.i18n import _l, lazy_pgettext
from ebok.models import Account
from ebok.payments import service
from ebok.web.personal_data import Fields, Section, add_section


def payments(account: Account) -> list[Fields]:
    return [
        {
            "created_at": payment.created_at,
            "amount": payment.amount_decimal,
            "currency": payment.currency,
            "invoice_numbers": ", ".join(invoice.number for invoice in payment.invoices),
            "state": payment.state,
            "paid_at": payment.paid_at,
            "provider": payment.provider,
            "order_id": payment.order_id,
        }
        for payment in service.payments_of(account.customer_id)
    ]


SECTION = Section(
    "payments",
    _l("Payments"),
    {
        "created_at": _l("Started"),
        "amount": _l("Amount"),
        "currency": _l("Currency"),
        "invoice_numbers": _l("Invoices"),
        "state": _l("State"),
        "paid_at": _l("Paid at"),
        "provider": _l("Through"),
        "order_id": _l("The provider’s order number"),
    },
    payments,
    order=80,
    values={
        "paid": lazy_pgettext("payment state", "Received"),
        "waiting": lazy_pgettext("payment state", "Waiting for confirmation"),
        "failed": lazy_pgettext("payment state", "Not completed"),
        "abandoned": lazy_pgettext("payment state", "Not completed"),
    },
)


def register(app: App) -> None:
    add_section(app, SECTION)
