"""Activating, re-addressing and switching off e-Faktura, and the consent record.

Each change is one conditional UPDATE, so a double click or a second tab changes the
service once and sends one e-mail. An address other than the customer's verified contact
address is confirmed by a signed link first: at activation the link carries the
service's version and stops working once anything changes; a change of the address of
active e-Faktura goes the way every change of what reaches the customer goes
(identity.changes: the password, the link, the history row, the old address told).
"""

import enum
from typing import Any, cast

from flask import url_for
from flask_babel import pgettext
from sqlalchemy import CursorResult, update

from ebok import messages
from ebok.extensions import db
from ebok.identity import changes, signing, throttle
from ebok.identity.signing import Key, Outcome, external_url
from ebok.logs import audit
from ebok.models import Account, ContactChange, EInvoiceConsent, utcnow
from ebok.normalising import mask_email, normalize_email

# Which terms the customer accepted; change it whenever the terms' text changes.
TERMS_VERSION = "2026-11"
SOURCES = ("banner", "account")
LINK_PURPOSE = "einvoice_address"

# Any change of the service forgets an address that was waiting for its confirmation link.
NO_PENDING = {"einvoice_pending_address": None, "einvoice_pending_source": None}


class Result(enum.Enum):
    ACTIVATED = "activated"
    ALREADY_ACTIVE = "already_active"
    CONFIRMATION_SENT = "confirmation_sent"
    ADDRESS_CHANGED = "address_changed"
    CHANGED_MEANWHILE = "changed_meanwhile"  # another request changed the service first
    NOTHING_PENDING = "nothing_pending"
    PENDING_CANCELLED = "pending_cancelled"


def verified_address(account: Account) -> str | None:
    """The contact e-mail on file, which the customer does not need to confirm again."""
    return normalize_email(account.customer.email) if account.customer.email else None


def request_activation(account: Account, address: str, source: str) -> Result:
    if account.einvoice_active:
        return Result.ALREADY_ACTIVE
    if address == verified_address(account):
        return _activate(account, address, source)
    _send_confirmation_link(account, address, source)
    return Result.CONFIRMATION_SENT


def request_address_change(account: Account, address: str) -> Result:
    """For an account with e-Faktura active and a new address (the view and its form
    check, the current password among them). The contact address is proved already; any
    other gets a link (changes.start), and waits as an activation's address does."""
    if address == verified_address(account):
        return _change_address(account, address, account.einvoice_version)
    changes.start(account, "einvoice_address", address, count=lambda: _count_links(account))
    _mark_pending(account, address, "account")
    db.session.commit()
    audit("einvoice_link_sent", account=account.id, to=mask_email(address))
    return Result.CONFIRMATION_SENT


def withdraw(account: Account) -> bool:
    """Switches e-Faktura off; False when it was off already (a second tab, say)."""
    address = account.einvoice_address
    if address is None or not _update_if(
        account, Account.einvoice_since.is_not(None), einvoice_since=None
    ):
        return False
    _record_and_tell(
        account,
        "withdrawn",
        address,
        None,
        "account",
        # Translators: the subject of the e-mail confirming e-Faktura was switched off.
        pgettext("e-mail subject", "e-Faktura has been switched off"),
        "einvoice_withdrawn",
    )
    audit("einvoice_withdrawn", account=account.id)
    return True


def peek_link(token: str) -> tuple[Outcome, Result | None, str | None]:
    """What a confirmation link would do, without doing it: the page before the button."""
    opened = _open_change_link(token)
    if opened is not None:
        outcome, change = opened
        address = change.new_value if change is not None else None
        return outcome, (Result.ADDRESS_CHANGED if outcome is Outcome.OK else None), address
    outcome, account, payload = _open_link(token)
    address = payload[Key.ADDRESS] if payload else None
    if account is None or outcome is not Outcome.OK:
        return outcome, None, address
    return (
        outcome,
        (Result.ADDRESS_CHANGED if account.einvoice_active else Result.ACTIVATED),
        address,
    )


