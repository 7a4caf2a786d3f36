"""Rejestracja (SPEC §3), through HTTP, each test both as plain requests and as htmx. The
rules themselves (number, phone, e-mail, code, password) are in test_rules.py; here each
step and each family of its problems is checked once."""

from datetime import timedelta

import pytest
from support import (
    NEW_PASSWORD,
    account_of,
    assert_shape,
    existing_account,
    field_value,
    follow,
    found,
    last_code,
    last_link,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.models import Customer


def test_the_login_page_opens_registration(visitor):
    response = visitor.get("/")
    assert 'href="/rejestracja/"' in response.get_data(as_text=True)
    response = visitor.get("/rejestracja/")
    assert response.status_code == 200
    assert_shape(visitor, response)
    page = text_of(response)
    assert "Twój Numer Ewidencyjny Klienta" in page
    assert (
        "Numer klienta znajduje się na umowie, w pozycji Numer ewidencyjny Abonenta, lub na "
        "rachunku, w pozycji Nr ewidencyjny"
    ) in page
    assert "Anuluj" in page and "Dalej" in page


def test_the_number_is_the_username_as_in_zapomnialem_hasla(visitor):
    """Password managers save the new password with the customer number: the same field,
    the same token on both wizards."""
    for path in ("/rejestracja/", "/zapomnialem-hasla/"):
        field = found(r'<input[^>]*name="number"[^>]*>', visitor.get(path).get_data(as_text=True))
        assert 'autocomplete="username"' in field.group(0), path


def test_registration_by_sms(app, visitor, wizard, customers):
    customer = customers["both"]
    response = wizard.start("200 00-1")
    assert response.status_code == 200
    assert_shape(visitor, response)
    assert "Wybierz sposób rejestracji:" in text_of(response)
    if visitor.htmx:
        assert response.headers["HX-Push-Url"] == "/rejestracja/sposob"

    response = wizard.choose("sms", "0048 512-345-678")
    page = text_of(response)
    assert (
        "Na podany numer telefonu został wysłany kod umożliwiający ustanowienie hasła dostępu."
    ) in page
    assert "Nie otrzymałeś SMS-a?" in page
    code = last_code(app, customer.phone)
    assert code not in response.get_data(as_text=True)

    response = wizard.enter_code(f"{code[:3]} {code[3:]}")
    page = text_of(response)
    assert "Podaj hasło" in page and "Powtórz hasło" in page
    assert (
        "Hasło musi zawierać od 8 do 32 znaków, co najmniej jedną: wielką literę, małą "
        "literę oraz cyfrę. Hasło może zawierać znaki specjalne: "
        "!@#$%^&*(){}[]\\:\";'<>?,./-_=+"
    ) in page

    response = follow(visitor, wizard.set_password())
    assert response.status_code == 200
    assert response.request.path == "/strona-glowna"
    assert "Strona Główna" in text_of(response)
    assert "Twoje konto zostało utworzone" in text_of(response)
    assert account_of(app, customer) is not None
    # The channel not used hears about the new account.
    notices = outbox(app, "email", customer.email)
    assert [message.subject for message in notices] == [
        "Twoje konto w Strefie Klienta zostało utworzone"
    ]


def test_registration_by_email_link(app, visitor, wizard, customers):
    customer = customers["email_only"]
    wizard.start(customer.number)
    response = wizard.choose("email", "  Jan.KOWALSKI@example.com ")
    page = text_of(response)
    assert (
        "Na podany adres e-mail został wysłany link umożliwiający ustanowienie hasła "
        "dostępu. Prosimy o sprawdzenie poczty oraz folderu spam. Link będzie aktywny "
        "przez 3 dni."
    ) in page
    assert customer.email in page  # the page shows where the link went
    assert "OK" in page

    # The link is opened in another browser, as from a phone's mail app.
    other = type(visitor)(visitor.client.application.test_client(), htmx=False)
    response = other.get(last_link(app, customer.email))
    assert "Podaj hasło" in text_of(response)
    response = other.post(
        "/rejestracja/haslo",
        {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD, "action": "next"},
    )
    assert response.request.path == "/strona-glowna"
    assert account_of(app, customer) is not None


def test_only_channels_with_data_on_file_are_offered(wizard, customers):
    response = wizard.start(customers["phone_only"].number)
    body = response.get_data(as_text=True)
    assert 'value="sms"' in body and 'value="email"' not in body
    assert "nie mamy Twojego adresu e-mail" in text_of(response)

    response = wizard.choose("email", "someone@example.com")
    assert response.status_code == 422
    assert "Wybierz, jak chcesz otrzymać kod lub link." in text_of(response)


def test_a_customer_with_no_contact_data_is_sent_to_the_centre(wizard, customers):
    response = wizard.start(customers["neither"].number)
    assert response.status_code == 422
    page = text_of(response)
    assert "Centrum Obsługi Klienta" in page and "22 123 45 67" in page


def test_an_already_registered_number(visitor, wizard, customers):
    response = wizard.start(customers["registered"].number)
    assert response.status_code == 422
    assert_shape(visitor, response)
    page = text_of(response)
    assert (
        "Podany numer klienta jest już zarejestrowany w systemie – zaloguj się lub skorzystaj "
        "z funkcji Zapomniałem hasła"
    ) in page
    body = response.get_data(as_text=True)
    assert '<a href="/">zaloguj się</a>' in body
    assert '<a href="/zapomnialem-hasla/">Zapomniałem hasła</a>' in body


def test_bad_customer_numbers(visitor, wizard, customers):
    """The form's rule (only digits) and the lookup (nobody has it) answer alike."""
    for typed, message in [
        ("abc123", "Numer klienta składa się wyłącznie z cyfr"),
        ("999999", "Nie znaleźliśmy klienta o takim numerze"),
    ]:
        response = wizard.start(typed)
        assert response.status_code == 422
        assert_shape(visitor, response)
        page = text_of(response)
        assert message in page
        assert "Wystąpił problem" in page
        body = response.get_data(as_text=True)
        assert 'aria-invalid="true"' in body
        assert 'aria-describedby="number-hint number-error"' in body
        assert "<title>Błąd: Twój Numer Ewidencyjny Klienta – Rejestracja – Strefa Klienta" in body
        # What the customer typed stays in the field.
        assert field_value(response, "number") == typed


def test_a_badly_typed_phone_number_and_one_that_does_not_match(visitor, wizard, customers):
    wizard.start(customers["both"].number)
    for typed, message in [
        ("12345", "Podaj numer telefonu w poprawnym formacie"),
        ("512 345 679", "Podany numer telefonu nie zgadza się"),
    ]:
        response = wizard.choose("sms", typed)
        assert response.status_code == 422
        assert_shape(visitor, response)
        page = text_of(response)
        assert message in page
        assert "512 345 678" not in page and "+48512345678" not in page  # never revealed
        assert field_value(response, "phone") == typed


def test_a_badly_typed_email_address_and_one_that_does_not_match(wizard, customers):
    wizard.start(customers["both"].number)
    for typed, message in [
        ("jan.kowalski", "Podaj adres e-mail w poprawnym formacie"),
        ("other@example.com", "Podany adres e-mail nie zgadza się"),
    ]:
        response = wizard.choose("email", typed)
        assert response.status_code == 422
        assert message in text_of(response)
        assert "anna.nowak@example.com" not in response.get_data(as_text=True)
        assert field_value(response, "email") == typed


@pytest.mark.parametrize(
    ("on_file", "typed"),
    [
        ("ewa@xn--kamiska-6jb.pl", "Ewa@Kamińska.pl"),  # an IDN domain, in either form
        ("ewa@kamińska.pl", "ewa@xn--kamiska-6jb.pl"),
        ("jürgen@example.com", "Jürgen@example.com"),  # billing's, even needing SMTPUTF8
    ],
)
def test_the_contact_check_matches_what_billing_stored(app, wizard, customers, on_file, typed):
    with app.app_context():
        customer = db.session.get(Customer, customers["email_only"].id)
        assert customer is not None
        customer.email = on_file
        db.session.commit()
    wizard.start(customers["email_only"].number)
    response = wizard.choose("email", typed)
    assert response.request.path == "/rejestracja/sprawdz-poczte"


def test_no_channel_chosen(visitor, wizard, customers):
    wizard.start(customers["both"].number)
    response = visitor.post("/rejestracja/sposob", {"action": "next"})
    assert response.status_code == 422
    assert "Wybierz, jak chcesz otrzymać kod lub link." in text_of(response)


def test_a_badly_typed_code(app, wizard, customers):
    wizard.to_code(customers["both"])
    response = wizard.enter_code("12a456")
    assert response.status_code == 422
    assert "Kod składa się wyłącznie z cyfr" in text_of(response)
    assert field_value(response, "code") == "12a456"
    assert len(outbox(app, "sms")) == 1  # a typing slip costs no new code


def test_wrong_codes_count_down_and_then_the_code_dies(app, wizard, customers):
    customer = customers["both"]
    wizard.to_code(customer)
    code = last_code(app, customer.phone)
    wrong = "000000" if code != "000000" else "111111"
    for tries_left in (4, 3, 2):
        response = wizard.enter_code(wrong)
        assert response.status_code == 422
        assert f"Pozostały {tries_left} próby" in text_of(response)
    response = wizard.enter_code(wrong)
    assert "Pozostała 1 próba" in text_of(response)
    response = wizard.enter_code(wrong)
    assert "Wyślij nowy kod" in text_of(response)
    # Even the right code is refused now.
    response = wizard.enter_code(code)
    assert response.status_code == 422
    assert "zbyt wiele razy" in text_of(response)


def test_a_new_code_replaces_the_old_one(app, visitor, wizard, customers):
    customer = customers["both"]
    wizard.to_code(customer)
    old_code = last_code(app, customer.phone)
    response = wizard.resend()
    assert "Wysłaliśmy nowy kod." in text_of(response)
    new_code = last_code(app, customer.phone)
    if new_code != old_code:  # one in a million they are the same
        # The first SMS's code: told that a newer one was sent, not that it is wrong, and
        # no try taken (it is not a guess).
        for _ in range(app.config["SMS_CODE_MAX_TRIES"] + 1):
            response = wizard.enter_code(old_code)
            assert response.status_code == 422
            page = text_of(response)
            assert "Ten kod został zastąpiony nowszym. Wpisz kod z najnowszego SMS-a." in page
            assert "nieprawidłowy" not in page and "Pozostał" not in page
    response = wizard.enter_code(new_code)
    assert response.request.path == "/rejestracja/haslo"
    assert "Podaj hasło" in text_of(response)


@pytest.mark.config(SMS_CODE_LIFETIME=timedelta(seconds=-1))
def test_an_expired_code(app, wizard, customers):
    wizard.to_code(customers["both"])
    response = wizard.enter_code(last_code(app, customers["both"].phone))
    assert response.status_code == 422
    assert "Kod wygasł" in text_of(response)


def test_the_accepted_code_sent_again_continues_to_the_password_step(
    app, visitor, wizard, customers
):
    """Issue 10, finding 6: the answer to a right code was lost (a mobile network drop),
    or the customer went Back from the password step: the same code goes on."""
    code = wizard.to_password(customers["both"])
    response = wizard.enter_code(code)
    assert response.request.path == "/rejestracja/haslo"
    assert "został już wykorzystany" not in text_of(response)
    assert visitor.get("/rejestracja/kod").status_code == 200  # Back
    wrong = "000000" if code != "000000" else "111111"
    assert wizard.enter_code(wrong).status_code == 422
    assert wizard.enter_code(code).request.path == "/rejestracja/haslo"
    assert len(outbox(app, "sms")) == 1  # nothing more to pay for


def test_a_password_breaking_the_rule_and_a_repeat_that_differs(app, visitor, wizard, customers):
    customer = customers["both"]
    wizard.to_password(customer)
    response = wizard.set_password("male#litery1", "Inne#Haslo2")
    assert response.status_code == 422
    assert_shape(visitor, response)
    page = text_of(response)
    assert "co najmniej jedną wielką literę" in page
    assert "Podane hasła nie są takie same" in page
    assert "male#litery1" not in response.get_data(as_text=True)  # passwords are never echoed
    # The customer number is the customer's own: the rule knows it here too.
    response = wizard.set_password("Ab#200001x")
    assert "nie może zawierać Twojego numeru klienta" in text_of(response)
    assert account_of(app, customer) is None


@pytest.mark.parametrize(
    "url",
    [
        "/rejestracja/sposob",
        "/rejestracja/kod",
        "/rejestracja/sprawdz-poczte",
        "/rejestracja/haslo",
    ],
)
def test_no_step_is_reachable_before_the_ones_before_it(visitor, url):
    response = visitor.client.get(url, headers=visitor.headers)
    assert response.status_code == 303
    assert response.headers["Location"] == "/rejestracja/"


def test_cancel_clears_the_wizard(app, visitor, wizard, customers):
    wizard.start(customers["both"].number)
    response = visitor.post("/rejestracja/sposob", {"action": "cancel"})
    assert "Logowanie do Strefy Klienta" in text_of(response)
    response = visitor.client.get("/rejestracja/sposob", headers=visitor.headers)
    assert response.headers["Location"] == "/rejestracja/"


def test_back_keeps_the_customer_number(visitor, wizard, customers):
    wizard.start("200-001")
    response = visitor.get("/rejestracja/")
    assert field_value(response, "number") == "200-001"


def test_a_second_tab_finishing_the_same_wizard(app, visitor, wizard, auth, customers):
    customer = customers["both"]
    wizard.to_password(customer)
    # Two tabs share the session cookie: the first finishes...
    follow(visitor, wizard.set_password())
    first_hash = existing_account(app, customer)["password_hash"]
    # ...and the second one's post cannot create or overwrite anything.
    auth.log_out()
    response = wizard.set_password("Drugie#Haslo2")
    assert response.status_code == 200
    assert existing_account(app, customer)["password_hash"] == first_hash


@pytest.mark.config(RATELIMIT_NUMBER_LOOKUP="3/hour")
def test_registration_throttles_number_lookups(app, wizard, customers):
    for _ in range(3):
        wizard.start("999999")
    response = wizard.start(customers["both"].number)
    assert response.status_code == 429
    page = text_of(response)
    assert "Spróbuj ponownie za" in page
    assert field_value(response, "number") == customers["both"].number


@pytest.mark.config(RATELIMIT_CODE_SENDS_PER_CUSTOMER="2/15 minutes")
def test_resending_codes_is_throttled_per_customer(app, visitor, wizard, customers):
    customer = customers["both"]
    wizard.to_code(customer)
    wizard.resend()
    response = wizard.resend()
    assert "Nowego kodu ani linku nie można jeszcze wysłać" in text_of(response)
    assert "Spróbuj ponownie za" in text_of(response)
    assert len(outbox(app, "sms", customer.phone)) == 2


def test_a_form_posted_without_csrf_is_refused(visitor, customers):
    response = visitor.post("/rejestracja/", {"number": customers["both"].number}, csrf=False)
    assert response.status_code == 400
    assert "Formularz wygasł" in text_of(response)


def test_logs_tell_what_happened_without_secrets(app, wizard, customers, caplog):
    caplog.set_level("INFO")
    customer = customers["both"]
    code = wizard.to_password(customer)
    wizard.set_password()
    logs = caplog.text
    for event in ("code_sent", "code_verified", "account_created", "login_succeeded account="):
        assert event in logs, event
    for secret in (code, NEW_PASSWORD, "512345678", customer.email, "anna.nowak"):
        assert secret not in logs, secret
