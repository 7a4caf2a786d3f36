"""Bezpieczeństwo (SPEC §16, issue 25): the sessions, the login history, remembered
devices; the notice of the last login after logging in."""

import re

import pytest
from sqlalchemy import select
from support import TEST_PASSWORD, AuthActions, text_of

from ebok.extensions import db
from ebok.models import LoginEvent, LoginSession, RememberedDevice

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def browser(make_visitor, user_agent, address="203.0.113.7"):
    visitor = make_visitor()
    visitor.client.environ_base.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    return visitor


def rows(app, model):
    with app.app_context():
        return db.session.scalars(select(model)).all()


def test_the_page_lists_sessions_history_and_devices(app, make_visitor, customers):
    phone = browser(make_visitor, ANDROID, "198.51.100.20")
    desktop = browser(make_visitor, FIREFOX)
    AuthActions(phone).log_in()
    AuthActions(desktop).log_in()
    response = desktop.get("/moje-konto/bezpieczenstwo")
    assert response.status_code == 200
    page = text_of(response)
    assert "Bezpieczeństwo" in page
    assert "Firefox, Windows 10 To urządzenie" in page
    assert "Chrome Mobile, Android 14" in page and "198.51.100.0/24" in page
    assert page.count("Wyloguj ze wszystkich innych urządzeń") == 1
    assert page.count("Udane") == 2
    assert response.get_data(as_text=True).count(">Zapomnij</button>") == 2
    my_account = text_of(desktop.get("/moje-konto"))
    assert "Bezpieczeństwo" in my_account


def test_one_other_session_is_logged_out_at_once(app, make_visitor, customers):
    phone = browser(make_visitor, ANDROID)
    desktop = browser(make_visitor, FIREFOX)
    AuthActions(phone).log_in()
    AuthActions(desktop).log_in()
    body = desktop.get("/moje-konto/bezpieczenstwo").get_data(as_text=True)
    (action,) = re.findall(r'action="(/moje-konto/bezpieczenstwo/sesje/[^"]+/wyloguj)"', body)
    response = desktop.post(action)
    assert "To urządzenie zostało wylogowane." in text_of(response)
    assert phone.client.get("/strona-glowna").status_code == 302
    assert desktop.client.get("/strona-glowna").status_code == 200
    # Its own session cannot be named, nor another account's: 404 for any other id.
    assert desktop.post(action).status_code == 404


def test_log_out_of_all_other_devices(app, make_visitor, customers):
    visitors = [browser(make_visitor, ANDROID) for _ in range(3)]
    for visitor in visitors:
        AuthActions(visitor).log_in()
    here = visitors[-1]
    here.get("/moje-konto/bezpieczenstwo")
    response = here.post("/moje-konto/bezpieczenstwo/wyloguj-inne")
    assert "2 inne urządzenia zostały wylogowane." in text_of(response)
    assert [v.client.get("/strona-glowna").status_code for v in visitors] == [302, 302, 200]
    assert len(rows(app, LoginSession)) == 1


def test_the_history_counts_logins_and_failures(app, make_visitor, customers):
    stranger = browser(make_visitor, FIREFOX, "192.0.2.50")
    owner = browser(make_visitor, ANDROID)
    AuthActions(owner).log_in()
    for _ in range(2):
        assert AuthActions(stranger).post_login("200005", "Zle#Haslo1").status_code == 422
    AuthActions(stranger).post_login("900001", "Zle#Haslo1")  # nobody's: not recorded
    events = rows(app, LoginEvent)
    assert [event.succeeded for event in events] == [True, False, False]
    assert {event.network for event in events if not event.succeeded} == {"192.0.2.0/24"}
    page = text_of(owner.get("/moje-konto/bezpieczenstwo"))
    assert page.count("Nieudane") == 2 and page.count("Udane") == 1


