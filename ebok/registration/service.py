"""Who may register, and the account the last step creates."""

from flask import url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from ebok import messages
from ebok.extensions import db
from ebok.i18n import languages
from ebok.identity.passwords import hash_password
from ebok.logs import audit
from ebok.models import Account, Customer, Verification
from ebok.web.templating import link, with_links
from ebok.wizard.flow import Completion


def already_registered(customer: Customer) -> Markup | None:
    if customer.account is None:
        return None
    return with_links(
        # Translators: a form error under the customer number. %(log_in)s is a link to the
        # login page whose text is "log in" (translated on its own); %(forgotten)s a link
        # to Forgotten password, named as on the login page.
        _(
            "This customer number is already registered in the system – %(log_in)s or use "
            "the %(forgotten)s option"
        ),
        log_in=link(
            url_for("auth.login"),
            # Translators: the text of a link inside "…already registered in the system –
            # %(log_in)s or use…": a verb, written in small letters, as in the sentence.
            pgettext("link in a sentence", "log in"),
        ),
        forgotten=link(url_for("password_reset.number"), _("Forgotten password")),
    )


def create_account(customer: Customer, record: Verification, password: str) -> Completion:
    """The account exists, and the contact channel that was not used hears about it.
    REFUSED when the customer registered at the same moment elsewhere."""
    # The language the customer registered in: notices sent later use it.
    account = Account(
        customer=customer, password_hash=hash_password(password), language=languages.current()
    )
    db.session.add(account)
    if record.channel == "sms" and customer.email:
        messages.send_email(
            customer.email,
            # Translators: the subject of the e-mail telling the customer, who registered by
            # SMS, that the account exists.
            pgettext("e-mail subject", "Your Strefa Klienta account has been created"),
            "account_created",
            customer=customer,
        )
    elif record.channel == "email" and customer.sms_phone:
        messages.send_sms(customer.sms_phone, "account_created", customer=customer)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return Completion.REFUSED
    audit("account_created", account=account.id, customer=customer.id)
    return Completion.DONE
