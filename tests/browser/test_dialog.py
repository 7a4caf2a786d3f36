"""The e-Faktura activation window in a real browser (SPEC §5.1, §9): opened modally with
focus on its heading, kept inside, closed by Escape and Anuluj with focus back on
Aktywuj, and after success the banner gone without a reload."""

from steps import log_in


def open_window(page):
    page.locator("#einvoice-activate-banner").click()
    page.locator("dialog#dialog[open]").wait_for()


def test_the_activation_window(page, live, axe):
    log_in(page, live)
    axe(page, "Strona Główna with the e-Faktura banner")
    open_window(page)
    dialog = page.locator("dialog#dialog")
    assert page.evaluate("document.activeElement.id") == "dialog-title"
    assert dialog.get_attribute("aria-labelledby") == "dialog-title"
    assert (
        page.get_by_label("Adres e-mail do powiadomień o fakturach").input_value()
        == "ewa.kaminska@example.com"
    )
    axe(page, "the activation window")

    # Focus stays inside the modal window however far one tabs.
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('dialog').contains(document.activeElement)")

    # Escape closes it; focus returns to the button that opened it.
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.activeElement.id === 'einvoice-activate-banner'")
    assert not dialog.evaluate("d => d.open")
    # Chromium gives focus back as the dialog closes; the close event, which empties the
    # window, comes a moment later.
    page.wait_for_function("() => document.getElementById('dialog-content').innerHTML === ''")

    # Anuluj closes it the same way.
    open_window(page)
    page.get_by_role("button", name="Anuluj").click()
    page.wait_for_function("() => document.activeElement.id === 'einvoice-activate-banner'")
    assert not dialog.evaluate("d => d.open")

    # Without accepting the terms: the error, in the window, focus on the summary.
    open_window(page)
    page.get_by_role("button", name="Aktywuj e-Fakturę").click()
    page.locator("#dialog-content .error-summary").wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    axe(page, "the activation window with an error")

    page.get_by_label("Akceptuję regulamin usługi e-Faktura").check()
    page.get_by_role("button", name="Aktywuj e-Fakturę").click()
    page.get_by_role("heading", name="e-Faktura została aktywowana").wait_for()
    assert page.locator("#einvoice-banner").count() == 0  # gone without a reload
    assert "e-Faktura została aktywowana" in page.locator("#status").inner_text()
    axe(page, "the activation window after success")
    page.get_by_role("button", name="Zamknij").click()
    # The button that opened it is gone with the banner: focus goes to the page heading.
    page.wait_for_function("() => document.activeElement.tagName === 'H1'")
    assert page.url == live.url + "/strona-glowna"
