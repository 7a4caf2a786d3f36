"""The password rule and the common-password lists, table-driven (SPEC §3.5, §10)."""

import pytest
from flask_babel import force_locale

from ebok.identity.passwords import INPUT_LIMIT, hash_password, password_problems, verify_password
from ebok.normalising import sms_number

COMMON = "To hasło jest zbyt popularne i łatwe do odgadnięcia. Wybierz inne."
COMMON_WITH_ADDITIONS = (
    "To hasło to popularne słowo lub hasło z dopisanymi cyframi lub znakami specjalnymi, "
    "więc łatwo je odgadnąć. Wybierz inne."
)
TOO_LONG = "Hasło może mieć najwyżej 32 znaki."


@pytest.fixture
def context(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        # Django's list, without regard to case.
        ("Password1", [COMMON]),
        ("Qwerty123", [COMMON]),
        # The Polish leak list.
        ("Haslo123", [COMMON]),
        ("Polska123", [COMMON]),
        ("Zaq12wsx", [COMMON]),
        # A common word with digits and special characters around it, look-alikes read back.
        ("Kochamcie1", [COMMON_WITH_ADDITIONS]),
        ("Legia1916", [COMMON_WITH_ADDITIONS]),
        ("Legia1916!", [COMMON_WITH_ADDITIONS]),
        ("1916Legia", [COMMON_WITH_ADDITIONS]),
        ("Haslo12345!", [COMMON_WITH_ADDITIONS]),
        ("P@ssw0rd1", [COMMON_WITH_ADDITIONS]),
        ("Warszawa2024", [COMMON_WITH_ADDITIONS]),
        ("Wrzesien#09", [COMMON_WITH_ADDITIONS]),
        # Not common: the word is only part of it, or what is left is too short.
        ("Haslo#2026x", []),
        ("Legia1916Kibic", []),
        ("Xk7#qT2mLp", []),
        ("Ola#12345678", []),
        ("Nowe#Haslo1", []),
    ],
)
def test_common_passwords(context, password, problems):
    assert password_problems(password) == problems


def test_refused_characters_are_named_once_in_the_order_typed(context):
    assert password_problems("Ab1 żółw żółw") == [
        "Hasło zawiera niedozwolone znaki: spacja, „ż”, „ó”, „ł”."
    ]


@pytest.mark.parametrize(
    ("language", "problem"),
    [
        ("en", "The password contains characters that are not allowed: space, ‘ż’, ‘ó’, ‘ł’."),
        ("uk", "Пароль містить недозволені символи: пробіл, «ż», «ó», «ł»."),
    ],
)
def test_refused_characters_are_quoted_as_the_language_quotes(context, language, problem):
    with force_locale(language):
        assert password_problems("Ab1 żółw żółw") == [problem]


@pytest.mark.parametrize("length", [INPUT_LIMIT + 1, 250_000, 3 * 1024 * 1024])
def test_past_the_input_bound_only_the_length_is_told(context, length):
    # Distinct characters that are not allowed: the quadratic ordering of old went here.
    password = "".join(chr(0x100 + index % 0x10000) for index in range(length))
    assert password_problems(password) == [TOO_LONG]


def test_a_password_past_the_input_bound_never_verifies(context):
    password_hash = hash_password("A" * INPUT_LIMIT + "b1")
    assert not verify_password(password_hash, "A" * INPUT_LIMIT + "b1")
    assert verify_password(hash_password("Ab#12345"), "Ab#12345")


@pytest.mark.parametrize(
    ("phone", "for_sms"),
    [
        ("+48600700800", True),
        ("+48512345678", True),
        ("+48790123456", True),
        ("+48221234567", False),  # Warsaw landline
        ("+48586000000", False),  # Gdańsk landline
        ("+48801234567", False),  # shared-cost line
        ("+12015550123", True),  # US: fixed line or mobile, given the benefit of the doubt
        ("", False),
        (None, False),
    ],
)
def test_only_mobile_numbers_are_an_sms_channel(phone, for_sms):
    assert sms_number(phone) == (phone if for_sms else None)
