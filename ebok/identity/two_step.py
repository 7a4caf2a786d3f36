"""Two-step login (SPEC §16): a code from an authenticator app (TOTP, RFC 6238, by pyotp),
or one of 10 single-use recovery codes, after the right password.

A TOTP code is accepted for its 30-second step and one step either side (clocks drift),
and never twice: the account keeps the last step a code was accepted for. Recovery codes
are stored as keyed hashes and used up atomically."""

import enum
import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, or_, select, update

from ebok import messages
from ebok.extensions import db
from ebok.i18n.durations import sms_code_minutes
from ebok.identity import throttle, verification
from ebok.identity.devices import trusted_device
from ebok.identity.signing import Outcome as CodeOutcome
from ebok.identity.signing import secret_keys
from ebok.logs import audit
from ebok.models import Account, RecoveryCode, Verification, utcnow
from ebok.normalising import mask_phone

TOTP = "totp"
SMS = "sms"
# Verification purposes of the SMS codes: a login's second step, and the first code that
# switches SMS on (SPEC §16).
LOGIN_PURPOSE = "login"
SETUP_PURPOSE = "two_step"
STEP_SECONDS = 30
# Steps either side of now whose code is still accepted.
WINDOW = 1
RECOVERY_CODE_COUNT = 10
# No letters or digits that look alike (0/o, 1/l/i).
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10


def now() -> float:
    """The clock the codes are checked against (the tests fix it)."""
    return time.time()


class Outcome(enum.Enum):
    TOTP = "totp"
    SMS = "sms"
    RECOVERY_CODE = "recovery_code"
    WRONG = "wrong"


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(account: Account, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account.customer.number, issuer_name=issuer)


def qr_code_svg(uri: str, title: str) -> Markup:
    """The QR code as an inline SVG drawn here: paths only, no style attribute (the CSP
    forbids inline styles), with a <title> for assistive technology."""
    svg = segno.make_qr(uri, error="m").svg_inline(
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        title=title,
        svgclass="qr-code",
        lineclass=None,
        omitsize=False,
    )
    # segno escapes the title; the image role makes it the SVG's accessible name.
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704


def normalize_code(typed: str | None) -> str:
    """The code as typed or pasted, without spaces and dashes, in lower case."""
    return "".join((typed or "").split()).replace("-", "").lower()


def matching_step(secret: str, typed: str, at: float | None = None) -> int | None:
    """The time step whose code the typed one is, within the window; None if none is."""
    code = normalize_code(typed)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    at = now() if at is None else at
    current = int(at // STEP_SECONDS)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _recovery_hash(key: str, account_id: int, code: str) -> str:
    return hmac.new(
        key.encode(), f"recovery:{account_id}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def new_recovery_codes(account: Account) -> list[str]:
    """Replaces the account's recovery codes with 10 new ones, returned to be shown once
    (only their keyed hashes are kept). The caller commits."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    key = secret_keys()[-1]
    db.session.add_all(
        RecoveryCode(account_id=account.id, code_hash=_recovery_hash(key, account.id, code))
        for code in codes
    )
    half = RECOVERY_CODE_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def recovery_codes_left(account: Account) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.account_id == account.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def _use_recovery_code(account: Account, code: str) -> bool:
    if len(code) != RECOVERY_CODE_LENGTH:
        return False
    hashes = [_recovery_hash(key, account.id, code) for key in secret_keys()]
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.account_id == account.id,
            RecoveryCode.code_hash.in_(hashes),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


def send_sms_code(account: Account, purpose: str) -> Verification:
    """An SMS code to the account's mobile number on file, counted against the client's
    and the customer's sends (an SMS costs money: RateLimitExceeded, or
    throttle.CountingUnavailable without the shared counts). Commits."""
    customer = account.customer
    phone = customer.sms_phone
    assert phone is not None, "SMS is offered only with a mobile number on file"
    throttle.hit("RATELIMIT_CODE_SENDS", fail_closed=True)
    device = trusted_device(account)
    per_customer = f"customer:{customer.id}:sms"
    throttle.hit(
        "RATELIMIT_CODE_SENDS_PER_CUSTOMER",
        per_customer if device is None else f"{per_customer}:device:{device}",
        fail_closed=True,
    )
    record, code = verification.start(customer, purpose, "sms")
    messages.send_sms(
        phone, "login_code", verification_id=record.id, code=code, minutes=sms_code_minutes()
    )
    audit("code_sent", customer=customer.id, flow=purpose, to=mask_phone(phone))
    db.session.commit()
    return record


def check_sms_code(account: Account, verification_id: int | None, typed: str) -> bool:
    """The code of the SMS sent for `verification_id`, if it is the account's. The caller
    commits."""
    record = db.session.get(Verification, verification_id or 0)
    if record is None or record.customer_id != account.customer_id:
        return False
    code = verification.normalize_code(typed)
    return verification.check_code(record, code) is CodeOutcome.OK


def check_code(account: Account, typed: str, sms_verification: int | None = None) -> Outcome:
    """A code at the second step: the app's (a step after the last one accepted), the
    SMS's sent for `sms_verification`, or an unused recovery code, each used up by this.
    The caller commits."""
    if account.two_step == SMS:
        if check_sms_code(account, sms_verification, typed):
            return Outcome.SMS
    elif account.two_step != TOTP or account.totp_secret is None:
        return Outcome.WRONG
    secret = account.totp_secret if account.two_step == TOTP else None
    step = matching_step(secret, typed) if secret is not None else None
    if step is not None:
        # Atomic: of two requests with the same code, one moves the step on.
        accepted = db.session.execute(
            update(Account)
            .where(
                Account.id == account.id,
                or_(Account.totp_last_step.is_(None), Account.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        if accepted.rowcount:  # type: ignore[attr-defined]
            return Outcome.TOTP
        audit("two_step_code_reused", account=account.id)
        return Outcome.WRONG
    if _use_recovery_code(account, normalize_code(typed)):
        audit("recovery_code_used", account=account.id)
        return Outcome.RECOVERY_CODE
    return Outcome.WRONG


def check_code_counted(
    account: Account, typed: str, sms_verification: int | None = None
) -> Outcome:
    """check_code, counted against the client's code attempts and the account's second
    step attempts (RateLimitExceeded when one is used up; a right code is given back)."""
    throttle.count_attempt(
        [
            ("RATELIMIT_CODE_ATTEMPTS", None),
            ("RATELIMIT_TWO_STEP_PER_ACCOUNT", f"account:{account.id}"),
        ]
    )
    outcome = check_code(account, typed, sms_verification)
    if outcome is Outcome.WRONG:
        audit("two_step_failed", account=account.id)
    else:
        throttle.attempt_was_right()
    return outcome


def switch_on(account: Account, secret: str, step: int) -> list[str]:
    """Two-step login on with the app whose first code (for `step`) was right; the
    recovery codes to show once. The caller commits (and tells the customer)."""
    account.two_step = TOTP
    account.totp_secret = secret
    account.totp_last_step = step
    audit("two_step_switched_on", account=account.id)
    return new_recovery_codes(account)


def switch_on_sms(account: Account) -> list[str]:
    """Two-step login on by SMS to the mobile number on file, whose first code was right;
    the recovery codes to show once. The caller commits (and tells the customer)."""
    account.two_step = SMS
    account.totp_secret = None
    account.totp_last_step = None
    audit("two_step_switched_on", account=account.id, method=SMS)
    return new_recovery_codes(account)


def switch_off(account: Account) -> None:
    """The caller commits (and tells the customer)."""
    account.two_step = None
    account.totp_secret = None
    account.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    audit("two_step_switched_off", account=account.id)
