"""Signed, time-limited links, one design for every purpose: itsdangerous with SHA-256,
keys rotating as [*SECRET_KEY_FALLBACKS, SECRET_KEY] (newest last), and each purpose
registered below with its salt, its lifetime and what binds it (Django's
contrib/auth/tokens.py). A purpose not in the table fails loudly."""

import enum
import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class Outcome(enum.Enum):
    """What checking a code or opening a link found."""

    OK = "ok"
    WRONG = "wrong"  # a code that is not the one sent
    EXPIRED = "expired"
    USED = "used"
    SUPERSEDED = "superseded"
    TOO_MANY_TRIES = "too_many_tries"
    INVALID = "invalid"  # a link that was tampered with or never ours


class Key(enum.StrEnum):
    """The payload's keys, named for what they hold."""

    VERIFICATION = "verification"  # a Verification's id
    NONCE = "nonce"  # its random secret, stored only as a keyed hash (or a device's name)
    ACCOUNT = "account"  # an Account's id
    ADDRESS = "address"  # the e-mail address to confirm
    VERSION = "version"  # the account's e-Faktura version when the link was sent
    SOURCE = "source"  # where the customer started ("banner" or "account")


@dataclass(frozen=True)
class Purpose:
    salt: str
    lifetime_setting: str  # the config key of its lifetime
    keys: frozenset[Key]  # what binds it; a payload without exactly these is invalid


_VERIFICATION_LINK = frozenset({Key.VERIFICATION, Key.NONCE})

# Each link also stops working when what it binds changes: a Verification used up or
# superseded, an account's e-Faktura version moved on.
PURPOSES = {
    "registration": Purpose(
        "ebok.registration-link", "REGISTRATION_LINK_LIFETIME", _VERIFICATION_LINK
    ),
    "reset": Purpose("ebok.reset-link", "RESET_LINK_LIFETIME", _VERIFICATION_LINK),
    # A browser that has logged in to the account (auth/devices.py); NONCE names the device.
    "device": Purpose(
        "ebok.device-cookie", "DEVICE_COOKIE_LIFETIME", frozenset({Key.ACCOUNT, Key.NONCE})
    ),
    # A new contact e-mail address (SPEC §15), proved as registration's link proves one.
    "contact_email": Purpose(
        "ebok.contact-email-link", "REGISTRATION_LINK_LIFETIME", _VERIFICATION_LINK
    ),
    # A new address for the notices of active e-Faktura (SPEC §15), proved the same way.
    "einvoice_change": Purpose(
        "ebok.einvoice-change-link", "EINVOICE_LINK_LIFETIME", _VERIFICATION_LINK
    ),
    # The address e-Faktura is activated with, bound to the service's version.
    "einvoice_address": Purpose(
        "ebok.einvoice-address",
        "EINVOICE_LINK_LIFETIME",
        frozenset({Key.ACCOUNT, Key.ADDRESS, Key.VERSION, Key.SOURCE}),
    ),
}


def purpose(name: str) -> Purpose:
    try:
        return PURPOSES[name]
    except KeyError:
        raise LookupError(f"no signed-link purpose {name!r} is registered") from None


def lifetime(name: str) -> timedelta:
    return current_app.config[purpose(name).lifetime_setting]


def dumps(name: str, payload: dict[Key, Any]) -> str:
    if set(payload) != purpose(name).keys:
        raise ValueError(f"a {name!r} link binds {sorted(purpose(name).keys)}")
    return _serializer(name).dumps({str(key): value for key, value in payload.items()})


def loads(name: str, token: str) -> tuple[Outcome, dict[str, Any] | None]:
    """OK with the payload; EXPIRED with the payload the expired link carried (so the
    customer can be offered a new one); INVALID with None."""
    serializer = _serializer(name)
    try:
        payload = serializer.loads(token, max_age=int(lifetime(name).total_seconds()))
        outcome = Outcome.OK
    except SignatureExpired as expired:
        if expired.payload is None:
            return Outcome.INVALID, None
        try:
            payload = serializer.load_payload(expired.payload)
        except BadSignature:
            return Outcome.INVALID, None
        outcome = Outcome.EXPIRED
    except BadSignature:
        return Outcome.INVALID, None
    if not isinstance(payload, dict) or set(payload) != set(map(str, purpose(name).keys)):
        return Outcome.INVALID, None
    return outcome, payload


def secret_keys() -> list[str]:
    config = current_app.config
    return [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]


def _serializer(name: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret_keys(), salt=purpose(name).salt, signer_kwargs={"digest_method": hashlib.sha256}
    )


def external_url(path: str) -> str:
    """Links in messages are built from the configured server name, never from the
    request's Host header. Without one (development only: production refuses to start
    without FLASK_SERVER_NAME), from the server the developer is running, so that
    `flask run --port 8080` sends links that open; outside a request, `make run`'s address."""
    config = current_app.config
    if config["SERVER_NAME"]:
        return f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME']}{path}"
    if has_request_context():
        return request.host_url.removesuffix("/") + path
    return f"http://127.0.0.1:5000{path}"
