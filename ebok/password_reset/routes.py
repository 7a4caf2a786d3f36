"""Zapomniałem hasła's wizard: the shared steps, with its texts and ending."""

from flask import Blueprint
from flask_babel import LazyString
from flask_babel import gettext as _

from ebok.i18n import _l, lazy_pgettext
from ebok.i18n.durations import duration
from ebok.identity import signing
from ebok.password_reset.forms import NumberOrLoginForm
from ebok.password_reset.service import not_registered, set_new_password
from ebok.wizard.flow import Flow
from ebok.wizard.routes import add_steps


def _link_sent() -> str:
    # Translators: the check-your-e-mail step of Forgotten password; %(duration)s is
    # how long the link works, "%(num)d hour" with context "how long, after 'for'" (a
    # setting, 1 hour by default).
    return _(
        "A link that lets you change your password has been sent to the e-mail "
        "address you gave. Please check your inbox and your spam folder. The link "
        "will be active for %(duration)s.",
        duration=duration(signing.lifetime("reset")),
    )


PASSWORD_RESET = Flow(
    name="password_reset",
    purpose="reset",
    number_form=NumberOrLoginForm,
    accepts_login_name=True,
    title=_l("Forgotten password"),
    # Translators: the subject of the e-mail with the link that lets the customer set a new
    # password (Polish: "Zmiana hasła do Strefy Klienta").
    email_subject=lazy_pgettext("e-mail subject", "Changing your Strefa Klienta password"),
    intro=_l(
        "If you do not remember your password, give us the required details so that we "
        "can send you a link or SMS code that lets you change the password."
    ),
    channel_question=_l("Choose how to receive the link or code:"),
    code_sent=_l(
        "A code that lets you change your password has been sent to the phone number you gave."
    ),
    link_sent=LazyString(_link_sent),
    password_heading=_l("Set a new password"),
    refusal=not_registered,
    complete=set_new_password,
    done_message=_l("Your password has been changed. Log in with your new password."),
    done_endpoint="auth.login",
    signs_in=False,
)

bp = Blueprint(PASSWORD_RESET.name, __name__, url_prefix="/zapomnialem-hasla")
add_steps(bp, PASSWORD_RESET)
