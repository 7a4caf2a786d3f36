from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than the stubs
from wtforms.validators import InputRequired

from ebok.i18n import LazyText, _l
from ebok.web.forms import CurrentPasswordForm, Form


def code_field(label: LazyText, *, numeric: bool) -> StringField:
    """A code typed or pasted; `numeric` brings up the digits keyboard (not where a
    recovery code, with letters, may be typed)."""
    render_kw = {"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "none"}
    if numeric:
        render_kw["inputmode"] = "numeric"
    return StringField(
        label,
        validators=[InputRequired(_l("Enter the code from the authenticator app."))],
        render_kw=render_kw,
    )


METHODS = [
    SelectChoice("totp", _l("From an authenticator app on my phone")),
    SelectChoice("sms", _l("By SMS to my mobile number")),
]


class SwitchOnForm(CurrentPasswordForm):
    """Two-step login on: the way the codes come, and the password (whoever finds a
    session open cannot). SMS is offered only with a mobile number on file."""

    change = "two_step_on"
    method = RadioField(
        _l("How do you want to get the codes?"),
        choices=METHODS,
        default="totp",
        validators=[InputRequired(_l("Choose how you want to get the codes."))],
    )

    def offer_sms(self, offered: bool) -> None:
        if not offered:
            self.method.choices = [choice for choice in METHODS if choice.value != "sms"]


class ConfirmSmsForm(Form):
    """The first SMS code proves the mobile number on file gets them."""

    code = code_field(_l("Enter the SMS code"), numeric=True)


class ConfirmAppForm(Form):
    """The app's first code proves it was set up with the secret shown."""

    code = code_field(_l("Code from the authenticator app"), numeric=True)


class SwitchOffForm(CurrentPasswordForm):
    """Two-step login off: the password and a code (from the app or a recovery code)."""

    change = "two_step_off"
    code = code_field(_l("Code from the authenticator app or a recovery code"), numeric=False)

    def for_sms(self) -> None:
        # Translators: the code field where two-step login by SMS is switched off.
        self.code.label.text = _l("SMS code or a recovery code")


class NewRecoveryCodesForm(CurrentPasswordForm):
    """New recovery codes (the old ones stop working): the password first."""

    change = "recovery_codes"
