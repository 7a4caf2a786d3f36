"""Compression (ebok.web.compression): the pages kept for everyone (their only secret the
masked CSRF token), the worker, the manifest and the offline page go compressed; pages
with personal data, or echoing what the request chose, never do (BREACH)."""

import gzip
import re

import brotli
import pytest
from support import TEST_PASSWORD, AuthActions

from ebok.web.csrf import unmask

TOKEN = re.compile(r'(?:name="csrf_token"[^>]*value|name="csrf-token" content)="([^"]+)"')
BR = {"Accept-Encoding": "gzip, deflate, br, zstd"}
GZIP = {"Accept-Encoding": "gzip"}


def get(visitor, url, headers):
    response = visitor.client.get(url, headers={**visitor.headers, **headers})
    response.get_data()
    response.close()
    return response


def tokens_in(response) -> list[str]:
    return TOKEN.findall(response.get_data(as_text=True))


def decoded(response) -> str:
    body = response.get_data()
    decode = {"br": brotli.decompress, "gzip": gzip.decompress}
    return decode.get(response.headers.get("Content-Encoding"), bytes)(body).decode()


@pytest.mark.parametrize("url", ["/", "/logowanie"])
def test_the_login_page_kept_for_everyone_goes_compressed(visitor, url):
    tokens = set()
    for headers, encoding in ((BR, "br"), (GZIP, "gzip"), (BR, "br")):
        response = get(visitor, url, headers)
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding, url
        assert "Accept-Encoding" in response.headers["Vary"]
        page = decoded(response)
        assert "</form>" in page
        tokens.add(TOKEN.findall(page)[0])
    assert len(tokens) == 3 and all(unmask(token) for token in tokens)
    plain = get(visitor, url, {})
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]


def test_a_compressed_pages_token_validates(make_visitor):
    visitor = make_visitor()
    token = TOKEN.findall(decoded(get(visitor, "/", BR)))[0]
    response = visitor.post("/", {"login": "1", "password": "x", "csrf_token": token})
    assert response.status_code == 422


@pytest.mark.parametrize("url", ["/sw.js", "/manifest.pl.webmanifest", "/offline/uk"])
def test_the_worker_manifest_and_offline_page_go_compressed(make_visitor, url):
    response = get(make_visitor(), url, BR)
    if len(brotli.decompress(response.get_data())) >= 512:
        assert response.headers["Content-Encoding"] == "br"


def test_what_echoes_the_request_or_is_personal_goes_uncompressed(app, visitor, customers):
    # The switcher carries the query string back into the page.
    assert "Content-Encoding" not in get(visitor, "/?szukam=abc", BR).headers
    # Pages not kept for everyone (a wizard's step shows where this visitor is).
    assert "Content-Encoding" not in get(visitor, "/rejestracja/", BR).headers
    # A message for this visitor.
    with visitor.client.session_transaction() as session:
        session["_flashes"] = [("status", "Wylogowano.")]
    assert "Content-Encoding" not in get(visitor, "/", BR).headers
    AuthActions(visitor).log_in("200005", TEST_PASSWORD)
    for url in ("/moje-konto", "/faktury", "/moje-konto/bezpieczenstwo", "/instrukcja"):
        response = get(visitor, url, BR)
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers, url
    # Nor an error page, which echoes the path.
    assert get(visitor, "/nie-ma-takiej", BR).headers.get("Content-Encoding") is None


def test_the_pages_kept_per_process_are_bounded(app, make_visitor, monkeypatch):
    """A cache keyed by what requests bring may not grow without end."""
    from ebok.web import templating

    monkeypatch.setattr(templating, "PUBLIC_PAGES_KEPT", 2)
    visitor = make_visitor()
    for language in ("pl", "en", "uk"):
        visitor.client.set_cookie("language", language)
        page = visitor.get("/")
        assert page.status_code == 200 and len(tokens_in(page)) == 4
    assert len(app.extensions["ebok.public_pages"]) == 2
