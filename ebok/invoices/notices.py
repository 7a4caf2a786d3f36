"""The new-invoice e-mail (SPEC §11): through the outbox, exactly once per invoice, to the
e-Faktura address of a customer with e-Faktura active, in the customer's language.

"Once" is one conditional UPDATE of `new_invoice_notified_at` (only where it is still
empty) in the transaction that writes the e-mails: two imports running at once, or the
same folder imported again, find nothing left to announce.
"""

from flask import current_app, url_for
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ebok import messages
from ebok.extensions import db
from ebok.i18n import languages, lazy_pgettext
from ebok.identity.signing import external_url
from ebok.invoices.formatting import pdf_filename
from ebok.invoices.storage import invoice_storage
from ebok.models import Account, Customer, Invoice, utcnow


def notify_new_invoices(invoice_ids: list[int]) -> int:
    """Writes the e-mail for each of these invoices not yet announced whose customer has
    e-Faktura active and which was delivered electronically; returns how many."""
    if not invoice_ids:
        return 0
    active_customers = select(Account.customer_id).where(Account.einvoice_since.is_not(None))
    claimed = list(
        db.session.scalars(
            update(Invoice)
            .where(
                Invoice.id.in_(invoice_ids),
                Invoice.new_invoice_notified_at.is_(None),
                Invoice.delivery == "electronic",
                Invoice.customer_id.in_(active_customers),
            )
            .values(new_invoice_notified_at=utcnow())
            .returning(Invoice.id)
        )
    )
    if claimed:
        # The same link in every notice: the Faktury page, as the customer's browser opens it.
        with current_app.test_request_context():
            link = external_url(url_for("invoices.invoice_list"))
        invoices = db.session.scalars(
            select(Invoice)
            .where(Invoice.id.in_(claimed))
            .options(joinedload(Invoice.customer).joinedload(Customer.account))
        )
        for invoice in invoices:
            _write_notice(invoice, link)
    db.session.commit()
    return len(claimed)


def _write_notice(invoice: Invoice, link: str) -> None:
    account = invoice.customer.account
    if account is None or account.einvoice_address is None:
        return  # not claimed without an active e-Faktura (see the UPDATE above)
    attachment = None
    if current_app.config["INVOICE_ATTACH_PDF"]:
        content = invoice_storage().read(invoice.pdf_storage_key, invoice.pdf_sha256)
        attachment = (pdf_filename(invoice.number), content)
    messages.send_email(
        account.einvoice_address,
        # Translators: the subject of the e-mail announcing a new invoice; %(number)s is the
        # invoice's number ("FV/2026/11/000123").
        lazy_pgettext(
            "e-mail subject", "New invoice %(number)s in Strefa Klienta", number=invoice.number
        ),
        "new_invoice",
        # Written by the import (the CLI): no customer's request to take a language from.
        language=languages.of_account(account),
        invoice=invoice,
        link=link,
        attached=attachment is not None,
        attachment=attachment,
    )