def confirm_link(token: str) -> tuple[Outcome, Result | None, str | None]:
    """Applies the change a confirmation link stands for, once."""
    opened = _open_change_link(token)
    if opened is not None:
        outcome, change = opened
        if outcome is not Outcome.OK or change is None:
            return outcome, None, change.new_value if change is not None else None
        return _confirm_change(change)
    outcome, account, payload = _open_link(token)
    if account is None or payload is None or outcome is not Outcome.OK:
        return outcome, None, payload[Key.ADDRESS] if payload else None
    address = payload[Key.ADDRESS]
    if not account.einvoice_active:
        return outcome, _activate(account, address, payload[Key.SOURCE]), address
    if _change_address(account, address, payload[Key.VERSION]) is Result.CHANGED_MEANWHILE:
        return Outcome.USED, None, address
    return outcome, Result.ADDRESS_CHANGED, address


def _open_change_link(token: str) -> tuple[Outcome, ContactChange | None] | None:
    """The link of an address change of active e-Faktura, opened (which proves the
    address; committed); None when the token is not one (an activation's link, or
    nobody's: the signing purposes' salts differ)."""
    outcome, change = changes.open_link(token, "einvoice_address")
    db.session.commit()
    if change is None and outcome is Outcome.INVALID:
        return None
    if outcome is Outcome.OK and change is not None and not change.customer.account:
        return Outcome.INVALID, None
    return outcome, change


def _confirm_change(change: ContactChange) -> tuple[Outcome, Result | None, str | None]:
    account, address = change.customer.account, change.new_value
    assert account is not None, "_open_change_link checked"
    previous = account.einvoice_address

    def put() -> bool:
        # e-Faktura switched off meanwhile: nothing to re-address.
        return _update_if(account, Account.einvoice_since.is_not(None), einvoice_address=address)

    applied = changes.apply(account, change, previous, put)
    if applied is changes.Applied.CHANGED_MEANWHILE:
        return Outcome.SUPERSEDED, None, address  # "Ten link nie jest już aktywny"
    if applied is not changes.Applied.CHANGED:
        return Outcome.USED, None, address
    _address_changed(account, address, previous)
    return Outcome.OK, Result.ADDRESS_CHANGED, address


def _open_link(token: str) -> tuple[Outcome, Account | None, dict[str, Any] | None]:
    outcome, payload = signing.loads(LINK_PURPOSE, token)
    if outcome is not Outcome.OK or payload is None:
        return (Outcome.INVALID if outcome is Outcome.OK else outcome), None, None
    account = db.session.get(Account, payload[Key.ACCOUNT])
    if account is None:
        return Outcome.INVALID, None, None
    if account.einvoice_version != payload[Key.VERSION]:
        return Outcome.USED, account, payload
    return Outcome.OK, account, payload


def _activate(account: Account, address: str, source: str) -> Result:
    if not _update_if(
        account,
        Account.einvoice_since.is_(None),
        einvoice_since=utcnow(),
        einvoice_address=address,
    ):
        return Result.ALREADY_ACTIVE
    _record_and_tell(
        account,
        "activated",
        address,
        TERMS_VERSION,
        source,
        # Translators: the subject of the e-mail confirming e-Faktura was switched on.
        pgettext("e-mail subject", "e-Faktura is active"),
        "einvoice_activated",
    )
    audit("einvoice_activated", account=account.id, source=source, to=mask_email(address))
    return Result.ACTIVATED


def _change_address(account: Account, address: str, version: int) -> Result:
    """Re-addresses the notices to the contact address, which needs no link; the change
    is written and told as every change is (identity.changes)."""
    previous = account.einvoice_address
    if not _update_if(
        account,
        Account.einvoice_version == version,
        Account.einvoice_since.is_not(None),
        einvoice_address=address,
    ):
        return Result.CHANGED_MEANWHILE
    changes.made(account, "einvoice_address", previous, address)
    _address_changed(account, address, previous)
    return Result.ADDRESS_CHANGED


def _address_changed(account: Account, address: str, previous: str | None) -> None:
    """e-Faktura's own part of a change made: the consent record and the e-mail to the new
    address (the previous one and the contacts were told by identity.changes). Commits."""
    _record_and_tell(
        account,
        "address_changed",
        address,
        TERMS_VERSION,
        "account",
        # Translators: the subject of the e-mail (to the new address) confirming the change.
        pgettext("e-mail subject", "The address for e-Faktura has been changed"),
        "einvoice_address_changed",
    )
    audit(
        "einvoice_address_changed",
        account=account.id,
        to=mask_email(address),
        previous=mask_email(previous or ""),
    )


