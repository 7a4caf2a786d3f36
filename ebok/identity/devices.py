"""Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a
browser that has logged in to an account (or registered it, or reset its password) gets a
signed cookie naming the account and the device. Its login attempts and SMS codes count
against the device's own limits, so strangers' failures and sends, which use up the
account's limits for every other client, cannot lock its owner out."""

import secrets

from flask import after_this_request, current_app, request
from werkzeug.wrappers import Response

from ebok.identity import signing
from ebok.identity.signing import Key, Outcome
from ebok.models import Account


def trusted_device(account: Account | None) -> str | None:
    """The device's name when this browser has logged in to the account before."""
    token = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    if account is None or not token:
        return None
    outcome, payload = signing.loads("device", token)
    if outcome is not Outcome.OK or payload is None or payload[Key.ACCOUNT] != account.id:
        return None
    return str(payload[Key.NONCE])


def remember_device(account: Account) -> None:
    """Gives the browser the account's device cookie with the response to this request.
    Called on every successful authentication (start_session: a login, registration's
    automatic login; the end of a password reset), so no way in leaves the owner's
    browser a stranger to the account."""
    config = current_app.config
    token = signing.dumps("device", {Key.ACCOUNT: account.id, Key.NONCE: secrets.token_urlsafe(12)})

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


def forget_device() -> None:
    """Takes the device cookie away from this browser with the response to this request
    (the account it names is deleted)."""
    name = current_app.config["DEVICE_COOKIE_NAME"]

    @after_this_request
    def delete_cookie(response: Response) -> Response:
        response.delete_cookie(
            name, secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax"
        )
        return response
