"""Response headers and session lifetimes that apply to every page."""

import time
from typing import Any

from flask import Flask, current_app, flash, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from itsdangerous import URLSafeTimedSerializer
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


# On every response unless a view set its own; a view's own value wins.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    # A window this site opens, or that opens it, gets no handle on the other (tabnabbing,
    # cross-window leaks).
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, unchanged but for one thing: the signing serializer
    is made once per set of keys instead of twice per request (making it, with its key
    derivation, cost about a tenth of the login page's server time)."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *app.config["SECRET_KEY_FALLBACKS"])
        if keys not in self._serializers:
            self._serializers[keys] = super().get_signing_serializer(app)
        return self._serializers[keys]


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.before_request(_end_expired_session)
    app.after_request(_set_security_headers)


def _end_expired_session() -> None:
    """Idle timeout is the permanent session's lifetime, refreshed on each request;
    this adds the absolute one, counted from login. Static files skip it: loading the
    account for every stylesheet would cost a query each."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return
    logged_in_at = session.get("logged_in_at", 0)
    if time.time() - logged_in_at > current_app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds():
        logout_user()
        session.clear()
        flash(_("You have been logged out for your security. Please log in again."), "status")


def _set_security_headers(response: Response) -> Response:
    headers = response.headers
    # One pass over what the view set (setdefault per header cost a scan each).
    present = {name.lower() for name in headers.keys()}
    wanted = SECURITY_HEADERS + (HSTS,) if request.is_secure else SECURITY_HEADERS
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    if request.endpoint != "static" and response.mimetype == "text/html":
        # Pages carry CSRF tokens and personal data: never keep them in any cache.
        headers["Cache-Control"] = "no-store"
    return response
