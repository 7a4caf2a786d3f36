"""SMS codes and signed e-mail links that prove a customer owns a contact datum.

Codes and link secrets are stored only as keyed hashes. A link carries the id of its
Verification and a random secret, signed with itsdangerous; it works while that
Verification is neither used nor superseded by a newer one (Django's reset-token idea).
"""

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, select, update

from ebok.extensions import db
from ebok.identity import signing
from ebok.identity.signing import Key, Outcome, secret_keys
from ebok.models import Customer, Verification, utcnow


def code_length() -> int:
    """How many digits an SMS code has (SMS_CODE_LENGTH)."""
    return current_app.config["SMS_CODE_LENGTH"]


def normalize_code(typed: str | None) -> str:
    """The code as typed, without the spaces and dashes customers put in it."""
    return "".join((typed or "").split()).replace("-", "")


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


def lock_customer(customer: Customer) -> None:
    """Until the caller commits, new codes and links for this customer are made one at a
    time (a row lock; SQLite writes one at a time anyway)."""
    db.session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())


def recent_duplicate(customer: Customer, purpose: str, channel: str) -> Verification | None:
    """A live code or link by this channel made within DOUBLE_SUBMIT_WINDOW: a double
    submit, which the caller answers with it, sending nothing. Call lock_customer first."""
    since = utcnow() - current_app.config["DOUBLE_SUBMIT_WINDOW"]
    return db.session.scalars(
        select(Verification)
        .where(
            Verification.customer_id == customer.id,
            Verification.purpose == purpose,
            Verification.channel == channel,
            Verification.created_at >= since,
            Verification.verified_at.is_(None),
            Verification.used_at.is_(None),
            Verification.superseded_at.is_(None),
        )
        .order_by(Verification.id.desc())
    ).first()


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
        digits = code_length()
        secret = f"{secrets.randbelow(10**digits):0{digits}d}"
        lifetime = current_app.config["SMS_CODE_LIFETIME"]
    else:
        secret = secrets.token_urlsafe(16)
        lifetime = signing.lifetime(purpose)
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
        token = signing.dumps(purpose, {Key.VERIFICATION: verification.id, Key.NONCE: secret})
        return verification, token
    return verification, secret


def _state(verification: Verification | None, now: datetime, *, reopening: bool) -> Outcome:
    """Whether the verification can still be proved. An e-mail link may be opened again
    until the password is set (reopening); a code that was right is spent."""
    if verification is None:
        return Outcome.INVALID
    if verification.used_at is not None:
        return Outcome.USED
    if verification.superseded_at is not None or _outlived_the_password(verification):
        return Outcome.SUPERSEDED
    if verification.verified_at is not None:
        return Outcome.OK if reopening else Outcome.USED
    if verification.failed_attempts >= current_app.config["SMS_CODE_MAX_TRIES"]:
        return Outcome.TOO_MANY_TRIES
    if verification.expires_at <= now:
        return Outcome.EXPIRED
    return Outcome.OK


def still_open(verification: Verification) -> bool:
    """Whether the code or link can still be given: not used, superseded, expired or
    outlived by a new password."""
    return _state(verification, utcnow(), reopening=True) is Outcome.OK


def _outlived_the_password(verification: Verification) -> bool:
    """A code or link sent before the account's password last changed died with it (Django
    binds its reset tokens to the password the same way): a reset someone started cannot
    be finished after the customer has changed the password."""
    account = verification.customer.account
    return account is not None and verification.created_at < account.password_changed_at


def check_code(verification: Verification, code: str) -> Outcome:
    """Checks a typed code. A try is taken before the comparison, by one conditional
    UPDATE, so concurrent guesses cannot get past the limit; a right code gives it back and
    marks the verification verified. The caller commits."""
    outcome = _state(verification, utcnow(), reopening=False)
    if outcome is not Outcome.OK:
        return outcome
    if not _take_a_try(verification, +1):
        return Outcome.TOO_MANY_TRIES
    if not _secret_matches(verification, code):
        if not _replaced_by(verification, code):
            return Outcome.WRONG
        # The code of an SMS this one replaced ("Wyślij kod ponownie"): not a guess, and
        # the customer is told to take the latest SMS instead of being told it is wrong.
        _take_a_try(verification, -1)
        return Outcome.SUPERSEDED
    _take_a_try(verification, -1)
    return _mark_verified(verification)


