"""CSRF tokens masked afresh in every response, so that pages can be compressed (BREACH).

Flask-WTF keeps a random secret in the session and checks that each form sent carries it.
Put into pages as it is, the secret is the same on every page of a session, and compressed
next to text an attacker can put into a page, a constant secret leaks byte by byte through
the sizes of the responses (BREACH). So no page gets it as it is: each response gets
`pad + (pad XOR secret)` with a pad of its own from `secrets` (Django's
`_mask_cipher_secret`), which looks different every time, and a request's token is
unmasked and compared with the session's secret in constant time.

Flask-WTF would put the secret into pages signed, with a timestamp for WTF_CSRF_TIME_LIMIT.
With no time limit (the token lives as long as the session) the signature proves nothing
the comparison does not, and signing cost a tenth of the login page's server time, so
pages get the masked secret itself. A signed token (a page opened before this change)
is still checked as Flask-WTF checks it.
"""

import base64
import binascii
import hmac
import logging
import secrets

from flask import Flask, current_app, g, request, session
from flask_wtf import CSRFProtect
from flask_wtf.csrf import _FlaskFormCSRF, same_origin, validate_csrf
from wtforms import ValidationError

log = logging.getLogger(__name__)


def mask(token: str) -> str:
    secret = token.encode()
    pad = secrets.token_bytes(len(secret))
    cipher = (int.from_bytes(pad) ^ int.from_bytes(secret)).to_bytes(len(secret))
    return base64.urlsafe_b64encode(pad + cipher).decode().rstrip("=")


def unmask(masked: str | None) -> str | None:
    """The token in a masked one (base64url has no dot, a signed token has two); None for
    anything else, which then fails as a missing token."""
    if not masked:
        return None
    if "." in masked:
        # Signed but not masked: a form opened before tokens were masked still submits.
        return masked
    try:
        data = base64.urlsafe_b64decode(masked + "=" * (-len(masked) % 4))
    except (binascii.Error, ValueError):
        return None
    size = len(data) // 2
    if not size or len(data) != 2 * size:
        return None
    pad, cipher = data[:size], data[size:]
    token = (int.from_bytes(pad) ^ int.from_bytes(cipher)).to_bytes(size)
    return token.decode("ascii") if token.isascii() else None


def _session_secret() -> str:
    """The session's secret, made at its first use (Flask-WTF's 40 hex digits)."""
    name = current_app.config["WTF_CSRF_FIELD_NAME"]
    current = session._get_current_object()  # type: ignore[attr-defined]  # read twice here
    secret = current.get(name)
    if not isinstance(secret, str):
        secret = current[name] = secrets.token_hex(20)
    return secret


def masked_token() -> str:
    """The token every form and the meta tag of this response carry: one mask per
    response (repeats compress to nothing), a new one in the next."""
    token = g.get("masked_csrf_token")
    if token is None:
        token = g.masked_csrf_token = mask(_session_secret())
    return token


def check(sent: str | None) -> None:
    """Raises ValidationError (with Flask-WTF's reasons, for its log) unless the token
    sent is this session's, masked."""
    token = unmask(sent)
    if not token:
        raise ValidationError("The CSRF token is missing.")
    if "." in token:  # signed: a page from before tokens were put in unsigned
        validate_csrf(token)
        return
    secret = session.get(current_app.config["WTF_CSRF_FIELD_NAME"])
    if not isinstance(secret, str):
        raise ValidationError("The CSRF session token is missing.")
    if not hmac.compare_digest(secret, token):
        raise ValidationError("The CSRF tokens do not match.")


class MaskedCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRFProtect, reading masked tokens and putting masked ones into pages."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        # Flask-WTF's own csrf_token() (a global and a context processor) gives its signed
        # token: replaced by the masked one in both.
        app.jinja_env.globals["csrf_token"] = masked_token
        app.context_processor(lambda: {"csrf_token": masked_token})

    def protect(self, apply_exemptions: bool = False) -> None:
        """Flask-WTF's protect() with the masked token's check. It looked up the view's
        exemptions before the method; a GET needs neither."""
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        try:
            check(self._get_csrf_token())
        except ValidationError as error:
            log.info(error.args[0])
            self._error_response(error.args[0])
        if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True


class MaskedFormCSRF(_FlaskFormCSRF):
    """The forms' hidden csrf_token field: masked when rendered, checked like the
    request's token (when CSRFProtect has not checked the request already)."""

    def generate_csrf_token(self, csrf_token_field: object) -> str:
        return masked_token()

    def validate_csrf_token(self, form: object, field: object) -> None:
        if not g.get("csrf_valid", False):
            check(field.data)  # type: ignore[attr-defined]


csrf = MaskedCSRFProtect()
