"""Security headers added after every view: HSTS only over HTTPS, and a view's own
value is kept."""

from flask import Response


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
