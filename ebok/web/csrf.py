"""CSRF tokens masked afresh in every response, so that pages can be compressed (BREACH).

Flask-WTF keeps a raw token in the session and puts a signed copy of it into pages; the
signed copy carries the raw token in base64, the same on every page of a session.
Compressed next to text an attacker can put into a page, a constant secret leaks
byte by byte through the sizes of the responses (BREACH). So no page gets it as it is:
each response gets `pad + (pad XOR signed token)` with a pad of its own from `secrets`
(Django's `_mask_cipher_secret`), which looks different every time, and a request's token
is unmasked before Flask-WTF checks it, in constant time, against the session's.
"""

import base64
import binascii
import secrets

from flask import Flask, current_app, g, request
from flask_wtf import CSRFProtect
from flask_wtf.csrf import _FlaskFormCSRF, generate_csrf


def mask(token: str) -> str:
    secret = token.encode()
    pad = secrets.token_bytes(len(secret))
    cipher = (int.from_bytes(pad) ^ int.from_bytes(secret)).to_bytes(len(secret))
    return base64.urlsafe_b64encode(pad + cipher).decode().rstrip("=")


def unmask(masked: str | None) -> str | None:
    """The signed token in a masked one (base64url has no dot, a signed token has two);
    None for anything else, which then fails as a missing token."""
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


def masked_token() -> str:
    """The token every form and the meta tag of this response carry: one mask per
    response (repeats compress to nothing), a new one in the next."""
    if "masked_csrf_token" not in g:
        g.masked_csrf_token = mask(generate_csrf())
    return g.masked_csrf_token


class MaskedCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRFProtect, reading masked tokens and putting masked ones into pages."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        # Flask-WTF's own csrf_token() (a global and a context processor) gives the
        # unmasked token: replaced by the masked one in both.
        app.jinja_env.globals["csrf_token"] = masked_token
        app.context_processor(lambda: {"csrf_token": masked_token})

    def protect(self, apply_exemptions: bool = False) -> None:
        # Flask-WTF looks up the view's exemptions before the method; a GET needs neither.
        if request.method in current_app.config["WTF_CSRF_METHODS"]:
            super().protect(apply_exemptions)

    def _get_csrf_token(self) -> str | None:
        return unmask(super()._get_csrf_token())


class MaskedFormCSRF(_FlaskFormCSRF):
    """The forms' hidden csrf_token field: masked when rendered, unmasked when checked
    (when CSRFProtect has not checked the request already)."""

    def generate_csrf_token(self, csrf_token_field: object) -> str:
        return masked_token()

    def validate_csrf_token(self, form: object, field: object) -> None:
        field.data = unmask(field.data)  # type: ignore[attr-defined]
        super().validate_csrf_token(form, field)


csrf = MaskedCSRFProtect()
