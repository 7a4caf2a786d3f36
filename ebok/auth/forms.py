from typing import Any

from flask import current_app
from flask_babel import ngettext
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import InputRequired

from ebok.i18n import _l
from ebok.web.forms import Form


class LoginForm(Form):
    login = StringField(
        _l("Customer number or login"),
        validators=[InputRequired(_l("Enter your customer number or login."))],
    )
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password."))])


class SecondStepForm(Form):
    """The login's second step (SPEC §16): the authenticator app's code, or a recovery
    code, pasted or typed with spaces and dashes as they come."""

    code = StringField(
        _l("Enter the code from the authenticator app"),
        description=_l(
            "Open the authenticator app and enter the 6-digit code it shows for Strefa "
            "Klienta. If you do not have your phone, enter one of your recovery codes."
        ),
        validators=[InputRequired(_l("Enter the code from the authenticator app."))],
        render_kw={
            "autocomplete": "one-time-code",
            "spellcheck": "false",
            "autocapitalize": "none",
        },
    )
    remember = BooleanField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        days = current_app.config["TWO_STEP_REMEMBER_BROWSER"].days
        # Translators: a checkbox at the login's second step; %(num)d is a number of days (30).
        self.remember.label.text = ngettext(
            "Remember this browser for %(num)d day", "Remember this browser for %(num)d days", days
        )
