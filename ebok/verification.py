"""SMS codes and signed e-mail links that prove a customer owns a contact datum.

Codes and link secrets are stored only as keyed hashes. A link carries the id of its
Verification and a random secret, signed with itsdangerous; it works while that
Verification is neither used nor superseded by a newer one (Django's reset-token idea).
"""

import enum
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update

from ebok.extensions import db
from ebok.models import Customer, Verification, utcnow
from ebok.signing import secret_keys, serializer

CODE_DIGITS = 6
LINK_SALTS = {"registration": "ebok.registration-link", "reset": "ebok.reset-link"}


class Outcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"
    SUPERSEDED = "superseded"
    TOO_MANY_TRIES = "too_many_tries"
    INVALID = "invalid"  # a link that was tampered with or never ours


def _keyed_hash(key: str, verification_purpose: str, customer_id: int, secret: str) -> str:
    message = f"{verification_purpose}:{customer_id}:{secret}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _secret_matches(verification: Verification, secret: str) -> bool:
    return any(
        hmac.compare_digest(
            verification.secret_hash,
            _keyed_hash(key, verification.purpose, verification.customer_id, secret),
        )
        for key in secret_keys()
    )


def link_lifetime(purpose: str) -> timedelta:
    key = "REGISTRATION_LINK_LIFETIME" if purpose == "registration" else "RESET_LINK_LIFETIME"
    return current_app.config[key]


def _link_serializer(purpose: str) -> URLSafeTimedSerializer:
    return serializer(LINK_SALTS[purpose])


def start(customer: Customer, purpose: str, channel: str) -> tuple[Verification, str]:
    """A new verification, superseding the customer's earlier ones for this purpose.

    Returns it with its secret: the SMS code, or the signed token for the e-mail link.
    The caller sends the secret and commits; it is never stored or logged.
    """
    now = utcnow()
    db.session.execute(
        update(Verification)
        .where(
            Verification.customer_id == customer.id,
            Verification.purpose == purpose,
            Verification.used_at.is_(None),
            Verification.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    )
    if channel == "sms":
        secret = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        lifetime = current_app.config["SMS_CODE_LIFETIME"]
    else:
        secret = secrets.token_urlsafe(16)
        lifetime = link_lifetime(purpose)
    verification = Verification(
        customer_id=customer.id,
        purpose=purpose,
        channel=channel,
        secret_hash=_keyed_hash(secret_keys()[-1], purpose, customer.id, secret),
        created_at=now,
        expires_at=now + lifetime,
    )
    db.session.add(verification)
    db.session.flush()
    if channel == "email":
        token = _link_serializer(purpose).dumps({"v": verification.id, "s": secret})
        return verification, token
    return verification, secret


def _state(verification: Verification | None, now: datetime, *, reopening: bool) -> Outcome:
    """Whether the verification can still be proved. An e-mail link may be opened again
    until the password is set (reopening); a code that was right is spent."""
    if verification is None:
        return Outcome.INVALID
    if verification.used_at is not None:
        return Outcome.USED
    if verification.superseded_at is not None:
        return Outcome.SUPERSEDED
    if verification.verified_at is not None:
        return Outcome.OK if reopening else Outcome.USED
    if verification.failed_attempts >= current_app.config["SMS_CODE_MAX_TRIES"]:
        return Outcome.TOO_MANY_TRIES
    if verification.expires_at <= now:
        return Outcome.EXPIRED
    return Outcome.OK


def check_code(verification: Verification, code: str) -> Outcome:
    """Checks a typed code. A right one marks the verification verified; a wrong one
    counts against the tries. The caller commits."""
    outcome = _state(verification, utcnow(), reopening=False)
    if outcome is not Outcome.OK:
        return outcome
    if not _secret_matches(verification, code):
        verification.failed_attempts += 1
        return Outcome.WRONG
    return _mark_verified(verification)


def tries_left(verification: Verification) -> int:
    return max(0, current_app.config["SMS_CODE_MAX_TRIES"] - verification.failed_attempts)


def check_link(token: str, purpose: str) -> tuple[Outcome, Verification | None]:
    """Opens an e-mail link. A good one marks the verification verified."""
    serializer = _link_serializer(purpose)
    try:
        payload = serializer.loads(token, max_age=link_lifetime(purpose).total_seconds())
    except SignatureExpired as expired:
        return Outcome.EXPIRED, _verification_from(serializer, expired.payload)
    except BadSignature:
        return Outcome.INVALID, None
    verification = _verification_from_payload(payload, purpose)
    if verification is None or not _secret_matches(verification, str(payload.get("s"))):
        return Outcome.INVALID, None
    # Opening the link proves the address, the way a right code proves the phone.
    outcome = _state(verification, utcnow(), reopening=True)
    if outcome is Outcome.OK:
        _mark_verified(verification)
    return outcome, verification


def _verification_from(serializer: URLSafeTimedSerializer, raw_payload) -> Verification | None:
    try:
        payload = serializer.load_payload(raw_payload)
    except BadSignature:
        return None
    return _verification_from_payload(payload, None)


def _verification_from_payload(payload, purpose: str | None) -> Verification | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("v"), int):
        return None
    verification = db.session.get(Verification, payload["v"])
    if verification is None or (purpose and verification.purpose != purpose):
        return None
    return verification


def _mark_verified(verification: Verification) -> Outcome:
    verification.verified_at = utcnow()
    return Outcome.OK


def use_up(verification_id: int) -> bool:
    """Spends a verified verification when the password is set. Atomic: of two tabs
    finishing at once, only one gets True."""
    result = db.session.execute(
        update(Verification)
        .where(
            Verification.id == verification_id,
            Verification.verified_at.is_not(None),
            Verification.used_at.is_(None),
            Verification.superseded_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return result.rowcount == 1


def still_usable(verification: Verification | None) -> bool:
    """A verified verification the customer may still set a password with."""
    if verification is None or verification.verified_at is None:
        return False
    if verification.used_at is not None or verification.superseded_at is not None:
        return False
    deadline = verification.verified_at + current_app.config["VERIFIED_STEP_LIFETIME"]
    return utcnow() < deadline
