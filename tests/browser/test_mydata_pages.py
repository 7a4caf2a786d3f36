"""Moje dane (issue 24) in a real browser, at a phone and a desktop size: every new page
and state under axe-core (and tabbed through in forced colours), reached by clicking as a
customer does, so htmx swaps them in."""

import re

from steps import log_in
from support import TEST_PASSWORD, activate_einvoice, found, outbox

NEW_EMAIL = "ewa.nowa@example.com"


def contact_link(live, email: str) -> str:
    body = outbox(live.app, "email", email)[-1].body_text
    return re.sub(r"^https?://[^/]+", live.url, found(r"https?://\S+/potwierdz/\S+", body).group(0))


def test_changing_the_contact_details(page, live, axe):
    log_in(page, live)
    page.goto(live.url + "/moje-konto")
    axe(page, "Moje Konto with the contact changes and Moje dane")

    page.get_by_role("link", name="Zmień adres e-mail").click()
    page.get_by_label("Nowy adres e-mail").wait_for()
    axe(page, "change the e-mail address")
    page.get_by_label("Obecne hasło").fill("Zle#Haslo1")
    page.get_by_label("Nowy adres e-mail").fill(NEW_EMAIL)
    page.get_by_role("button", name="Wyślij link").click()
    page.locator("#error-summary").wait_for()
    axe(page, "change the e-mail address, a wrong password")
    page.get_by_label("Obecne hasło").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Wyślij link").click()
    page.wait_for_url(live.url + "/moje-konto")
    page.get_by_text(f"Wysłaliśmy link na adres {NEW_EMAIL}").first.wait_for()
    axe(page, "Moje Konto, a new address waiting for its link")

    link = contact_link(live, NEW_EMAIL)
    page.goto(link)
    axe(page, "the new address's link, before the button")
    page.get_by_role("button", name="Potwierdź adres").click()
    page.get_by_role("heading", name="Twój kontaktowy adres e-mail został zmieniony.").wait_for()
    axe(page, "the new address confirmed")
    page.goto(link)
    page.get_by_role("heading", name="Ten link został już wykorzystany").wait_for()
    axe(page, "the new address's link used")

    page.goto(live.url + "/moje-konto")
    page.get_by_role("link", name="Zmień numer telefonu").click()
    page.get_by_label("Nowy numer telefonu komórkowego").wait_for()
    axe(page, "change the phone number")
    page.get_by_label("Obecne hasło").fill(TEST_PASSWORD)
    page.get_by_label("Nowy numer telefonu komórkowego").fill("22 123 45 67")
    page.get_by_role("button", name="Wyślij kod").click()
    page.locator("#error-summary").wait_for()
    axe(page, "change the phone number, a landline")
    page.get_by_label("Obecne hasło").fill(TEST_PASSWORD)
    page.get_by_label("Nowy numer telefonu komórkowego").fill("511 222 333")
    page.get_by_role("button", name="Wyślij kod").click()
    page.get_by_label("Podaj kod SMS").wait_for()
    axe(page, "the new phone's code")
    page.get_by_label("Podaj kod SMS").fill("000000")
    page.get_by_role("button", name="Dalej").click()
    page.locator("#error-summary").wait_for()
    axe(page, "the new phone's code, a wrong code")
    page.get_by_label("Podaj kod SMS").fill(live.last_code("+48511222333"))
    page.get_by_role("button", name="Dalej").click()
    page.wait_for_url(live.url + "/moje-konto")
    page.get_by_text("Twój kontaktowy numer telefonu został zmieniony.").first.wait_for()
    axe(page, "Moje Konto after the phone change")


def test_consents_and_the_data(page, live, axe):
    activate_einvoice(live.app)
    log_in(page, live)
    page.goto(live.url + "/moje-konto")
    page.get_by_role("link", name="Zgody", exact=True).click()
    page.get_by_role("heading", name="Historia Twoich zgód").wait_for()
    axe(page, "Zgody, none given")
    page.get_by_label("Zgadzam się na otrzymywanie informacji marketingowych SMS-em").check()
    page.get_by_role("button", name="Zapisz").click()
    page.get_by_text("zgoda udzielona").wait_for()
    axe(page, "Zgody with a history")

    page.goto(live.url + "/moje-konto")
    page.get_by_role("link", name="Pobierz moje dane").click()
    page.get_by_label("Obecne hasło").wait_for()
    axe(page, "Pobierz moje dane, the password")
    page.get_by_label("Obecne hasło").fill("Zle#Haslo1")
    page.get_by_role("button", name="Pokaż moje dane").click()
    page.locator("#error-summary").wait_for()
    axe(page, "Pobierz moje dane, a wrong password")
    page.get_by_label("Obecne hasło").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pokaż moje dane").click()
    page.get_by_role("link", name="Pobierz plik (JSON)").wait_for()
    axe(page, "the customer's data")
    with page.expect_download() as download:
        page.get_by_role("link", name="Pobierz plik (JSON)").click()
    assert download.value.suggested_filename == "strefa-klienta-200005.json"


