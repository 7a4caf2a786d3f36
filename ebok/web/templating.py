"""Helpers the templates call."""

import secrets
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import phonenumbers
from flask import Flask, current_app, g, render_template, request, session, url_for
from flask_babel import get_translations
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from wtforms import Field

from ebok.i18n import languages, typography
from ebok.i18n.durations import duration
from ebok.identity.passwords import (
    SPECIAL_CHARACTERS,
    checklist_length,
    length_limits,
    password_rule,
)
from ebok.web import compression
from ebok.web.csrf import masked_token
from ebok.web.titles import page_title


def field_attributes(
    field: Field, *, hint: str | None = None, css_class: str = "input", **attributes: Any
) -> dict:
    """The attributes that tie an input to its hint and error message (WCAG 1.3.1, 3.3.1).
    Attributes given as None are left out."""
    attributes = {name: value for name, value in attributes.items() if value is not None}
    described_by = [f"{field.id}-hint"] if hint else []
    if field.errors:
        described_by.append(f"{field.id}-error")
        attributes["aria-invalid"] = "true"
        css_class += " input--error"
    if described_by:
        attributes["aria-describedby"] = " ".join(described_by)
    attributes["class_"] = css_class
    return attributes


def format_phone(phone: str | None) -> str:
    """+48600700800 -> 600 700 800 for Polish numbers; international form otherwise."""
    if not phone:
        return ""
    number = phonenumbers.parse(phone)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 48
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


# Stands for the visitor's CSRF token in a rendered page kept for everyone.
_TOKEN_PLACEHOLDER = "csrf-token-" + secrets.token_hex(16)
# The pages kept per process: the login page's two paths in each language, as a full page
# and as htmx's fragment, need a few dozen; whatever asks for more is rendered each time.
PUBLIC_PAGES_KEPT = 64


def render_public(template: str, key: tuple, make_context: Callable[[], dict]) -> str:
    """A page that is the same for every visitor except for the CSRF token (the login
    page with an empty form): rendered once per language, then only the visitor's token
    is put in, so rendering its macros, form and translations is not paid per request.
    `key` names what else the page depends on; make_context is called only to render.
    Never for pages with personal data. A visitor with a message waiting (it goes into
    the page) gets a fresh render, and so does a URL with a query string: the language
    switcher carries the page's path and query back, and the query is the visitor's to
    choose (kept, any number of them would fill the memory). Every occurrence of the token
    (the meta tag, the page's form, both switchers) is the visitor's. Kept pages are sent
    compressed (ebok.web.compression)."""
    visitor = request._get_current_object()  # type: ignore[attr-defined]  # read thrice here
    if "_flashes" in session or visitor.query_string:
        return render_template(template, **make_context())
    compression.allow()  # nothing in it but what every visitor gets, and a masked token
    pages = current_app.extensions.setdefault("ebok.public_pages", {})
    cache_key = (template, key, languages.current(), visitor.script_root, visitor.path)
    page = pages.get(cache_key)
    if page is None:
        body = render_template(template, **make_context())
        if len(pages) < PUBLIC_PAGES_KEPT:
            pages[cache_key] = body.replace(masked_token(), _TOKEN_PLACEHOLDER)
        return body
    return page.replace(_TOKEN_PLACEHOLDER, masked_token())


# -- translations in templates ------------------------------------------------------------
#
# Jinja's own newstyle gettext (which Flask-Babel installs) marks the *translation* as safe
# Markup in an HTML template: a translation with "<b>" would render as HTML. These replace
# it: the translation is escaped like any text, then the values are put in (escaped unless
# they are Markup: the links the code inserts), then the language's typography is applied.
# Plain-text templates (.txt e-mails, SMS) get plain strings.

# The span that keeps "e-Faktura" unbroken: a class on pages (the CSP allows no inline
# style), an inline style in e-mails (mail clients drop stylesheets).
_EMAIL_NOWRAP = '<span style="white-space: nowrap">'


# The catalog and the language every translation of a page uses, bound once per render
# by a context processor instead of asked of Flask-Babel's context at each `_()`. A
# template rendered without render_template (or a macro imported without context) has no
# binding and asks.
BOUND_I18N = "_ebok_i18n"


def _bind_i18n() -> dict:
    return {BOUND_I18N: (get_translations(), languages.current())}


def bound_language(context: Context) -> str:
    bound = context.get(BOUND_I18N)
    return bound[1] if bound is not None else languages.current()


def _bound(context: Context) -> tuple[Any, str]:
    bound = context.get(BOUND_I18N)
    return bound if bound is not None else (get_translations(), languages.current())


def _finish(context: Context, translation: str, variables: dict, language: str) -> str:
    if not context.eval_ctx.autoescape:
        return translation % variables
    text = escape(translation) % variables
    if context.get("html_email"):
        return typography.html(text, language, nowrap_tag=_EMAIL_NOWRAP)
    return typography.html(text, language)


# A page's constant labels (no values put in) come out the same for every visitor: each
# is translated, escaped and typeset once per catalog and language, not on every call.
# Keyed by the catalog object itself, so an app with other catalogs never shares an entry.
@lru_cache(maxsize=4096)
def _constant(
    translations: Any, language: str, message_context: str | None, string: str, email: bool
) -> Markup:
    if message_context is None:
        translation = translations.ugettext(string)
    else:
        translation = translations.upgettext(message_context, string)
    nowrap = {"nowrap_tag": _EMAIL_NOWRAP} if email else {}
    return typography.html(escape(translation) % {}, language, **nowrap)


