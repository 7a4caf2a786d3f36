"""Rejestracja (SPEC §3): a customer without an online account creates one."""

import logging

from flask import flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from ebok import messages
from ebok.auth.sessions import start_session
from ebok.extensions import db
from ebok.htmx import redirect_to
from ebok.models import Account, Customer, Verification
from ebok.passwords import hash_password
from ebok.wizard.flow import WHERE_TO_FIND_THE_NUMBER, Flow
from ebok.wizard.routes import make_blueprint

log = logging.getLogger("ebok.auth")


def already_registered(customer: Customer) -> Markup | None:
    if customer.account is None:
        return None
    # The translation is trusted markup; the links' parts are escaped by Markup's %.
    return Markup(  # noqa: S704
        _(
            "This customer number is already registered in the system – %(log_in)s or use "
            "the %(forgotten)s option"
        )
    ) % {
        "log_in": Markup('<a href="%s">%s</a>') % (url_for("auth.login"), _("log in")),
        "forgotten": Markup('<a href="%s">%s</a>')
        % (url_for("password_reset.number"), _("Forgotten password")),
    }


def create_account(customer: Customer, record: Verification, password: str):
    """The last step: the account exists, the customer is logged in, and the contact
    channel that was not used hears about it."""
    account = Account(customer=customer, password_hash=hash_password(password))
    db.session.add(account)
    if record.channel == "sms" and customer.email:
        messages.send_email(
            customer.email,
            _("Your Strefa Klienta account has been created"),
            "account_created",
            customer=customer,
        )
    elif record.channel == "email" and customer.sms_phone:
        messages.send_sms(customer.sms_phone, "account_created", customer=customer)
    try:
        db.session.commit()
    except IntegrityError:  # registered at the same moment elsewhere
        db.session.rollback()
        flash(already_registered(customer), "status")
        return redirect_to(url_for("auth.login"))
    log.info("account created account=%s customer=%s", account.id, customer.id)
    start_session(account)
    flash(_("Your account has been created. Welcome to Strefa Klienta!"), "status")
    return redirect_to(url_for("account.home"), leave_panel=True)


REGISTRATION = Flow(
    name="registration",
    purpose="registration",
    url_prefix="/rejestracja",
    title=_l("Registration"),
    number_label=_l("Your Customer Record Number"),
    number_hint=WHERE_TO_FIND_THE_NUMBER,
    intro=None,
    channel_question=_l("Choose how to register:"),
    code_sent=_l(
        "A code that lets you set your access password has been sent to the phone number you gave."
    ),
    link_sent=_l(
        "A link that lets you set your access password has been sent to the e-mail "
        "address you gave. Please check your inbox and your spam folder. The link "
        "will be active for 3 days."
    ),
    password_heading=_l("Set your password"),
    accepts_login_name=False,
    refusal=already_registered,
    complete=create_account,
)

bp = make_blueprint(REGISTRATION)
