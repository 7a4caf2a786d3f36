"""Keyboard only (WCAG 2.1.1): the journeys with Tab, Shift+Tab, Enter, Space and Escape,
never a click; focus always visible where it lands."""

from support import NEW_PASSWORD, TEST_PASSWORD


def tab_to(page, selector: str, limit: int = 40, backwards: bool = False) -> None:
    """Presses Tab (or Shift+Tab) until the focused element matches `selector`."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            assert_focus_visible(page)
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"Tab never reached {selector}")


def assert_focus_visible(page) -> None:
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return {outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow,"
        " background: s.backgroundColor}; }"
    )
    visible = (style["outline"] != "none" and style["width"] != "0px") or style["shadow"] != "none"
    assert visible, f"no visible focus indicator: {style}"


def arrive(page, url_pattern: str) -> None:
    """Waits for the next step: its URL pushed and focus moved to its heading."""
    page.wait_for_url(url_pattern)
    page.wait_for_function("() => document.activeElement.matches('h1, #error-summary')")


def focus_is(page, selector: str) -> bool:
    return page.evaluate("s => document.activeElement.matches(s)", selector)


def log_in_by_keyboard(page, password: str) -> None:
    tab_to(page, "#login")
    page.keyboard.type("200005")
    tab_to(page, "#password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/strona-glowna")


def start_wizard_by_keyboard(page, live, prefix: str, number: str) -> None:
    """From the login page's link to the wizard's channel step."""
    page.goto(live.url + "/")
    tab_to(page, f"a[href='{prefix}/']")
    page.keyboard.press("Enter")
    arrive(page, f"**{prefix}/")
    tab_to(page, "#number")
    page.keyboard.type(number)
    page.keyboard.press("Enter")
    arrive(page, f"**{prefix}/sposob")


def type_new_password(page) -> None:
    tab_to(page, "#password")
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, "#password_repeat")
    page.keyboard.type(NEW_PASSWORD)


def test_register_by_sms_with_the_keyboard_alone(page, live):
    start_wizard_by_keyboard(page, live, "/rejestracja", "200001")
    assert focus_is(page, "h1")
    tab_to(page, "#channel-0")
    page.keyboard.press("Space")
    tab_to(page, "#phone")
    page.keyboard.type("512 345 678")
    page.keyboard.press("Enter")
    arrive(page, "**/rejestracja/kod")
    tab_to(page, "#code")
    page.keyboard.type(live.last_code("+48512345678"))
    page.keyboard.press("Enter")
    arrive(page, "**/rejestracja/haslo")
    type_new_password(page)
    # Back to the first field with Shift+Tab, and the show-password toggle by Space.
    tab_to(page, "#password", backwards=True)
    page.keyboard.press("Tab")
    assert focus_is(page, "[data-show-password]")
    page.keyboard.press("Space")
    assert page.locator("#password").get_attribute("type") == "text"
    tab_to(page, "button[value='next']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/strona-glowna")


def test_the_activation_window_with_the_keyboard_alone(page, live):
    page.goto(live.url + "/")
    log_in_by_keyboard(page, TEST_PASSWORD)
    tab_to(page, "#einvoice-activate-banner")
    page.keyboard.press("Enter")
    page.locator("dialog#dialog[open]").wait_for()
    assert focus_is(page, "#dialog-title")
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.activeElement.id === 'einvoice-activate-banner'")
    page.keyboard.press("Enter")
    page.locator("dialog#dialog[open]").wait_for()
    tab_to(page, "#accept_terms")
    page.keyboard.press("Space")
    tab_to(page, "#dialog-content button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="e-Faktura została aktywowana").wait_for()
    tab_to(page, "#dialog-content button[value=done]")
    page.keyboard.press("Enter")
    assert not page.locator("dialog#dialog").evaluate("d => d.open")
    assert page.locator("#einvoice-banner").count() == 0


def test_forgotten_password_and_switching_off_with_the_keyboard_alone(page, live):
    start_wizard_by_keyboard(page, live, "/zapomnialem-hasla", "200005")
    # In a radio group Tab stops once; the arrow keys move between the options.
    tab_to(page, "#channel-0")
    page.keyboard.press("ArrowDown")
    assert focus_is(page, "#channel-1:checked")
    tab_to(page, "#email")
    page.keyboard.type("ewa.kaminska@example.com")
    page.keyboard.press("Enter")
    arrive(page, "**/zapomnialem-hasla/sprawdz-poczte")
    page.goto(live.last_link("ewa.kaminska@example.com"))
    type_new_password(page)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Logowanie do Strefy Klienta").wait_for()
    log_in_by_keyboard(page, NEW_PASSWORD)

    # Moje Konto: activate from the card, then switch e-Faktura off, all by keyboard.
    tab_to(page, "a[href='/moje-konto']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/moje-konto")
    tab_to(page, "#einvoice-activate-card")
    page.keyboard.press("Enter")
    page.locator("dialog#dialog[open]").wait_for()
    tab_to(page, "#accept_terms")
    page.keyboard.press("Space")
    tab_to(page, "#dialog-content button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="e-Faktura została aktywowana").wait_for()
    page.keyboard.press("Escape")
    tab_to(page, "a[href='/e-faktura/wylacz']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/e-faktura/wylacz")
    tab_to(page, "#panel button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/moje-konto")
    page.get_by_text("nieaktywna").wait_for()
