"""Customer numbers, login names, phone numbers and e-mail addresses as customers type
them."""

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from ebok.i18n import _l

CUSTOMER_NUMBER_MAX_DIGITS = 20
LOGIN_NAME = re.compile(r"[a-z0-9._-]{3,40}")
EMAIL_FORMAT_PROBLEM = _l(
    "Enter an e-mail address in a correct format, for example jan.kowalski@example.pl."
)
# RFC 6531 addresses (a local part beyond ASCII) reach their mailbox only if every relay
# on the way speaks SMTPUTF8, and ours may not: we refuse to send to them. A domain in
# Unicode is IDNA (RFC 5890), sent in its ASCII form, and needs nothing of the relay.
EMAIL_LOCAL_PART_PROBLEM = _l(
    "The part before the @ sign cannot contain Polish letters or letters from other "
    "alphabets (such as ą, ł or ü). We cannot send messages to such an address. Enter a "
    "different e-mail address."
)
# Spaces (including the non-breaking ones a copy from a PDF brings) and dashes of any kind.
_NUMBER_SEPARATORS = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\-\u2010-\u2015]+")


def normalize_customer_number(typed: str) -> str:
    """The customer number without the spaces and dashes customers type in it."""
    return _NUMBER_SEPARATORS.sub("", typed or "")


def customer_number_problem(number: str) -> str | None:
    """Why a normalised customer number from billing's files or an operator is not one
    (None when it is)."""
    if not number:
        return "customer_number is empty"
    if not number.isdecimal() or len(number) > CUSTOMER_NUMBER_MAX_DIGITS:
        return f"customer_number must be 1 to {CUSTOMER_NUMBER_MAX_DIGITS} digits"
    return None


def looks_like_customer_number(typed: str) -> bool:
    return normalize_customer_number(typed).isdecimal()


def normalize_login_name(typed: str | None) -> str:
    """Login names are kept, looked up and counted trimmed and in lower case."""
    return (typed or "").strip().casefold()


def could_be_login_name(typed: str) -> bool:
    """Whether an account may have this login name; lookups skip anything else (PostgreSQL
    refuses some text, such as a NUL byte, even as a query parameter)."""
    return LOGIN_NAME.fullmatch(normalize_login_name(typed)) is not None


def normalize_phone(typed: str) -> str | None:
    """A phone number in E.164 form (+48600700800), or None if it is not a valid number.

    Polish numbers may be typed without a country code: 600 700 800, +48 600 700 800,
    0048 600-700-800, (+48) 600700800.
    """
    try:
        number = phonenumbers.parse(typed or "", "PL")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Number types an SMS can reach. Polish numbering tells mobile numbers apart; where a
# country's does not (FIXED_LINE_OR_MOBILE), the number is given the benefit of the doubt.
_SMS_NUMBER_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def sms_number(phone: str | None) -> str | None:
    """The number on file if an SMS can reach it; None for a landline (22 123 45 67) or
    no number. The billing system's landlines stay on file, they just are no SMS channel."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, "PL")
    except phonenumbers.NumberParseException:
        return None
    return phone if phonenumbers.number_type(number) in _SMS_NUMBER_TYPES else None


def normalize_email(typed: str) -> str | None:
    """The address trimmed, in lower case and with its domain in ASCII (IDNA) form, for
    comparing and sending; None if it is not valid. A local part beyond ASCII is kept (billing
    may have stored one, and the contact check must match it): see needs_smtputf8."""
    try:
        address = validate_email((typed or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return f"{address.local_part}@{address.ascii_domain}".casefold()


def needs_smtputf8(address: str) -> bool:
    """Whether a normalized address can be delivered only over SMTPUTF8 (RFC 6531)."""
    return not address.isascii()


def mask_phone(phone: str) -> str:
    """+48600700800 -> +48 *** *** 800: enough for the customer to recognise it."""
    return f"{phone[:3]} *** *** {phone[-3:]}"


def mask_email(email: str) -> str:
    """jan.kowalski@example.pl -> j***@example.pl"""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
