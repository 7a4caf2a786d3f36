"""The wizard's forms. The customer-number step's form is each flow's own
(registration/forms.py, password_reset/forms.py); these are the steps both share."""

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import EmailField, Field, RadioField, StringField, TelField
from wtforms.validators import ValidationError

from ebok.i18n import _l
from ebok.i18n.durations import sms_code_minutes
from ebok.identity.verification import code_length, normalize_code
from ebok.normalising import (
    CUSTOMER_NUMBER_MAX_DIGITS,
    EMAIL_FORMAT_PROBLEM,
    looks_like_customer_number,
    normalize_customer_number,
    normalize_email,
    normalize_phone,
)
from ebok.web.forms import Form, NewPasswordFormMixin
from ebok.web.templating import with_links
from ebok.wizard.flow import WHERE_TO_FIND_THE_NUMBER

CHANNEL_LABELS = {"sms": _l("SMS"), "email": _l("E-mail")}


class DigitsOnly:
    """A customer number, not a login: only digits (spaces and dashes aside)."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if not looks_like_customer_number(field.data):
            # Translators: a form error under the customer number; %(where)s is the
            # sentence that says where to find it ("The customer number is on your
            # contract…"), without its full stop.
            message = _("A customer number contains only digits. %(where)s.")
            where = Markup(WHERE_TO_FIND_THE_NUMBER)  # noqa: S704 (the sentence's own __html__)
            raise ValidationError(with_links(message, where=where))


class NumberLength:
    """What looks like a customer number is not longer than one can be."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if not looks_like_customer_number(field.data):
            return
        if len(normalize_customer_number(field.data)) > CUSTOMER_NUMBER_MAX_DIGITS:
            raise ValidationError(
                # Translators: a form error under the customer number; %(num)d is the
                # most digits a customer number can have (20).
                ngettext(
                    "A customer number has at most %(num)d digit. Check it on your contract "
                    "or bill.",
                    "A customer number has at most %(num)d digits. Check it on your contract "
                    "or bill.",
                    CUSTOMER_NUMBER_MAX_DIGITS,
                )
            )


class ChannelForm(Form):
    """The channel, and the contact datum typed for it; set the offered channels first
    with `offer()`. Whether the datum matches the one on file is the logic's to say."""

    channel = RadioField(choices=[], validate_choice=False)
    phone = TelField(_l("Enter your phone number"))
    email = EmailField(_l("Enter your e-mail address"))

    offered: list[str] = []

    def offer(self, channels: list[str]) -> None:
        self.offered = channels
        self.channel.choices = [(name, CHANNEL_LABELS[name]) for name in channels]

    def typed_datum(self) -> str:
        return (self.phone if self.channel.data == "sms" else self.email).data or ""

    def validate_channel(self, field: RadioField) -> None:
        if field.data not in self.offered:
            raise ValidationError(_("Choose how you want to receive the code or link."))

    def validate_phone(self, field: Field) -> None:
        if self.channel.data == "sms":
            _check_datum(
                field,
                normalize_phone,
                _("Enter your phone number."),
                _("Enter a phone number in a correct format, for example 600 700 800."),
            )

    def validate_email(self, field: Field) -> None:
        if self.channel.data == "email":
            _check_datum(
                field, normalize_email, _("Enter your e-mail address."), EMAIL_FORMAT_PROBLEM
            )


def _check_datum(
    field: Field, normalize: Callable[[str], str | None], empty: str, malformed: str
) -> None:
    """A contact datum typed for the chosen channel: given, and well-formed."""
    if not (field.data or "").strip():
        raise ValidationError(empty)
    if normalize(field.data) is None:
        raise ValidationError(malformed)


def code_length_text() -> str:
    # Translators: the hint under the SMS code field, followed by "It is valid for…";
    # %(num)d is the number of digits in a code (a setting, 6 by default).
    return ngettext(
        "The code has %(num)d digit.",
        "The code has %(num)d digits.",
        code_length(),
    )


def code_lifetime_text() -> str:
    # Translators: after "The code has 6 digits." under the SMS code field; %(num)d is
    # how many minutes a code is valid (a setting, 10 by default).
    return ngettext(
        "It is valid for %(num)d minute.",
        "It is valid for %(num)d minutes.",
        sms_code_minutes(),
    )


class CodeForm(Form):
    code = StringField(
        _l("Enter the SMS code"),
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The settings' numbers, read when the form is made (not when the module loads).
        self.code.description = f"{code_length_text()} {code_lifetime_text()}"

    def validate_code(self, field: Field) -> None:
        code = normalize_code(field.data)
        if not code:
            raise ValidationError(_("Enter the code from the SMS."))
        digits = code_length()
        if not code.isdecimal():
            raise ValidationError(
                # Translators: a form error under the SMS code; %(num)d is the number
                # of digits in a code (a setting, 6 by default).
                ngettext(
                    "The code contains only digits. Enter the %(num)d digit from the SMS.",
                    "The code contains only digits. Enter the %(num)d digits from the SMS.",
                    digits,
                )
            )
        if len(code) != digits:
            raise ValidationError(
                # Translators: a form error under the SMS code; %(num)d is the number
                # of digits in a code (a setting, 6 by default).
                ngettext(
                    "The code has %(num)d digit. Check the SMS and enter it.",
                    "The code has %(num)d digits. Check the SMS and enter all of them.",
                    digits,
                )
            )


class PasswordForm(NewPasswordFormMixin, Form):
    pass
