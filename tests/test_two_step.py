"""Two-step login (SPEC §16, issue 25): switching it on with an authenticator app (TOTP,
RFC 6238) and its recovery codes, the login's second step, a remembered browser,
switching it off; TOTP checked on a fixed clock."""

import re

import pyotp
import pytest
from sqlalchemy import select
from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    AuthActions,
    WizardActions,
    follow,
    last_code,
    last_link,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.identity import two_step
from ebok.models import Account, LoginEvent, RecoveryCode

OTHER_PASSWORD = "Inne#Haslo2027"
PHONE = "+48600700805"  # the registered customer's mobile number
T0 = 1_796_000_000.0  # a fixed clock: a 30-second step starts here


@pytest.fixture
def clock(monkeypatch):
    """two_step's clock, set by the test: clock.now = ..."""

    class Clock:
        now = T0

    fixed = Clock()
    monkeypatch.setattr(two_step, "now", lambda: fixed.now)
    return fixed


def code_at(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)


def switch_on(visitor, clock) -> tuple[str, list[str]]:
    """Bezpieczeństwo → two-step login on; the secret and the recovery codes shown."""
    response = visitor.get("/moje-konto/bezpieczenstwo/dwuetapowe/wlacz")
    assert response.status_code == 200
    response = follow(
        visitor,
        visitor.post(
            "/moje-konto/bezpieczenstwo/dwuetapowe/wlacz",
            {"current_password": TEST_PASSWORD, "method": "totp"},
        ),
    )
    page = response.get_data(as_text=True)
    assert "<svg" in page and "<title>" in page  # the QR code, drawn here, with its name
    shown = re.search(r'class="secret-key"><code>([A-Z2-7 ]+)</code>', page)
    assert shown is not None
    secret = "".join(shown[1].split())
    response = follow(
        visitor,
        visitor.post(
            "/moje-konto/bezpieczenstwo/dwuetapowe/aplikacja", {"code": code_at(secret, clock.now)}
        ),
    )
    page = text_of(response)
    assert "Twoje kody odzyskiwania" in page
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.get_data(as_text=True))
    assert len(set(codes)) == 10
    return secret, codes


def password_step(visitor):
    """The login's first step with the right password: lands on the code step."""
    visitor.get("/")
    return follow(visitor, AuthActions(visitor).post_login())


def test_switching_on_asks_the_password_then_a_first_code(app, visitor, auth, customers, clock):
    auth.log_in()
    visitor.get("/moje-konto/bezpieczenstwo/dwuetapowe/wlacz")
    wrong = visitor.post(
        "/moje-konto/bezpieczenstwo/dwuetapowe/wlacz", {"current_password": "Zle#Haslo1"}
    )
    assert wrong.status_code == 422
    secret, codes = switch_on(visitor, clock)
    with app.app_context():
        account = db.session.scalars(select(Account)).one()
        assert account.two_step == "totp" and account.totp_secret == secret
        hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(hashes) == 10 and not any(code.replace("-", "") in hashes for code in codes)
    # Shown once: the page of codes now leads back to Bezpieczeństwo.
    again = visitor.get("/moje-konto/bezpieczenstwo/dwuetapowe/kody")
    assert "Twoje kody odzyskiwania" not in text_of(again)
    assert "Włączone" in text_of(visitor.get("/moje-konto/bezpieczenstwo"))
    subjects = [m.subject for m in outbox(app, "email")]
    assert "Logowanie dwuetapowe jest włączone" in subjects


def test_a_wrong_first_code_does_not_switch_it_on(app, make_visitor, customers, clock):
    visitor = make_visitor()
    AuthActions(visitor).log_in()
    visitor.get("/moje-konto/bezpieczenstwo/dwuetapowe/wlacz")
    visitor.post(
        "/moje-konto/bezpieczenstwo/dwuetapowe/wlacz",
        {"current_password": TEST_PASSWORD, "method": "totp"},
    )
    response = visitor.post("/moje-konto/bezpieczenstwo/dwuetapowe/aplikacja", {"code": "000000"})
    assert response.status_code == 422
    assert "Kod jest nieprawidłowy." in text_of(response)
    with app.app_context():
        assert db.session.scalars(select(Account)).one().two_step is None


