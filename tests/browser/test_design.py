"""The signed-in design (issue 22) in a real browser: at 360x740 a one-line header whose
"Menu" opens the navigation, the languages and "Wyloguj", with and without JavaScript, and
the amount to pay in the first screen of Strona Główna; at 1280x800 the navigation in one
row in every language, the dialog's buttons in one row, cards in a row of equal height,
and one main column for every signed-in page."""

import pytest
from conftest import VIEWPORTS, audit, browser_tab
from steps import log_in
from support import DEFAULT_LANGUAGES, TEST_PASSWORD
from test_invoices_pages import invoices  # noqa: F401 -- the fixture, shared

LANGUAGES = DEFAULT_LANGUAGES
NAVIGATION = ["/strona-glowna", "/faktury", "/moje-konto"]


def sign_in_in(tab, live, language: str) -> None:
    """log_in, by the fields' ids: their labels are in the tab's language."""
    tab.goto(live.url + "/")
    tab.locator("#login").fill("200005")
    tab.locator("#password").fill(TEST_PASSWORD)
    tab.locator("#password").press("Enter")
    tab.wait_for_url(live.url + "/strona-glowna")


def header_height(tab) -> float:
    return tab.evaluate(
        "() => document.querySelector('.site-header').getBoundingClientRect().height"
    )


