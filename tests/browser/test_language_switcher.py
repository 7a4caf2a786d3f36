"""The language switcher in a real browser (SPEC §12): from the header and from the footer,
with JavaScript off and on, the page comes back at the same URL in the chosen language;
after htmx has swapped wizard steps in, it comes back at the step in the address bar; from
a page shown for a post to a URL that takes only posts, it lands on the login page; axe
finds nothing in it in any language; the manifest the page links is in its language; and
the offline page the service worker shows is in the language last chosen."""

import pytest
from flask_babel import force_locale, gettext
from test_layout import assert_reflows, assert_targets_big_enough

NAMES = {"pl": "Polski", "en": "English", "uk": "Українська"}


def translated(live, language: str, msgid: str) -> str:
    with live.app.test_request_context(), force_locale(language):
        return gettext(msgid)


def switcher(page, place: str):
    return page.locator(f".language-switcher--{place}")


def switch_to(page, place: str, language: str) -> None:
    """Presses the language's button in the header or footer and waits for the page.

    Waits for the navigation the switch starts, then for the new page: between the two
    documents there is none (a predicate reading document.documentElement.lang meanwhile
    failed under load with "Cannot read properties of null")."""
    url = page.url
    with page.expect_navigation():
        switcher(page, place).get_by_role("button", name=NAMES[language]).click()
    page.wait_for_load_state()
    page.wait_for_function(f"() => document.documentElement?.lang === {language!r}")
    assert page.url == url


def manifest_language(page) -> str:
    """The lang of the page's manifest, fetched as browsers fetch it: without cookies."""
    return page.evaluate("""() => fetch(document.querySelector('link[rel=manifest]').href,
        {credentials: 'omit'}).then(r => r.json()).then(m => m.lang)""")


def assert_shown_in(page, live, language: str) -> None:
    assert page.evaluate("() => document.documentElement.lang") == language
    label = translated(live, language, "Language")
    for place in ("header", "footer"):
        current = switcher(page, place).locator("[aria-current=true]")
        assert current.inner_text() == NAMES[language]
        assert current.get_attribute("lang") == language
        assert switcher(page, place).get_by_role("group", name=label).is_visible()


@pytest.fixture
def no_script(browser, live):
    context = browser.new_context(java_script_enabled=False, locale="pl-PL")
    yield context.new_page()
    context.close()


def test_switching_without_javascript_from_header_and_footer(no_script, live):
    page = no_script
    page.goto(live.url + "/instrukcja")
    assert_shown_in(page, live, "pl")
    switch_to(page, "header", "en")
    assert_shown_in(page, live, "en")
    switch_to(page, "footer", "uk")
    assert_shown_in(page, live, "uk")
    page.goto(live.url + "/zapomnialem-hasla/")
    assert_shown_in(page, live, "uk")  # the cookie keeps it
    switch_to(page, "footer", "pl")
    assert_shown_in(page, live, "pl")


def test_switching_with_javascript_from_header_and_footer(page, live, axe):
    page.goto(live.url + "/")
    switch_to(page, "header", "uk")
    assert_shown_in(page, live, "uk")
    heading = translated(live, "uk", "Log in to Strefa Klienta")
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert manifest_language(page) == "uk"  # though the browser asks for Polish
    axe(page, "the login page in Ukrainian")
    switch_to(page, "footer", "en")
    assert_shown_in(page, live, "en")
    axe(page, "the login page in English")
    switch_to(page, "header", "pl")
    assert_shown_in(page, live, "pl")


def test_after_htmx_swaps_the_switch_comes_back_to_the_step_shown(page, live):
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    page.get_by_role("button", name="Dalej").click()
    page.wait_for_url(live.url + "/rejestracja/sposob")
    page.get_by_role("radio", name="SMS").wait_for()
    switch_to(page, "header", "en")
    assert page.url == live.url + "/rejestracja/sposob"
    assert_shown_in(page, live, "en")
    assert page.get_by_role("radio", name="SMS").is_visible()  # the same step, in English