def test_the_login_asks_for_the_code_only_after_the_right_password(
    app, make_visitor, customers, clock
):
    owner = make_visitor()
    AuthActions(owner).log_in()
    secret, _codes = switch_on(owner, clock)
    AuthActions(owner).log_out()
    stranger = make_visitor()
    wrong = AuthActions(stranger).post_login("200005", "Zle#Haslo1")
    assert wrong.status_code == 422  # the same answer as without two-step login
    for htmx in (False, True):
        visitor = make_visitor(htmx=htmx)
        response = password_step(visitor)
        assert response.request.path == "/logowanie/kod"
        body = response.get_data(as_text=True)
        assert 'autocomplete="one-time-code"' in body
        assert "Podaj kod z aplikacji uwierzytelniającej" in text_of(response)
        assert visitor.client.get("/strona-glowna").status_code == 302  # not logged in yet
        clock.now += 60 * (2 if htmx else 1)  # a new step each time: a code works once
        typed = " ".join(code_at(secret, clock.now)[i : i + 3] for i in (0, 3))  # pasted "123 456"
        response = follow(visitor, visitor.post("/logowanie/kod", {"code": typed}))
        assert response.request.path == "/strona-glowna", text_of(response)


def test_totp_window_and_reuse(app, make_visitor, customers, clock):
    owner = make_visitor()
    AuthActions(owner).log_in()
    secret, _codes = switch_on(owner, clock)
    with app.app_context():
        account = db.session.scalars(select(Account)).one()
        later = T0 + 300
        clock.now = later
        # One step either side is accepted; two steps away is not.
        assert two_step.matching_step(secret, code_at(secret, later - 30)) is not None
        assert two_step.matching_step(secret, code_at(secret, later + 30)) is not None
        assert two_step.matching_step(secret, code_at(secret, later - 61)) is None
        assert two_step.matching_step(secret, code_at(secret, later + 61)) is None
        code = code_at(secret, later)
        assert two_step.check_code(account, code) is two_step.Outcome.TOTP
        db.session.commit()
        # The same code again, or the one before it, is refused: the step has moved on.
        assert two_step.check_code(account, code) is two_step.Outcome.WRONG
        assert two_step.check_code(account, code_at(secret, later - 30)) is two_step.Outcome.WRONG
        # The setup's own code (at T0) was the first accepted one.
        clock.now = T0
        assert two_step.check_code(account, code_at(secret, T0)) is two_step.Outcome.WRONG


def test_a_recovery_code_works_once(app, make_visitor, customers, clock):
    owner = make_visitor()
    AuthActions(owner).log_in()
    _secret, codes = switch_on(owner, clock)
    AuthActions(owner).log_out()
    for expected in ("/strona-glowna", "/logowanie/kod"):
        visitor = make_visitor()
        password_step(visitor)
        response = follow(visitor, visitor.post("/logowanie/kod", {"code": codes[3].upper()}))
        assert response.request.path == expected
    assert "Kod jest nieprawidłowy." in text_of(response)
    assert response.status_code == 422
    with app.app_context():
        account = db.session.scalars(select(Account)).one()
        assert two_step.recovery_codes_left(account) == 9


def test_wrong_codes_count_and_end_the_login(app, make_visitor, customers, clock):
    owner = make_visitor()
    AuthActions(owner).log_in()
    switch_on(owner, clock)
    visitor = make_visitor()
    password_step(visitor)
    for _ in range(4):
        response = visitor.post("/logowanie/kod", {"code": "000000"})
        assert response.status_code == 422
    response = visitor.post("/logowanie/kod", {"code": "000000"})
    assert "Zbyt wiele błędnych kodów. Zaloguj się ponownie." in text_of(response)
    assert visitor.client.get("/logowanie/kod").status_code in (302, 303)
    with app.app_context():
        failures = db.session.scalars(
            select(LoginEvent).where(LoginEvent.succeeded.is_(False))
        ).all()
    assert len(failures) == 5  # each wrong code is a failed attempt in the history


@pytest.mark.config(RATELIMIT_TWO_STEP_PER_ACCOUNT="3/15 minutes")
def test_the_account_limits_codes_across_logins(app, make_visitor, customers, clock):
    owner = make_visitor()
    AuthActions(owner).log_in()
    secret, _codes = switch_on(owner, clock)
    for _ in range(3):
        visitor = make_visitor()
        password_step(visitor)
        assert visitor.post("/logowanie/kod", {"code": "000000"}).status_code == 422
    visitor = make_visitor()
    password_step(visitor)
    clock.now += 60
    response = visitor.post("/logowanie/kod", {"code": code_at(secret, clock.now)})
    assert response.status_code == 429
    assert "Zbyt wiele błędnych kodów. Spróbuj ponownie za" in text_of(response)


def test_a_remembered_browser_skips_the_second_step(app, make_visitor, customers, clock):
    owner = make_visitor()
    AuthActions(owner).log_in()
    secret, _codes = switch_on(owner, clock)
    AuthActions(owner).log_out()
    password_step(owner)
    clock.now += 60
    owner.post("/logowanie/kod", {"code": code_at(secret, clock.now), "remember": "y"})
    AuthActions(owner).log_out()
    assert AuthActions(owner).log_in().request.path == "/strona-glowna"  # no code asked
    # Another browser is still asked.
    assert password_step(make_visitor()).request.path == "/logowanie/kod"