def top(tab, selector: str) -> list[float]:
    return tab.evaluate(
        "s => [...document.querySelectorAll(s)]"
        ".map(e => Math.round(e.getBoundingClientRect().top))",
        selector,
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_phone_header_is_one_line_in_every_language(browser, live, language):
    with browser_tab(browser, live, "phone", language) as tab:
        sign_in_in(tab, live, language)
        for path in NAVIGATION:
            tab.goto(live.url + path)
            assert header_height(tab) <= 64, f"{path} in {language}: {header_height(tab)} px"
        # The menu, opened, names the navigation, the languages and "Wyloguj".
        tab.locator(".site-menu__toggle").click()
        menu = tab.locator(".site-menu")
        for path in NAVIGATION:
            assert menu.locator(f"a[href='{path}']").is_visible()
        assert menu.locator(".language-switcher").is_visible()
        assert menu.locator("form[action='/wyloguj'] button").is_visible()


def test_the_amount_to_pay_is_in_the_first_phone_screen(browser, invoices):  # noqa: F811
    live = invoices
    with browser_tab(browser, live, "phone") as tab:
        log_in(tab, live)
        bottoms = tab.evaluate(
            "() => ['#to-pay-title', '.to-pay__amount', '#bank-account-number',"
            " '.bank-account__copy'].map("
            "s => document.querySelector(s).getBoundingClientRect().bottom)"
        )
        assert max(bottoms) <= VIEWPORTS["phone"]["height"], bottoms
        # What is owed is said with its state: one invoice of the seed is past its due date.
        assert "Po terminie" in tab.locator("#to-pay").inner_text()
        audit(tab, "Strona Główna with invoices on a phone")


def menu_as_announced(tab) -> tuple[str, bool]:
    """The "Menu" control as Chromium gives it to screen readers: its role and whether it
    says it is expanded."""
    session = tab.context.new_cdp_session(tab)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    session.detach()
    for node in nodes:
        if node.get("name", {}).get("value") == "Menu" and not node.get("ignored"):
            states = {p["name"]: p["value"]["value"] for p in node.get("properties", [])}
            return node["role"]["value"], bool(states.get("expanded"))
    raise AssertionError("no control named Menu")


def tab_until(tab, selector: str, limit: int = 30) -> None:
    for _ in range(limit):
        tab.keyboard.press("Tab")
        if tab.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_menu_by_keyboard(browser, live, javascript):
    context = browser.new_context(
        viewport=VIEWPORTS["phone"], locale="pl-PL", java_script_enabled=javascript
    )
    tab = context.new_page()
    log_in(tab, live)
    toggle = tab.locator(".site-menu__toggle")
    assert menu_as_announced(tab) == ("DisclosureTriangle", False)
    assert not tab.get_by_role("link", name="Moje Konto").is_visible()
    tab_until(tab, ".site-menu__toggle")
    tab.keyboard.press("Enter")
    assert menu_as_announced(tab) == ("DisclosureTriangle", True)
    for path in NAVIGATION:
        tab_until(tab, f".site-menu a[href='{path}']")
    tab_until(tab, ".site-menu form[action='/wyloguj'] button")
    if javascript:
        tab.keyboard.press("Escape")
        assert menu_as_announced(tab) == ("DisclosureTriangle", False)
        assert tab.evaluate("() => document.activeElement.matches('.site-menu__toggle')")
    else:
        tab.keyboard.press("Shift+Tab")
        tab_until(tab, ".site-menu a[href='/moje-konto']")
        tab.keyboard.press("Enter")
        tab.wait_for_url("**/moje-konto")
    assert toggle.count() == 1
    context.close()


def test_a_click_outside_the_open_menu_closes_it(browser, live):
    with browser_tab(browser, live, "phone") as tab:
        log_in(tab, live)
        tab.locator(".site-menu__toggle").click()
        tab.mouse.click(180, 700)  # below the open menu, on the page
        assert tab.locator(".site-menu").evaluate("menu => menu.open") is False


def test_the_open_menu_passes_axe_and_shows_focus_in_forced_colours(browser, live):
    with browser_tab(browser, live, "phone") as tab:
        log_in(tab, live)
        tab.locator(".site-menu__toggle").click()
        audit(tab, "the open menu on a phone")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_desktop_navigation_is_one_row_in_every_language(browser, live, language):
    with browser_tab(browser, live, "desktop", language) as tab:
        sign_in_in(tab, live, language)
        assert not tab.locator(".site-menu__toggle").is_visible()
        tops = top(tab, ".site-nav__list > li")
        assert len(tops) == 4 and len(set(tops)) == 1, tops
        # The header stays one band: brand, navigation and languages side by side.
        assert header_height(tab) <= 64, header_height(tab)


def test_the_dialog_buttons_are_one_row_on_a_desktop(browser, live):
    with browser_tab(browser, live, "desktop") as tab:
        log_in(tab, live)
        tab.locator("#einvoice-activate-banner").click()
        tab.locator("dialog#dialog[open]").wait_for()
        buttons = tab.locator("#dialog-content .button")
        assert buttons.nth(0).inner_text() == "Aktywuj e-Fakturę"  # the primary action first
        assert buttons.nth(1).inner_text() == "Anuluj"
        tops = top(tab, "#dialog-content .button")
        assert len(tops) == 2 and len(set(tops)) == 1, tops


def test_cards_in_a_row_have_equal_height_and_no_orphan(browser, invoices):  # noqa: F811
    live = invoices
    with browser_tab(browser, live, "desktop") as tab:
        log_in(tab, live)
        cards = tab.evaluate("""() => [...document.querySelectorAll('.card-row > .card')].map(
            e => { const r = e.getBoundingClientRect(); return [e.parentElement.dataset.row,
            Math.round(r.top), Math.round(r.height), Math.round(r.width)]; })""")
        assert len(cards) >= 2, cards
        rows: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for row, card_top, height, width in cards:
            rows.setdefault((row, card_top), []).append((height, width))
        for key, members in rows.items():
            assert len({height for height, _ in members}) == 1, (key, members)
            # No orphan: a row's cards share its width; a row of one spans the whole row.
            assert len({width for _, width in members}) == 1, (key, members)


def test_one_main_column_for_every_signed_in_page(browser, live):
    with browser_tab(browser, live, "desktop") as tab:
        log_in(tab, live)
        widths = {}
        for path in (*NAVIGATION, "/moje-konto/haslo"):
            tab.goto(live.url + path)
            widths[path] = tab.evaluate(
                "() => Math.round(document.querySelector('.page-grid__main')"
                ".getBoundingClientRect().width)"
            )
            left = tab.evaluate(
                "() => Math.round(document.querySelector('#main h1').getBoundingClientRect().left)"
            )
            widths[path + " h1"] = left
        assert len({widths[path] for path in widths if " h1" not in path}) == 1, widths
        assert len({widths[path] for path in widths if " h1" in path}) == 1, widths


def test_separators_are_light_and_cards_unruled(browser, live):
    with browser_tab(browser, live, "desktop") as tab:
        log_in(tab, live)
        tab.goto(live.url + "/moje-konto")
        style = tab.evaluate("""() => { const row = getComputedStyle(
            document.querySelector('.summary-list__row:not(:last-child)'));
            const card = getComputedStyle(document.querySelector('.card'));
            return {row: row.borderBottomColor, rowWidth: row.borderBottomWidth,
                    card: card.borderTopWidth}; }""")
        assert style["rowWidth"] == "1px"
        assert style["card"] in ("0px", "1px"), style
        red, green, blue = (int(c) for c in style["row"][4:-1].split(",")[:3])
        assert min(red, green, blue) >= 0xB0, style  # light grey, not the text's near-black
