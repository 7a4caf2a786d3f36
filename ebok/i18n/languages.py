"""The interface languages (SPEC §12): their names, which one a request is shown in, and
where the customer's choice is kept.

The language is, in this order: the customer's choice (the cookie the switcher sets,
`__Host-language` in production; for a logged-in customer without it, the one stored on
the account), the browser's Accept-Language, then the default (Polish). The choice lives
in a cookie and, for a logged-in customer, on the account, so messages sent later (by the
worker, or caused by somebody else's request) go out in the customer's language.
"""

from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from babel import Locale
from flask import Config, Flask, current_app, has_request_context, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from ebok.extensions import db

if TYPE_CHECKING:  # only annotated: the models sit above the languages (README, Layout)
    from ebok.models import Account

# The cookie's name before it became __Host-language in production (LANGUAGE_COOKIE_NAME):
# still read once, then replaced and deleted, so nobody loses their choice.
OLD_COOKIE = "language"
COOKIE_LIFETIME = timedelta(days=365)

# Each language named in itself, never translated: someone who does not read the page's
# language still finds their own.
NAMES = {"pl": "Polski", "en": "English", "uk": "Українська"}

# What the language of an answer depends on (ebok.web.security puts it into Vary).
VARY = ("Accept-Language", "Cookie")


def configured() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def default_language() -> str:
    return _default_in(current_app.config)


def _default_in(config: Config) -> str:
    languages = config["LANGUAGES"]
    default = config["BABEL_DEFAULT_LOCALE"]
    return default if default in languages else languages[0]


def valid(language: str | None) -> str | None:
    """The language if it is one of the configured ones, else None."""
    return (
        language if language is not None and language in current_app.config["LANGUAGES"] else None
    )


def current() -> str:
    """The language the current request (or force_locale block) is shown in."""
    return str(get_locale() or default_language())


def select_locale() -> Locale:
    """Flask-Babel's locale selector: the customer's choice, Accept-Language, the default.
    Every page asks it once: the settings are read once here (each read through Flask's
    context-local proxies costs a little)."""
    config = current_app.config
    languages = config["LANGUAGES"]
    if len(languages) == 1 or not has_request_context():
        return _locale(_default_in(config))  # nothing to choose, or no visitor (the CLI)
    accepted = request.accept_languages
    return _locale(
        _chosen_in(config, request.cookies)
        or _logged_in_account_language()
        or (accepted.best_match(languages) if accepted else None)
        or _default_in(config)
    )


@lru_cache(maxsize=16)
def _locale(language: str) -> Locale:
    """The Locale of a configured language, parsed once (Flask-Babel parses a selector's
    string on every request)."""
    return Locale.parse(language)


def _cookie_name() -> str:
    return current_app.config["LANGUAGE_COOKIE_NAME"]


def chosen() -> str | None:
    """The language chosen in this browser: the cookie, or the one under its old name."""
    return _chosen_in(current_app.config, request.cookies)


def _chosen_in(config: Config, cookies: Mapping[str, str]) -> str | None:
    languages = config["LANGUAGES"]
    for name in (config["LANGUAGE_COOKIE_NAME"], OLD_COOKIE):
        # `in` first: Werkzeug's get() raises and catches an exception for a missing one.
        if name in cookies and cookies[name] in languages:
            return cookies[name]
    return None


def _logged_in_account_language() -> str | None:
    """The logged-in customer's stored language. Only asked when the cookie is missing,
    and only when the session names an account, so other visitors cost no query; a
    database that does not answer leaves the choice to Accept-Language (error pages
    render while it is away)."""
    if "_user_id" not in session:
        return None
    try:
        if not current_user.is_authenticated:
            return None
        return valid(current_user.language)
    except SQLAlchemyError:
        db.session.rollback()
        return None


def of_account(account: "Account | None") -> str:
    """The language to write to the account's customer in when the customer did not cause
    the message (the worker, the CLI, another party's request)."""
    stored = valid(account.language) if account is not None else None
    return stored or default_language()


def set_cookie(response: Response, language: str) -> None:
    """A year, HttpOnly, SameSite=Lax; on the session cookie's path, and HTTPS-only
    wherever the session cookie is (production)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    response.set_cookie(
        _cookie_name(),
        language,
        max_age=int(COOKIE_LIFETIME.total_seconds()),
        path=app.session_interface.get_cookie_path(app),
        secure=app.session_interface.get_cookie_secure(app),
        httponly=True,
        samesite="Lax",
    )


def remember_choice(response: Response, language: str) -> None:
    """The switcher's choice: in the cookie, and on the logged-in customer's account."""
    set_cookie(response, language)
    if current_user.is_authenticated and current_user.language != language:
        current_user.language = language
        db.session.commit()


def sync_at_login(response: Response, account: "Account") -> Response:
    """A choice made in this browser goes to the account; without one, the browser gets
    the account's language, so the customer sees their own language at once. An account
    with no language yet (made before languages were stored) takes the one the customer
    logs in with, so later messages stop defaulting to Polish."""
    choice = chosen()
    stored = valid(account.language)
    if choice is None and stored is not None:
        set_cookie(response, stored)
        return response
    wanted = choice or current()
    if stored != wanted:
        account.language = wanted
        db.session.commit()
    return response


def choices() -> list[tuple[str, str]]:
    """(code, name in itself) for the switcher, in the configured order."""
    return [(code, NAMES.get(code, code)) for code in configured()]


def here() -> str:
    """The page the switcher is on, to come back to: its path and query as the browser
    has them (script root included). After htmx has swapped a step in, app.js puts the
    address bar's path in instead.

    A page shown for a post (a wizard step shown again with its errors, an error page)
    is at the URL posted to; going back GETs it, so when that URL takes no GET (the form
    expired on POST /wyloguj) the way back is the login page, which sends a logged-in
    customer home."""
    if request.method in ("GET", "HEAD") or _answers_get(request.path):
        return (request.script_root + request.full_path).rstrip("?")
    return url_for("auth.login")


def _answers_get(path: str) -> bool:
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return False
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:
        return True  # the same page at its canonical URL (a trailing slash added)
    except HTTPException:
        return False  # 405 (posts only) or 404
    return True


def _replace_old_cookie(response: Response) -> Response:
    """A choice under the old cookie name moves to the new one, and the old one goes."""
    if OLD_COOKIE not in request.cookies:
        return response
    name = _cookie_name()
    if name == OLD_COOKIE:
        return response
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    language = valid(request.cookies[OLD_COOKIE])
    already_set = any(
        header.startswith(f"{name}=") for header in response.headers.getlist("Set-Cookie")
    )
    if language and name not in request.cookies and not already_set:
        set_cookie(response, language)
    response.delete_cookie(
        OLD_COOKIE,
        path=app.session_interface.get_cookie_path(app),
        secure=app.session_interface.get_cookie_secure(app),
        httponly=True,
        samesite="Lax",
    )
    return response


def init_app(app: Flask) -> None:
    app.after_request(_replace_old_cookie)
    app.jinja_env.globals["language_choices"] = choices
    app.jinja_env.globals["language_here"] = here
