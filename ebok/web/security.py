"""Response headers and session lifetimes that apply to every page."""

from typing import Any

from flask import Flask, Request, flash, request
from flask import Response as FlaskResponse
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from ebok.i18n import languages
from ebok.identity import sessions

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
# Seconds until a signed-in session times out, on every signed-in answer.
SESSION_TIME_LEFT_HEADER = "X-Session-Time-Left"
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
# (lower-case name, header) for add_security_headers.
_EVERY_ANSWER = tuple((name.lower(), (name, value)) for name, value in SECURITY_HEADERS)
_OVER_HTTPS = (*_EVERY_ANSWER, (HSTS[0].lower(), HSTS))


# Paths answered the same for every visitor (besides static/): the service worker and the
# operator's theme, logo and font. The manifest and the offline page are in the visitor's
# language, which a customer's session may hold.
NO_CUSTOMER_PATHS = ("/sw.js", "/operator/")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions for visitors; after login the session lives in its
    LoginSession row and the cookie carries only the row's random id (no dot in it, unlike
    a signed cookie), so an ended session is dead at once on every worker (SPEC §16).

    The signing serializer is made once per set of keys instead of twice per request
    (making it, with its key derivation, cost about a tenth of the login page's server
    time)."""

    session_class = sessions.Session

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}
        self._everyone_paths: tuple[str, ...] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *app.config["SECRET_KEY_FALLBACKS"])
        if keys not in self._serializers:
            self._serializers[keys] = super().get_signing_serializer(app)
        return self._serializers[keys]

    def open_session(self, app: Flask, request: Request) -> sessions.Session | None:
        name, cookies = self.get_cookie_name(app), request.cookies
        if name not in cookies:  # a first visit: Flask's own get() would raise and catch
            return self.session_class()
        cookie = cookies[name]
        if not cookie or "." in cookie:
            return super().open_session(app, request)  # type: ignore[return-value]
        if self._same_for_everyone(app, request):
            # No lookup for each stylesheet, worker or logo.
            return self.session_class()
        try:
            record = sessions.find_session(cookie)
        except SQLAlchemyError as error:
            # Raised again by the first before_request function, where the error pages
            # answer it; until then the cookie stays as it is.
            unavailable = self.session_class()
            unavailable.unavailable = error
            return unavailable
        if record is None:  # ended, timed out or made up: the cookie is deleted
            ended = self.session_class()
            ended.modified = True
            ended.timed_out = True
            return ended
        found = self.session_class(self.serializer.loads(record.data))
        found.record, found.cookie_id = record, cookie
        return found

    def _same_for_everyone(self, app: Flask, request: Request) -> bool:
        if self._everyone_paths is None:  # Flask works static_url_path out at each use
            self._everyone_paths = (f"{app.static_url_path}/", *NO_CUSTOMER_PATHS)
        return request.path.startswith(self._everyone_paths)

    def save_session(self, app: Flask, session: SessionMixin, response: FlaskResponse) -> None:
        assert isinstance(session, sessions.Session)
        if self._same_for_everyone(app, request):
            return  # the session was not read: its cookie stays as it is
        if session.unavailable is not None:
            return  # the row could not be read: the cookie stays for when it can
        if session.record is None or session.cookie_id is None:
            return super().save_session(app, session, response)
        # Read before save_session commits (which expires the row's attributes).
        expires = session.record.created_at + app.config["SESSION_ABSOLUTE_LIFETIME"]
        if response.status_code < 500:
            # For app.js's warning before the idle timeout after an htmx request (a page
            # carries it in signed_in.html): seconds, so the browser's clock does not matter.
            left = sessions.seconds_left()
            if left is not None:
                response.headers[SESSION_TIME_LEFT_HEADER] = str(left)
            data = self.serializer.dumps(dict(session)) if session.modified else None
            sessions.save_session(session, data)
        add_vary(response, "Cookie")
        response.set_cookie(
            self.get_cookie_name(app),
            session.cookie_id,
            # Kept to the absolute timeout, past the idle one: a form sent after the
            # session timed out still names it, so the answer can say the customer was
            # logged out (ebok.errors.routes.logged_out), not "the form has expired".
            expires=expires,
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            partitioned=self.get_cookie_partitioned(app),
        )


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.before_request_funcs.setdefault(None, []).insert(0, _raise_unavailable_session)
    app.before_request(_end_expired_session)
    app.after_request(_finish_headers)


def _raise_unavailable_session() -> None:
    current = sessions.current_session()
    if current.unavailable is not None:
        raise current.unavailable


def _end_expired_session() -> None:
    """A signed-in session whose row ran out (the idle or the absolute timeout, counted
    on the server) or was ended elsewhere: the visitor is told why they are logged out."""
    current = sessions.current_session()
    if current.timed_out:
        flash(_("You have been logged out for your security. Please log in again."), "status")


def vary_names(value: str | None) -> list[str]:
    """The names in a Vary header. It holds header names only (RFC 9110 §12.5.5), never
    quoted strings, so it is split on commas: Werkzeug's general header parser and its
    quoting of each name on the way back cost several µs a call, and a page adds to Vary
    three or four times (the session, the languages, htmx, the compression)."""
    return [name.strip() for name in value.split(",")] if value else []


def add_vary(response: Response, *names: str) -> None:
    """Adds header names to Vary unless there (compared without case, as Werkzeug does)."""
    current = response.headers.get("Vary")
    present = {name.lower() for name in vary_names(current)}
    missing = []
    for name in names:
        if name.lower() not in present:
            present.add(name.lower())
            missing.append(name)
    if missing:
        response.headers["Vary"] = ", ".join([current, *missing] if current else missing)


# The answers in the visitor's language say which one (the service worker reads it to
# pick the offline page in the same language).
_LANGUAGE_DEPENDENT = ("text/html", "application/manifest+json")


def add_security_headers(environ: dict[str, Any], headers: list[tuple[str, str]]) -> None:
    """The headers every answer of the app carries, unless its view set its own, added to
    the header list as it leaves (ebok.web.application.Response): werkzeug's Headers would
    check each constant value again on every answer."""
    present = {name.lower() for name, _ in headers}
    wanted = _OVER_HTTPS if environ.get("wsgi.url_scheme") == "https" else _EVERY_ANSWER
    headers.extend(header for lower, header in wanted if lower not in present)


def _finish_headers(response: Response) -> Response:
    """A page's own headers: never cached, its language and what it varies with."""
    # Static files are the same for everyone, in any language.
    if request.endpoint == "static":
        return response
    headers = response.headers
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("text/html"):
        # Pages carry CSRF tokens and personal data: never keep them in any cache.
        headers["Cache-Control"] = "no-store"
    if content_type.startswith(_LANGUAGE_DEPENDENT) and "Content-Language" not in headers:
        headers["Content-Language"] = languages.current()
    add_vary(response, *languages.VARY)
    return response
