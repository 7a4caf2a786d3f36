"""The wizard's forms. The customer-number step's form is each flow's own
(registration/forms.py, password_reset/forms.py); these are the steps both share."""

from collections.abc import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, RadioField, StringField, TelField
from wtforms.validators import ValidationError

from ebok.contact import (
    CUSTOMER_NUMBER_MAX_DIGITS,
    EMAIL_FORMAT_PROBLEM,
    looks_like_customer_number,
    normalize_customer_number,
    normalize_email,
    normalize_phone,
)
from ebok.forms import NewPasswordFormMixin
from ebok.verification import CODE_DIGITS, normalize_code
from ebok.wizard.flow import WHERE_TO_FIND_THE_NUMBER

CHANNEL_LABELS = {"sms": _l("SMS"), "email": _l("E-mail")}


class DigitsOnly:
    """A customer number, not a login: only digits (spaces and dashes aside)."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if not looks_like_customer_number(field.data):
            raise ValidationError(
                _("A customer number has only digits. %(where)s.", where=WHERE_TO_FIND_THE_NUMBER)
            )


class NumberLength:
    """What looks like a customer number is not longer than one can be."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if not looks_like_customer_number(field.data):
            return
        if len(normalize_customer_number(field.data)) > CUSTOMER_NUMBER_MAX_DIGITS:
            raise ValidationError(
                _(
                    "A customer number has at most %(num)d digits. Check it on your contract "
                    "or bill.",
                    num=CUSTOMER_NUMBER_MAX_DIGITS,
                )
            )


class ChannelForm(FlaskForm):
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


def _check_datum(field: Field, normalize: Callable[[str], str | None], empty, malformed) -> None:
    """A contact datum typed for the chosen channel: given, and well-formed."""
    if not (field.data or "").strip():
        raise ValidationError(empty)
    if normalize(field.data) is None:
        raise ValidationError(malformed)


class CodeForm(FlaskForm):
    code = StringField(
        _l("Enter the SMS code"),
        description=_l("The code has 6 digits and is valid for 10 minutes."),
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )

    def validate_code(self, field: Field) -> None:
        code = normalize_code(field.data)
        if not code:
            raise ValidationError(_("Enter the code from the SMS."))
        if not code.isdecimal():
            raise ValidationError(_("The code has only digits. Enter the 6 digits from the SMS."))
        if len(code) != CODE_DIGITS:
            raise ValidationError(_("The code has 6 digits. Check the SMS and enter all of them."))


class PasswordForm(NewPasswordFormMixin, FlaskForm):
    pass
