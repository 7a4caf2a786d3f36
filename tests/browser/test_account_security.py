"""Bezpieczeństwo (SPEC §16, issue 25) in a real browser at a phone and a desktop size:
the notice after login with its link, the page with another session and a failed
attempt, logging the other session out, forgetting a device; axe on each state."""

from steps import log_in
from support import AuthActions, Visitor


def test_the_security_page_and_its_actions(page, live, axe):
    # Another browser signed in, and a failed attempt from it, before this one logs in.
    other = Visitor(live.app.test_client(), htmx=False)
    AuthActions(other).log_in()
    stranger = Visitor(live.app.test_client(), htmx=False)
    AuthActions(stranger).post_login("200005", "Zle#Haslo1")
    log_in(page, live)
    notice = page.locator("#status")
    assert "Od tamtej pory: 1 nieudana próba." in notice.inner_text()
    axe(page, "Strona Główna with the last login and a failed attempt")
    notice.get_by_role("link", name="Bezpieczeństwo").click()
    page.wait_for_url(live.url + "/moje-konto/bezpieczenstwo")
    assert page.title().startswith("Bezpieczeństwo")
    assert page.get_by_text("To urządzenie").first.is_visible()
    axe(page, "Bezpieczeństwo with two sessions and a failed attempt")
    page.get_by_role("button", name="Wyloguj", exact=True).last.click()
    page.get_by_text("To urządzenie zostało wylogowane.").wait_for()
    assert page.get_by_role("button", name="Wyloguj ze wszystkich innych urządzeń").count() == 0
    axe(page, "Bezpieczeństwo after logging the other device out")
    assert other.client.get("/strona-glowna").status_code == 302
    page.get_by_role("button", name="Zapomnij").first.click()
    page.get_by_text("Urządzenie zostało zapomniane.").wait_for()
    axe(page, "Bezpieczeństwo after forgetting a device")


def test_moje_konto_links_to_security(page, live, axe):
    log_in(page, live)
    page.goto(live.url + "/moje-konto")
    page.get_by_role("link", name="Przejdź do Bezpieczeństwa").click()
    page.wait_for_url(live.url + "/moje-konto/bezpieczenstwo")
    axe(page, "Bezpieczeństwo after a first login")
