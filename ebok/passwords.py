"""The operator's password rule, the common-password list, and argon2id hashing."""

import gzip
import string
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

MIN_LENGTH = 8
MAX_LENGTH = 32
# The union of the two lists of special characters in the operator's guide.
SPECIAL_CHARACTERS = "!@#$%^&*(){}[]\\:\";'<>?,./-_=+"
ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + SPECIAL_CHARACTERS)


def password_problems(password: str, customer_number: str | None = None) -> list[str]:
    """Every part of the rule the password breaks, as messages for the customer."""
    if not password:
        return [_("Enter a password.")]
    problems = []
    refused = sorted(set(password) - ALLOWED_CHARACTERS, key=password.index)
    if refused:
        names = ", ".join(_describe_character(character) for character in refused)
        problems.append(
            ngettext(
                "The password contains a character that is not allowed: %(characters)s.",
                "The password contains characters that are not allowed: %(characters)s.",
                len(refused),
                characters=names,
            )
        )
    if len(password) < MIN_LENGTH:
        problems.append(_("The password must have at least 8 characters."))
    if len(password) > MAX_LENGTH:
        problems.append(_("The password can have at most 32 characters."))
    if not any(character in string.ascii_uppercase for character in password):
        problems.append(_("The password must contain at least one capital letter."))
    if not any(character in string.ascii_lowercase for character in password):
        problems.append(_("The password must contain at least one lower-case letter."))
    if not any(character in string.digits for character in password):
        problems.append(_("The password must contain at least one digit."))
    if problems:
        return problems
    if customer_number and customer_number in password:
        return [_("The password must not contain your customer number.")]
    if password.lower() in _common_passwords():
        return [_("This password is too common and easy to guess. Choose a different one.")]
    return []


def new_password_problems(
    password: str, repeat: str, customer_number: str | None
) -> dict[str, list[str]]:
    """Problems by field name for a new password and its repeat."""
    problems = {}
    rule_problems = password_problems(password or "", customer_number)
    if rule_problems:
        problems["password"] = rule_problems
    if not repeat:
        problems["password_repeat"] = [_("Repeat the password.")]
    elif password and password != repeat:
        problems["password_repeat"] = [
            _("The passwords are not the same. Enter the same password in both fields.")
        ]
    return problems


def password_rule() -> str:
    """The rule as the operator's guide words it, shown beside every new-password field."""
    return _(
        "The password must have from 8 to 32 characters, at least one: capital letter, "
        "lower-case letter and digit. The password may contain special characters: "
        "%(characters)s",
        characters=SPECIAL_CHARACTERS,
    )


def _describe_character(character: str) -> str:
    if character == " ":
        return _("space")
    if not character.isprintable():
        return _("an invisible character")
    return f"„{character}”"


@cache
def _common_passwords() -> frozenset[str]:
    data = resources.files("ebok.data").joinpath("common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches. Without a hash (unknown login) it still spends the
    same time hashing, so the answer's timing does not tell which accounts exist."""
    hasher = _hasher()
    if password_hash is None:
        hasher.hash(password)
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
