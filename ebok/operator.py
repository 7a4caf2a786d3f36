"""The operator's identity (SPEC §13): name, logo, colour, contact details and the portal's
real address, all from configuration, with a neutral default that names no operator.

Templates get `operator` (an Operator). The configured colour reaches the pages under the
strict CSP (`style-src 'self'`) as a small stylesheet served from the configuration at a
URL keyed by its content's hash, so it can be cached for a year; the logo likewise.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, current_app, url_for
from flask_babel import gettext as _

from ebok.i18n import languages

HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
YEAR = 365 * 24 * 3600
DEFAULT_LOGO = "icons/icon.svg"  # in static/
DEFAULT_COLOR = "#00558c"  # app.css's --brand


@dataclass(frozen=True)
class Operator:
    name: str | None
    name_locative: str | dict | None
    logo_path: str | None
    primary_color: str | None
    phone: str
    email: str | None
    address: str | None
    portal_url: str | None
    phishing_report: str | None

    @property
    def portal_name(self) -> str:
        """What every <title> ends with."""
        if self.name:
            # Translators: the portal's name, at the end of every page title and in e-mails;
            # %(operator)s is the operator's name ("Vectra").
            return _("Strefa Klienta %(operator)s", operator=self.name)
        return _("Strefa Klienta")

    @property
    def locative(self) -> str | None:
        """The name after "w" in Polish ("zgłoszony w Vectrze"): the configured locative
        for the current language when there is one, the name itself otherwise; None when
        no name or no Polish form is configured, and the text then names no operator."""
        if not self.name:
            return None
        forms = self.name_locative
        language = languages.current()
        if isinstance(forms, dict):
            return forms.get(language) or (None if language == "pl" else self.name)
        if language == "pl":
            return forms or None
        return self.name

    @property
    def phone_href(self) -> str:
        """The Customer Service Centre's number as a link that dials it."""
        return "tel:" + self.phone.replace(" ", "")

    @property
    def portal_host(self) -> str | None:
        """The portal's address as customers should check it in the address bar."""
        if not self.portal_url:
            return None
        return re.sub(r"^https?://", "", self.portal_url).rstrip("/")

    @property
    def phishing_report_is_email(self) -> bool:
        return bool(self.phishing_report and "@" in self.phishing_report)

    @cached_property
    def theme_css(self) -> str | None:
        return theme_css(self.primary_color) if self.primary_color else None

    def theme_url(self) -> str | None:
        if not self.theme_css:
            return None
        return url_for("operator_theme", digest=_digest(self.theme_css.encode()))

    def logo_url(self) -> str:
        if not self.logo_path:
            return url_for("static", filename=DEFAULT_LOGO)
        return url_for("operator_logo", digest=_logo_digest(self.logo_path))

    @property
    def theme_color(self) -> str:
        return self.primary_color or DEFAULT_COLOR

    @property
    def theme_text_color(self) -> str:
        return text_color_on(self.theme_color)


def current() -> Operator:
    config = current_app.config
    return Operator(
        name=config["OPERATOR_NAME"] or None,
        name_locative=config["OPERATOR_NAME_LOCATIVE"] or None,
        logo_path=config["OPERATOR_LOGO"] or None,
        primary_color=config["OPERATOR_PRIMARY_COLOR"] or None,
        phone=config["CUSTOMER_SERVICE_PHONE"],
        email=config["OPERATOR_EMAIL"] or None,
        address=config["OPERATOR_ADDRESS"] or None,
        portal_url=config["OPERATOR_PORTAL_URL"] or _portal_url_from_server_name(config),
        phishing_report=config["OPERATOR_PHISHING_REPORT"] or None,
    )


def _portal_url_from_server_name(config: Mapping[str, Any]) -> str | None:
    # Never from the request's Host: a copy of the site would show its own address.
    if not config.get("SERVER_NAME"):
        return None
    return f"{config.get('PREFERRED_URL_SCHEME') or 'https'}://{config['SERVER_NAME']}"


def theme_css(color: str) -> str:
    """CSS custom properties for the configured colour, with a header text colour that
    keeps AA contrast on it (white or near-black, whichever contrasts more)."""
    return (
        "/* The operator's colour (FLASK_OPERATOR_PRIMARY_COLOR). */\n"
        f":root {{ --brand: {color}; --brand-text: {text_color_on(color)}; }}\n"
    )


def text_color_on(color: str) -> str:
    """White or near-black, whichever contrasts more with `color` (at least 4.5:1)."""
    return "#ffffff" if _contrast(color, "#ffffff") >= _contrast(color, "#0b0c0c") else "#0b0c0c"


def _luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def _logo_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


# Every page links the logo by its digest: read and hashed once per process, not per page
# (replacing the file needs a restart, as any configuration change does).
@lru_cache(maxsize=8)
def _logo_digest(path: str) -> str:
    return _digest(_logo_bytes(path))


def _check_config(app: Flask) -> None:
    color = app.config["OPERATOR_PRIMARY_COLOR"]
    if color and not HEX_COLOR.fullmatch(color):
        raise RuntimeError(f"FLASK_OPERATOR_PRIMARY_COLOR must look like #00558c, not {color!r}.")
    logo = app.config["OPERATOR_LOGO"]
    if logo and not (Path(logo).is_file() and logo.lower().endswith(".svg")):
        raise RuntimeError(f"FLASK_OPERATOR_LOGO must be the path of an SVG file: {logo!r}.")


def _cached_forever(body: bytes | str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    return response


def serve_theme(digest: str) -> Response:
    css = current().theme_css
    if not css or digest != _digest(css.encode()):
        abort(404)
    return _cached_forever(css, "text/css")


def serve_logo(digest: str) -> Response:
    path = current().logo_path
    if not path or digest != _logo_digest(path):
        abort(404)
    return _cached_forever(_logo_bytes(path), "image/svg+xml")


def init_app(app: Flask) -> None:
    _check_config(app)
    app.add_url_rule("/operator/theme-<digest>.css", "operator_theme", serve_theme)
    app.add_url_rule("/operator/logo-<digest>.svg", "operator_logo", serve_logo)
    app.context_processor(lambda: {"operator": current()})
