"""Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a
browser that has logged in to an account (or registered it, or reset its password) gets a
signed cookie naming the account and the device. Its login attempts and SMS codes count
against the device's own limits, so strangers' failures and sends, which use up the
account's limits for every other client, cannot lock its owner out.

Each device has a row (RememberedDevice): the customer sees their browsers in
Bezpieczeństwo and can forget one, whose cookie then counts for nothing."""

import secrets

from flask import after_this_request, current_app, request
from sqlalchemy import delete, select
from werkzeug.wrappers import Response

from ebok.clients import this_client
from ebok.extensions import db
from ebok.identity import signing
from ebok.identity.signing import Key, Outcome
from ebok.models import Account, RememberedDevice, utcnow


def _cookie_nonce(account: Account) -> str | None:
    token = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    if not token:
        return None
    outcome, payload = signing.loads("device", token)
    if outcome is not Outcome.OK or payload is None or payload[Key.ACCOUNT] != account.id:
        return None
    return str(payload[Key.NONCE])


def _device(account: Account, nonce: str | None) -> RememberedDevice | None:
    if nonce is None:
        return None
    return db.session.scalars(
        select(RememberedDevice).where(
            RememberedDevice.account_id == account.id, RememberedDevice.nonce == nonce
        )
    ).first()


def trusted_device(account: Account | None) -> str | None:
    """The device's name when this browser has logged in to the account before and the
    customer has not forgotten it."""
    if account is None:
        return None
    device = _device(account, _cookie_nonce(account))
    return device.nonce if device is not None else None


def second_step_remembered(account: Account) -> bool:
    """Whether this browser was remembered at a login's second step, and still is."""
    device = _device(account, _cookie_nonce(account))
    return bool(device and device.two_step_until and device.two_step_until > utcnow())


def remember_device(account: Account, *, skip_second_step: bool = False) -> bool:
    """Gives the browser the account's device cookie with the response to this request,
    and the device its row (the caller commits). Called on every successful
    authentication (start_session: a login, registration's automatic login; the end of a
    password reset), so no way in leaves the owner's browser a stranger to the account.
    True when the browser was new to the account."""
    two_step_until = None
    if skip_second_step:
        two_step_until = utcnow() + current_app.config["TWO_STEP_REMEMBER_BROWSER"]
    device = _device(account, _cookie_nonce(account))
    if device is not None:
        device.last_used_at = utcnow()
        if two_step_until is not None:
            device.two_step_until = two_step_until
        return False
    client = this_client()
    nonce = secrets.token_urlsafe(12)
    db.session.add(
        RememberedDevice(
            account_id=account.id,
            nonce=nonce,
            browser=client.browser,
            system=client.system,
            two_step_until=two_step_until,
        )
    )
    config = current_app.config
    token = signing.dumps("device", {Key.ACCOUNT: account.id, Key.NONCE: nonce})

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            config["DEVICE_COOKIE_NAME"],
            token,
            max_age=int(config["DEVICE_COOKIE_LIFETIME"].total_seconds()),
            secure=config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        return response

    return True


def remembered_devices(account: Account) -> list[RememberedDevice]:
    """The account's devices, the most recently used first."""
    return list(
        db.session.scalars(
            select(RememberedDevice)
            .where(RememberedDevice.account_id == account.id)
            .order_by(RememberedDevice.last_used_at.desc(), RememberedDevice.id.desc())
        )
    )


def is_this_device(account: Account, device: RememberedDevice) -> bool:
    return _cookie_nonce(account) == device.nonce


def forget_device(account: Account, device_id: int) -> bool:
    """Forgets one of the account's devices; False when it has no such device. The caller
    commits."""
    result = db.session.execute(
        delete(RememberedDevice).where(
            RememberedDevice.account_id == account.id, RememberedDevice.id == device_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def forget_this_browser() -> None:
    """Takes the device cookie away from this browser with the response to this request
    (the account it names is deleted)."""
    name = current_app.config["DEVICE_COOKIE_NAME"]

    @after_this_request
    def delete_cookie(response: Response) -> Response:
        response.delete_cookie(
            name, secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax"
        )
        return response
