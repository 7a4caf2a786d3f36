"""Rejestracja (SPEC §3), through HTTP, each test both as plain requests and as htmx."""

import pytest
from helpers import assert_shape, field_value, follow, text_of
from support import account_of, last_code, last_link, outbox

NEW_PASSWORD = "Nowe#Haslo1"


def start(visitor, number):
    return visitor.post("/rejestracja/", {"number": number, "action": "next"})


def choose(visitor, channel, value):
    field = "phone" if channel == "sms" else "email"
    return visitor.post("/rejestracja/sposob", {"channel": channel, field: value, "action": "next"})


def set_password(visitor, password=NEW_PASSWORD, repeat=None):
    return visitor.post(
        "/rejestracja/haslo",
        {"password": password, "password_repeat": repeat or password, "action": "next"},
    )


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


def test_registration_by_sms(app, visitor, customers):
    customer = customers["both"]
    response = start(visitor, "200 00-1")
    assert response.status_code == 200
    assert_shape(visitor, response)
    assert "Wybierz sposób rejestracji:" in text_of(response)
    if visitor.htmx:
        assert response.headers["HX-Push-Url"] == "/rejestracja/sposob"

    response = choose(visitor, "sms", "0048 512-345-678")
    page = text_of(response)
    assert (
        "Na podany numer telefonu został wysłany kod umożliwiający ustanowienie hasła dostępu."
    ) in page
    assert "Nie otrzymałeś SMS-a?" in page
    code = last_code(app, customer.phone)
    assert code not in response.get_data(as_text=True)

    response = visitor.post(
        "/rejestracja/kod", {"code": f"{code[:3]} {code[3:]}", "action": "next"}
    )
    page = text_of(response)
    assert "Podaj hasło" in page and "Powtórz hasło" in page
    assert (
        "Hasło musi zawierać od 8 do 32 znaków, co najmniej jedną: wielką literę, małą "
        "literę oraz cyfrę. Hasło może zawierać znaki specjalne: "
        "!@#$%^&*(){}[]\\:\";'<>?,./-_=+"
    ) in page

    response = follow(visitor, set_password(visitor))
    assert response.status_code == 200
    assert "Strona Główna" in text_of(response)
    assert "Twoje konto zostało utworzone" in text_of(response)
    assert account_of(app, customer) is not None
    # The channel not used hears about the new account.
    notices = outbox(app, "email", customer.email)
    assert [message.subject for message in notices] == [
        "Twoje konto w Strefie Klienta zostało utworzone"
    ]


def test_registration_by_email_link(app, visitor, customers):
    customer = customers["email_only"]
    start(visitor, customer.number)
    response = choose(visitor, "email", "  Jan.KOWALSKI@example.com ")
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
    assert "Strona Główna" in text_of(response)
    assert account_of(app, customer) is not None


def test_only_channels_with_data_on_file_are_offered(visitor, customers):
    response = start(visitor, customers["phone_only"].number)
    body = response.get_data(as_text=True)
    assert 'value="sms"' in body and 'value="email"' not in body
    assert "nie mamy Twojego adresu e-mail" in text_of(response)

    response = choose(visitor, "email", "someone@example.com")
    assert response.status_code == 422


def test_a_customer_with_no_contact_data_is_sent_to_the_centre(visitor, customers):
    response = start(visitor, customers["neither"].number)
    assert response.status_code == 422
    page = text_of(response)
    assert "Centrum Obsługi Klienta" in page and "22 123 45 67" in page


def test_an_already_registered_number(visitor, customers):
    response = start(visitor, customers["registered"].number)
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


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Podaj numer klienta."),
        ("abc123", "Numer klienta składa się wyłącznie z cyfr"),
        ("1" * 200, "Numer klienta ma najwyżej 20 cyfr"),
        ("999999", "Nie znaleźliśmy klienta o takim numerze"),
    ],
)
def test_bad_customer_numbers(visitor, customers, typed, message):
    response = start(visitor, typed)
    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert "Wystąpił problem" in page
    body = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in body
    assert 'aria-describedby="number-hint number-error"' in body
    assert "<title>Błąd: Rejestracja" in body
    # What the customer typed stays in the field.
    assert field_value(response, "number") == typed


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Podaj swój numer telefonu."),
        ("12345", "Podaj numer telefonu w poprawnym formacie"),
        ("six hundred", "Podaj numer telefonu w poprawnym formacie"),
        ("512 345 679", "Podany numer telefonu nie zgadza się"),
        ("+44 20 7946 0958", "Podany numer telefonu nie zgadza się"),
    ],
)
def test_bad_phone_numbers(visitor, customers, typed, message):
    start(visitor, customers["both"].number)
    response = choose(visitor, "sms", typed)
    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert "512 345 678" not in page and "+48512345678" not in page  # never revealed
    assert field_value(response, "phone") == typed