@pass_context
def _gettext(context: Context, string: str, **variables: Any) -> str:
    translations, language = _bound(context)
    if not variables and context.eval_ctx.autoescape:
        email = bool(context.get("html_email"))
        return _constant(translations, language, None, string, email)
    return _finish(context, translations.ugettext(string), variables, language)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
    translations, language = _bound(context)
    variables.setdefault("num", num)
    translation = translations.ungettext(singular, plural, num)
    return _finish(context, translation, variables, language)


@pass_context
def _pgettext(context: Context, message_context: str, string: str, **variables: Any) -> str:
    translations, language = _bound(context)
    if not variables and context.eval_ctx.autoescape:
        email = bool(context.get("html_email"))
        return _constant(translations, language, message_context, string, email)
    translation = translations.upgettext(message_context, string)
    return _finish(context, translation, variables, language)


@pass_context
def _npgettext(
    context: Context, message_context: str, singular: str, plural: str, num: int, **variables: Any
) -> str:
    translations, language = _bound(context)
    variables.setdefault("num", num)
    translation = translations.unpgettext(message_context, singular, plural, num)
    return _finish(context, translation, variables, language)


@pass_context
def typography_filter(context: Context, value: object) -> object:
    """`{{ message|typography }}`: text translated in Python (a flashed message, a form
    error, a hint) or a phone number, with the same typography as the templates' own
    translations. Unchanged in plain-text templates."""
    if not context.eval_ctx.autoescape or value is None:
        return value
    # A lazy translation of Markup too: Markup() takes what its __html__ gives.
    markup = Markup(value) if hasattr(value, "__html__") else str(value)  # noqa: S704
    return typography.html(markup, bound_language(context))


def without_links(message: str) -> str:
    """A message as text only, where a link cannot go (the error summary's items are
    links themselves): Markup loses its tags, a plain string stays the text it is."""
    return message.striptags() if isinstance(message, Markup) else message


def link(href: str, text: str) -> Markup:
    """A link the code inserts into a translation (`%(log_in)s`): the one piece of markup
    a translated sentence may carry. Its address and text are escaped."""
    return Markup('<a href="%s">%s</a>') % (href, text)


def in_polish(text: str) -> Markup:
    """A Polish phrase quoted in any language (the names of fields on the contract and the
    bill), marked so that screen readers say it in Polish (WCAG 3.1.2). Put into a
    translation through a placeholder, so translators keep it as it is."""
    return Markup('<span lang="pl">%s</span>') % text


def with_links(translation: str, **links: Markup) -> Markup:
    """A translation (escaped like any text) with the code's links put into it."""
    return escape(translation) % links


def install_gettext(app: Flask) -> None:
    """Replaces the i18n extension's callables (installed by Flask-Babel) with the
    escaping ones above. `_` is `gettext` itself, not the extension's alias that looks
    `gettext` up and calls it on each use (a page has thirty)."""
    app.jinja_env.globals.update(
        _=_gettext, gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, npgettext=_npgettext
    )


def icon(name: str) -> Markup:
    """An icon from the sprite (static/icons/sprite.svg). Decorative: the text beside it
    says the same, so screen readers skip it. A function, not a macro: a page shows a
    dozen, and each macro call and import cost as much as the icon."""
    href = f"{_sprite_url()}#{name}"
    return Markup(f'<svg class="icon" aria-hidden="true"><use href="{escape(href)}"></use></svg>')  # noqa: S704


def _sprite_url() -> str:
    """The sprite's URL, looked up once per response."""
    if "ebok_sprite_url" not in g:
        g.ebok_sprite_url = url_for("static", filename="icons/sprite.svg")
    return g.ebok_sprite_url


def first_sight(what: str) -> bool:
    """True the first time this sign-in's pages show `what` (the session starts afresh at
    each login); a page shows it in full then, compact afterwards."""
    seen = session.get("seen", [])
    if what in seen:
        return False
    session["seen"] = [*seen, what]
    return True


def init_app(app: Flask) -> None:

    app.jinja_env.globals["field_attributes"] = field_attributes
    app.jinja_env.globals["current_locale"] = languages.current
    app.jinja_env.filters["phone"] = format_phone
    app.jinja_env.filters["typography"] = typography_filter
    app.jinja_env.filters["without_links"] = without_links
    app.jinja_env.globals["html_link"] = link
    app.jinja_env.globals["in_polish"] = in_polish
    install_gettext(app)
    app.context_processor(_bind_i18n)
    app.jinja_env.globals["password_rule"] = password_rule
    app.jinja_env.globals["password_length_limits"] = length_limits
    app.jinja_env.globals["password_checklist_length"] = checklist_length
    app.jinja_env.globals["password_special_characters"] = SPECIAL_CHARACTERS
    app.jinja_env.globals["duration"] = duration
    # Loaded only when a template reads it (Flask-Login's context processor loads it always).
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["page_title"] = page_title
    app.jinja_env.globals["first_sight"] = first_sight
    app.jinja_env.globals["icon"] = icon
