"""The idle timeout told in time (issue 28 item 7f, WCAG 2.2.1): signed-in pages say how
long a session lasts and carry what app.js needs to warn before it ends; "Nie wylogowuj
mnie" extends the session on the server; a form sent after the session ended says
plainly that the customer was logged out, and the login brings them back to its page."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from support import TEST_PASSWORD, AuthActions, follow, text_of

from ebok.extensions import db
from ebok.models import LoginSession, utcnow

NO_JS_NOTE = (
    "Ze względów bezpieczeństwa po 30 minutach bez aktywności wylogujemy Cię automatycznie."
)


def the_row(app):
    with app.app_context():
        (row,) = db.session.scalars(select(LoginSession)).all()
        return row


def last_seen_ago(app, delta):
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - delta))
        db.session.commit()


def data_attribute(response, name):
    match = re.search(rf'{name}="([^"]*)"', response.get_data(as_text=True))
    assert match, name
    return match.group(1)


def test_signed_in_pages_say_how_long_a_session_lasts(app, visitor, auth, customers):
    auth.log_in()
    response = visitor.client.get("/moje-konto")  # a full page, as the browser loads it
    assert NO_JS_NOTE in text_of(response)
    # What app.js counts from: the seconds left (never more than the idle timeout) and
    # how long before the end the warning opens (SESSION_WARNING_BEFORE).
    assert 1740 <= int(data_attribute(response, "data-seconds-left")) <= 1800
    assert data_attribute(response, "data-warn-before") == "120"
    text = text_of(response)
    # Gender-neutral (SPEC §12): not "Zostań zalogowany".
    assert "Nie wylogowuj mnie" in text and "Zostań zalogowany" not in text
    assert "Czy nadal korzystasz ze Strefy Klienta?" in text
    assert "wylogujemy Cię o {time}" in data_attribute(response, "data-text")
    # Every signed-in answer, an htmx one included, says how long the session has left.
    answer = visitor.get("/moje-konto/login")
    assert 1740 <= int(answer.headers["X-Session-Time-Left"]) <= 1800


def test_the_page_and_its_header_count_the_same_seconds_rounded_up(app, visitor, auth, customers):
    auth.log_in()
    visitor.get("/moje-konto")
    # Half a second into a second: 1759.5 seconds left, told as 1760 by both.
    last_seen_ago(app, timedelta(seconds=40, milliseconds=500))
    response = visitor.client.get("/moje-konto")
    assert data_attribute(response, "data-seconds-left") == "1760"
    assert response.headers["X-Session-Time-Left"] == "1760"


@pytest.mark.config(PERMANENT_SESSION_LIFETIME=timedelta(minutes=1))
def test_the_minutes_come_from_the_setting(app, make_visitor, customers):
    visitor = make_visitor()
    AuthActions(visitor).log_in()
    text = text_of(visitor.client.get("/moje-konto"))
    assert "po 1 minucie bez aktywności wylogujemy Cię automatycznie." in text


def test_pages_of_visitors_have_no_warning(app, make_visitor, customers):
    response = make_visitor().client.get("/")
    assert "session-warning" not in response.get_data(as_text=True)
    assert "X-Session-Time-Left" not in response.headers


def test_stay_logged_in_extends_the_session_on_the_server(app, visitor, auth, customers):
    auth.log_in()
    visitor.get("/moje-konto")
    # Within SESSION_LAST_SEEN_EVERY, when an ordinary request writes nothing: the POST
    # writes the row all the same, so the idle timeout counts from now.
    last_seen_ago(app, timedelta(seconds=40))
    before = the_row(app).last_seen_at
    response = visitor.post("/sesja/przedluz")
    assert response.status_code == 204
    assert int(response.headers["X-Session-Time-Left"]) == 1800
    after = the_row(app).last_seen_at
    assert after > before and utcnow() - after < timedelta(seconds=5)


def test_stay_logged_in_takes_a_post_with_its_token_from_a_customer(app, visitor, auth, customers):
    auth.log_in()
    visitor.get("/moje-konto")
    last_seen_ago(app, timedelta(seconds=40))
    before = the_row(app).last_seen_at
    # Only a POST: a GET is answered as an unknown page (405 is shown as 404 here).
    assert visitor.client.get("/sesja/przedluz", headers=visitor.headers).status_code == 404
    response = visitor.post("/sesja/przedluz", csrf=False)
    assert response.status_code == 400  # no CSRF token: nothing extended
    assert the_row(app).last_seen_at == before
    stranger = visitor.__class__(app.test_client(), htmx=visitor.htmx)
    stranger.get("/")
    # Someone never logged in: to the login page, as for any signed-in page.
    assert stranger.post("/sesja/przedluz", follow_redirects=False).status_code == 302


def test_a_form_sent_after_the_session_timed_out_says_so(app, visitor, auth, customers):
    auth.log_in()
    visitor.get("/moje-konto/login")
    last_seen_ago(app, timedelta(minutes=31))
    visitor.referer = "https://localhost/moje-konto/login"
    response = visitor.post(
        "/moje-konto/login", {"login_name": "jan.nowak", "current_password": TEST_PASSWORD}
    )
    assert response.status_code == 401
    text = text_of(response)
    assert "Wylogowaliśmy Cię" in text
    assert "po 30 minutach bez aktywności, dlatego formularz nie został wysłany" in text
    assert "Formularz wygasł" not in text
    assert "To, co wpisano, zostało w formularzu (oprócz haseł)" in text
    assert "Zaloguj się ponownie" in text
    # The header is a visitor's: no menu of a signed-in customer, no "Wyloguj".
    assert "Wyloguj" not in text and "data-menu" not in response.get_data(as_text=True)
    assert TEST_PASSWORD not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(LoginSession)).all() == []
    # The next login comes back to the form's page.
    landed = follow(visitor, AuthActions(visitor).post_login())
    assert landed.request.path == "/moje-konto/login"


def test_a_form_sent_after_logging_out_elsewhere_says_so(app, visitor, auth, customers):
    auth.log_in()
    visitor.get("/moje-konto/haslo")
    with app.app_context():
        db.session.execute(LoginSession.__table__.delete())
        db.session.commit()
    response = visitor.post(
        "/moje-konto/haslo",
        {"current_password": TEST_PASSWORD, "password": "x", "password_repeat": "x"},
    )
    assert response.status_code == 401 and "Wylogowaliśmy Cię" in text_of(response)


def test_a_visitors_expired_form_is_still_the_expired_form(app, visitor, customers):
    visitor.get("/")
    response = visitor.post("/", {"login": "200005", "password": "x"}, csrf=False)
    assert response.status_code == 400 and "Formularz wygasł" in text_of(response)


def test_a_page_asked_for_after_the_session_timed_out_comes_back_after_the_login(
    app, visitor, auth, customers
):
    auth.log_in()
    last_seen_ago(app, timedelta(minutes=31))
    # An htmx request (a year of Faktury) names its page by the Referer; a page, by itself.
    response = visitor._remember_token(  # and the login page's token, as Visitor.get does
        visitor.client.get(
            "/faktury",
            headers={**visitor.headers, "Referer": "https://localhost/faktury"},
            follow_redirects=True,
        )
    )
    assert response.request.path == "/"
    assert "Ze względów bezpieczeństwa wylogowaliśmy Cię." in text_of(response)
    landed = follow(visitor, AuthActions(visitor).post_login())
    assert landed.request.path == "/faktury"
    # Once: the next login lands on Strona Główna again.
    auth.log_out()
    auth.log_in()
