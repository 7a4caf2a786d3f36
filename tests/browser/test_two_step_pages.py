"""Two-step login (SPEC §16, issue 25) in a real browser at a phone and a desktop size:
switching it on (password, the QR code and key, the recovery codes), the login's second
step with its error, switching it off; axe on each state."""

import re

import pyotp
from steps import log_in, open_menu
from support import TEST_PASSWORD


def test_two_step_login_on_used_and_off(page, live, axe):
    log_in(page, live)
    page.goto(live.url + "/moje-konto/bezpieczenstwo")
    page.get_by_role("link", name="Włącz logowanie dwuetapowe").click()
    page.get_by_label("Obecne hasło").wait_for()
    axe(page, "Włącz logowanie dwuetapowe: the password")
    page.get_by_role("button", name="Dalej").click()
    page.locator(".error-summary").wait_for()
    axe(page, "Włącz logowanie dwuetapowe: no password")
    page.get_by_label("Obecne hasło").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Dalej").click()
    qr = page.get_by_role("img", name="Kod QR dla aplikacji uwierzytelniającej")
    qr.wait_for()
    secret = "".join(page.locator(".secret-key code").inner_text().split())
    axe(page, "Skonfiguruj aplikację uwierzytelniającą")
    page.get_by_label("Kod z aplikacji uwierzytelniającej").fill("000000")
    page.get_by_role("button", name="Włącz logowanie dwuetapowe").click()
    page.get_by_text("Kod jest nieprawidłowy.").first.wait_for()
    axe(page, "Skonfiguruj aplikację uwierzytelniającą: a wrong code")
    page.get_by_label("Kod z aplikacji uwierzytelniającej").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Włącz logowanie dwuetapowe").click()
    page.get_by_role("heading", name="Twoje kody odzyskiwania").wait_for()
    codes = re.findall(r"[a-z2-9]{5}-[a-z2-9]{5}", page.locator(".recovery-codes").inner_text())
    assert len(codes) == 10
    axe(page, "Twoje kody odzyskiwania")
    page.get_by_role("link", name="Kody są zapisane").click()
    page.get_by_text("Masz 10 niewykorzystanych kodów odzyskiwania.").wait_for()
    axe(page, "Bezpieczeństwo with two-step login on")

    open_menu(page)
    page.get_by_role("button", name="Wyloguj", exact=True).first.click()
    page.wait_for_url(live.url + "/")
    page.get_by_label("Numer klienta lub login").fill("200005")
    page.get_by_label("Hasło", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Zaloguj").click()
    code_field = page.get_by_label("Podaj kod z aplikacji uwierzytelniającej")
    code_field.wait_for()
    assert page.title().startswith("Podaj kod z aplikacji uwierzytelniającej")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    axe(page, "the login's second step")
    code_field.fill("123 456")
    page.get_by_role("button", name="Zaloguj").click()
    page.get_by_text("Kod jest nieprawidłowy.").first.wait_for()
    assert page.title().startswith("Błąd")
    axe(page, "the login's second step: a wrong code")
    page.get_by_label("Podaj kod z aplikacji uwierzytelniającej").fill(codes[0])
    page.get_by_role("button", name="Zaloguj").click()
    page.wait_for_url(live.url + "/strona-glowna")

    page.goto(live.url + "/moje-konto/bezpieczenstwo")
    page.get_by_role("link", name="Wyłącz logowanie dwuetapowe").click()
    page.get_by_label("Obecne hasło").fill(TEST_PASSWORD)
    page.get_by_label("Kod z aplikacji uwierzytelniającej lub kod odzyskiwania").fill(codes[1])
    axe(page, "Wyłącz logowanie dwuetapowe")
    page.get_by_role("button", name="Wyłącz logowanie dwuetapowe").click()
    page.get_by_text("Logowanie dwuetapowe jest wyłączone.").wait_for()
    axe(page, "Bezpieczeństwo with two-step login off again")


def test_two_step_login_by_sms(page, live, axe):
    log_in(page, live)
    page.goto(live.url + "/moje-konto/bezpieczenstwo/dwuetapowe/wlacz")
    page.get_by_role("radio", name="SMS-em na mój numer komórkowy").check()
    page.get_by_label("Obecne hasło").fill(TEST_PASSWORD)
    axe(page, "Włącz logowanie dwuetapowe: SMS chosen")
    page.get_by_role("button", name="Dalej").click()
    code_field = page.get_by_label("Podaj kod SMS")
    code_field.wait_for()
    axe(page, "Włącz logowanie dwuetapowe: the SMS code")
    code_field.fill(live.last_code("+48600700805"))
    page.get_by_role("button", name="Włącz logowanie dwuetapowe").click()
    page.get_by_role("heading", name="Twoje kody odzyskiwania").wait_for()
    page.get_by_role("link", name="Kody są zapisane").click()
    page.get_by_text("wysyłamy SMS-em").wait_for()
    axe(page, "Bezpieczeństwo with two-step login by SMS")

    open_menu(page)
    page.get_by_role("button", name="Wyloguj", exact=True).first.click()
    page.wait_for_url(live.url + "/")
    page.get_by_label("Numer klienta lub login").fill("200005")
    page.get_by_label("Hasło", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Zaloguj").click()
    code_field = page.get_by_label("Podaj kod SMS")
    code_field.wait_for()
    assert page.title().startswith("Podaj kod SMS")
    axe(page, "the login's second step by SMS")
    code_field.fill(live.last_code("+48600700805"))
    page.get_by_role("button", name="Zaloguj").click()
    page.wait_for_url(live.url + "/strona-glowna")