def test_switching_off_asks_the_password_and_a_code(app, make_visitor, customers, clock):
    owner = make_visitor()
    AuthActions(owner).log_in()
    secret, _codes = switch_on(owner, clock)
    url = "/moje-konto/bezpieczenstwo/dwuetapowe/wylacz"
    owner.get(url)
    response = owner.post(url, {"current_password": TEST_PASSWORD, "code": "000000"})
    assert response.status_code == 422
    response = owner.post(url, {"current_password": "Zle#Haslo1", "code": "123456"})
    assert response.status_code == 422
    clock.now += 60
    response = follow(
        owner,
        owner.post(url, {"current_password": TEST_PASSWORD, "code": code_at(secret, clock.now)}),
    )
    assert "Logowanie dwuetapowe jest wyłączone." in text_of(response)
    with app.app_context():
        account = db.session.scalars(select(Account)).one()
        assert account.two_step is None and account.totp_secret is None
        assert db.session.scalars(select(RecoveryCode)).all() == []
    assert "Logowanie dwuetapowe jest wyłączone" in [m.subject for m in outbox(app, "email")]
    AuthActions(owner).log_out()
    assert AuthActions(make_visitor()).log_in().request.path == "/strona-glowna"


def test_the_second_step_cannot_be_reached_without_the_password(app, make_visitor, customers):
    visitor = make_visitor()
    response = visitor.get("/logowanie/kod")
    assert response.request.path == "/"
    assert "Logowanie wygasło." in text_of(response)


def test_a_new_browser_is_told_once(app, make_visitor, customers):
    AuthActions(make_visitor()).log_in()  # the first login of all: nothing told
    assert outbox(app, "email") == []
    laptop = make_visitor()
    AuthActions(laptop).log_in()
    AuthActions(laptop).log_out()
    AuthActions(laptop).log_in()  # the same browser again: told once
    subjects = [m.subject for m in outbox(app, "email")]
    assert subjects.count("Nowe logowanie do Strefy Klienta") == 1


def test_a_reset_by_sms_is_the_second_step_of_its_login_and_by_email_not(
    app, make_visitor, customers, clock
):
    owner = make_visitor()
    AuthActions(owner).log_in()
    switch_on(owner, clock)
    registered = customers["registered"]
    # By SMS: the phone on file got the code; the login after it asks for no other.
    visitor = make_visitor()
    reset = WizardActions(app, visitor, "/zapomnialem-hasla")
    reset.to_password(registered)
    reset.set_password()
    response = follow(visitor, AuthActions(visitor).post_login("200005", NEW_PASSWORD))
    assert response.request.path == "/strona-glowna"
    # By e-mail link: the login after it asks for the code.
    visitor = make_visitor()
    reset = WizardActions(app, visitor, "/zapomnialem-hasla")
    reset.send_link(registered)
    visitor.get(last_link(app, registered.email))
    reset.set_password(OTHER_PASSWORD)
    response = follow(visitor, AuthActions(visitor).post_login("200005", OTHER_PASSWORD))
    assert response.request.path == "/logowanie/kod"


# -- by SMS to the mobile number on file ------------------------------------------------------


def switch_on_by_sms(app, visitor) -> list[str]:
    visitor.get("/moje-konto/bezpieczenstwo/dwuetapowe/wlacz")
    response = follow(
        visitor,
        visitor.post(
            "/moje-konto/bezpieczenstwo/dwuetapowe/wlacz",
            {"current_password": TEST_PASSWORD, "method": "sms"},
        ),
    )
    assert response.request.path == "/moje-konto/bezpieczenstwo/dwuetapowe/sms"
    assert "Wysłaliśmy kod SMS na numer 600 700 805" in text_of(response)
    wrong = visitor.post("/moje-konto/bezpieczenstwo/dwuetapowe/sms", {"code": "000000"})
    assert wrong.status_code == 422
    code = last_code(app, PHONE)
    response = follow(
        visitor, visitor.post("/moje-konto/bezpieczenstwo/dwuetapowe/sms", {"code": code})
    )
    assert "Twoje kody odzyskiwania" in text_of(response)
    return re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.get_data(as_text=True))