def test_the_forgotten_number(page, live, axe):
    page.goto(live.url + "/")
    page.get_by_role("link", name="Nie pamiętasz numeru klienta?").click()
    field = page.get_by_label("Twój adres e-mail lub numer telefonu komórkowego")
    field.wait_for()
    axe(page, "Nie pamiętasz numeru klienta?")
    field.fill("22 123 45 67")
    page.get_by_role("button", name="Wyślij numer klienta").click()
    page.locator("#error-summary").wait_for()
    axe(page, "Nie pamiętasz numeru klienta?, not a mobile")
    field.fill("anna.nowak@example.com")
    page.get_by_role("button", name="Wyślij numer klienta").click()
    page.get_by_text("Jeśli ten adres lub numer jest w naszych danych").wait_for()
    axe(page, "Nie pamiętasz numeru klienta?, sent")


def test_deleting_the_account(page, live, axe):
    log_in(page, live)
    page.goto(live.url + "/moje-konto")
    page.get_by_role("link", name="Usuń konto w Strefie Klienta").click()
    page.get_by_label("Obecne hasło").wait_for()
    axe(page, "Usuń konto")
    page.get_by_label("Obecne hasło").fill("Zle#Haslo1")
    page.get_by_role("button", name="Usuń konto", exact=True).click()
    page.locator("#error-summary").wait_for()
    axe(page, "Usuń konto, a wrong password")
    page.get_by_label("Obecne hasło").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Usuń konto", exact=True).click()
    page.wait_for_url(live.url + "/konto-usuniete")
    axe(page, "the account deleted")


def test_every_page_in_every_language(language_tab, live, axe):
    """Each Moje dane page in each configured language: the page in it, axe-core clean
    (language-independent steps: paths and ids)."""
    tab = language_tab

    def check(state: str) -> None:
        assert tab.evaluate("() => document.documentElement.lang") == tab.language, state
        axe(tab, f"{state} ({tab.language})", forced_colors=False)

    tab.goto(live.url + "/nie-pamietam-numeru")
    check("Nie pamiętasz numeru klienta?")
    tab.locator("#panel form button[type=submit]").first.click()
    tab.locator("#error-summary").wait_for()
    check("Nie pamiętasz numeru klienta?, with an error")
    tab.goto(live.url + "/")
    tab.locator("#login").fill("200005")
    tab.locator("#password").fill(TEST_PASSWORD)
    tab.locator("#panel form button[type=submit]").first.click()
    tab.wait_for_url(live.url + "/strona-glowna")
    for path, state in (
        ("/moje-konto/adres-email", "change the e-mail address"),
        ("/moje-konto/telefon", "change the phone number"),
        ("/moje-konto/zgody", "Zgody"),
        ("/moje-konto/moje-dane", "Pobierz moje dane"),
        ("/moje-konto/usun-konto", "Usuń konto"),
    ):
        tab.goto(live.url + path)
        check(state)
    tab.locator("#current_password").fill(TEST_PASSWORD)
    tab.locator("#panel form button[type=submit]").first.click()
    tab.wait_for_url(live.url + "/konto-usuniete")
    check("the account deleted")


def tab_to(page, selector: str, limit: int = 40) -> None:
    """Presses Tab until the focused element matches `selector`, whose focus must show."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            style = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return {outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow}; }"
            )
            shown = style["outline"] != "none" and style["width"] != "0px"
            assert shown or style["shadow"] != "none", f"no visible focus on {selector}: {style}"
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_by_keyboard_only(page, live):
    """The forgotten number and the consents with Tab, Enter and Space, never a click (the
    shared login step aside)."""
    page.goto(live.url + "/")
    tab_to(page, "a[href='/nie-pamietam-numeru']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/nie-pamietam-numeru")
    tab_to(page, "#contact")
    page.keyboard.type("anna.nowak@example.com")
    page.keyboard.press("Enter")
    page.wait_for_url("**/nie-pamietam-numeru/wyslane")
    page.wait_for_function("() => document.activeElement.matches('h1')")

    log_in(page, live)
    page.goto(live.url + "/moje-konto/zgody")
    tab_to(page, "#sms")
    page.keyboard.press("Space")
    tab_to(page, "#panel form button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_text("zgoda udzielona").wait_for()
    assert page.locator("#sms").is_checked() and not page.locator("#email").is_checked()
