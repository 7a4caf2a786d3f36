"""CSRF tokens masked in every response (ebok.web.csrf), so that pages can be compressed
without BREACH reading the token out of their sizes: each response's token is different,
each validates (as a form field and as htmx's header), a tampered one fails, no piece of
the session's secret is in any page, and a token Flask-WTF signed (a page open before the
tokens were put in unsigned) still submits."""

import re
from typing import Any

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from itsdangerous import URLSafeTimedSerializer
from support import TEST_PASSWORD, AuthActions

from ebok.web.csrf import MaskedFormCSRF, mask, unmask

TOKENS = re.compile(r'(?:name="csrf_token"[^>]*value|name="csrf-token" content)="([^"]+)"')
# The length of the shortest piece of a secret that may not appear in a page. Shorter
# pieces turn up by chance (four hex digits of the raw token in an asset's fingerprint);
# eight characters of a 40-digit hex token occur by chance about once in 10^7 pages.
PIECE = 8


def tokens_in(response) -> list[str]:
    return TOKENS.findall(response.get_data(as_text=True))


def session_token(visitor) -> str:
    with visitor.client.session_transaction() as session:
        return session["csrf_token"]


def pieces(secret: str) -> set[str]:
    return {secret[start : start + PIECE] for start in range(len(secret) - PIECE + 1)}


def test_masking_round_trips_and_differs_every_time():
    signed = "IjVmNGRjYzNiNWFhNzY1ZDYxZDgzMjdkZWIiOGQ.aU1t5w.xyzSignature-_"
    masked = {mask(signed) for _ in range(50)}
    assert len(masked) == 50
    assert all(unmask(token) == signed for token in masked)
    assert all(not pieces(signed) & pieces(token) for token in masked)


@pytest.mark.parametrize("typed", [None, "", "!!!", "a", "é" * 8, "QUJD", mask("é")[:-1]])
def test_what_is_not_a_masked_token_unmasks_to_nothing(typed):
    assert unmask(typed) is None


def test_the_token_differs_in_every_response(visitor):
    seen = set()
    for url in ("/", "/", "/rejestracja/", "/zapomnialem-hasla/", "/"):
        tokens = tokens_in(visitor.get(url))
        assert tokens, url
        # One mask per response (the meta tag, the forms, the switchers alike)...
        assert len(set(tokens)) == 1, tokens
        seen.add(tokens[0])
    # ... and a new one in the next.
    assert len(seen) == 5


def test_every_token_given_validates_as_a_field(visitor):
    given = [tokens_in(visitor.get("/"))[0] for _ in range(3)]
    for token in given:
        response = visitor.post("/", {"login": "1", "password": "x", "csrf_token": token})
        assert response.status_code == 422  # past the CSRF check: a wrong login


def test_every_token_given_validates_as_htmx_s_header(make_visitor):
    visitor = make_visitor(htmx=True)
    given = [tokens_in(visitor.get("/"))[0] for _ in range(3)]
    for token in given:
        response = visitor.client.post(
            "/",
            data={"login": "1", "password": "x"},
            headers={**visitor.headers, "X-CSRFToken": token, "Referer": "https://localhost/"},
        )
        assert response.status_code == 422, token


def tampered(token: str) -> list[str]:
    middle = len(token) // 2
    flipped = "A" if token[middle] != "A" else "B"
    return [
        token[:middle] + flipped + token[middle + 1 :],  # a character changed
        token[:-4],  # cut short
        token + "AAAA",  # longer
        str(unmask(token))[::-1],  # the secret reversed
    ]


def test_a_tampered_token_fails_as_an_expired_form(app, visitor):
    token = tokens_in(visitor.get("/"))[0]
    for bad in tampered(token):
        response = visitor.post("/", {"login": "1", "password": "x", "csrf_token": bad})
        assert response.status_code == 400, bad
        assert "Formularz wygasł" in response.get_data(as_text=True)


def test_another_sessions_token_fails(make_visitor):
    mine, theirs = make_visitor(), make_visitor()
    mine.get("/")
    their_token = tokens_in(theirs.get("/"))[0]
    response = mine.post("/", {"login": "1", "password": "x", "csrf_token": their_token})
    assert response.status_code == 400


@pytest.mark.parametrize("masked", [False, True])
def test_a_signed_token_of_a_page_open_before_the_upgrade_still_submits(app, visitor, masked):
    """Flask-WTF's own token, as pages carried it, signed (and, later, masked)."""
    visitor.get("/")
    serializer = URLSafeTimedSerializer(app.config["WTF_CSRF_SECRET_KEY"], salt="wtf-csrf-token")
    signed = serializer.dumps(session_token(visitor))
    token = mask(signed) if masked else signed
    response = visitor.post("/", {"login": "1", "password": "x", "csrf_token": token})
    assert response.status_code == 422


def test_a_signed_token_of_another_session_fails(app, make_visitor):
    mine, theirs = make_visitor(), make_visitor()
    mine.get("/")
    theirs.get("/")
    serializer = URLSafeTimedSerializer(app.config["WTF_CSRF_SECRET_KEY"], salt="wtf-csrf-token")
    token = serializer.dumps(session_token(theirs))
    response = mine.post("/", {"login": "1", "password": "x", "csrf_token": token})
    assert response.status_code == 400


def test_the_masked_token_is_the_session_secret(visitor):
    tokens = tokens_in(visitor.get("/"))
    assert unmask(tokens[0]) == session_token(visitor)


def test_no_piece_of_the_session_secret_is_in_any_page(app, visitor, customers):
    """BREACH reads a secret that is the same in every response. The session's CSRF
    secret must not be in a page, in any part of PIECE characters or more; only masked
    tokens are."""

    secrets: set[str] = set()

    def check(response, raw: str) -> None:
        body = response.get_data(as_text=True)
        for token in TOKENS.findall(body):
            secret = unmask(token)
            assert secret == raw and secret != token
            secrets.add(secret)
        leaked = {piece for piece in pieces(raw) if piece in body}
        assert not leaked, (response.request.path, raw, leaked)

    for url in ("/", "/rejestracja/", "/zapomnialem-hasla/", "/instrukcja") * 3:
        response = visitor.get(url)
        check(response, session_token(visitor))
    home = AuthActions(visitor).log_in("200005", TEST_PASSWORD)
    check(home, session_token(visitor))
    for url in ("/moje-konto", "/faktury", "/moje-konto/bezpieczenstwo", "/") * 2:
        check(visitor.get(url), session_token(visitor))
    assert secrets  # the pages carried tokens


def test_every_form_renders_the_masked_token(app: Flask):
    """A form built on FlaskForm itself would put the signed token into the page."""

    def subclasses(cls: type) -> list[type]:
        found = [cls]
        direct: type
        for direct in cls.__subclasses__():
            found += subclasses(direct)
        return found

    def meta(form: type, name: str) -> Any:
        """What the form's Meta says, as WTForms combines the Meta classes of its bases."""
        metas = (klass.__dict__["Meta"] for klass in form.__mro__ if "Meta" in klass.__dict__)
        return next(getattr(meta, name) for meta in metas if hasattr(meta, name))

    ours = [form for form in subclasses(FlaskForm) if form.__module__.startswith("ebok.")]
    assert len(ours) > 10
    for form in ours:
        if meta(form, "csrf") is not False:
            assert issubclass(meta(form, "csrf_class"), MaskedFormCSRF), form