@pytest.mark.parametrize(
    "typed", ["512 345 678", "+48512345678", "0048 512-345-678", "(+48) 512 345 678", "512-345-678"]
)
def test_every_common_form_of_the_phone_number_matches(app, visitor, customers, typed):
    start(visitor, customers["both"].number)
    response = choose(visitor, "sms", typed)
    assert "Podaj kod SMS" in text_of(response)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Podaj swój adres e-mail."),
        ("jan.kowalski", "Podaj adres e-mail w poprawnym formacie"),
        ("other@example.com", "Podany adres e-mail nie zgadza się"),
    ],
)
def test_bad_email_addresses(visitor, customers, typed, message):
    start(visitor, customers["both"].number)
    response = choose(visitor, "email", typed)
    assert response.status_code == 422
    assert message in text_of(response)
    assert "anna.nowak@example.com" not in response.get_data(as_text=True)
    assert field_value(response, "email") == typed


def test_no_channel_chosen(visitor, customers):
    start(visitor, customers["both"].number)
    response = visitor.post("/rejestracja/sposob", {"action": "next"})
    assert response.status_code == 422
    assert "Wybierz, jak chcesz otrzymać kod lub link." in text_of(response)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Podaj kod z SMS-a."),
        ("12a456", "Kod składa się wyłącznie z cyfr"),
        ("123", "Kod ma 6 cyfr"),
        ("1234567", "Kod ma 6 cyfr"),
    ],
)
def test_badly_typed_codes(app, visitor, customers, typed, message):
    start(visitor, customers["both"].number)
    choose(visitor, "sms", "512345678")
    response = visitor.post("/rejestracja/kod", {"code": typed, "action": "next"})
    assert response.status_code == 422
    assert message in text_of(response)
    assert field_value(response, "code") == typed


def test_wrong_codes_count_down_and_then_the_code_dies(app, visitor, customers):
    customer = customers["both"]
    start(visitor, customer.number)
    choose(visitor, "sms", "512345678")
    code = last_code(app, customer.phone)
    wrong = "000000" if code != "000000" else "111111"
    for tries_left in (4, 3, 2):
        response = visitor.post("/rejestracja/kod", {"code": wrong, "action": "next"})
        assert response.status_code == 422
        assert f"Pozostały {tries_left} próby" in text_of(response)
    response = visitor.post("/rejestracja/kod", {"code": wrong, "action": "next"})
    assert "Pozostała 1 próba" in text_of(response)
    response = visitor.post("/rejestracja/kod", {"code": wrong, "action": "next"})
    assert "Wyślij nowy kod" in text_of(response)
    # Even the right code is refused now.
    response = visitor.post("/rejestracja/kod", {"code": code, "action": "next"})
    assert response.status_code == 422
    assert "zbyt wiele razy" in text_of(response)


def test_a_new_code_replaces_the_old_one(app, visitor, customers):
    customer = customers["both"]
    start(visitor, customer.number)
    choose(visitor, "sms", "512345678")
    old_code = last_code(app, customer.phone)
    response = visitor.post("/rejestracja/wyslij-ponownie")
    assert "Wysłaliśmy nowy kod." in text_of(response)
    new_code = last_code(app, customer.phone)
    if new_code != old_code:  # one in a million they are the same
        response = visitor.post("/rejestracja/kod", {"code": old_code, "action": "next"})
        assert "Kod jest nieprawidłowy" in text_of(response)
    response = visitor.post("/rejestracja/kod", {"code": new_code, "action": "next"})
    assert "Podaj hasło" in text_of(response)


def test_an_expired_code(app, visitor, customers):
    app.config["SMS_CODE_LIFETIME"] = __import__("datetime").timedelta(seconds=-1)
    start(visitor, customers["both"].number)
    choose(visitor, "sms", "512345678")
    code = last_code(app, customers["both"].phone)
    response = visitor.post("/rejestracja/kod", {"code": code, "action": "next"})
    assert "Kod wygasł" in text_of(response)


