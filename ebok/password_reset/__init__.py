"""Zapomniałem hasła (SPEC §4): the same wizard, ending in a new password."""

import logging

from flask import flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ebok.auth.sessions import replace_password
from ebok.extensions import db
from ebok.htmx import redirect_to
from ebok.models import Customer, Verification
from ebok.wizard.flow import WHERE_TO_FIND_THE_NUMBER, Flow
from ebok.wizard.routes import make_blueprint

log = logging.getLogger("ebok.auth")


def not_registered(customer: Customer) -> Markup | None:
    if customer.account is not None:
        return None
    # The translation is trusted markup; the link's parts are escaped by Markup's %.
    return Markup(  # noqa: S704
        _("This customer number has no Strefa Klienta account yet. %(register)s first.")
    ) % {
        "register": Markup('<a href="%s">%s</a>') % (url_for("registration.number"), _("Register"))
    }


def set_new_password(customer: Customer, record: Verification, password: str):
    """Every other session ends, the customer is told on each contact channel, and logs
    in again with the new password."""
    account = customer.account
    replace_password(account, password)
    db.session.commit()
    log.info("password reset account=%s", account.id)
    flash(_("Your password has been changed. Log in with your new password."), "status")
    return redirect_to(url_for("auth.login"))


PASSWORD_RESET = Flow(
    name="password_reset",
    purpose="reset",
    url_prefix="/zapomnialem-hasla",
    title=_l("Forgotten password"),
    number_label=_l("Customer number or login"),
    number_hint=WHERE_TO_FIND_THE_NUMBER,
    intro=_l(
        "If you do not remember your password, give us the required details so that we "
        "can send you a link or SMS code that lets you change the password."
    ),
    channel_question=_l("Choose how to receive the link or code:"),
    code_sent=_l(
        "A code that lets you change your password has been sent to the phone number you gave."
    ),
    link_sent=_l(
        "A link that lets you change your password has been sent to the e-mail "
        "address you gave. Please check your inbox and your spam folder. The link "
        "will be active for 1 hour."
    ),
    password_heading=_l("Set a new password"),
    accepts_login_name=True,
    refusal=not_registered,
    complete=set_new_password,
)

bp = make_blueprint(PASSWORD_RESET)
