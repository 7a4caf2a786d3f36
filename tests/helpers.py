"""Assertions shared by the flow tests."""

import html
import re


def text_of(response) -> str:
    """The response body as a customer reads it: tags removed, entities decoded."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def assert_shape(visitor, response):
    """htmx gets the panel's fragment with its own <title>; a plain request a full page."""
    body = response.get_data(as_text=True)
    if visitor.htmx:
        assert "<html" not in body
        assert body.lstrip().startswith("<title>")
        assert 'hx-swap-oob="innerHTML"' in body
    else:
        assert body.lstrip().lower().startswith("<!doctype html>")
        assert '<div id="panel"' in body


def follow(visitor, response):
    """Follows the full-page navigation htmx is told to make with HX-Redirect."""
    target = response.headers.get("HX-Redirect")
    if target:
        assert visitor.htmx
        # A full navigation: no htmx headers, and the new page brings a new CSRF token.
        return visitor._remember_token(visitor.client.get(target, follow_redirects=True))
    return response


def field_value(response, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', response.get_data(as_text=True))
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""
