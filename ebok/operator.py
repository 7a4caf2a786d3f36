"""The operator's identity (SPEC §13): name, logo, colour, contact details and the portal's
real address, all from configuration, with a neutral default that names no operator; and
the few design tokens an operator sets (issue 22): an accent colour, a corner radius and a
font served from the portal itself.

Templates get `operator` (an Operator). The configured colour and tokens reach the pages
under the strict CSP (`style-src 'self'`) as a small stylesheet served from the
configuration at a URL keyed by its content's hash, so it can be cached for a year; the
logo and the font likewise.
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
RADIUS = re.compile(r"(\d+(?:\.\d+)?)(px|rem)")
LARGEST_RADIUS = {"px": 24, "rem": 1.5}  # rounder than this and boxes look like pills
FONT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{0,39}")
SYSTEM_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif'  # app.css's
# Icons and the edges that mark what matters are graphics that carry meaning (WCAG 1.4.11).
ACCENT_CONTRAST = 3.0
YEAR = 365 * 24 * 3600
DEFAULT_LOGO = "icons/icon.svg"  # in static/
DEFAULT_COLOR = "#00558c"  # app.css's --brand


@dataclass(frozen=True)
class Operator:
    name: str | None
    name_locative: str | dict | None
    logo_path: str | None
    primary_color: str | None
    accent_color: str | None
    corner_radius: str | None
    font_path: str | None
    font_name: str | None
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
        """The stylesheet of the configured colour and tokens; None when none is set."""
        rules = []
        if self.primary_color:
            rules.append(
                f":root {{ --brand: {self.primary_color}; "
                f"--brand-text: {text_color_on(self.primary_color)}; }}"
            )
        if self.accent_color:
            # In dark mode icons keep the link colour, which contrasts with the dark panel.
            rules.append(f":root {{ --brand-accent: {self.accent_color}; }}")
            rules.append(
                "@media (prefers-color-scheme: dark) { :root { --brand-accent: var(--link); } }"
            )
        if self.corner_radius:
            rules.append(f":root {{ --radius: {self.corner_radius}; }}")
        if self.font_path:
            family = self.font_name or "Operator"
            url = url_for("operator_font", digest=_file_digest(self.font_path))
            rules.append(
                f'@font-face {{ font-family: "{family}"; src: url("{url}") format("woff2"); '
                "font-display: swap; }"
            )
            rules.append(f':root {{ --font: "{family}", {SYSTEM_FONTS}; }}')
        if not rules:
            return None
        return (
            "/* The operator's colour and design tokens (FLASK_OPERATOR_*). */\n"
            + "\n".join(rules)
            + "\n"
        )

    def theme_url(self) -> str | None:
        if not self.theme_css:
            return None
        return url_for("operator_theme", digest=_digest(self.theme_css.encode()))

    def logo_url(self) -> str:
        if not self.logo_path:
            return url_for("static", filename=DEFAULT_LOGO)
        return url_for("operator_logo", digest=_file_digest(self.logo_path))

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
        accent_color=config["OPERATOR_ACCENT_COLOR"] or None,
        corner_radius=config["OPERATOR_CORNER_RADIUS"] or None,
        font_path=config["OPERATOR_FONT"] or None,
        font_name=config["OPERATOR_FONT_NAME"] or None,
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


def _file_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


# Every page links the logo (and the theme the font) by its digest: read and hashed once
# per process, not per page (replacing the file needs a restart, as any configuration
# change does).
@lru_cache(maxsize=8)
def _file_digest(path: str) -> str:
    return _digest(_file_bytes(path))


def _check_config(app: Flask) -> None:
    color = app.config["OPERATOR_PRIMARY_COLOR"]
    if color and not HEX_COLOR.fullmatch(color):
        raise RuntimeError(f"FLASK_OPERATOR_PRIMARY_COLOR must look like #00558c, not {color!r}.")
    logo = app.config["OPERATOR_LOGO"]
    if logo and not (Path(logo).is_file() and logo.lower().endswith(".svg")):
        raise RuntimeError(f"FLASK_OPERATOR_LOGO must be the path of an SVG file: {logo!r}.")
    accent = app.config["OPERATOR_ACCENT_COLOR"]
    if accent and not (
        HEX_COLOR.fullmatch(accent) and _contrast(accent, "#ffffff") >= ACCENT_CONTRAST
    ):
        raise RuntimeError(
            f"FLASK_OPERATOR_ACCENT_COLOR must look like #00786f and contrast at least "
            f"{ACCENT_CONTRAST}:1 with white, not {accent!r}."
        )
    radius = app.config["OPERATOR_CORNER_RADIUS"]
    size = RADIUS.fullmatch(radius) if radius else None
    if radius and not (size and float(size[1]) <= LARGEST_RADIUS[size[2]]):
        raise RuntimeError(
            f"FLASK_OPERATOR_CORNER_RADIUS must be at most 24px or 1.5rem, not {radius!r}."
        )
    font = app.config["OPERATOR_FONT"]
    if font and not (Path(font).is_file() and font.lower().endswith(".woff2")):
        raise RuntimeError(f"FLASK_OPERATOR_FONT must be the path of a WOFF2 file: {font!r}.")
    font_name = app.config["OPERATOR_FONT_NAME"]
    if font_name and not FONT_NAME.fullmatch(font_name):
        raise RuntimeError(
            f"FLASK_OPERATOR_FONT_NAME must be letters, digits, spaces and hyphens: {font_name!r}."
        )


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
    if not path or digest != _file_digest(path):
        abort(404)
    return _cached_forever(_file_bytes(path), "image/svg+xml")


def serve_font(digest: str) -> Response:
    path = current().font_path
    if not path or digest != _file_digest(path):
        abort(404)
    return _cached_forever(_file_bytes(path), "font/woff2")


def init_app(app: Flask) -> None:
    _check_config(app)
    app.add_url_rule("/operator/theme-<digest>.css", "operator_theme", serve_theme)
    app.add_url_rule("/operator/logo-<digest>.svg", "operator_logo", serve_logo)
    app.add_url_rule("/operator/font-<digest>.woff2", "operator_font", serve_font)
    app.context_processor(lambda: {"operator": current()})
