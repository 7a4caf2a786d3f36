"""What sessions on the server cost (issue 25): the login page and a signed-in page with
the session in its database row (one primary-key lookup, the account joined) against the
same app keeping the whole session in the signed cookie as before (the account loaded by
its id), measured in the same run.

Run: .venv/bin/python bench/sessions.py [--quick]
Prints lines `name: app X, baseline Y, ratio Z` (app: sessions on the server; baseline:
cookie sessions), each the best of many short alternating rounds of WSGI calls in this
process (preemption only ever adds time, so the best round moves least). Goal: ratio of
req/s >= 0.9 (within 10 %).
"""

import argparse
import re
import sys
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import pages  # noqa: E402  (bench/pages.py: the production environment and the customer)


class Modes:
    """One app, switched between its sessions on the server and the cookie sessions it had
    before issue 25 (Flask's signed cookie holds everything; Flask-Login's user id is the
    account's id, loaded with one query per request): the same caches and settings serve
    both, so only the sessions differ."""

    def __init__(self, app):
        from flask.sessions import SecureCookieSessionInterface
        from flask_login import LoginManager

        from ebok.extensions import db
        from ebok.models import Account
        from ebok.web.security import SessionInterface

        class CookieSessions(SessionInterface):
            open_session = SecureCookieSessionInterface.open_session  # type: ignore[assignment]
            save_session = SecureCookieSessionInterface.save_session  # type: ignore[assignment]

        cookie_manager = LoginManager()
        cookie_manager.session_protection = None
        cookie_manager.user_loader(lambda user_id: db.session.get(Account, int(user_id)))
        self.app = app
        self.modes = {
            "server": (app.session_interface, app.login_manager),
            "cookie": (CookieSessions(), cookie_manager),
        }

    def use(self, mode: str):
        self.app.session_interface, self.app.login_manager = self.modes[mode]
        return self.app


def signed_in_cookie(app) -> str:
    """Logs the bench customer in; the Cookie header its browser then sends."""
    client = app.test_client()
    page = client.get("/", base_url=pages.HTTPS).get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "login": "500001", "password": pages.PASSWORD}
    response = client.post(
        "/", base_url=pages.HTTPS, data=form, headers={"Referer": pages.HTTPS + "/"}
    )
    assert response.status_code == 303, response.status_code
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    response.close()
    # The first signed-in page shows the login's messages (a session write): done here.
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
    client.get("/strona-glowna", base_url=pages.HTTPS, headers={"Cookie": cookie}).close()
    return cookie


def rate(app, path: str, cookie: str | None, requests: int) -> float:
    from werkzeug.test import EnvironBuilder

    headers = {"Cookie": cookie} if cookie else {}
    environ = EnvironBuilder(path=path, base_url=pages.HTTPS, headers=headers).get_environ()
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    start = time.perf_counter()
    for _ in range(requests):
        b"".join(app.wsgi_app(dict(environ), start_response))
    elapsed = time.perf_counter() - start
    assert all(status.startswith("200") for status in statuses), set(statuses)
    return requests / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, rougher figures")
    arguments = parser.parse_args()
    rounds, requests = (6, 100) if arguments.quick else (20, 200)
    with tempfile.TemporaryDirectory(prefix="ebok-bench-") as name:
        folder = Path(name)
        env = pages.app_environment(folder)
        modes = Modes(pages.prepare(folder, env))
        server_cookie = signed_in_cookie(modes.use("server"))
        cookie_cookie = signed_in_cookie(modes.use("cookie"))
        assert "." not in server_cookie.split("session=", 1)[1].split(";", 1)[0]
        for title, path, cookies in (
            ("GET / (login page, a first visit)", "/", (None, None)),
            ("GET /moje-konto (signed in)", "/moje-konto", (server_cookie, cookie_cookie)),
            ("GET /strona-glowna (signed in)", "/strona-glowna", (server_cookie, cookie_cookie)),
        ):
            server_rates, cookie_rates = [], []
            for _ in range(rounds):
                server_rates.append(rate(modes.use("server"), path, cookies[0], requests))
                cookie_rates.append(rate(modes.use("cookie"), path, cookies[1], requests))
            pages.report(
                f"{title} req/s in process, server sessions vs cookie sessions (best round)",
                max(server_rates[1:]),
                max(cookie_rates[1:]),
                "{:.0f}",
            )


if __name__ == "__main__":
    main()
