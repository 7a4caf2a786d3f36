"""The idle timeout told in time in a real browser (issue 28 item 7f, WCAG 2.2.1): the
alert dialog before the end, focus in it, "Nie wylogowuj mnie" keeping the session, Escape
doing the same, the login page after the end; the tabs of one browser sharing the
session's end (one kept busy keeps the others from warning and leaving); and a form sent
after the session ended keeping what was typed, with the header no longer signed in. The
idle timeout is made short here; only waits, no timing assertions."""

from datetime import timedelta

import pytest
from conftest import browser_tab
from sqlalchemy import delete, select
from steps import log_in

from ebok.extensions import db
from ebok.models import LoginSession

# The warning opens 5 seconds after a page loads, and the session ends 25 seconds later.
LIFETIME = timedelta(seconds=30)
WAIT_MS = 40_000


@pytest.fixture
def live_config() -> dict:
    return {
        "PERMANENT_SESSION_LIFETIME": LIFETIME,
        "SESSION_WARNING_BEFORE": timedelta(seconds=25),
    }


def rows(live):
    with live.app.app_context():
        return db.session.scalars(select(LoginSession)).all()


def wait_for_warning(page):
    page.locator("dialog#session-warning[open]").wait_for(timeout=WAIT_MS)


def warning_open(page) -> bool:
    return page.evaluate("document.getElementById('session-warning').open")


def test_the_warning_before_the_idle_timeout(page, live, axe):
    log_in(page, live)
    (row,) = rows(live)
    wait_for_warning(page)
    dialog = page.get_by_role("alertdialog", name="Czy nadal korzystasz ze Strefy Klienta?")
    assert dialog.is_visible()
    assert "Ze względów bezpieczeństwa wylogujemy Cię o " in dialog.inner_text()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Nie wylogowuj mnie"
    assert page.evaluate(
        "document.getElementById('session-warning').contains(document.activeElement)"
    )
    axe(page, "the warning before the idle timeout", forced_colors=False)

    # "Nie wylogowuj mnie": the dialog closes and the session's row says it was used now.
    page.get_by_role("button", name="Nie wylogowuj mnie").click()
    page.wait_for_function("() => !document.getElementById('session-warning').open")
    (extended,) = rows(live)
    assert extended.id_hash == row.id_hash and extended.last_seen_at > row.last_seen_at

    # Escape answers the same way.
    wait_for_warning(page)
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('session-warning').open")
    (again,) = rows(live)
    assert again.last_seen_at > extended.last_seen_at
    page.goto(live.url + "/moje-konto")
    assert page.url == live.url + "/moje-konto"  # still logged in

    # Left unanswered: at the end, the login page says why the customer was logged out.
    wait_for_warning(page)
    page.wait_for_url(live.url + "/", timeout=WAIT_MS)
    page.get_by_text("Ze względów bezpieczeństwa wylogowaliśmy Cię.").wait_for()
    assert rows(live) == []


def test_a_tab_left_idle_follows_the_session_kept_going_in_another(browser, live):
    # Every request counts as the session's use (else only one a minute would), and the
    # warning opens 15 seconds after the last one, the session ending 25 seconds later.
    live.app.config.update(
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=40), SESSION_LAST_SEEN_EVERY=timedelta(0)
    )
    with browser_tab(browser, live, "desktop") as first:
        log_in(first, live)
        second = first.context.new_page()
        second.goto(live.url + "/moje-konto")
        # The customer works in the second tab for longer than the whole session: the
        # first, left alone, neither warns nor opens the login page.
        for _ in range(15):
            second.wait_for_timeout(3000)
            second.reload()
            assert not warning_open(first)
        assert first.url == live.url + "/strona-glowna"

        # Both tabs idle: both warn; "Nie wylogowuj mnie" in one closes the other's too.
        wait_for_warning(first)
        wait_for_warning(second)
        second.get_by_role("button", name="Nie wylogowuj mnie").click()
        first.wait_for_function("() => !document.getElementById('session-warning').open")
        assert not warning_open(second)
        assert first.url == live.url + "/strona-glowna"


def test_without_local_storage_a_tab_counts_on_its_own(browser, live):
    with browser_tab(browser, live, "desktop") as tab:
        # As in a private window that refuses storage: every use of it throws.
        tab.add_init_script(
            "Object.defineProperty(window, 'localStorage', { get() {"
            " throw new DOMException('The operation is insecure.', 'SecurityError'); } });"
        )
        log_in(tab, live)
        wait_for_warning(tab)
        tab.get_by_role("button", name="Nie wylogowuj mnie").click()
        tab.wait_for_function("() => !document.getElementById('session-warning').open")
        wait_for_warning(tab)
        tab.wait_for_url(live.url + "/", timeout=WAIT_MS)
        assert rows(live) == []


def test_a_form_sent_after_the_session_ended_keeps_what_was_typed(page, live, axe):
    live.app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=30)  # no warning now
    log_in(page, live)
    page.goto(live.url + "/moje-konto/login")
    page.get_by_label("Twój login").fill("ewa.kaminska")
    page.get_by_label("Obecne hasło").fill("Jakies#Haslo1")
    with live.app.app_context():  # the session ends meanwhile (timed out, or logged out)
        db.session.execute(delete(LoginSession))
        db.session.commit()
    page.get_by_role("button", name="Zapisz").click()
    notice = page.locator("#logged-out-notice")
    notice.wait_for()
    assert "Wylogowaliśmy Cię" in notice.inner_text()
    assert "formularz nie został wysłany" in notice.inner_text()
    assert page.evaluate("document.activeElement.id") == "logged-out-notice"
    # What was typed is still there; the header no longer shows a signed-in customer.
    assert page.get_by_label("Twój login").input_value() == "ewa.kaminska"
    assert page.get_by_role("button", name="Wyloguj").count() == 0
    assert page.locator("[data-menu]").count() == 0
    axe(page, "a form sent after the session ended", forced_colors=False)

    # Logging in again comes back to the form's page.
    notice.get_by_role("link", name="Zaloguj się ponownie").click()
    page.wait_for_url(live.url + "/")
    log_in(page, live, landing="/moje-konto/login")
