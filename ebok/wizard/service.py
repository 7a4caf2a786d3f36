"""What the wizard's steps decide once their form is valid: who the customer is, whether
the contact datum matches, sending the code or link, checking the code. They raise
Problem for the customer to fix and never talk to SMTP or the SMS gateway themselves."""

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from sqlalchemy import select

from ebok import messages
from ebok.extensions import db
from ebok.i18n import _l
from ebok.i18n.durations import sms_code_minutes
from ebok.identity import accounts, throttle, verification
from ebok.identity.devices import trusted_device
from ebok.identity.signing import Outcome, external_url
from ebok.logs import audit
from ebok.models import Customer, Verification
from ebok.normalising import (
    looks_like_customer_number,
    mask_email,
    mask_phone,
    normalize_customer_number,
    normalize_email,
    normalize_phone,
)
from ebok.web.forms import Problem
from ebok.web.templating import format_phone
from ebok.wizard.flow import Flow

CHANNELS = ("sms", "email")


def find_customer(flow: Flow, typed: str) -> Customer:
    """The customer behind a well-formed number (or login, where the flow takes one)."""
    throttle.hit("RATELIMIT_NUMBER_LOOKUP")
    if looks_like_customer_number(typed):
        number = normalize_customer_number(typed)
        customer = db.session.scalars(select(Customer).where(Customer.number == number)).first()
    else:
        account = accounts.by_login_name(typed)
        customer = account.customer if account else None
    if customer is None:
        raise Problem(_not_found_message(flow), "number")
    no_contact = not customer.email and not customer.sms_phone
    if no_contact and customer.account is None:
        # Neither flow can go on: Zapomniałem hasła would send them to a registration
        # that stops here too. The Customer Service Centre at once.
        raise NoContactData()
    refusal = flow.refusal(customer)
    if refusal:
        raise Problem(refusal, "number")
    if no_contact:
        raise NoContactData()
    return customer


class NoContactData(Exception):
    """A dead end, not a mistake in the field: only the Customer Service Centre can help."""


def _not_found_message(flow: Flow) -> str:
    # Where to find the number is the field's hint, right above: not again in the error
    # (it would be read three times: hint, error summary, field error).
    if flow.accepts_login_name:
        return _("We could not find a customer with this number or login. Check it and try again.")
    return _("We could not find a customer with this number. Check it and try again.")


def proven_contact(customer: Customer, channel: str | None) -> tuple[str | None, str | None]:
    """(phone, e-mail) for the channel step shown again by Back: the datum the customer
    typed and matched for the channel a code or link went to. Taken from the data on file,
    which that match has shown the customer knows, so the session never holds it."""
    if channel == "sms":
        return format_phone(customer.sms_phone), None
    if channel == "email":
        return None, customer.email
    return None, None


def available_channels(customer: Customer) -> list[str]:
    return [channel for channel in CHANNELS if contact_datum(customer, channel)]


def contact_datum(customer: Customer, channel: str) -> str | None:
    return customer.sms_phone if channel == "sms" else customer.email


def check_contact(customer: Customer, channel: str, typed: str) -> None:
    """The typed datum (well-formed: the form checked it) must match the one on file; a
    mismatch never shows the one on file."""
    throttle.check("RATELIMIT_CONTACT_CHECK")
    throttle.check("RATELIMIT_CONTACT_CHECK", f"customer:{customer.id}")
    if channel == "sms":
        if normalize_phone(typed) == customer.phone:
            return
        problem = Problem(
            _(
                "This phone number is not the contact number we have for you. Enter the "
                "number you gave as your contact number when you signed the contract."
            ),
            "phone",
        )
    else:
        if normalize_email(typed) == normalize_email(customer.email or ""):
            return
        problem = Problem(
            _(
                "This e-mail address is not the contact address we have for you. Enter the "
                "address you gave as your contact address when you signed the contract."
            ),
            "email",
        )
    audit("contact_mismatch", customer=customer.id, channel=channel)
    throttle.hit("RATELIMIT_CONTACT_CHECK")
    throttle.hit("RATELIMIT_CONTACT_CHECK", f"customer:{customer.id}")
    raise problem