def _update_if(account: Account, *conditions: Any, **values: Any) -> bool:
    """One conditional UPDATE that also moves the e-Faktura version on: of two requests
    racing, only one changes the service. The other's transaction is rolled back, which
    makes the session read the account afresh, and it gets False. An address change
    waiting for its link is forgotten with the pending address."""
    statement = (
        update(Account)
        .where(Account.id == account.id, *conditions)
        .values(einvoice_version=Account.einvoice_version + 1, **{**NO_PENDING, **values})
    )
    if cast(CursorResult, db.session.execute(statement)).rowcount == 1:
        changes.cancel(account.customer, "einvoice_address")
        return True
    db.session.rollback()
    return False


def _record_and_tell(
    account: Account,
    event: str,
    address: str,
    terms_version: str | None,
    source: str,
    subject: str,
    template: str,
) -> None:
    """The consent record and the e-mail about the change, committed with it."""
    db.session.add(
        EInvoiceConsent(
            account_id=account.id,
            event=event,
            address=address,
            terms_version=terms_version,
            source=source,
        )
    )
    messages.send_email(address, subject, template, customer=account.customer, address=address)
    db.session.commit()


def resend_confirmation(account: Account) -> Result:
    """A new link for the address waiting for confirmation; the older link stops working.
    Limited per client address like every other send (RateLimitExceeded)."""
    if not account.einvoice_pending_address:
        return Result.NOTHING_PENDING
    throttle.hit("RATELIMIT_CODE_SENDS")
    if account.einvoice_active:  # an address change, proved as every change is
        return request_address_change(account, account.einvoice_pending_address)
    source = account.einvoice_pending_source or "account"
    _send_confirmation_link(account, account.einvoice_pending_address, source)
    return Result.CONFIRMATION_SENT


def cancel_confirmation(account: Account) -> Result:
    """Forgets the address waiting for confirmation; its link stops working."""
    if not _update_if(account, Account.einvoice_pending_address.is_not(None)):
        return Result.NOTHING_PENDING
    db.session.commit()
    audit("einvoice_confirmation_cancelled", account=account.id)
    return Result.PENDING_CANCELLED


def _send_confirmation_link(account: Account, address: str, source: str) -> None:
    """Remembers the address as waiting (Strona Główna and Moje Konto say so) and sends it
    a link; moving the version on makes any older link stop working. Raises RateLimitExceeded past
    the limits: the address may be anyone's, so the account and the client may send only
    so many."""
    _count_links(account)
    _mark_pending(account, address, source)
    token = signing.dumps(
        LINK_PURPOSE,
        {
            Key.ACCOUNT: account.id,
            Key.ADDRESS: address,
            Key.VERSION: account.einvoice_version,
            Key.SOURCE: source,
        },
    )
    link = external_url(url_for("einvoice.confirm", token=token))
    messages.send_email(
        address,
        # Translators: the subject of the e-mail with the link that confirms the address.
        pgettext("e-mail subject", "Confirm the address for e-Faktura"),
        "einvoice_confirm_address",
        customer=account.customer,
        link=link,
    )
    db.session.commit()
    audit("einvoice_link_sent", account=account.id, to=mask_email(address))


def _count_links(account: Account) -> None:
    """The address may be anyone's: the client and the account may send only so many
    links (RateLimitExceeded)."""
    throttle.hit("RATELIMIT_EINVOICE_LINKS")
    throttle.hit("RATELIMIT_EINVOICE_LINKS_PER_ACCOUNT", f"account:{account.id}")


def _mark_pending(account: Account, address: str, source: str) -> None:
    """The address waits for its link (Strona Główna and Moje Konto say so); moving the
    version on makes any older activation link stop working."""
    db.session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(
            einvoice_version=Account.einvoice_version + 1,
            einvoice_pending_address=address,
            einvoice_pending_source=source,
        )
    )
    db.session.refresh(account)
