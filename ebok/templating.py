"""Helpers the templates call."""

import secrets
from collections.abc import Callable

import phonenumbers
from flask import Flask, current_app, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ebok.page_titles import page_title
from ebok.passwords import password_rule


def field_attributes(field, *, hint=None, css_class="input", **attributes) -> dict:
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


def render_public(template: str, key: tuple, make_context: Callable[[], dict]) -> str:
    """A page that is the same for every visitor except for the CSRF token (the login
    page with an empty form): rendered once per language, then only the visitor's token
    is put in, so rendering its macros, form and translations is not paid per request.
    `key` names what else the page depends on; make_context is called only to render.
    Never for pages with personal data. A visitor with a message waiting (it goes into
    the page) gets a fresh render, and so does a URL with a query string: the language
    switcher carries the page's path and query back, and the query is the visitor's to
    choose (kept, any number of them would fill the memory). Every occurrence of the token
    (the meta tag, the page's form, both switchers) is the visitor's."""
    if "_flashes" in session or request.query_string:
        return render_template(template, **make_context())
    pages = current_app.extensions.setdefault("ebok.public_pages", {})
    cache_key = (template, key, str(get_locale()), request.script_root, request.path)
    page = pages.get(cache_key)
    if page is None:
        body = render_template(template, **make_context())
        pages[cache_key] = body.replace(generate_csrf(), _TOKEN_PLACEHOLDER)
        return body
    return page.replace(_TOKEN_PLACEHOLDER, generate_csrf())


def init_app(app: Flask) -> None:
    from ebok.htmx import is_partial_request  # htmx renders pages with render_public

    app.jinja_env.globals["field_attributes"] = field_attributes
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "pl")
    app.jinja_env.filters["phone"] = format_phone
    app.jinja_env.globals["is_partial_request"] = is_partial_request
    app.jinja_env.globals["password_rule"] = password_rule
    # Loaded only when a template reads it (Flask-Login's context processor loads it always).
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["page_title"] = page_title
