"""The pure rules, table by table: the password rule, customer numbers, phone numbers,
e-mail addresses and SMS codes as customers type them, and the forms that apply them.
The HTTP tests check each step once; the cases live here."""

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import StringField

from ebok.identity.passwords import password_problems
from ebok.identity.verification import normalize_code
from ebok.normalising import (
    looks_like_customer_number,
    mask_email,
    mask_phone,
    normalize_customer_number,
    normalize_email,
    normalize_phone,
)
from ebok.password_reset.forms import NumberOrLoginForm
from ebok.registration.forms import CustomerNumberForm
from ebok.web.forms import EmailAddress
from ebok.wizard.forms import ChannelForm, CodeForm, PasswordForm


@pytest.fixture
def request_context(app):
    """Forms and translations need a request; the interface is Polish."""
    with app.test_request_context(headers={"Accept-Language": "pl"}):
        yield


def assert_problem(problems, field, message):
    """No problem when message is None; else one, on `field`, starting with `message`."""
    if message is None:
        assert problems == {}
    else:
        assert list(problems) == [field] and problems[field][0].startswith(message)


def problems_of(form_class, data, **attributes):
    form = form_class(formdata=MultiDict(data), meta={"csrf": False})
    for name, value in attributes.items():
        setattr(form, name, value)
    form.validate()
    return {name: [str(message) for message in errors] for name, errors in form.errors.items()}


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("", ["Podaj hasło."]),
        ("Krotk1!", ["Hasło musi mieć co najmniej 8 znaków."]),
        ("Bardzo#Dlugie1" * 3, ["Hasło może mieć najwyżej 32 znaki."]),
        ("male#litery1", ["Hasło musi zawierać co najmniej jedną wielką literę."]),
        ("WIELKIE#LITERY1", ["Hasło musi zawierać co najmniej jedną małą literę."]),
        ("Bez#Cyfry", ["Hasło musi zawierać co najmniej jedną cyfrę."]),
        ("Haslo z spacja1", ["Hasło zawiera niedozwolony znak: spacja."]),
        (
            "Zażółć#Gęślą1",
            ["Hasło zawiera niedozwolone znaki: „ż”, „ó”, „ł”, „ć”, „ę”, „ś”, „ą”."],
        ),
        ("Emoji#Haslo1🙂", ["Hasło zawiera niedozwolony znak: „🙂”."]),
        ("abc", None),  # several parts at once: every one is told
        ("Password1", ["To hasło jest zbyt popularne i łatwe do odgadnięcia. Wybierz inne."]),
        ("Qwerty123", ["To hasło jest zbyt popularne i łatwe do odgadnięcia. Wybierz inne."]),
        ("Ab#200001x", ["Hasło nie może zawierać Twojego numeru klienta."]),
        ("Nowe#Haslo1", []),
        ("Aa1!@#$%^&*(){}[]\\:\";'<>?,./-_=", []),  # every listed special character
    ],
)
def test_the_password_rule(request_context, password, expected):
    problems = password_problems(password, "200001")
    if expected is None:
        assert len(problems) == 3  # too short, no capital letter, no digit
    else:
        assert problems == expected


@pytest.mark.parametrize(
    ("typed", "normalized", "is_number"),
    [
        ("200001", "200001", True),
        ("200 00-1", "200001", True),
        ("200\u00a0001", "200001", True),  # a non-breaking space copied from a PDF
        ("200–001", "200001", True),  # an en dash
        ("jan.kowalski", "jan.kowalski", False),
        ("abc123", "abc123", False),
        ("", "", False),
    ],
)
def test_customer_numbers_as_typed(typed, normalized, is_number):
    assert normalize_customer_number(typed) == normalized
    assert looks_like_customer_number(typed) is is_number


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("512 345 678", "+48512345678"),
        ("+48512345678", "+48512345678"),
        ("0048 512-345-678", "+48512345678"),
        ("(+48) 512 345 678", "+48512345678"),
        ("512-345-678", "+48512345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("12345", None),
        ("six hundred", None),
        ("", None),
    ],
)
def test_phone_numbers_as_typed(typed, normalized):
    assert normalize_phone(typed) == normalized


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("  Jan.KOWALSKI@example.com ", "jan.kowalski@example.com"),
        ("anna.nowak@example.com", "anna.nowak@example.com"),
        ("jan.kowalski", None),
        ("jan@", None),
        ("", None),
        # Internationalised domains (IDNA) are kept in their ASCII form, however typed.
        ("jan@Bücher.de", "jan@xn--bcher-kva.de"),
        ("JAN@XN--BCHER-KVA.DE", "jan@xn--bcher-kva.de"),
        # A non-ASCII local part (RFC 6531) is still a valid address to compare with what
        # billing stored; EmailAddress refuses it where an address is typed to send to.
        ("Jürgen@example.com", "jürgen@example.com"),
    ],
)
def test_email_addresses_as_typed(typed, normalized):
    assert normalize_email(typed) == normalized


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("jan.kowalski@example.pl", None),
        ("jan+faktury@bücher.de", None),
        ("ewa@kamińska.pl", None),
        ("jan@", "Podaj adres e-mail w poprawnym formacie"),
        ("jürgen@example.com", "Przed znakiem @ nie może być"),
        ("łukasz@example.pl", "Przed znakiem @ nie może być"),
        ("用户@例子.广告", "Przed znakiem @ nie może być"),
    ],
)
def test_an_address_to_send_to_needs_no_smtputf8(app, typed, problem):
    """RFC 6531 addresses need SMTPUTF8 at every relay on the way; ours may lack it."""

    class Form(FlaskForm):
        email = StringField(validators=[EmailAddress()])

    with app.test_request_context(headers={"Accept-Language": "pl"}):
        form = Form(MultiDict({"email": typed}), meta={"csrf": False})
        assert form.validate() is (problem is None)
        if problem:
            assert problem in str(form.email.errors[0])


