"""Each wizard step's own <title> in the tab after htmx swaps (WCAG 2.4.2), and the
operator's identity and the designed layouts at a phone and a desktop size."""

from steps import log_in, to_code_step


def test_each_step_has_a_distinct_title(page, live):
    page.goto(live.url + "/")
    titles = [page.title()]
    page.get_by_role("link", name="Rejestracja").click()
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    titles.append(page.title())
    page.get_by_role("button", name="Dalej").click()
    page.get_by_role("radio", name="SMS").check()
    titles.append(page.title())
    page.get_by_label("Podaj swój numer telefonu").fill("512 345 678")
    page.get_by_role("button", name="Dalej").click()
    page.get_by_label("Podaj kod SMS").wait_for()
    page.get_by_label("Podaj kod SMS").fill(live.last_code("+48512345678"))
    titles.append(page.title())
    page.get_by_role("button", name="Dalej").click()
    page.get_by_label("Podaj hasło").wait_for()
    titles.append(page.title())
    assert len(set(titles)) == len(titles), titles
    assert all(title.endswith(" – Strefa Klienta Kablonet") for title in titles), titles
    assert titles[3] == "Podaj kod SMS – Rejestracja – Strefa Klienta Kablonet"


def test_login_page_and_home_show_the_design(page, live, axe):
    page.goto(live.url + "/")
    help_column = page.locator(".login-layout__help")
    form_column = page.locator(".login-layout__form")
    assert "Bezpieczne logowanie" in help_column.inner_text()
    form_box, help_box = form_column.bounding_box(), help_column.bounding_box()
    if page.viewport_name == "desktop":  # side by side
        assert help_box["x"] > form_box["x"] + form_box["width"] - 1
    else:  # one column: help under the form
        assert help_box["y"] >= form_box["y"] + form_box["height"] - 1
    # Icons are decoration: hidden from assistive technology.
    assert page.locator("svg.icon:not([aria-hidden=true])").count() == 0
    log_in(page, live)
    assert page.locator(".page-grid .card").count() >= 2
    axe(page, "Strona Główna with cards")


def test_back_shows_the_step_the_url_names_with_what_was_typed(page, live):
    to_code_step(page, live, "200001", "512 345 678")
    # Back from the code step: the channel step, with the phone number typed.
    page.go_back()
    page.wait_for_url(live.url + "/rejestracja/sposob")
    assert page.get_by_label("Podaj swój numer telefonu").input_value() == "512 345 678"
    # Back after "Anuluj": the wizard is cleared, so the URL and the page agree on step 1.
    page.get_by_role("button", name="Anuluj").click()
    page.wait_for_url(live.url + "/")
    page.go_back()
    page.wait_for_url(live.url + "/rejestracja/")
    assert page.get_by_label("Twój Numer Ewidencyjny Klienta").is_visible()


def test_the_new_layouts_in_dark_mode(browser, live, axe):
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="pl-PL", color_scheme="dark"
    )
    page = context.new_page()
    page.goto(live.url + "/instrukcja")
    axe(page, "the guide in dark mode")
    log_in(page, live)
    axe(page, "Strona Główna with cards in dark mode")
    page.locator("#einvoice-activate-banner").click()
    page.locator("dialog#dialog[open]").wait_for()
    page.get_by_label("Adres e-mail do powiadomień o fakturach").fill("inny@example.com")
    page.get_by_label("Akceptuję regulamin usługi e-Faktura").check()
    page.get_by_role("button", name="Aktywuj e-Fakturę").click()
    page.get_by_role("heading", name="Sprawdź pocztę").wait_for()
    page.keyboard.press("Escape")
    page.get_by_text("Czekamy na potwierdzenie adresu").wait_for()
    axe(page, "Strona Główna with an address waiting for confirmation, dark mode")
    page.goto(live.url + "/moje-konto")
    axe(page, "Moje Konto with an address waiting for confirmation, dark mode")
    context.close()