def send_secret(flow: Flow, customer: Customer, channel: str, *, again: bool) -> Verification:
    """Sends a new code or link to the datum on file, superseding earlier ones. Unless
    the customer asked for it again, one made moments ago (a double submit of the channel
    step) is reused instead, sending and counting nothing. Commits."""
    verification.lock_customer(customer)
    duplicate = None if again else verification.recent_duplicate(customer, flow.purpose, channel)
    if duplicate is not None:
        db.session.commit()
        audit("double_submit", customer=customer.id, flow=flow.purpose)
        return duplicate
    try:
        count_send(customer, channel)
    except (RateLimitExceeded, throttle.CountingUnavailable):
        db.session.rollback()  # lets go of the customer's row at once
        raise
    record, secret = verification.start(customer, flow.purpose, channel)
    to = contact_datum(customer, channel)
    assert to is not None, "only channels with a datum on file are offered"
    if channel == "sms":
        minutes = sms_code_minutes()
        messages.send_sms(
            to, f"{flow.purpose}_code", verification_id=record.id, code=secret, minutes=minutes
        )
        masked = mask_phone(to)
    else:
        link = external_url(url_for(f"{flow.name}.open_link", token=secret))
        messages.send_email(
            to,
            str(flow.email_subject),
            f"{flow.purpose}_link",
            verification_id=record.id,
            customer=customer,
            link=link,
        )
        masked = mask_email(to)
    kind = "code" if channel == "sms" else "link"
    audit(f"{kind}_sent", customer=customer.id, flow=flow.purpose, to=masked)
    db.session.commit()
    return record


def count_send(customer: Customer, channel: str) -> None:
    """Counts a send about to happen against the client's and the customer's limits (the
    wizard's codes and links, and the proof of a new contact in Moje dane)."""
    # An SMS costs money: without the shared counts (Redis away) none is sent.
    paid = channel == "sms"
    throttle.hit("RATELIMIT_CODE_SENDS", fail_closed=paid)
    throttle.hit(
        "RATELIMIT_CODE_SENDS_PER_CUSTOMER", _sends_key(customer, channel), fail_closed=paid
    )


def _sends_key(customer: Customer, channel: str) -> str:
    """Per customer and channel, so a flood of SMS sends leaves the e-mail link usable; a
    browser that has proved itself on the customer's account (its device cookie) has a
    share of its own, which strangers cannot use up."""
    per_customer = f"customer:{customer.id}:{channel}"
    device = trusted_device(customer.account)
    return per_customer if device is None else f"{per_customer}:device:{device}"


def sent_message(customer: Customer, channel: str) -> str:
    """For the live region: where the code or link has gone."""
    if channel == "sms":
        # Translators: a status message after the channel step; %(phone)s is the customer's
        # mobile number as written in their country ("600 700 800").
        return _("We have sent an SMS code to %(phone)s.", phone=format_phone(customer.phone))
    # Translators: a status message after the channel step; %(email)s is the address.
    return _("We have sent a link to %(email)s.", email=customer.email)


def check_code(record: Verification, typed: str, *, accepted_in_this_wizard: bool) -> None:
    """A well-formed code (the form checked it) against the one sent. The client's limit
    is counted before the comparison (given back unless the code was wrong), so a client
    over it cannot get even the right code through. The code this wizard had accepted is
    accepted again. Commits."""
    code = verification.normalize_code(typed)
    if accepted_in_this_wizard and verification.accepted_before(record, code):
        return
    throttle.count_attempt([("RATELIMIT_CODE_ATTEMPTS", None)])
    outcome = verification.check_code(record, code)
    # Read before the commit, while this transaction holds the row: afterwards the count
    # may already include other requests' tries.
    left = verification.tries_left(record)
    db.session.commit()
    if outcome is not Outcome.WRONG:  # only wrong guesses count
        throttle.attempt_was_right()
    if outcome is Outcome.OK:
        audit("code_verified", customer=record.customer_id)
        return
    audit("code_rejected", customer=record.customer_id, outcome=outcome.value)
    if outcome is Outcome.WRONG:
        if left:
            raise Problem(
                # Translators: a form error under the SMS code; %(num)d is how many
                # more tries this code allows.
                ngettext(
                    "The code is incorrect. Check the SMS and try again. "
                    "You have %(num)d try left.",
                    "The code is incorrect. Check the SMS and try again. "
                    "You have %(num)d tries left.",
                    left,
                ),
                "code",
            )
        outcome = Outcome.TOO_MANY_TRIES
    if outcome is Outcome.EXPIRED:
        raise Problem(_expired_code_message(), "code")
    raise Problem(_CODE_PROBLEMS[outcome], "code")


def _expired_code_message() -> str:
    # Translators: a form error under the SMS code; %(num)d is how many minutes a code
    # is valid (a setting, 10 by default).
    return ngettext(
        "The code has expired: it was valid for %(num)d minute. Send a new code.",
        "The code has expired: it was valid for %(num)d minutes. Send a new code.",
        sms_code_minutes(),
    )


_CODE_PROBLEMS = {
    Outcome.TOO_MANY_TRIES: _l(
        "The code was entered wrongly too many times and no longer works. Send a new code."
    ),
    Outcome.USED: _l("This code has already been used. Send a new code if you need one."),
    Outcome.SUPERSEDED: _l(
        "This code has been replaced by a newer one. Enter the code from the latest SMS."
    ),
}
