"""The installable app (SPEC §9): the web app manifest, the service worker and the page it
shows offline. They are served from the site's root so the worker's scope is the site."""

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _

from ebok import operator
from ebok.i18n import languages
from ebok.web import compression

bp = Blueprint("pwa", __name__)

# What the service worker keeps: static assets only, never pages with personal data. What
# the pages use, which the browser has just fetched (the worker gets them from its HTTP
# cache); not the icons for installing, which the browser fetches when it installs.
PRECACHED_STATIC = [
    "css/app.css",
    "js/app.js",
    "vendor/htmx.min.js",
    "icons/icon.svg",
]


@bp.get("/manifest.<language>.webmanifest")
def manifest(language: str) -> ResponseReturnValue:
    """The manifest in the language its URL names. Browsers fetch <link rel="manifest">
    without cookies, so the page links the one in its own language (SPEC §12)."""
    if languages.valid(language) is None:
        abort(404)
    with force_locale(language):
        return _manifest_response()


@bp.get("/manifest.webmanifest")
def manifest_by_accept_language() -> ResponseReturnValue:
    """The address pages linked before the manifest had one per language: pages a browser
    rendered then, and installed apps, may still ask for it. Without cookies (as browsers
    fetch it) it is in the language of Accept-Language."""
    return _manifest_response()


def _manifest_response() -> Response:
    icon = lambda name, size, purpose="any": {  # noqa: E731
        "src": url_for("static", filename=f"icons/{name}"),
        "sizes": size,
        "type": "image/png",
        "purpose": purpose,
    }
    language = languages.current()
    identity = operator.current()
    data = {
        # The same id in every language: one app, whichever language it was installed in.
        "id": "/",
        "name": identity.portal_name,
        "short_name": _("Strefa Klienta"),
        "description": _("Your customer account: invoices, e-Faktura, password."),
        "lang": language,
        "dir": "ltr",
        # The login page, which sends a logged-in customer home; the language cookie
        # decides the language it opens in.
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": identity.theme_color,
        "background_color": "#ffffff",
        "icons": [
            icon("icon-192.png", "192x192"),
            icon("icon-512.png", "512x512"),
            icon("icon-maskable-512.png", "512x512", "maskable"),
        ],
    }
    response = Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Content-Language"] = language
    response.headers["Cache-Control"] = "no-cache"
    compression.allow()
    return response


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The worker keeps one offline page, in the visitor's language: the first from
    /offline, then, when a page comes in another language (its Content-Language), that
    language's. It is the same for every visitor: a worker whose bytes changed with the
    language would be installed again, and its precache downloaded again, whenever the
    customer switched."""
    body = render_template(
        "pwa/sw.js",
        version=_assets_version(),
        offline_url=url_for("pwa.offline_in_visitors_language"),
        offline_url_in=url_for("pwa.offline", language="LANGUAGE"),
        precache=[url_for("static", filename=name) for name in PRECACHED_STATIC],
    )
    response = Response(body, mimetype="text/javascript")
    # Browsers check for a new worker on each visit; never let a cache pin an old one.
    response.headers["Cache-Control"] = "no-cache"
    compression.allow()
    return response


@bp.get("/offline")
def offline_in_visitors_language() -> ResponseReturnValue:
    """The offline page in the visitor's language (chosen, else the browser's): the one
    the worker keeps when it is installed."""
    return _offline_response(languages.current())


@bp.get("/offline/<language>")
def offline(language: str) -> ResponseReturnValue:
    """The offline page in the language the URL names: the worker fetches it when a page
    came in another language than the page it keeps."""
    if languages.valid(language) is None:
        abort(404)
    return _offline_response(language)


def _offline_response(language: str) -> Response:
    with force_locale(language):
        response = Response(_offline_page(), mimetype="text/html")
    response.headers["Content-Language"] = language
    compression.allow()
    return response


def _offline_page() -> str:
    return render_template("pwa/offline.html")


@cache
def _assets_version() -> str:
    """Changes whenever a precached file changes, so the worker replaces its cache."""
    digest = hashlib.sha256()
    for name in PRECACHED_STATIC:
        digest.update((Path(current_app.static_folder or "static") / name).read_bytes())
    for language in languages.configured():
        with force_locale(language):
            digest.update(_offline_page().encode())
    return digest.hexdigest()[:12]