def test_contact_data_are_masked_for_the_logs():
    assert mask_phone("+48512345678") == "+48 *** *** 678"
    assert mask_email("jan.kowalski@example.pl") == "j***@example.pl"


@pytest.mark.parametrize(
    ("typed", "code"),
    [("123456", "123456"), ("123 456", "123456"), ("123-456", "123456"), (" 12 34 56 ", "123456")],
)
def test_codes_as_typed(typed, code):
    assert normalize_code(typed) == code


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Podaj kod z SMS-a."),
        ("12a456", "Kod składa się wyłącznie z cyfr"),
        ("123", "Kod ma 6 cyfr"),
        ("1234567", "Kod ma 6 cyfr"),
        ("123 456", None),
    ],
)
def test_the_code_form(request_context, typed, message):
    assert_problem(problems_of(CodeForm, {"code": typed}), "code", message)


@pytest.mark.parametrize(
    ("form_class", "typed", "message"),
    [
        (CustomerNumberForm, "", "Podaj numer klienta."),
        (CustomerNumberForm, "abc123", "Numer klienta składa się wyłącznie z cyfr"),
        (CustomerNumberForm, "1" * 21, "Numer klienta ma najwyżej 20 cyfr"),
        (CustomerNumberForm, "200 001", None),
        (NumberOrLoginForm, "", "Podaj numer klienta lub login."),
        (NumberOrLoginForm, "1" * 21, "Numer klienta ma najwyżej 20 cyfr"),
        (NumberOrLoginForm, "jan.kowalski", None),
        (NumberOrLoginForm, "200001", None),
    ],
)
def test_the_number_forms(request_context, form_class, typed, message):
    assert_problem(problems_of(form_class, {"number": typed}), "number", message)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "channel", "Wybierz, jak chcesz otrzymać kod lub link."),
        ({"channel": "post"}, "channel", "Wybierz, jak chcesz otrzymać kod lub link."),
        ({"channel": "sms", "phone": " "}, "phone", "Podaj swój numer telefonu."),
        ({"channel": "sms", "phone": "12345"}, "phone", "Podaj numer telefonu w poprawnym"),
        ({"channel": "email", "email": ""}, "email", "Podaj swój adres e-mail."),
        ({"channel": "email", "email": "jan"}, "email", "Podaj adres e-mail w poprawnym"),
        ({"channel": "sms", "phone": "512 345 678", "email": "jan"}, None, None),
        ({"channel": "email", "email": "jan@example.com", "phone": "1"}, None, None),
    ],
)
def test_the_channel_form(request_context, data, field, message):
    form = ChannelForm(formdata=MultiDict(data), meta={"csrf": False})
    form.offer(["sms", "email"])
    form.validate()
    problems = {name: [str(m) for m in errors] for name, errors in form.errors.items()}
    assert_problem(problems, field, message)


@pytest.mark.parametrize(
    ("password", "repeat", "expected"),
    [
        ("Nowe#Haslo1", "Nowe#Haslo1", {}),
        ("Nowe#Haslo1", "", {"password_repeat": ["Powtórz hasło."]}),
        (
            "Nowe#Haslo1",
            "Inne#Haslo2",
            {
                "password_repeat": [
                    "Podane hasła nie są takie same. Wpisz to samo hasło w obu polach."
                ]
            },
        ),
        # Without a password only that is told: the repeat has nothing to match yet.
        ("", "Nowe#Haslo1", {"password": ["Podaj hasło."]}),
        (
            "Ab#200001x",
            "Ab#200001x",
            {"password": ["Hasło nie może zawierać Twojego numeru klienta."]},
        ),
    ],
)
def test_the_new_password_pair(request_context, password, repeat, expected):
    data = {"password": password, "password_repeat": repeat}
    assert problems_of(PasswordForm, data, customer_number="200001") == expected
