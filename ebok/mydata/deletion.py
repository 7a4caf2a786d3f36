"""Usuń konto w Strefie Klienta (SPEC §15): the online account goes (the login name, the
password's hash, every session, this browser's device cookie, the codes and links not yet
used); what billing and the law keep stays: the customer, the invoices, the contact
changes, the consents and the e-Faktura record (which then names the customer). The
customer is told, and may register again."""

from sqlalchemy import update

from ebok.extensions import db
from ebok.i18n import lazy_pgettext
from ebok.identity import accounts
from ebok.identity.sessions import end_every_session
from ebok.logs import audit
from ebok.models import Account, EInvoiceConsent, Verification, utcnow


def delete_account(account: Account) -> None:
    """The form has checked the current password. Commits."""
    customer = account.customer
    # Told first, while the account still says which language to write in.
    accounts.tell_customer(
        account,
        # Translators: the subject of the e-mail confirming the online account was deleted.
        lazy_pgettext("e-mail subject", "Your Strefa Klienta account has been deleted"),
        "account_deleted",
    )
    now = utcnow()
    if account.einvoice_active:
        # e-Faktura comes through the account: without it, invoices come on paper.
        db.session.add(
            EInvoiceConsent(
                account_id=account.id,
                event="withdrawn",
                address=account.einvoice_address,
                source="account_deleted",
                recorded_at=now,
            )
        )
        db.session.flush()
    db.session.execute(
        update(EInvoiceConsent)
        .where(EInvoiceConsent.account_id == account.id)
        .values(account_id=None, customer_id=customer.id)
    )
    db.session.execute(
        update(Verification)
        .where(
            Verification.customer_id == customer.id,
            Verification.used_at.is_(None),
            Verification.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    )
    account_id = account.id
    end_every_session(account)
    db.session.delete(account)
    db.session.commit()
    audit("account_deleted", account=account_id, customer=customer.id)
