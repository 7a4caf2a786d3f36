"""The code step's "the SMS is late" in a real browser (issue 19, item 5): htmx asks the
status fragment once the SMS would be late, the notice appears and is read out by the
live region, and the customer's focus and typing stay where they were."""

LATE = "SMS się opóźnia — możesz wysłać kod ponownie lub wybrać e-mail"


def test_the_notice_comes_without_moving_focus(page, live):
    live.app.config["SMS_LATE_AFTER"] = 2  # no worker runs: the SMS stays pending
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    page.get_by_role("button", name="Dalej").click()
    page.get_by_role("radio", name="SMS").check()
    page.get_by_label("Podaj swój numer telefonu").fill("512 345 678")
    page.get_by_role("button", name="Dalej").click()
    code = page.get_by_label("Podaj kod SMS")
    code.wait_for()
    assert LATE not in page.locator("#panel").inner_text()
    code.fill("12")
    page.locator("#sms-late").get_by_text(LATE).wait_for()
    assert LATE in page.locator("#status").inner_text()  # the live region
    assert page.evaluate("() => document.activeElement.id") == "code"
    assert code.input_value() == "12"