@pytest.mark.parametrize("javascript", [False, True], ids=["without-js", "with-js"])
def test_from_a_page_shown_for_a_post_the_switch_lands_on_a_page(browser, live, javascript):
    """The form expired: the error page is shown at POST /jezyk's URL, which serves no
    GET. Switching from there lands on the login page, not on that URL."""
    context = browser.new_context(java_script_enabled=javascript, locale="pl-PL")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(live.url + "/instrukcja")
    context.clear_cookies()  # the session, and with it the form's CSRF token, is gone
    switcher(page, "header").get_by_role("button", name="English").click()
    page.wait_for_url(live.url + "/jezyk")
    assert page.evaluate("() => document.documentElement.lang") == "pl"
    with page.expect_navigation(url=live.url + "/") as navigation:
        switcher(page, "footer").get_by_role("button", name="English").click()
    assert navigation.value.status == 200
    assert_shown_in(page, live, "en")
    heading = translated(live, "en", "Log in to Strefa Klienta")
    assert page.get_by_role("heading", level=1).inner_text() == heading
    context.close()


def test_the_switcher_keyboard_focus_and_reflow(browser, live, axe):
    context = browser.new_context(viewport={"width": 320, "height": 640}, locale="uk-UA")
    page = context.new_page()
    page.goto(live.url + "/instrukcja")
    assert_shown_in(page, live, "uk")  # Accept-Language: uk
    assert_reflows(page, "the guide in Ukrainian at 320 px")
    assert_targets_big_enough(page, "the guide in Ukrainian at 320 px")
    button = switcher(page, "header").get_by_role("button", name="Polski")
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_function("() => document.documentElement?.lang === 'pl'")
    assert page.url == live.url + "/instrukcja"
    page.emulate_media(color_scheme="dark")
    axe(page, "the guide in dark mode with the switcher")
    context.close()


def test_the_offline_page_is_in_the_language_chosen(page, live):
    page.goto(live.url + "/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now the worker controls the page
    page.wait_for_function("() => !!navigator.serviceWorker.controller")
    switch_to(page, "footer", "uk")
    # The worker fetches the Ukrainian offline page for the one it kept.
    page.wait_for_function(
        "() => caches.match('/offline').then(r => r.headers.get('Content-Language') === 'uk')"
    )
    page.allowed_console_errors.append("net::ERR_INTERNET_DISCONNECTED")
    page.context.set_offline(True)
    page.goto(live.url + "/instrukcja")
    heading = translated(live, "uk", "No internet connection")
    page.get_by_role("heading", name=heading).wait_for()
    assert page.evaluate("() => document.documentElement.lang") == "uk"
    page.context.set_offline(False)


def test_before_any_page_said_its_language_the_offline_page_is_in_the_browsers(browser, live):
    context = browser.new_context(locale="uk-UA")
    page = context.new_page()
    page.goto(live.url + "/instrukcja")
    # The worker takes the page over when it activates, having seen no page load yet: it
    # kept the offline page in the language the server chose from the browser's.
    page.wait_for_function("() => !!navigator.serviceWorker.controller")
    assert (
        page.evaluate("() => caches.match('/offline').then(r => r.headers.get('Content-Language'))")
        == "uk"
    )
    context.set_offline(True)
    page.goto(live.url + "/instrukcja")
    heading = translated(live, "uk", "No internet connection")
    page.get_by_role("heading", name=heading).wait_for()
    assert page.evaluate("() => document.documentElement.lang") == "uk"
    context.close()


def test_a_step_in_another_language_than_the_page_says_so(page, live):
    """The language switched in another tab: the next htmx step comes in English into a
    Polish page, and is marked as English (WCAG 3.1.2); back in Polish, the mark goes."""
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    page.context.add_cookies([{"name": "language", "value": "en", "url": live.url}])
    page.get_by_role("button", name="Dalej").click()
    page.locator("#panel[lang=en] h1").wait_for()
    assert page.evaluate("() => document.documentElement.lang") == "pl"
    page.context.add_cookies([{"name": "language", "value": "pl", "url": live.url}])
    page.locator("#panel a[href='/rejestracja/']").click()  # Back, in English
    page.get_by_label("Twój Numer Ewidencyjny Klienta").wait_for()
    assert page.evaluate("() => document.getElementById('panel').hasAttribute('lang')") is False
