"""The installable app (SPEC §9): the web app manifest, the service worker and the page it
shows offline. They are served from the site's root so the worker's scope is the site."""

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, url_for
from flask_babel import gettext as _

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


@bp.get("/manifest.webmanifest")
def manifest():
    icon = lambda name, size, purpose="any": {  # noqa: E731
        "src": url_for("static", filename=f"icons/{name}"),
        "sizes": size,
        "type": "image/png",
        "purpose": purpose,
    }
    data = {
        "id": "/",
        "name": _("Strefa Klienta"),
        "short_name": _("Strefa Klienta"),
        "description": _("Your customer account: invoices, e-Faktura, password."),
        "lang": "pl",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": "#00558c",
        "background_color": "#ffffff",
        "icons": [
            icon("icon-192.png", "192x192"),
            icon("icon-512.png", "512x512"),
            icon("icon-maskable-512.png", "512x512", "maskable"),
        ],
    }
    response = Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/sw.js")
def service_worker():
    body = render_template(
        "pwa/sw.js",
        version=_assets_version(),
        offline_url=url_for("pwa.offline"),
        precache=[url_for("static", filename=name) for name in PRECACHED_STATIC],
    )
    response = Response(body, mimetype="text/javascript")
    # Browsers check for a new worker on each visit; never let a cache pin an old one.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    return render_template("pwa/offline.html", title=_("No internet connection"))


@cache
def _assets_version() -> str:
    """Changes whenever a precached file changes, so the worker replaces its cache."""
    digest = hashlib.sha256()
    for name in PRECACHED_STATIC:
        digest.update((Path(current_app.static_folder or "static") / name).read_bytes())
    digest.update(render_template("pwa/offline.html", title="").encode())
    return digest.hexdigest()[:12]
