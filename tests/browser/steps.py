"""Steps the browser tests share."""

from support import TEST_PASSWORD


def log_in(
    page,
    live,
    number: str = "200005",
    password: str = TEST_PASSWORD,
    landing: str = "/strona-glowna",
) -> None:
    page.goto(live.url + "/")
    page.get_by_label("Numer klienta lub login").fill(number)
    page.get_by_label("Hasło", exact=True).fill(password)
    page.get_by_role("button", name="Zaloguj").click()
    page.wait_for_url(live.url + landing)


def to_code_step(page, live, number: str, typed_phone: str) -> None:
    """Registration from its start to the code step: the number, then SMS to the phone."""
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill(number)
    page.get_by_role("button", name="Dalej").click()
    send_code_by_sms(page, typed_phone)


def send_code_by_sms(page, typed_phone: str) -> None:
    """From the channel step to the code step: SMS, the phone typed."""
    page.get_by_role("radio", name="SMS").check()
    page.get_by_label("Podaj swój numer telefonu").fill(typed_phone)
    page.get_by_role("button", name="Dalej").click()
    page.get_by_label("Podaj kod SMS").wait_for()


def prove_by_sms(page, live, typed_phone: str, phone_on_file: str) -> None:
    """From the channel step to the password step: SMS, the phone, the code sent."""
    send_code_by_sms(page, typed_phone)
    page.get_by_label("Podaj kod SMS").fill(live.last_code(phone_on_file))
    page.get_by_role("button", name="Dalej").click()
    page.get_by_label("Podaj hasło").wait_for()


def open_menu(page) -> None:
    """On a phone the navigation and "Wyloguj" are behind "Menu": opens it if it shows."""
    toggle = page.locator(".site-menu__toggle")
    if toggle.is_visible() and not page.locator(".site-menu").evaluate("menu => menu.open"):
        toggle.click()
