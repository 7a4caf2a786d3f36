"""The operator's password rule, the common-password lists, and argon2id hashing.

Every check is linear in the password's length, and a password longer than
INPUT_LIMIT is refused before any other check (and never hashed at length)."""

import gzip
import string
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from ebok.extensions import db
from ebok.identity import hashing_gate

# The union of the two lists of special characters in the operator's guide.
SPECIAL_CHARACTERS = "!@#$%^&*(){}[]\\:\";'<>?,./-_=+"
ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + SPECIAL_CHARACTERS)
# Far above the rule's longest (32 by default) and any password manager's output, far below
# what would cost time: longer input is refused at once. (The request limits cut much
# longer bodies.)
INPUT_LIMIT = 256
# What people put around a common word: digits and special characters at either end
# (Legia1916, Haslo123!, 1Kochamcie), and letters written as look-alike symbols.
_AROUND_THE_WORD = string.digits + SPECIAL_CHARACTERS
_LOOK_ALIKES = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
# A shorter word left after stripping is too short to call the password common.
_MIN_WORD_LENGTH = 4


def length_limits() -> tuple[int, int]:
    """The rule's shortest and longest password (PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH;
    the operator's 8 and 32 by default)."""
    config = current_app.config
    return config["PASSWORD_MIN_LENGTH"], config["PASSWORD_MAX_LENGTH"]


def _too_long(longest: int) -> str:
    # Translators: a form error under the new password; %(num)d is the longest password
    # allowed (a setting, 32 by default).
    return ngettext(
        "The password can have at most %(num)d character.",
        "The password can have at most %(num)d characters.",
        longest,
    )


def password_problems(password: str, customer_number: str | None = None) -> list[str]:
    """Every part of the rule the password breaks, as messages for the customer."""
    shortest, longest = length_limits()
    if not password:
        return [_("Enter a password.")]
    if len(password) > INPUT_LIMIT:
        return [_too_long(longest)]
    problems = []
    # In the order they appear, each once: dict keeps insertion order (linear).
    refused = list(dict.fromkeys(c for c in password if c not in ALLOWED_CHARACTERS))
    if refused:
        names = ", ".join(_describe_character(character) for character in refused)
        problems.append(
            # Translators: a form error under the new password; %(characters)s lists the characters,
            # each in the language's quotation marks („ż”), or the words "space" / "an invisible
            # character".
            ngettext(
                "The password contains a character that is not allowed: %(characters)s.",
                "The password contains characters that are not allowed: %(characters)s.",
                len(refused),
                characters=names,
            )
        )
    if len(password) < shortest:
        problems.append(
            # Translators: a form error under the new password; %(num)d is the shortest
            # password allowed (a setting, 8 by default).
            ngettext(
                "The password must have at least %(num)d character.",
                "The password must have at least %(num)d characters.",
                shortest,
            )
        )
    if len(password) > longest:
        problems.append(_too_long(longest))
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
    return _commonness_problems(password)


def _commonness_problems(password: str) -> list[str]:
    """Django's list and the Polish ones, compared without case; then the word left when
    digits and special characters are taken from its ends, with look-alikes read back."""
    common = _common_passwords()
    typed = password.casefold()
    if typed in common:
        return [_("This password is too common and easy to guess. Choose a different one.")]
    word = typed.strip(_AROUND_THE_WORD)
    candidates = {word, word.translate(_LOOK_ALIKES)}
    if any(len(candidate) >= _MIN_WORD_LENGTH and candidate in common for candidate in candidates):
        return [
            _(
                "This password is a common word or password with digits or special characters "
                "added, which makes it easy to guess. Choose a different one."
            )
        ]
    return []


def password_rule() -> str:
    """The rule as the operator's guide words it, shown beside every new-password field."""
    shortest, longest = length_limits()
    # Translators: the hint beside every new-password field (the operator's own words
    # in Polish). %(min)d and %(num)d are the shortest and longest password allowed
    # (settings, 8 and 32 by default); the plural follows %(num)d. %(characters)s is
    # the list of special characters allowed, shown as it is.
    return ngettext(
        "Use %(min)d to %(num)d character, with at least one capital letter, one "
        "lower-case letter and one digit. You may also use these special characters: "
        "%(characters)s",
        "Use %(min)d to %(num)d characters, with at least one capital letter, one "
        "lower-case letter and one digit. You may also use these special characters: "
        "%(characters)s",
        longest,
        min=shortest,
        characters=SPECIAL_CHARACTERS,
    )


def checklist_length() -> str:
    """The password checklist's first item, "from 8 to 32 characters"."""
    shortest, longest = length_limits()
    # Translators: an item of the checklist beside the new password, ticked while the
    # customer types; %(min)d and %(num)d are the shortest and longest password allowed.
    return ngettext(
        "from %(min)d to %(num)d character",
        "from %(min)d to %(num)d characters",
        longest,
        min=shortest,
    )


def _describe_character(character: str) -> str:
    if character == " ":
        return _("space")
    if not character.isprintable():
        return _("an invisible character")
    # Translators: one character the password may not contain, in your language's quotation
    # marks (Polish „ż”, Ukrainian «ż»), listed after "contains characters that are not
    # allowed:"; %(character)s is the character.
    return _("‘%(character)s’", character=character)


@cache
def _common_passwords() -> frozenset[str]:
    """Django's list (English, worldwide leaks) and the Polish ones: see ebok/data/README.md."""
    data = resources.files("ebok.data")
    words = set(gzip.decompress(data.joinpath("common-passwords.txt.gz").read_bytes()).split())
    for name in ("common-passwords-pl.txt", "common-passwords-pl-extra.txt"):
        lines = data.joinpath(name).read_text(encoding="utf-8").splitlines()
        words.update(line.strip().encode() for line in lines if line and not line.startswith("#"))
    return frozenset(word.decode().casefold() for word in words)


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """Raises hashing_gate.HashingBusy when the machine's hashes queue past the bound."""
    hasher = _hasher()
    with hashing_gate.admitted():
        return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches. Without a hash (unknown login) it still spends the
    same time hashing, so the answer's timing does not tell which accounts exist. Raises
    hashing_gate.HashingBusy, having hashed nothing, when the machine's hashes queue past
    the bound."""
    hasher = _hasher()
    with hashing_gate.admitted(before_waiting=_end_reading):
        if password_hash is None or len(password) > INPUT_LIMIT:
            hasher.hash(password[:INPUT_LIMIT])
            return False
        try:
            return hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def _end_reading() -> None:
    """A check waiting its turn to hash gives its database connection back to the pool, so
    that waiting logins never take every connection from the pages: a password is checked
    before its request writes anything, so only reads end (what they loaded is read again
    when used)."""
    session = db.session
    if not (session.new or session.dirty or session.deleted):
        session.rollback()


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
