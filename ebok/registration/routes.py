"""Rejestracja's wizard: the shared steps, with registration's texts and ending."""

from flask import Blueprint
from flask_babel import LazyString
from flask_babel import gettext as _

from ebok.i18n import _l, lazy_pgettext
from ebok.i18n.durations import duration
from ebok.identity import signing
from ebok.registration.forms import CustomerNumberForm
from ebok.registration.service import already_registered, create_account
from ebok.wizard.flow import Flow
from ebok.wizard.routes import add_steps


def _link_sent() -> str:
    # Translators: the check-your-e-mail step of Registration (the operator's own words
    # in Polish); %(duration)s is how long the link works, "%(num)d day" with context
    # "how long, after 'for'" (a setting, 3 days by default).
    return _(
        "A link that lets you set your access password has been sent to the e-mail "
        "address you gave. Please check your inbox and your spam folder. The link "
        "will be active for %(duration)s.",
        duration=duration(signing.lifetime("registration")),
    )


REGISTRATION = Flow(
    name="registration",
    purpose="registration",
    number_form=CustomerNumberForm,
    accepts_login_name=False,
    title=_l("Registration"),
    # Translators: the subject of the e-mail with the link that continues the registration.
    email_subject=lazy_pgettext("e-mail subject", "Your registration in Strefa Klienta"),
    intro=None,
    channel_question=_l("Choose how to register:"),
    code_sent=_l(
        "A code that lets you set your access password has been sent to the phone number you gave."
    ),
    link_sent=LazyString(_link_sent),
    password_heading=_l("Set your password"),
    refusal=already_registered,
    complete=create_account,
    done_message=_l("Your account has been created. Welcome to Strefa Klienta!"),
    done_endpoint="account.home",
    signs_in=True,
)

bp = Blueprint(REGISTRATION.name, __name__, url_prefix="/rejestracja")
add_steps(bp, REGISTRATION)
