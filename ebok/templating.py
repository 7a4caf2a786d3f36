"""Helpers the templates call."""

import phonenumbers
from flask import Flask
from flask_babel import get_locale

from ebok.htmx import is_partial_request
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


def init_app(app: Flask) -> None:
    app.jinja_env.globals["field_attributes"] = field_attributes
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "pl")
    app.jinja_env.filters["phone"] = format_phone
    app.jinja_env.globals["is_partial_request"] = is_partial_request
    app.jinja_env.globals["password_rule"] = password_rule
