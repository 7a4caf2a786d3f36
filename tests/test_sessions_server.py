"""Sessions on the server (SPEC §16, issue 25): a row per login, the cookie carrying only
its random id; timeouts counted from the row; ending sessions; last-seen writes bounded."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import OperationalError
from support import NEW_PASSWORD, TEST_PASSWORD, AuthActions, give_account, text_of

from ebok.clients import this_client
from ebok.extensions import db
from ebok.identity import sessions
from ebok.identity.sessions import hash_cookie_id
from ebok.models import Account, Customer, LoginSession, utcnow

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def session_rows(app):
    with app.app_context():
        return db.session.scalars(select(LoginSession)).all()


def cookie_of(visitor):
    cookie = visitor.client.get_cookie("session")
    return cookie.value if cookie is not None else None


def test_a_login_makes_a_row_and_the_cookie_carries_only_its_id(app, make_visitor, customers):
    visitor = make_visitor()
    visitor.client.environ_base.update(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.77")
    before = cookie_of(visitor)
    AuthActions(visitor).log_in()
    cookie = cookie_of(visitor)
    assert cookie is not None and cookie != before and "." not in cookie and len(cookie) >= 40
    (row,) = session_rows(app)
    assert row.id_hash == hash_cookie_id(cookie)  # the id itself is nowhere in the database
    assert (row.browser, row.system, row.network) == ("Firefox", "Windows 10", "203.0.113.0/24")
    assert "csrf_token" in row.data  # Flask's session lives in the row


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("192.0.2.200", "192.0.2.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("unknown", ""),
    ],
)
def test_the_address_is_shortened_to_its_network(app, address, network):
    with app.test_request_context(
        environ_base={"REMOTE_ADDR": address, "HTTP_USER_AGENT": ANDROID}
    ):
        client = this_client()
    assert client.network == network
    assert (client.browser, client.system) == ("Chrome Mobile", "Android 14")


def test_an_unknown_cookie_id_is_no_session(app, make_visitor, customers):
    visitor = make_visitor()
    visitor.client.set_cookie("session", "x" * 43)
    response = visitor.client.get("/strona-glowna")
    assert response.status_code == 302
    assert "x" * 43 not in response.headers["Set-Cookie"]  # the dead id is replaced
    assert "." in cookie_of(visitor)  # by a visitor's signed cookie


def test_the_idle_timeout_counts_from_the_row(app, make_visitor, customers):
    visitor = make_visitor()
    AuthActions(visitor).log_in()
    with app.app_context():
        db.session.execute(
            update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
        db.session.commit()
    response = visitor.client.get("/strona-glowna", follow_redirects=True)
    assert "Ze względów bezpieczeństwa wylogowaliśmy Cię." in text_of(response)
    assert session_rows(app) == []


def test_last_seen_is_written_at_most_once_a_minute(app, make_visitor, customers):
    visitor = make_visitor()
    AuthActions(visitor).log_in()
    visitor.client.get("/strona-glowna")  # the login's messages are shown and gone
    writes = []

    def count(conn, cursor, statement, *args):
        if statement.startswith("UPDATE login_sessions") and "WHERE" in statement:
            writes.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            for _ in range(5):
                assert visitor.client.get("/faktury").status_code == 200
            assert writes == []
            db.session.execute(
                update(LoginSession).values(last_seen_at=utcnow() - timedelta(seconds=61))
            )
            db.session.commit()
            for _ in range(3):
                assert visitor.client.get("/faktury").status_code == 200
            assert len(writes) == 1
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    (row,) = session_rows(app)
    assert utcnow() - row.last_seen_at < timedelta(seconds=30)


def test_a_signed_in_page_costs_one_lookup_for_session_and_account(app, make_visitor, customers):
    visitor = make_visitor()
    AuthActions(visitor).log_in()
    visitor.client.get("/moje-konto")
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert visitor.client.get("/moje-konto").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    lookups = [s for s in statements if "login_sessions" in s]
    assert len(lookups) == 1 and "JOIN accounts" in lookups[0]
    assert not any(s.lstrip().startswith("SELECT accounts") for s in statements)


def test_a_password_change_ends_every_other_session(app, make_visitor, customers):
    phone, desktop = make_visitor(), make_visitor()
    AuthActions(phone).log_in()
    AuthActions(desktop).log_in()
    phone.post(
        "/moje-konto/haslo",
        {
            "current_password": TEST_PASSWORD,
            "password": NEW_PASSWORD,
            "password_repeat": NEW_PASSWORD,
        },
    )
    assert phone.client.get("/moje-konto").status_code == 200
    assert desktop.client.get("/moje-konto").status_code == 302
    assert len(session_rows(app)) == 1


def test_the_login_page_keeps_the_cookie_session_for_visitors(app, make_visitor):
    visitor = make_visitor()
    visitor.get("/")
    cookie = cookie_of(visitor)
    assert cookie is not None and "." in cookie  # signed, no row
    assert session_rows(app) == []


def test_a_lost_database_answers_503_and_keeps_the_cookie(
    app, make_visitor, customers, monkeypatch
):
    """The row cannot be read (the database is away): the outage page, and the cookie
    stays for when it can."""
    visitor = make_visitor()
    AuthActions(visitor).log_in()
    cookie = cookie_of(visitor)

    def database_away(cookie_id):
        raise OperationalError("SELECT login_sessions", {}, ConnectionError("gone"))

    with monkeypatch.context() as patch:
        patch.setattr(sessions, "find_session", database_away)
        response = visitor.client.get("/strona-glowna")
    assert response.status_code == 503
    assert "Set-Cookie" not in response.headers
    assert cookie_of(visitor) == cookie
    assert visitor.client.get("/strona-glowna").status_code == 200


def test_the_outbox_worker_deletes_every_accounts_timed_out_sessions_not_a_login(
    app, make_visitor, customers
):
    give_account(app, customers["both"])
    AuthActions(make_visitor()).log_in("200001")  # and never again
    AuthActions(make_visitor()).log_in()
    with app.app_context():
        db.session.execute(
            update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
        db.session.commit()
    AuthActions(make_visitor()).log_in()
    assert len(session_rows(app)) == 3  # a login pays for no delete

    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        numbers = db.session.scalars(select(Customer.number).join(Account).join(LoginSession)).all()
    assert numbers == ["200005"]  # the live one


def test_what_is_the_same_for_everyone_costs_no_lookup(app, make_visitor, customers):
    visitor = make_visitor()
    AuthActions(visitor).log_in()
    # The operator's files (none configured here: answered 404, still without a lookup).
    paths = {"/sw.js": 200, "/operator/logo-0123456789ab.svg": 404}
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            for path, status in paths.items():
                assert visitor.client.get(path).status_code == status, path
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert statements == []
    assert visitor.client.get("/moje-konto").status_code == 200  # still signed in
