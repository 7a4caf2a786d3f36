"""Issue 13's wizard details (SPEC §3, §9), through HTTP, plain and htmx: Back keeps what
was typed, each message once and in the right style, the dead end with a tel: link, and
the login field filled in after a password reset."""

import re

from support import field_value, follow, last_code, text_of

WHERE = "Numer klienta znajduje się na umowie"


def start(visitor, number, flow="/rejestracja/"):
    return visitor.post(flow, {"number": number, "action": "next"})


def test_back_from_the_code_step_keeps_the_phone_typed(visitor, customers):
    start(visitor, customers["both"].number)
    visitor.post(
        "/rejestracja/sposob", {"channel": "sms", "phone": "512 345 678", "action": "next"}
    )
    back = visitor.get("/rejestracja/sposob")
    assert field_value(back, "phone") == "512 345 678"
    (radio,) = re.findall(r'<input[^>]*value="sms"[^>]*>', back.get_data(as_text=True))
    assert "checked" in radio


def test_back_from_the_inbox_step_keeps_the_address_given(visitor, customers):
    start(visitor, customers["email_only"].number)
    visitor.post(
        "/rejestracja/sposob",
        {"channel": "email", "email": "Jan.Kowalski@example.com", "action": "next"},
    )
    back = visitor.get("/rejestracja/sposob")
    # As on file: it matched what was typed, and the session keeps no contact datum.
    assert field_value(back, "email") == "jan.kowalski@example.com"


def test_an_unknown_number_says_where_to_find_it_once(visitor, customers):
    page = text_of(start(visitor, "999999"))
    assert "Nie znaleźliśmy klienta o takim numerze" in page
    assert page.count(WHERE) == 1  # the hint, not again in both copies of the error


def test_no_contact_data_is_a_message_with_a_phone_link(visitor, customers):
    response = start(visitor, customers["neither"].number)
    body = response.get_data(as_text=True).split('<footer class="site-footer">')[0]
    assert 'href="tel:221234567"' in body  # in the message, not only the footer's
    assert 'aria-invalid="true"' not in body  # not a mistake in the field


def test_a_throttled_resend_is_shown_as_a_problem(app, visitor, customers):
    start(visitor, customers["both"].number)
    visitor.post("/rejestracja/sposob", {"channel": "sms", "phone": "512345678", "action": "next"})
    for _ in range(5):
        page = visitor.post("/rejestracja/wyslij-ponownie")
    body = page.get_data(as_text=True)
    assert "Nowego kodu ani linku nie można jeszcze wysłać." in text_of(page)
    assert 'class="status__problem"' in body


def test_after_a_password_reset_the_login_is_filled_in(app, visitor, customers):
    customer = customers["registered"]
    start(visitor, customer.number, "/zapomnialem-hasla/")
    visitor.post(
        "/zapomnialem-hasla/sposob",
        {"channel": "sms", "phone": "600 700 805", "action": "next"},
    )
    visitor.post(
        "/zapomnialem-hasla/kod",
        {"code": last_code(app, customer.phone), "action": "next"},
    )
    done = follow(
        visitor,
        visitor.post(
            "/zapomnialem-hasla/haslo",
            {"password": "Nowe#Haslo1", "password_repeat": "Nowe#Haslo1", "action": "next"},
        ),
    )
    assert field_value(done, "login") == customer.number
