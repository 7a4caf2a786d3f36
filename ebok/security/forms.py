from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired

from ebok.i18n import LazyText, _l
from ebok.web.forms import CurrentPasswordForm


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


class SwitchOnForm(CurrentPasswordForm):
    """Two-step login on: first the password (whoever finds a session open cannot)."""

    change = "two_step_on"


class ConfirmAppForm(FlaskForm):
    """The app's first code proves it was set up with the secret shown."""

    code = code_field(_l("Code from the authenticator app"), numeric=True)


class SwitchOffForm(CurrentPasswordForm):
    """Two-step login off: the password and a code (from the app or a recovery code)."""

    change = "two_step_off"
    code = code_field(_l("Code from the authenticator app or a recovery code"), numeric=False)
