"""Who may reset a password, and the new password the last step sets."""

from flask import url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from markupsafe import Markup

from ebok.extensions import db
from ebok.identity import accounts, sessions
from ebok.identity.devices import remember_device
from ebok.logs import audit
from ebok.models import Customer, Verification
from ebok.web.templating import link, with_links
from ebok.wizard.flow import Completion


def not_registered(customer: Customer) -> Markup | None:
    if customer.account is not None:
        return None
    return with_links(
        # Translators: a form error under the customer number. %(register)s is a link to
        # Registration whose text is "Register" (translated on its own, an imperative).
        _("This customer number has no Strefa Klienta account yet. %(register)s first."),
        register=link(
            url_for("registration.number"),
            # Translators: the text of the link that starts a sentence: "%(register)s first."
            pgettext("link in a sentence", "Register"),
        ),
    )


def set_new_password(customer: Customer, record: Verification, password: str) -> Completion:
    """Every other session ends and the customer is told on each contact channel."""
    account = customer.account
    if account is None:  # the wizard refuses customers without an account
        return Completion.REFUSED
    accounts.replace_password(account, password)
    remember_device(account)  # the customer has proved who they are on this browser
    db.session.commit()
    accounts.clear_failure_counts(account)
    if record.channel == "sms":
        # The phone on file got the code: that is the second step of the login that
        # follows here; a reset by e-mail link still asks for it (SPEC §16).
        sessions.second_factor_proved(account)
    audit("password_reset", account=account.id)
    return Completion.DONE
