"""Security headers added after every view (HSTS only over HTTPS, a view's own value
kept), and session cookies signed with the current keys though the signer is kept."""

import pytest
from flask import Response
from itsdangerous import BadSignature

from ebok.web.security import add_vary


def test_hsts_only_over_https(app):
    client = app.test_client()
    secure = client.get("/", base_url="https://localhost")
    plain = client.get("/", base_url="http://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in plain.headers
    for response in (secure, plain):
        assert response.headers.getlist("X-Frame-Options") == ["DENY"]
        assert response.headers["Cache-Control"] == "no-store"


def test_a_view_sets_its_own_policy(app):
    @app.get("/own-policy")
    def own_policy():
        return Response("x", headers={"Content-Security-Policy": "default-src 'none'"})

    response = app.test_client().get("/own-policy")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookies_follow_key_rotation(app):
    client = app.test_client()
    client.get("/", base_url="https://localhost")  # a session with a CSRF token
    token = client.get_cookie("session").value
    old_key = app.config["SECRET_KEY"]

    app.config["SECRET_KEY"] = "a-new-key"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    with app.test_request_context():
        serializer = app.session_interface.get_signing_serializer(app)
        assert "csrf_token" in serializer.loads(token)  # the old key still reads it

    app.config["SECRET_KEY_FALLBACKS"] = []
    with app.test_request_context():
        serializer = app.session_interface.get_signing_serializer(app)
        with pytest.raises(BadSignature):
            serializer.loads(token)  # the retired key no longer does


def test_every_response_isolates_its_browsing_context(app):
    """Cross-Origin-Opener-Policy: a page another site opens (window.open) gets no handle
    on this one, and this one none on it (issue 18.12)."""
    client = app.test_client()
    for path in ("/", "/nie-ma-takiej-strony", "/manifest.webmanifest"):
        response = client.get(path)
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin", path


def test_errors_and_redirects_carry_the_security_headers_too(app):
    """They are added as the answer leaves (ebok.web.application.Response), whatever made
    it: a view, an abort, a redirect, a method not allowed."""
    client = app.test_client()
    for method, path in [("GET", "/nie-ma-takiej-strony"), ("GET", "/konto"), ("PUT", "/")]:
        response = client.open(path, method=method, base_url="https://localhost")
        assert response.status_code in (302, 303, 404, 405), path
        for name in ("Content-Security-Policy", "X-Frame-Options", "Strict-Transport-Security"):
            assert len(response.headers.getlist(name)) == 1, (path, name)


def test_vary_names_each_header_once(app):
    """The session, the languages, htmx and the compression each add what the page
    varies with; the cheaper Vary of ebok.web.application keeps Werkzeug's set semantics."""
    response = app.test_client().get("/", headers={"Accept-Encoding": "br"})
    names = [name.strip().lower() for name in response.headers["Vary"].split(",")]
    assert sorted(names) == sorted(set(names))
    assert {"cookie", "accept-language", "accept-encoding", "hx-request"} <= set(names)

    made = app.response_class("x")
    made.vary.add("Cookie")
    made.vary.add("cookie")  # case-insensitive, as in Werkzeug
    made.vary.add("Accept-Language")
    assert made.headers["Vary"] == "Cookie, Accept-Language"
    made.vary.discard("cookie")
    assert made.headers["Vary"] == "Accept-Language"
    made.vary = ["Origin", "Cookie"]
    assert made.headers["Vary"] == "Origin, Cookie"
    made.vary = None
    assert "Vary" not in made.headers

    add_vary(made, "Cookie", "cookie", "Accept-Language")
    assert made.headers["Vary"] == "Cookie, Accept-Language"
    add_vary(made, "ACCEPT-LANGUAGE", "Origin")
    assert made.headers["Vary"] == "Cookie, Accept-Language, Origin"
    assert list(made.vary) == ["Cookie", "Accept-Language", "Origin"]


def test_flask_asks_once_whether_a_function_is_a_coroutine_and_remembers_a_bounded_number(
    app,
):
    def view():
        return "x"

    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view
    for _ in range(1000):
        app.ensure_sync(lambda: None)
    assert len(app._sync_answers) <= 512

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self) -> str:
            return "x"

    unhashable = Unhashable()
    assert app.ensure_sync(unhashable) is unhashable


def test_no_remember_me_cookie_is_ever_set(app, visitor, auth, customers):
    """Flask-Login's remember-me hook is left out (ebok/__init__.py): a session lives in
    its row and ends there."""
    cookies = auth.post_login("200005").headers.getlist("Set-Cookie")
    assert cookies and not any("remember_token" in cookie for cookie in cookies)
    auth.log_out()
    assert visitor.client.get_cookie("remember_token") is None
