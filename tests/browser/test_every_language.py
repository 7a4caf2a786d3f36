"""The main pages in every configured language (SPEC §12): axe-core on each, the page in
the language asked for. Language-independent steps (ids, names, addresses), so a new
language needs nothing here. With SCREENSHOTS_DIR set (`make screenshots`) the tour runs
at both sizes and writes SCREENSHOTS_DIR/<language>/ for translators' review; otherwise at
the phone size only (conftest's `language_tab`)."""

import pytest
from support import NEW_PASSWORD, TEST_PASSWORD


@pytest.fixture
def tab(language_tab, live, tmp_path):
    live.app.config["INVOICE_STORAGE"] = str(tmp_path / "storage")
    return language_tab


def check(tab, state: str, axe) -> None:
    """The page is in the tab's language, and axe-core finds nothing. Focus in forced
    colours does not depend on the language: the Polish journeys check it."""
    assert tab.evaluate("() => document.documentElement.lang") == tab.language, state
    axe(tab, state, forced_colors=False)


def submit(tab) -> None:
    """The panel's main button: Log in, Next."""
    tab.locator("#panel form button[type=submit]").first.click()


def wait_for_errors(tab) -> None:
    tab.locator("#error-summary").wait_for()


def test_registration_and_login_pages(tab, live, axe):
    tab.goto(live.url + "/")
    check(tab, "login page", axe)
    submit(tab)
    wait_for_errors(tab)
    check(tab, "login page with an error", axe)

    tab.goto(live.url + "/rejestracja/")
    check(tab, "registration: customer number", axe)
    submit(tab)
    wait_for_errors(tab)
    check(tab, "registration: customer number, with an error", axe)
    tab.locator("#number").fill("200001")
    submit(tab)
    tab.locator("input[name=channel][value=sms]").check()
    check(tab, "registration: channel", axe)
    tab.locator("#phone").fill("512 345 679")
    submit(tab)
    wait_for_errors(tab)
    check(tab, "registration: channel, with a mismatched phone", axe)
    tab.locator("#phone").fill("512 345 678")
    submit(tab)
    tab.locator("#code").wait_for()
    check(tab, "registration: SMS code", axe)
    tab.locator("#code").fill("12")
    submit(tab)
    wait_for_errors(tab)
    check(tab, "registration: SMS code, with an error", axe)
    tab.locator("#code").fill(live.last_code("+48512345678"))
    submit(tab)
    tab.locator("#password_repeat").wait_for()
    check(tab, "registration: password", axe)
    tab.locator("#password").fill("abc")
    submit(tab)
    wait_for_errors(tab)
    check(tab, "registration: password, with errors", axe)
    tab.locator("#password").fill(NEW_PASSWORD)
    tab.locator("#password_repeat").fill(NEW_PASSWORD)
    submit(tab)
    tab.wait_for_url(live.url + "/strona-glowna")
    check(tab, "Strona Główna after registration", axe)

    tab.goto(live.url + "/zapomnialem-hasla/")
    check(tab, "forgotten password", axe)
    tab.goto(live.url + "/nie-ma-takiej-strony")
    check(tab, "page not found", axe)


def test_signed_in_pages(tab, live, axe):
    tab.goto(live.url + "/")
    tab.locator("#login").fill("200005")
    tab.locator("#password").fill(TEST_PASSWORD)
    submit(tab)
    tab.wait_for_url(live.url + "/strona-glowna")
    check(tab, "Strona Główna with the e-Faktura banner", axe)
    tab.locator("#einvoice-activate-banner").click()
    tab.locator("dialog#dialog[open]").wait_for()
    check(tab, "the e-Faktura activation window", axe)
    tab.locator("#dialog-content form button[type=submit]").click()
    tab.locator("#dialog-content .error-summary").wait_for()
    check(tab, "the e-Faktura activation window with an error", axe)
    tab.keyboard.press("Escape")

    for path, state in (
        ("/moje-konto", "Moje Konto"),
        ("/faktury", "Faktury without invoices"),
        ("/moje-konto/haslo", "change password"),
    ):
        tab.goto(live.url + path)
        check(tab, state, axe)
