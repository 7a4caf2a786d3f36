"""Security headers added after every view (HSTS only over HTTPS, a view's own value
kept), and session cookies signed with the current keys though the signer is kept."""

import pytest
from flask import Response
from itsdangerous import BadSignature


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