def test_a_used_code(app, visitor, customers):
    customer = customers["both"]
    start(visitor, customer.number)
    choose(visitor, "sms", "512345678")
    code = last_code(app, customer.phone)
    visitor.post("/rejestracja/kod", {"code": code, "action": "next"})
    response = visitor.post("/rejestracja/kod", {"code": code, "action": "next"})
    assert "został już wykorzystany" in text_of(response)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Krotk1!", "co najmniej 8 znaków"),
        ("Bardzo#Dlugie1" * 3, "najwyżej 32 znaki"),
        ("male#litery1", "co najmniej jedną wielką literę"),
        ("WIELKIE#LITERY1", "co najmniej jedną małą literę"),
        ("Bez#Cyfry", "co najmniej jedną cyfrę"),
        ("Haslo z spacja1", "niedozwolony znak: spacja"),
        ("Zażółć#Gęślą1", "niedozwolone znaki: „ż”, „ó”, „ł”, „ć”, „ę”, „ś”, „ą”"),
        ("Emoji#Haslo1🙂", "niedozwolony znak: „🙂”"),
        ("Password1", "zbyt popularne"),
        ("Qwerty123", "zbyt popularne"),
        ("Ab#200001x", "nie może zawierać Twojego numeru klienta"),
    ],
)
def test_passwords_breaking_the_rule(app, visitor, customers, password, message):
    customer = customers["both"]
    start(visitor, customer.number)
    choose(visitor, "sms", "512345678")
    visitor.post("/rejestracja/kod", {"code": last_code(app, customer.phone), "action": "next"})
    response = set_password(visitor, password)
    assert response.status_code == 422
    assert message in text_of(response)
    assert password not in response.get_data(as_text=True)  # passwords are never echoed
    assert account_of(app, customer) is None


def test_mismatched_password_repeat(app, visitor, customers):
    customer = customers["both"]
    start(visitor, customer.number)
    choose(visitor, "sms", "512345678")
    visitor.post("/rejestracja/kod", {"code": last_code(app, customer.phone), "action": "next"})
    response = set_password(visitor, NEW_PASSWORD, "Inne#Haslo2")
    assert response.status_code == 422
    assert "Podane hasła nie są takie same" in text_of(response)


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


def test_cancel_clears_the_wizard(app, visitor, customers):
    start(visitor, customers["both"].number)
    response = visitor.post("/rejestracja/sposob", {"action": "cancel"})
    assert "Logowanie do Strefy Klienta" in text_of(response)
    response = visitor.client.get("/rejestracja/sposob", headers=visitor.headers)
    assert response.headers["Location"] == "/rejestracja/"


def test_back_keeps_the_customer_number(visitor, customers):
    start(visitor, "200-001")
    response = visitor.get("/rejestracja/")
    assert field_value(response, "number") == "200-001"


def test_a_second_tab_finishing_the_same_wizard(app, visitor, customers):
    customer = customers["both"]
    start(visitor, customer.number)
    choose(visitor, "sms", "512345678")
    visitor.post("/rejestracja/kod", {"code": last_code(app, customer.phone), "action": "next"})
    # Two tabs share the session cookie: the first finishes...
    follow(visitor, set_password(visitor))
    first_hash = account_of(app, customer)["password_hash"]
    # ...and the second one's post cannot create or overwrite anything.
    follow(visitor, visitor.post("/wyloguj"))
    response = set_password(visitor, "Drugie#Haslo2")
    assert response.status_code == 200
    assert account_of(app, customer)["password_hash"] == first_hash


def test_registration_throttles_number_lookups(app, visitor, customers):
    app.config["RATELIMIT_NUMBER_LOOKUP"] = "3/hour"
    for _ in range(3):
        start(visitor, "999999")
    response = start(visitor, customers["both"].number)
    assert response.status_code == 429
    page = text_of(response)
    assert "Spróbuj ponownie za" in page
    assert field_value(response, "number") == customers["both"].number


def test_resending_codes_is_throttled_per_customer(app, visitor, customers):
    app.config["RATELIMIT_CODE_SENDS_PER_CUSTOMER"] = "2/15 minutes"
    customer = customers["both"]
    start(visitor, customer.number)
    choose(visitor, "sms", "512345678")
    visitor.post("/rejestracja/wyslij-ponownie")
    response = visitor.post("/rejestracja/wyslij-ponownie")
    assert "Nowego kodu ani linku nie można jeszcze wysłać" in text_of(response)
    assert "Spróbuj ponownie za" in text_of(response)
    assert len(outbox(app, "sms", customer.phone)) == 2


def test_a_form_posted_without_csrf_is_refused(visitor, customers):
    response = visitor.post("/rejestracja/", {"number": customers["both"].number}, csrf=False)
    assert response.status_code == 400
    assert "Formularz wygasł" in text_of(response)


def test_logs_tell_what_happened_without_secrets(app, visitor, customers, caplog):
    caplog.set_level("INFO")
    customer = customers["both"]
    start(visitor, customer.number)
    choose(visitor, "sms", "512345678")
    code = last_code(app, customer.phone)
    visitor.post("/rejestracja/kod", {"code": code, "action": "next"})
    set_password(visitor)
    logs = caplog.text
    for event in ("code sent", "code verified", "account created", "login account="):
        assert event in logs, event
    for secret in (code, NEW_PASSWORD, "512345678", customer.email, "anna.nowak"):
        assert secret not in logs, secret
