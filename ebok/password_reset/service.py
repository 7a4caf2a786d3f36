"""Who may reset a password, and the new password the last step sets."""

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from ebok import accounts
from ebok.extensions import db
from ebok.logs import audit
from ebok.models import Customer, Verification
from ebok.wizard.flow import Completion


def not_registered(customer: Customer) -> Markup | None:
    if customer.account is not None:
        return None
    # The translation is trusted markup; the link's parts are escaped by Markup's %.
    return Markup(  # noqa: S704
        _("This customer number has no Strefa Klienta account yet. %(register)s first.")
    ) % {
        "register": Markup('<a href="%s">%s</a>') % (url_for("registration.number"), _("Register"))
    }


def set_new_password(customer: Customer, record: Verification, password: str) -> Completion:
    """Every other session ends and the customer is told on each contact channel."""
    account = customer.account
    if account is None:  # the wizard refuses customers without an account
        return Completion.REFUSED
    accounts.replace_password(account, password)
    db.session.commit()
    accounts.clear_failure_counts(account)
    audit("password_reset", account=account.id)
    return Completion.DONE
