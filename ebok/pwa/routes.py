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

# What the service worker keeps: static assets only, never pages with personal data.
PRECACHED_STATIC = [
    "css/app.css",
    "js/app.js",
    "vendor/htmx.min.js",
    "icons/icon.svg",
    "icons/icon-192.png",
    "icons/icon-512.png",
    "icons/icon-maskable-512.png",
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
    """The worker keeps an offline page per language and shows the one in the language
    of the last page the visitor loaded (its Content-Language). It is the same for every
    visitor: a worker whose bytes changed with the language would be installed again,
    and its precache downloaded again, whenever the customer switched."""
    body = render_template(
        "pwa/sw.js",
        version=_assets_version(),
        default_language=languages.default_language(),
        offline_urls={
            language: url_for("pwa.offline", language=language)
            for language in languages.configured()
        },
        precache=[url_for("static", filename=name) for name in PRECACHED_STATIC],
    )
    response = Response(body, mimetype="text/javascript")
    # Browsers check for a new worker on each visit; never let a cache pin an old one.
    response.headers["Cache-Control"] = "no-cache"
    compression.allow()
    return response


@bp.get("/offline/<language>")
def offline(language: str) -> ResponseReturnValue:
    """The page the service worker shows without a network, in the language the URL
    names: the worker keeps one per language."""
    if languages.valid(language) is None:
        abort(404)
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
