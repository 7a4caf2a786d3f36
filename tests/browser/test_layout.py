"""Layout for small screens and zoom (WCAG 1.4.10 reflow, 2.5.8 target size), dark mode,
and the PWA: manifest, installability, and the offline page."""

import re

import pytest
from steps import log_in


def assert_reflows(page, state: str) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{state} scrolls sideways by {overflow}px at 320 px"


def assert_targets_big_enough(page, state: str) -> None:
    small = page.evaluate("""() => [...document.querySelectorAll(
        'button, input, select, summary, a.button, .link-list a, .site-nav a')]
        .filter(e => e.offsetParent !== null && e.type !== 'hidden')
        .map(e => [e.id || e.textContent.trim().slice(0, 30), e.getBoundingClientRect()])
        .filter(([, r]) => r.width < 24 || r.height < 24)
        .map(([name, r]) => name + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))""")
    assert not small, f"targets under 24x24 px in {state}: {small}"


@pytest.fixture
def narrow(browser, live):
    """320 CSS px wide: a small phone, or a 1280 px window at 400 % zoom."""
    context = browser.new_context(viewport={"width": 320, "height": 640}, locale="pl-PL")
    yield context.new_page()
    context.close()


def test_every_screen_reflows_at_320_px(narrow, live):
    page = narrow
    for path in ("/", "/rejestracja/", "/zapomnialem-hasla/", "/instrukcja"):
        page.goto(live.url + path)
        assert_reflows(page, path)
        assert_targets_big_enough(page, path)
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("1" * 60)
    page.get_by_role("button", name="Dalej").click()
    page.locator("#error-summary").wait_for()
    assert_reflows(page, "customer number step with an error")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    page.get_by_role("button", name="Dalej").click()
    page.get_by_role("radio", name="SMS").check()
    assert_reflows(page, "channel step")
    assert_targets_big_enough(page, "channel step")
    log_in(page, live)
    assert_reflows(page, "Strona Główna")
    page.locator("#einvoice-activate-banner").click()
    page.locator("dialog#dialog[open]").wait_for()
    assert_reflows(page, "the activation window")
    assert_targets_big_enough(page, "the activation window")
    page.keyboard.press("Escape")
    page.goto(live.url + "/moje-konto")
    assert_reflows(page, "Moje Konto")


def test_dark_mode_keeps_aa_contrast(browser, live, axe):
    context = browser.new_context(
        color_scheme="dark",
        reduced_motion="reduce",
        viewport={"width": 360, "height": 740},
        locale="pl-PL",
    )
    page = context.new_page()
    page.goto(live.url + "/")
    axe(page, "login page in dark mode")
    page.get_by_label("Numer klienta lub login").fill("200005")
    page.get_by_label("Hasło", exact=True).fill("x")
    page.get_by_role("button", name="Zaloguj").click()
    page.locator("#error-summary").wait_for()
    axe(page, "login page with an error in dark mode")
    log_in(page, live)
    page.locator("#einvoice-activate-banner").click()
    page.locator("dialog#dialog[open]").wait_for()
    axe(page, "the activation window in dark mode")
    context.close()


def test_the_manifest_and_installability(playwright, live, tmp_path):
    # A profile on disk: Chromium does not offer installing apps in incognito contexts.
    from conftest import CHROMIUM, CHROMIUM_ARGS

    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, locale="pl-PL"
    )
    page = context.new_page()
    page.goto(live.url + "/")
    manifest = page.evaluate(
        "() => fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
    )
    assert manifest["lang"] == "pl" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/" and manifest["id"] == "/"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    session = page.context.new_cdp_session(page)
    errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
    context.close()
    assert errors == []


def test_offline_page_and_nothing_personal_cached(page, live):
    log_in(page, live)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now the worker controls the page
    page.wait_for_function("() => !!navigator.serviceWorker.controller")
    page.allowed_console_errors.append("net::ERR_INTERNET_DISCONNECTED")
    page.context.set_offline(True)
    page.goto(live.url + "/moje-konto")
    page.get_by_role("heading", name="Brak połączenia z internetem").wait_for()
    page.context.set_offline(False)
    cached = page.evaluate("""async () => {
        const urls = [];
        for (const name of await caches.keys()) {
          for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
        }
        return urls.map(u => new URL(u).pathname); }""")
    # One offline page, in the visitor's language; the static files.
    assert [path for path in cached if not path.startswith("/static/")] == ["/offline"], cached
    language = page.evaluate(
        "() => caches.match('/offline').then(r => r.headers.get('Content-Language'))"
    )
    assert language == "pl"
    # Under their fingerprinted names, as the pages link them.
    assert re.search(r"/static/css/app\.[0-9a-f]{12}\.css", " ".join(cached)), cached


def test_a_link_and_buttons_in_one_row_have_their_text_on_one_line(page, live):
    """ "Wstecz" is a link among <button>s; a button centres its text, a link did not."""
    page.goto(live.url + "/rejestracja/")
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    page.get_by_role("button", name="Dalej").click()
    page.get_by_role("link", name="Wstecz").wait_for()
    tops = page.evaluate("""() => [...document.querySelectorAll('.button-group > .button')]
        .map(e => { const text = document.createRange(); text.selectNodeContents(e);
                    return [e.tagName, Math.round(text.getBoundingClientRect().top * 2) / 2]; })""")
    assert {tag for tag, _ in tops} == {"A", "BUTTON"}
    assert len({top for _, top in tops}) == 1, tops
