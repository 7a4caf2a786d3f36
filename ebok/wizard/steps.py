"""What each step of the wizard decides. The views call these; they return messages
for the customer and never talk to SMTP or the SMS gateway themselves."""

import logging

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from ebok import messages, throttle, verification
from ebok.auth.sessions import find_account
from ebok.contact import (
    CUSTOMER_NUMBER_MAX_DIGITS,
    EMAIL_FORMAT_PROBLEM,
    looks_like_customer_number,
    mask_email,
    mask_phone,
    normalize_customer_number,
    normalize_email,
    normalize_phone,
)
from ebok.extensions import db
from ebok.models import Customer, Verification
from ebok.signing import external_url
from ebok.templating import format_phone
from ebok.verification import Outcome
from ebok.wizard.flow import WHERE_TO_FIND_THE_NUMBER, Flow

log = logging.getLogger("ebok.auth")


class StepError(Exception):
    """A problem the customer can fix, told next to the field it concerns."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def find_customer(flow: Flow, typed: str) -> Customer:
    typed = (typed or "").strip()
    if not typed:
        raise StepError(
            _("Enter your customer number or login.")
            if flow.accepts_login_name
            else _("Enter your customer number.")
        )
    customer = None
    if looks_like_customer_number(typed):
        number = normalize_customer_number(typed)
        if len(number) > CUSTOMER_NUMBER_MAX_DIGITS:
            raise StepError(
                _(
                    "A customer number has at most %(num)d digits. Check it on your contract "
                    "or bill.",
                    num=CUSTOMER_NUMBER_MAX_DIGITS,
                )
            )
        throttle.hit("RATELIMIT_NUMBER_LOOKUP")
        customer = db.session.scalars(select(Customer).where(Customer.number == number)).first()
    elif flow.accepts_login_name:
        throttle.hit("RATELIMIT_NUMBER_LOOKUP")
        account = find_account(typed)
        customer = account.customer if account else None
    else:
        raise StepError(
            _("A customer number has only digits. %(where)s.", where=WHERE_TO_FIND_THE_NUMBER)
        )
    if customer is None:
        if flow.accepts_login_name:
            raise StepError(
                _(
                    "We could not find a customer with this number or login. Check it "
                    "and try again. %(where)s.",
                    where=WHERE_TO_FIND_THE_NUMBER,
                )
            )
        raise StepError(
            _(
                "We could not find a customer with this number. Check it and try again. %(where)s.",
                where=WHERE_TO_FIND_THE_NUMBER,
            )
        )
    refusal = flow.refusal(customer)
    if refusal:
        raise StepError(refusal)
    if not customer.email and not customer.sms_phone:
        raise StepError(
            _(
                "We have neither your e-mail address nor your mobile phone number, so you cannot "
                "do this online. Please contact the Customer Service Centre: %(phone)s.",
                phone=current_app.config["CUSTOMER_SERVICE_PHONE"],
            )
        )
    return customer


def available_channels(customer: Customer) -> list[str]:
    return [
        channel
        for channel, datum in (("sms", customer.sms_phone), ("email", customer.email))
        if datum
    ]


def check_contact(customer: Customer, channel: str | None, phone: str, email: str) -> None:
    """The typed datum must match the one on file; a mismatch never shows the one on file."""
    if channel not in available_channels(customer):
        raise StepError(_("Choose how you want to receive the code or link."), "channel")
    throttle.check("RATELIMIT_CONTACT_CHECK")
    throttle.check("RATELIMIT_CONTACT_CHECK", f"customer:{customer.id}")
    if channel == "sms":
        if not (phone or "").strip():
            raise StepError(_("Enter your phone number."), "phone")
        typed = normalize_phone(phone)
        if typed is None:
            raise StepError(
                _("Enter a phone number in a correct format, for example 600 700 800."), "phone"
            )
        matches = typed == customer.phone
        field = "phone"
        mismatch = _(
            "This phone number is not the contact number we have for you. Enter the "
            "number you gave as your contact number when you signed the contract."
        )
    else:
        if not (email or "").strip():
            raise StepError(_("Enter your e-mail address."), "email")
        typed = normalize_email(email)
        if typed is None:
            raise StepError(EMAIL_FORMAT_PROBLEM, "email")
        matches = typed == normalize_email(customer.email)
        field = "email"
        mismatch = _(
            "This e-mail address is not the contact address we have for you. Enter the "
            "address you gave as your contact address when you signed the contract."
        )
    if not matches:
        log.info("contact mismatch customer=%s channel=%s", customer.id, channel)
        throttle.hit("RATELIMIT_CONTACT_CHECK")
        throttle.hit("RATELIMIT_CONTACT_CHECK", f"customer:{customer.id}")
        raise StepError(mismatch, field)


def send_secret(flow: Flow, customer: Customer, channel: str, link_endpoint: str) -> Verification:
    """Sends a new code or link to the datum on file, superseding earlier ones. Commits."""
    # An SMS costs money: without the shared counts (Redis away) none is sent.
    paid = channel == "sms"
    throttle.hit("RATELIMIT_CODE_SENDS", fail_closed=paid)
    throttle.hit("RATELIMIT_CODE_SENDS_PER_CUSTOMER", f"customer:{customer.id}", fail_closed=paid)
    record, secret = verification.start(customer, flow.purpose, channel)
    if channel == "sms":
        minutes = int(current_app.config["SMS_CODE_LIFETIME"].total_seconds() // 60)
        messages.send_sms(
            customer.phone,
            f"{flow.purpose}_code",
            verification_id=record.id,
            code=secret,
            minutes=minutes,
        )
        log.info(
            "code sent customer=%s flow=%s to=%s",
            customer.id,
            flow.purpose,
            mask_phone(customer.phone),
        )
    else:
        link = external_url(url_for(link_endpoint, token=secret))
        messages.send_email(
            customer.email,
            str(flow.title),
            f"{flow.purpose}_link",
            verification_id=record.id,
            customer=customer,
            link=link,
        )
        log.info(
            "link sent customer=%s flow=%s to=%s",
            customer.id,
            flow.purpose,
            mask_email(customer.email),
        )
    db.session.commit()
    return record


def sent_message(customer: Customer, channel: str) -> str:
    """For the live region: where the code or link has gone."""
    if channel == "sms":
        return _("We have sent an SMS code to %(phone)s.", phone=format_phone(customer.phone))
    return _("We have sent a link to %(email)s.", email=customer.email)


def check_code(record: Verification, typed: str) -> None:
    code = "".join((typed or "").split()).replace("-", "")
    if not code:
        raise StepError(_("Enter the code from the SMS."))
    if not code.isdecimal():
        raise StepError(_("The code has only digits. Enter the 6 digits from the SMS."))
    if len(code) != verification.CODE_DIGITS:
        raise StepError(_("The code has 6 digits. Check the SMS and enter all of them."))
    outcome = verification.check_code(record, code)
    db.session.commit()
    if outcome is Outcome.OK:
        log.info("code verified customer=%s", record.customer_id)
        return
    log.info("code rejected customer=%s outcome=%s", record.customer_id, outcome.value)
    if outcome is Outcome.WRONG:
        throttle.hit("RATELIMIT_CODE_ATTEMPTS")
        left = verification.tries_left(record)
        if left:
            raise StepError(
                ngettext(
                    "The code is incorrect. Check the SMS and try again. "
                    "You have %(num)d try left.",
                    "The code is incorrect. Check the SMS and try again. "
                    "You have %(num)d tries left.",
                    left,
                )
            )
        outcome = Outcome.TOO_MANY_TRIES
    raise StepError(
        {
            Outcome.TOO_MANY_TRIES: _(
                "The code was entered wrongly too many times and no longer works. Send a new code."
            ),
            Outcome.EXPIRED: _(
                "The code has expired: it was valid for 10 minutes. Send a new code."
            ),
            Outcome.USED: _("This code has already been used. Send a new code if you need one."),
            Outcome.SUPERSEDED: _(
                "This code has been replaced by a newer one. Enter the code from the latest SMS."
            ),
        }[outcome]
    )
