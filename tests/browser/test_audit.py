"""axe-core on the pages the journeys do not pass through, and the inputs' autocomplete
and inputmode (WCAG 1.3.5), under the same strict Content-Security-Policy."""

from steps import log_in


def test_pages_outside_the_journeys(page, live, axe):
    for path, state in (
        ("/instrukcja", "the printable guide"),
        ("/nie-ma-takiej-strony", "page not found"),
        ("/offline/pl", "the offline page"),
        ("/rejestracja/link/zepsuty-link", "an invalid registration link"),
        ("/e-faktura/potwierdz/zepsuty-link", "an invalid e-Faktura link"),
    ):
        page.goto(live.url + path)
        axe(page, state)
    log_in(page, live)
    for path, state in (
        ("/e-faktura/szczegoly", "e-Faktura details and terms"),
        ("/moje-konto/haslo", "change password"),
        ("/moje-konto/login", "the login name"),
    ):
        page.goto(live.url + path)
        axe(page, state)
    page.goto(live.url + "/moje-konto/haslo")
    page.get_by_role("button", name="Zmień hasło").click()
    page.locator("#error-summary").wait_for()
    axe(page, "change password, with errors")
    page.goto(live.url + "/moje-konto/login")
    page.get_by_label("Twój login").fill("12")
    page.get_by_role("button", name="Zapisz").click()
    page.locator("#error-summary").wait_for()
    axe(page, "the login name, with an error")


def test_inputs_say_what_they_hold(page, live):
    page.goto(live.url + "/")
    assert page.locator("#login").get_attribute("autocomplete") == "username"
    assert page.locator("#password").get_attribute("autocomplete") == "current-password"
    page.goto(live.url + "/rejestracja/")
    number = page.get_by_label("Twój Numer Ewidencyjny Klienta")
    assert number.get_attribute("inputmode") == "numeric"
    number.fill("200001")
    page.get_by_role("button", name="Dalej").click()
    page.get_by_role("radio", name="SMS").check()
    phone = page.get_by_label("Podaj swój numer telefonu")
    assert (phone.get_attribute("type"), phone.get_attribute("autocomplete")) == ("tel", "tel")
    page.get_by_role("radio", name="E-mail").check()
    email = page.get_by_label("Podaj swój adres e-mail")
    assert (email.get_attribute("type"), email.get_attribute("autocomplete")) == ("email", "email")
    assert email.get_attribute("spellcheck") == "false"
    # No input in the app limits its length or blocks paste.
    assert page.evaluate("() => document.querySelectorAll('[maxlength], [onpaste]').length") == 0
