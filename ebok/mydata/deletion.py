"""Usuń konto w Strefie Klienta (SPEC §15): the online account goes (the login name, the
password's hash, every session, this browser's device cookie, the codes and links not yet
used); what billing and the law keep stays: the customer, the invoices, the contact
changes, the consents and the e-Faktura record (which then names the customer). The
customer is told, and may register again.

Retention (ebok/mydata/retention.py) removes the account of a customer who left
billing with remove_account, the same steps without a request."""

from datetime import datetime

from sqlalchemy import update

from ebok.extensions import db
from ebok.i18n import lazy_pgettext
from ebok.identity import accounts
from ebok.identity.sessions import forget_account, sign_this_browser_out
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
    account_id = account.id
    remove_account(account, source="account_deleted")
    sign_this_browser_out()
    db.session.commit()
    audit("account_deleted", account=account_id, customer=customer.id)


def remove_account(account: Account, *, source: str) -> None:
    """The online account and the rows that refer to it go; e-Faktura, which comes through
    the account, is recorded as withdrawn (`source` says why) and its record moved to the
    customer; the customer's codes and links not yet used die. The caller commits."""
    customer = account.customer
    now = utcnow()
    if account.einvoice_active:
        # e-Faktura comes through the account: without it, invoices come on paper.
        db.session.add(
            EInvoiceConsent(
                account_id=account.id,
                event="withdrawn",
                address=account.einvoice_address,
                source=source,
                recorded_at=now,
            )
        )
        db.session.flush()
    db.session.execute(
        update(EInvoiceConsent)
        .where(EInvoiceConsent.account_id == account.id)
        .values(account_id=None, customer_id=customer.id)
    )
    end_unused_codes(customer.id, now)
    forget_account(account)
    db.session.delete(account)


def end_unused_codes(customer_id: int, now: datetime) -> None:
    """The customer's codes and links not yet used die (their messages are then not sent).
    The caller commits."""
    db.session.execute(
        update(Verification)
        .where(
            Verification.customer_id == customer_id,
            Verification.used_at.is_(None),
            Verification.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    )