@pytest.mark.config(RATELIMIT_CODE_SENDS_PER_CUSTOMER="20/15 minutes")
def test_sms_as_the_second_step(app, make_visitor, customers):
    owner = make_visitor()
    AuthActions(owner).log_in()
    codes = switch_on_by_sms(app, owner)
    assert len(codes) == 10
    with app.app_context():
        assert db.session.scalars(select(Account)).one().two_step == "sms"
    for htmx in (False, True):
        visitor = make_visitor(htmx=htmx)
        response = password_step(visitor)
        assert response.request.path == "/logowanie/kod"
        page = text_of(response)
        assert "Podaj kod SMS" in page and "600 700 805" in page
        assert 'autocomplete="one-time-code"' in response.get_data(as_text=True)
        code = last_code(app, PHONE)
        assert visitor.post("/logowanie/kod", {"code": "000000"}).status_code == 422
        response = follow(
            visitor, visitor.post("/logowanie/kod", {"code": f" {code[:3]} {code[3:]}"})
        )
        assert response.request.path == "/strona-glowna"
    # The code of a login is the code of that login only.
    visitor = make_visitor()
    password_step(visitor)
    old = last_code(app, PHONE)
    other = make_visitor()
    password_step(other)  # a newer code supersedes it
    stale = visitor.post("/logowanie/kod", {"code": old})
    assert stale.status_code == 422, (stale.request.path, text_of(stale)[:3000])
    # A recovery code still works when the phone is away.
    response = follow(other, other.post("/logowanie/kod", {"code": codes[0]}))
    assert response.request.path == "/strona-glowna"


def test_switching_sms_off_asks_the_password_and_an_sms_code(app, make_visitor, customers):
    owner = make_visitor()
    AuthActions(owner).log_in()
    switch_on_by_sms(app, owner)
    url = "/moje-konto/bezpieczenstwo/dwuetapowe/wylacz"
    assert "Kod SMS lub kod odzyskiwania" in text_of(owner.get(url))
    owner.post(url + "/sms")
    code = last_code(app, PHONE)
    response = follow(owner, owner.post(url, {"current_password": TEST_PASSWORD, "code": code}))
    assert "Logowanie dwuetapowe jest wyłączone." in text_of(response)
    with app.app_context():
        assert db.session.scalars(select(Account)).one().two_step is None


@pytest.mark.config(RATELIMIT_CODE_SENDS_PER_CUSTOMER="1/15 minutes")
def test_an_sms_not_sent_leaves_the_recovery_codes(app, make_visitor, customers):
    owner = make_visitor()
    AuthActions(owner).log_in()
    codes = switch_on_by_sms(app, owner)  # the one SMS the limit allows this browser
    AuthActions(owner).log_out()
    visitor = owner
    response = password_step(visitor)
    assert response.request.path == "/logowanie/kod"
    assert "Nie możemy teraz wysłać kodu SMS." in text_of(response)
    response = follow(visitor, visitor.post("/logowanie/kod", {"code": codes[0]}))
    assert response.request.path == "/strona-glowna"


@pytest.mark.config(RATELIMIT_CODE_SENDS_PER_CUSTOMER="20/15 minutes")
def test_the_sms_code_can_be_sent_again(app, make_visitor, customers):
    owner = make_visitor()
    AuthActions(owner).log_in()
    switch_on_by_sms(app, owner)
    for htmx in (False, True):
        visitor = make_visitor(htmx=htmx)
        response = password_step(visitor)
        assert "Wyślij kod ponownie" in text_of(response)
        first = last_code(app, PHONE)
        response = visitor.post("/logowanie/kod/wyslij-ponownie")
        assert "Wysłaliśmy kod SMS na numer 600 700 805." in text_of(response)
        second = last_code(app, PHONE)
        if first != second:  # the first is superseded
            assert visitor.post("/logowanie/kod", {"code": first}).status_code == 422
        response = follow(visitor, visitor.post("/logowanie/kod", {"code": second}))
        assert response.request.path == "/strona-glowna"
    # Without a login waiting there is nothing to send.
    response = make_visitor().post("/logowanie/kod/wyslij-ponownie")
    assert response.request.path == "/" and "Logowanie wygasło." in text_of(response)


def test_new_recovery_codes_replace_the_old_ones(app, make_visitor, customers, clock):
    owner = make_visitor()
    AuthActions(owner).log_in()
    _secret, old_codes = switch_on(owner, clock)
    url = "/moje-konto/bezpieczenstwo/dwuetapowe/nowe-kody"
    owner.get(url)
    assert owner.post(url, {"current_password": "Zle#Haslo1"}).status_code == 422
    response = follow(owner, owner.post(url, {"current_password": TEST_PASSWORD}))
    new_codes = re.findall(
        r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.get_data(as_text=True)
    )
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    AuthActions(owner).log_out()
    visitor = make_visitor()
    password_step(visitor)
    assert visitor.post("/logowanie/kod", {"code": old_codes[0]}).status_code == 422
    response = follow(visitor, visitor.post("/logowanie/kod", {"code": new_codes[0]}))
    assert response.request.path == "/strona-glowna"
