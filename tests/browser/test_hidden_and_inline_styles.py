"""What the strict Content-Security-Policy and the no-JavaScript path promise, in a real
browser: an element hidden until the script runs stays hidden without it ("Pokaż hasło"
carries `hidden`, which `.button`'s display must not undo), and htmx's swaps never write a
`style` attribute (its settle step copied an old element's inline style onto the new one:
a CSP violation whenever a browser extension or a password manager had styled a field)."""

from conftest import VIEWPORTS
from support import TEST_PASSWORD

PAGES_SIGNED_OUT = ["/", "/rejestracja/", "/zapomnialem-hasla/"]

# What an extension does to a form: an inline style through the CSSOM (which the CSP allows),
# on every element with an id that the next swap will replace.
STYLE_LIKE_AN_EXTENSION = (
    "() => document.querySelectorAll('main [id]')"
    ".forEach(element => { element.style.outline = '1px solid red'; })"
)

SHOWN_THOUGH_HIDDEN = (
    "() => [...document.querySelectorAll('[hidden]')]"
    ".filter(element => getComputedStyle(element).display !== 'none')"
    ".map(element => element.outerHTML.slice(0, 120))"
)


def test_what_waits_for_the_script_stays_hidden_without_it(browser, live):
    context = browser.new_context(
        viewport=VIEWPORTS["phone"], locale="pl-PL", java_script_enabled=False
    )
    tab = context.new_page()
    for path in PAGES_SIGNED_OUT:
        tab.goto(live.url + path)
        assert tab.evaluate(SHOWN_THOUGH_HIDDEN) == [], path
    tab.goto(live.url + "/")
    assert tab.locator("[data-show-password]").count() == 1
    assert not tab.get_by_role("button", name="Pokaż hasło").is_visible()
    # Signed in: Zmień hasło's three password fields, the same.
    tab.locator("#login").fill("200005")
    tab.locator("#password").fill(TEST_PASSWORD)
    tab.locator("#password").press("Enter")
    tab.wait_for_url(live.url + "/strona-glowna")
    tab.goto(live.url + "/moje-konto/haslo")
    assert tab.locator("[data-show-password]").count() == 3
    assert tab.evaluate(SHOWN_THOUGH_HIDDEN) == []
    context.close()


def test_swaps_write_no_inline_style(page, live):
    """`page` fails on any console error, a CSP violation included."""
    page.goto(live.url + "/")
    page.evaluate(STYLE_LIKE_AN_EXTENSION)
    page.get_by_role("link", name="Zapomniałem hasła").click()
    page.wait_for_url(live.url + "/zapomnialem-hasla/")
    page.get_by_role("heading", name="Numer klienta lub login").wait_for()
    page.goto(live.url + "/rejestracja/")
    page.evaluate(STYLE_LIKE_AN_EXTENSION)
    page.get_by_label("Twój Numer Ewidencyjny Klienta").fill("200001")
    page.get_by_role("button", name="Dalej").click()
    page.get_by_role("radio", name="SMS").wait_for()
    page.evaluate(STYLE_LIKE_AN_EXTENSION)
    page.get_by_role("button", name="Dalej").click()  # nothing chosen: the step's error
    page.locator(".error-summary").wait_for()
