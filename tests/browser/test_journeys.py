"""Every journey in a real browser at a phone and a desktop size, with axe-core run on
every page and wizard step, in their error states too (SPEC §9, issue 4)."""

import pytest
from conftest import browser_tab
from steps import log_in, open_menu, prove_by_sms
from support import NEW_PASSWORD, TEST_PASSWORD


def focused(page) -> str:
    """What has focus: the element's id, or its tag and text."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.id || (e.tagName + ':' + e.textContent.trim().slice(0, 60)); }"
    )


def wait_for_step(page, heading: str):
    page.get_by_role("heading", name=heading).first.wait_for()


def test_register_by_sms(page, live, axe):
    page.goto(live.url + "/")
    axe(page, "login page")
    page.get_by_role("link", name="Rejestracja").click()
    page.get_by_label("Twój Numer Ewidencyjny Klienta").wait_for()
    assert page.title() == "Twój Numer Ewidencyjny Klienta – Rejestracja – Strefa Klienta Kablonet"
    axe(page, "registration: customer number")

    page.get_by_role("button", name="Dalej").click()  # nothing typed
    page.locator("#error-summary").wait_for()
    assert focused(page) == "error-summary"
    assert page.title().startswith("Błąd: ")
    field = page.get_by_label("Twój Numer Ewidencyjny Klienta")
    assert field.get_attribute("aria-invalid") == "true"
    assert "number-error" in field.get_attribute("aria-describedby")
    axe(page, "registration: customer number, with an error")

    field.fill("200 001")
    page.get_by_role("button", name="Dalej").click()
    page.get_by_role("group", name="Wybierz sposób rejestracji:").wait_for()
    assert page.url.endswith("/rejestracja/sposob")
    assert not page.title().startswith("Błąd")
    assert focused(page).startswith("H1:")
    axe(page, "registration: channel")

    page.get_by_role("radio", name="SMS").check()
    page.get_by_label("Podaj swój numer telefonu").fill("512 345 679")
    page.get_by_role("button", name="Dalej").click()
    page.locator("#error-summary").wait_for()
    assert page.get_by_label("Podaj swój numer telefonu").input_value() == "512 345 679"
    axe(page, "registration: channel, with a mismatched phone")

    page.get_by_label("Podaj swój numer telefonu").fill("+48 512 345 678")
    page.get_by_role("button", name="Dalej").click()
    page.get_by_label("Podaj kod SMS").wait_for()
    assert "Wysłaliśmy kod SMS" in page.locator("#status").inner_text()  # told, and
    # not shown a second time in a box above the step's own "został wysłany kod".
    assert page.locator("#status").evaluate("e => getComputedStyle(e).borderTopWidth") == "0px"
    assert page.get_by_text("Na podany numer telefonu został wysłany kod").is_visible()
    code_field = page.get_by_label("Podaj kod SMS")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    axe(page, "registration: SMS code")

    code_field.fill("12")
    page.get_by_role("button", name="Dalej").click()
    page.locator("#error-summary").wait_for()
    axe(page, "registration: SMS code, with an error")

    # Pasting works: the code goes into the one box as a whole.
    page.get_by_label("Podaj kod SMS").fill("")
    page.get_by_label("Podaj kod SMS").focus()
    page.keyboard.insert_text(live.last_code("+48512345678"))
    page.get_by_role("button", name="Dalej").click()
    page.get_by_label("Podaj hasło").wait_for()
    assert page.url.endswith("/rejestracja/haslo")
    axe(page, "registration: password")

    page.get_by_label("Podaj hasło").fill("Zażółć1")
    page.get_by_label("Powtórz hasło").fill("Zażółć1")
    page.get_by_role("button", name="Dalej").click()
    page.locator("#error-summary").wait_for()
    assert page.get_by_label("Podaj hasło").input_value() == ""  # passwords are not kept
    axe(page, "registration: password, with errors")

    page.get_by_label("Podaj hasło").fill(NEW_PASSWORD)
    page.get_by_label("Powtórz hasło").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Dalej").click()
    page.wait_for_url(live.url + "/strona-glowna")
    assert "Twoje konto zostało utworzone" in page.locator("#status").inner_text()
    axe(page, "Strona Główna after registration")


def test_register_by_email_link(page, live, axe):
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200002")
    page.get_by_role("button", name="Dalej").click()
    page.get_by_role("radio", name="E-mail").check()
    page.get_by_label("Podaj swój adres e-mail").fill(" Jan.Kowalski@example.com ")
    page.get_by_role("button", name="Dalej").click()
    wait_for_step(page, "Sprawdź pocztę")
    assert "jan.kowalski@example.com" in page.locator("#panel").inner_text()
    axe(page, "registration: check your e-mail")

    page.goto(live.last_link("jan.kowalski@example.com"))
    page.get_by_label("Podaj hasło").fill(NEW_PASSWORD)
    page.get_by_label("Powtórz hasło").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Dalej").click()
    page.wait_for_url(live.url + "/strona-glowna")

    # The used link now says so (opened where nobody is logged in).
    open_menu(page)
    page.get_by_role("button", name="Wyloguj").click()
    wait_for_step(page, "Logowanie do Strefy Klienta")
    page.goto(live.last_link("jan.kowalski@example.com"))
    wait_for_step(page, "Ten link został już wykorzystany")
    axe(page, "a used registration link")


def test_forgotten_password(page, live, axe):
    page.goto(live.url + "/")
    page.get_by_role("link", name="Zapomniałem hasła").click()
    page.get_by_label("Numer klienta lub login").wait_for()
    axe(page, "forgotten password: customer number")
    page.get_by_label("Numer klienta lub login").fill("200005")
    page.get_by_role("button", name="Dalej").click()
    prove_by_sms(page, live, "600700805", "+48600700805")
    page.get_by_label("Podaj hasło").fill(NEW_PASSWORD)
    page.get_by_label("Powtórz hasło").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Dalej").click()
    wait_for_step(page, "Logowanie do Strefy Klienta")
    assert "Hasło zostało zmienione" in page.locator("#status").inner_text()
    axe(page, "login page after a password reset")


def test_login_errors_and_logout(page, live, axe):
    page.goto(live.url + "/")
    page.get_by_label("Numer klienta lub login").fill("200005")
    page.get_by_label("Hasło", exact=True).fill("Zle#Haslo1")
    page.get_by_role("button", name="Zaloguj").click()
    page.locator("#error-summary").wait_for()
    assert page.title().startswith("Błąd: ")
    assert page.get_by_label("Numer klienta lub login").input_value() == "200005"
    axe(page, "login page with an error")
    page.get_by_label("Hasło", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Zaloguj").click()
    page.wait_for_url(live.url + "/strona-glowna")
    open_menu(page)
    page.get_by_role("link", name="Moje Konto").click()
    page.wait_for_url(live.url + "/moje-konto")
    axe(page, "Moje Konto")
    open_menu(page)
    page.get_by_role("button", name="Wyloguj").click()
    wait_for_step(page, "Logowanie do Strefy Klienta")
    assert "Wylogowano" in page.locator("#status").inner_text()


def test_activate_from_my_account_and_switch_off(page, live, axe):
    log_in(page, live)
    page.goto(live.url + "/moje-konto")
    page.locator("#einvoice-activate-card").click()
    page.locator("dialog#dialog[open]").wait_for()
    page.get_by_label("Akceptuję regulamin usługi e-Faktura").check()
    page.get_by_role("button", name="Aktywuj e-Fakturę").click()
    page.get_by_role("heading", name="e-Faktura została aktywowana").wait_for()
    assert "aktywna" in page.locator("#einvoice-card").inner_text()
    page.get_by_role("button", name="Zamknij").click()
    axe(page, "Moje Konto with e-Faktura active")

    page.get_by_role("link", name="Wyłącz e-Fakturę").click()
    wait_for_step(page, "Wyłączyć e-Fakturę?")
    axe(page, "switching e-Faktura off: confirmation")
    page.get_by_role("button", name="Tak, wyłącz e-Fakturę").click()
    page.wait_for_url(live.url + "/moje-konto")
    assert "nieaktywna" in page.locator("#einvoice-card").inner_text()


def test_network_failure_is_told_and_nothing_typed_is_lost(page, live):
    page.allowed_console_errors += ["net::ERR_INTERNET_DISCONNECTED", "Failed to fetch"]
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    page.context.set_offline(True)
    page.get_by_role("button", name="Dalej").click()
    page.wait_for_function(
        "() => document.getElementById('status').textContent.includes('internet')"
    )
    assert page.get_by_label("Twój Numer Ewidencyjny Klienta").input_value() == "200001"
    page.context.set_offline(False)


def test_the_checklist_is_neutral_until_typing_and_tells_every_change(page, live):
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    page.get_by_role("button", name="Dalej").click()
    prove_by_sms(page, live, "512345678", "+48512345678")
    marks = (
        "() => [...document.querySelectorAll('[data-password-checklist] li')]"
        ".map(item => getComputedStyle(item, '::before').content)"
    )
    assert not any("✗" in mark for mark in page.evaluate(marks))  # nothing typed, nothing wrong
    # Three rules met within one pause: all three are told, not only the last.
    page.get_by_label("Podaj hasło").type("Ab1")
    announcer = page.locator("[data-checklist-announcer]")
    page.wait_for_function(
        "() => document.querySelector('[data-checklist-announcer]').textContent !== ''"
    )
    told = announcer.text_content()
    for rule in ("wielka litera", "mała litera", "cyfra"):
        assert f"{rule}: warunek spełniony" in told, told
    assert any("✗" in mark for mark in page.evaluate(marks))  # typed: the length is not met


def test_password_checklist_while_typing(page, live):
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    page.get_by_role("button", name="Dalej").click()
    prove_by_sms(page, live, "512345678", "+48512345678")
    password = page.get_by_label("Podaj hasło")
    checklist = page.locator("[data-password-checklist]")
    assert checklist.is_visible()

    def met():
        return set(
            checklist.locator(".checklist__item--met").evaluate_all(
                "items => items.map(item => item.dataset.rule)"
            )
        )

    requests = []
    page.on("request", lambda request: requests.append(request.url))
    password.type("abc")
    assert met() == {"lower", "allowed"}
    password.type("DEF12")
    assert met() == {"length", "upper", "lower", "digit", "allowed"}
    password.type("ą")
    assert "allowed" not in met()
    assert requests == []  # typing sends nothing anywhere
    page.wait_for_function(
        "() => document.querySelector('[data-checklist-announcer]').textContent !== ''"
    )
    # The show/hide toggle, and the password never left the browser while typing.
    toggle = page.locator("[data-show-password][aria-controls=password]")
    assert toggle.inner_text().startswith("Pokaż hasło")
    toggle.click()
    assert toggle.inner_text().startswith("Ukryj hasło")
    assert password.get_attribute("type") == "text"
    # Announced once (its new name and the live region), not also as a pressed button.
    assert toggle.get_attribute("aria-pressed") is None
    assert page.locator("#status").inner_text() == "Hasło jest widoczne"
    toggle.click()
    assert password.get_attribute("type") == "password"


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_an_error_summary_link_shows_the_fields_label(browser, live, size):
    """Following a summary's link focuses the field with its label in view (GOV.UK's way),
    not the field alone at the top of the window."""
    with browser_tab(browser, live, size) as tab:
        tab.set_viewport_size({"width": tab.viewport_size["width"], "height": 400})
        tab.goto(live.url + "/")
        tab.get_by_role("button", name="Zaloguj").click()
        summary = tab.locator("#error-summary")
        summary.wait_for()
        summary.get_by_role("link").first.click()
        assert tab.evaluate("() => document.activeElement.id") == "login"
        label_top = tab.evaluate(
            "() => document.querySelector('label[for=login]').getBoundingClientRect().top"
        )
        assert -1 < label_top < 400  # scrolled to the top: a fraction of a pixel either way