@pytest.mark.config(RATELIMIT_LOGIN_PER_DEVICE="50/15 minutes")
@pytest.mark.parametrize(
    ("language", "failures", "expected"),
    [
        ("pl", 0, "Od tamtej pory: 0 nieudanych prób."),
        ("pl", 1, "Od tamtej pory: 1 nieudana próba."),
        ("pl", 2, "Od tamtej pory: 2 nieudane próby."),
        ("pl", 5, "Od tamtej pory: 5 nieudanych prób."),
        ("en", 1, "Since then: 1 failed attempt."),
        ("en", 3, "Since then: 3 failed attempts."),
        ("uk", 1, "Відтоді: 1 невдала спроба."),
        ("uk", 3, "Відтоді: 3 невдалі спроби."),
        ("uk", 5, "Відтоді: 5 невдалих спроб."),
    ],
)
def test_after_login_the_last_login_and_failures_since(
    app, make_visitor, customers, language, failures, expected
):
    owner = browser(make_visitor, ANDROID)
    owner.client.set_cookie("language", language)
    AuthActions(owner).log_in()
    AuthActions(owner).log_out()
    for _ in range(failures):
        AuthActions(owner).post_login("200005", "Zle#Haslo1")
    response = AuthActions(owner).log_in()
    page = text_of(response)
    assert expected in page
    link = 'href="/moje-konto/bezpieczenstwo"'
    status = response.get_data(as_text=True).split('id="status"', 1)[1].split("</div>", 1)[0]
    assert (link in status) == (failures > 0)


def test_the_first_login_has_no_last_login(app, make_visitor, customers):
    page = text_of(AuthActions(make_visitor()).log_in())
    assert "Ostatnie logowanie" not in page


def test_a_forgotten_device_is_a_stranger_again(app, make_visitor, customers):
    owner = browser(make_visitor, ANDROID)
    AuthActions(owner).log_in()
    (device,) = rows(app, RememberedDevice)
    owner.get("/moje-konto/bezpieczenstwo")
    response = owner.post(f"/moje-konto/bezpieczenstwo/urzadzenia/{device.id}/zapomnij")
    assert "Urządzenie zostało zapomniane." in text_of(response)
    assert rows(app, RememberedDevice) == []
    assert (
        owner.post("/moje-konto/bezpieczenstwo/urzadzenia/99999999999/zapomnij").status_code == 404
    )
    # Logging in again remembers it anew, once.
    AuthActions(owner).log_out()
    AuthActions(owner).log_in()
    AuthActions(owner).log_out()
    AuthActions(owner).log_in()
    assert len(rows(app, RememberedDevice)) == 1


def test_the_page_needs_a_login_and_posts_need_csrf(app, make_visitor, customers):
    visitor = make_visitor()
    assert visitor.client.get("/moje-konto/bezpieczenstwo").status_code == 302
    AuthActions(visitor).log_in()
    response = visitor.post("/moje-konto/bezpieczenstwo/wyloguj-inne", csrf=False)
    assert response.status_code == 400


def test_an_account_can_be_deleted_after_forgetting_its_security_records(
    app, make_visitor, customers
):
    """For the deletion of an account (issue 24): its rows in the tables of issue 25 go
    first, and its sessions end at once."""
    from ebok.identity import sessions, two_step
    from ebok.models import Account

    visitor = browser(make_visitor, ANDROID)
    AuthActions(visitor).log_in()
    with app.test_request_context():
        account = db.session.scalars(select(Account)).one()
        two_step.switch_on(account, two_step.new_secret(), 1)
        db.session.commit()
        sessions.forget_account(account)
        db.session.delete(account)
        db.session.commit()
    for model in (LoginSession, LoginEvent, RememberedDevice):
        assert rows(app, model) == []
    assert visitor.client.get("/strona-glowna").status_code == 302


def test_the_customers_data_lists_logins_sessions_and_two_step(app, make_visitor, customers):
    """Pobierz moje dane: the login history and the open sessions are the customer's data
    too (docs/personal-data.md)."""
    visitor = make_visitor()
    auth = AuthActions(visitor)
    assert auth.post_login("200005", "Zle#Haslo1").status_code == 422
    auth.log_in()
    visitor.post("/moje-konto/moje-dane", {"current_password": TEST_PASSWORD})
    data = visitor.client.get("/moje-konto/moje-dane/plik").get_json()
    assert [login["succeeded"] for login in data["logins"]] == [True, False]
    assert len(data["sessions"]) == 1
    assert data["two_step_login"] == {"method": None}
    page = text_of(visitor.get("/moje-konto/moje-dane/podglad"))
    assert "Logowania i nieudane próby" in page and "Logowanie dwuetapowe" in page