# How many earlier codes a typed one is compared with: the resends a customer may make
# within a code's lifetime (RATELIMIT_CODE_SENDS_PER_CUSTOMER), bounding the work.
_EARLIER_CODES = 3


def _replaced_by(verification: Verification, code: str) -> bool:
    """Whether `code` is that of an earlier, still unexpired SMS code this verification
    replaced (the same customer and purpose)."""
    earlier = db.session.scalars(
        select(Verification)
        .where(
            Verification.customer_id == verification.customer_id,
            Verification.purpose == verification.purpose,
            Verification.channel == "sms",
            Verification.id < verification.id,
            Verification.superseded_at.is_not(None),
            Verification.expires_at > utcnow(),
        )
        .order_by(Verification.id.desc())
        .limit(_EARLIER_CODES)
    )
    return any(_secret_matches(record, code) for record in earlier)


def _take_a_try(verification: Verification, change: int) -> bool:
    """Counts a try (+1) while fewer than the limit were counted, or gives one back (-1)."""
    statement = (
        update(Verification)
        .where(Verification.id == verification.id)
        .values(failed_attempts=Verification.failed_attempts + change)
        .execution_options(synchronize_session=False)
    )
    if change > 0:
        limit = current_app.config["SMS_CODE_MAX_TRIES"]
        statement = statement.where(Verification.failed_attempts < limit)
    result = cast(CursorResult, db.session.execute(statement))
    db.session.expire(verification, ["failed_attempts"])
    return result.rowcount == 1


def tries_left(verification: Verification) -> int:
    return max(0, current_app.config["SMS_CODE_MAX_TRIES"] - verification.failed_attempts)


def check_link(token: str, purpose: str) -> tuple[Outcome, Verification | None]:
    """Opens an e-mail link. A good one marks the verification verified; an expired one
    still tells which verification it was, so a new link can be offered."""
    outcome, payload = signing.loads(purpose, token)
    verification = _verification_from(payload, purpose)
    if outcome is not Outcome.OK or payload is None:
        return outcome, verification
    if verification is None or not _secret_matches(verification, str(payload[Key.NONCE])):
        return Outcome.INVALID, None
    # Opening the link proves the address, the way a right code proves the phone.
    outcome = _state(verification, utcnow(), reopening=True)
    if outcome is Outcome.OK:
        _mark_verified(verification)
    return outcome, verification


def _verification_from(payload: dict | None, purpose: str) -> Verification | None:
    if payload is None or not isinstance(payload[Key.VERIFICATION], int):
        return None
    verification = db.session.get(Verification, payload[Key.VERIFICATION])
    if verification is None or verification.purpose != purpose:
        return None
    return verification


def _mark_verified(verification: Verification) -> Outcome:
    verification.verified_at = utcnow()
    return Outcome.OK


def use_up(verification_id: int) -> bool:
    """Spends a verified verification when the password is set. Atomic: of two tabs
    finishing at once, only one gets True."""
    result = cast(
        CursorResult,
        db.session.execute(
            update(Verification)
            .where(
                Verification.id == verification_id,
                Verification.verified_at.is_not(None),
                Verification.used_at.is_(None),
                Verification.superseded_at.is_(None),
            )
            .values(used_at=utcnow())
        ),
    )
    return result.rowcount == 1


def accepted_before(verification: Verification, code: str) -> bool:
    """The right code sent again after it was accepted, while the password may still be
    set with it (the answer was lost, or the customer went Back from the password step)."""
    return still_usable(verification) and _secret_matches(verification, code)


def still_usable(verification: Verification | None) -> bool:
    """A verified verification the customer may still set a password with."""
    if verification is None or verification.verified_at is None:
        return False
    if verification.used_at is not None or verification.superseded_at is not None:
        return False
    if _outlived_the_password(verification):
        return False
    deadline = verification.verified_at + current_app.config["VERIFIED_STEP_LIFETIME"]
    return utcnow() < deadline
