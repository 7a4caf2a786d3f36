"""Issues 18 and 19 in a real browser: the code step's "the SMS is late" (htmx asks the
status fragment once the SMS would be late, the notice appears and is read out by the
live region, and the customer's focus and typing stay where they were), and the changes
the current password guards, in their error states, under axe-core."""

from steps import log_in, to_code_step
from support import activate_einvoice

LATE = "SMS się opóźnia — możesz wysłać kod ponownie lub wybrać e-mail"


def test_the_notice_comes_without_moving_focus(page, live, axe):
    live.app.config["SMS_LATE_AFTER"] = 2  # no worker runs: the SMS stays pending
    to_code_step(page, live, "200001", "512 345 678")
    code = page.get_by_label("Podaj kod SMS")
    assert LATE not in page.locator("#panel").inner_text()
    code.fill("12")
    page.locator("#sms-late").get_by_text(LATE).wait_for()
    assert LATE in page.locator("#status").inner_text()  # the live region
    assert page.evaluate("() => document.activeElement.id") == "code"
    assert code.input_value() == "12"
    axe(page, "registration: code, the SMS is late")


def test_the_guarded_changes_with_errors(page, live, axe):
    """The e-Faktura address and the login name ask for the current password."""
    activate_einvoice(live.app)
    log_in(page, live)
    for path, button, state in (
        ("/e-faktura/adres", "Zmień adres", "e-Faktura address, a wrong password"),
        ("/moje-konto/login", "Zapisz", "the login name, a wrong password"),
    ):
        page.goto(live.url + path)
        page.get_by_label("Obecne hasło").fill("Zle#Haslo1")
        page.get_by_role("button", name=button, exact=True).click()
        page.locator("#error-summary").wait_for()
        axe(page, state)
