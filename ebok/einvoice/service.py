"""Activating, re-addressing and switching off e-Faktura, and the consent record.

Each change is one conditional UPDATE, so a double click or a second tab changes the
service once and sends one e-mail. An address other than the customer's verified contact
address is confirmed by a signed link first; the link carries the service's version and
stops working once anything changes.
"""

import enum
import logging

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update

from ebok import messages
from ebok.contact import mask_email, normalize_email
from ebok.extensions import db
from ebok.models import Account, EInvoiceConsent, utcnow
from ebok.signing import external_url, serializer

# Which terms the customer accepted; change it whenever the terms' text changes.
TERMS_VERSION = "2026-11"
SOURCES = ("banner", "account")
LINK_SALT = "ebok.einvoice-address"

log = logging.getLogger("ebok.einvoice")


class Result(enum.Enum):
    ACTIVATED = "activated"
    ALREADY_ACTIVE = "already_active"
    CONFIRMATION_SENT = "confirmation_sent"
    ADDRESS_CHANGED = "address_changed"
    SAME_ADDRESS = "same_address"
    WITHDRAWN = "withdrawn"
    NOT_ACTIVE = "not_active"
    # Outcomes of a confirmation link:
    LINK_EXPIRED = "link_expired"
    LINK_INVALID = "link_invalid"
    LINK_USED = "link_used"


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
    if not account.einvoice_active:
        return Result.NOT_ACTIVE
    if address == account.einvoice_address:
        return Result.SAME_ADDRESS
    if address == verified_address(account):
        return _change_address(account, address, account.einvoice_version)
    _send_confirmation_link(account, address, "account")
    return Result.CONFIRMATION_SENT


def withdraw(account: Account) -> Result:
    address = account.einvoice_address
    changed = db.session.execute(
        update(Account)
        .where(Account.id == account.id, Account.einvoice_since.is_not(None))
        .values(einvoice_since=None, einvoice_version=Account.einvoice_version + 1)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        return Result.NOT_ACTIVE
    _record(account, "withdrawn", address, None, "account")
    messages.send_email(
        address,
        _("e-Faktura has been switched off"),
        "einvoice_withdrawn",
        customer=account.customer,
    )
    db.session.commit()
    log.info("einvoice withdrawn account=%s", account.id)
    return Result.WITHDRAWN


def peek_link(token: str) -> tuple[Result, str | None]:
    """What a confirmation link would do, without doing it: the page before the button."""
    problem, account, payload = _open_link(token)
    if problem:
        return problem, payload.get("e")
    return (Result.ADDRESS_CHANGED if account.einvoice_active else Result.ACTIVATED), payload["e"]


def confirm_link(token: str) -> tuple[Result, str | None]:
    """Applies the change a confirmation link stands for, once."""
    problem, account, payload = _open_link(token)
    if problem:
        return problem, payload.get("e")
    if account.einvoice_active:
        return _change_address(account, payload["e"], payload["v"]), payload["e"]
    return _activate(account, payload["e"], payload.get("s", "account")), payload["e"]


def _open_link(token: str) -> tuple[Result | None, Account | None, dict]:
    try:
        payload = _serializer().loads(
            token, max_age=current_app.config["EINVOICE_LINK_LIFETIME"].total_seconds()
        )
    except SignatureExpired:
        return Result.LINK_EXPIRED, None, {}
    except BadSignature:
        return Result.LINK_INVALID, None, {}
    account = db.session.get(Account, payload.get("a")) if isinstance(payload, dict) else None
    if account is None:
        return Result.LINK_INVALID, None, {}
    if account.einvoice_version != payload.get("v"):
        return Result.LINK_USED, account, payload
    return None, account, payload


def _activate(account: Account, address: str, source: str) -> Result:
    changed = db.session.execute(
        update(Account)
        .where(Account.id == account.id, Account.einvoice_since.is_(None))
        .values(
            einvoice_since=utcnow(),
            einvoice_address=address,
            einvoice_version=Account.einvoice_version + 1,
        )
    ).rowcount
    if changed != 1:
        db.session.rollback()
        return Result.ALREADY_ACTIVE
    _record(account, "activated", address, TERMS_VERSION, source)
    messages.send_email(
        address,
        _("e-Faktura is active"),
        "einvoice_activated",
        customer=account.customer,
        address=address,
    )
    db.session.commit()
    log.info(
        "einvoice activated account=%s source=%s to=%s", account.id, source, mask_email(address)
    )
    return Result.ACTIVATED


def _change_address(account: Account, address: str, version: int) -> Result:
    changed = db.session.execute(
        update(Account)
        .where(
            Account.id == account.id,
            Account.einvoice_version == version,
            Account.einvoice_since.is_not(None),
        )
        .values(einvoice_address=address, einvoice_version=Account.einvoice_version + 1)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        return Result.LINK_USED
    _record(account, "address_changed", address, TERMS_VERSION, "account")
    messages.send_email(
        address,
        _("The address for e-Faktura has been changed"),
        "einvoice_address_changed",
        customer=account.customer,
        address=address,
    )
    db.session.commit()
    log.info("einvoice address changed account=%s to=%s", account.id, mask_email(address))
    return Result.ADDRESS_CHANGED


def _send_confirmation_link(account: Account, address: str, source: str) -> None:
    token = _serializer().dumps(
        {"a": account.id, "e": address, "v": account.einvoice_version, "s": source}
    )
    link = external_url(url_for("einvoice.confirm", token=token))
    messages.send_email(
        address,
        _("Confirm the address for e-Faktura"),
        "einvoice_confirm_address",
        customer=account.customer,
        link=link,
    )
    db.session.commit()
    log.info("einvoice confirmation link sent account=%s to=%s", account.id, mask_email(address))


def _record(
    account: Account, event: str, address: str | None, terms_version: str | None, source: str
) -> None:
    db.session.add(
        EInvoiceConsent(
            account_id=account.id,
            event=event,
            address=address,
            terms_version=terms_version,
            source=source,
        )
    )


def _serializer() -> URLSafeTimedSerializer:
    return serializer(LINK_SALT)
