"""Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a
browser that has logged in to an account gets a signed cookie naming the account and the
device. Its login attempts count against the device's own limit, so strangers' failures,
which lock the account for every other client, cannot lock its owner out."""

import secrets

from flask import current_app, request
from werkzeug.wrappers import Response

from ebok import signing
from ebok.models import Account
from ebok.signing import Key, Outcome


def trusted_device(account: Account | None) -> str | None:
    """The device's name when this browser has logged in to the account before."""
    token = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    if account is None or not token:
        return None
    outcome, payload = signing.loads("device", token)
    if outcome is not Outcome.OK or payload is None or payload[Key.ACCOUNT] != account.id:
        return None
    return str(payload[Key.NONCE])


def remember_device(response: Response, account: Account) -> Response:
    """Gives the browser (after a successful login) the account's device cookie."""
    config = current_app.config
    token = signing.dumps("device", {Key.ACCOUNT: account.id, Key.NONCE: secrets.token_urlsafe(12)})
    response.set_cookie(
        config["DEVICE_COOKIE_NAME"],
        token,
        max_age=int(config["DEVICE_COOKIE_LIFETIME"].total_seconds()),
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response
