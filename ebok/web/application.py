"""Flask's application and response classes, with per-request costs of Flask's own taken
off every page (measured on the login page, bench/pages.py), and the security headers
added to every answer as it leaves (ebok.web.security)."""

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from flask import Response as FlaskResponse
from werkzeug.datastructures import HeaderSet

from ebok.web.security import add_security_headers, vary_names

# The functions Flask calls per request (hooks, context processors, views) are the ones
# registered at start-up, a few dozen; past this many the answer is not kept.
_MOST_SYNC_ANSWERS = 512


class Response(FlaskResponse):
    @property
    def vary(self) -> HeaderSet:
        """Werkzeug's Vary, parsed and written back the cheap way (security.vary_names):
        Flask's session saving uses it twice per page."""

        def on_update(header_set: HeaderSet) -> None:
            if header_set:
                self.headers["Vary"] = ", ".join(header_set)
            else:
                self.headers.pop("Vary", None)

        return HeaderSet(vary_names(self.headers.get("Vary")), on_update)

    @vary.setter
    def vary(self, value: str | Iterable[str] | None) -> None:
        if not value:
            self.headers.pop("Vary", None)
        else:
            self.headers["Vary"] = value if isinstance(value, str) else ", ".join(value)

    def get_wsgi_response(
        self, environ: dict[str, Any]
    ) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
        app_iter, status, headers = super().get_wsgi_response(environ)
        add_security_headers(environ, headers)
        return app_iter, status, headers


class Application(Flask):
    response_class = Response

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_answers: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask asks `inspect` whether each hook and view is a coroutine function each
        time it calls it, about twenty times per page; the answer never changes."""
        try:
            return self._sync_answers[func]
        except KeyError:
            answer = super().ensure_sync(func)
            if len(self._sync_answers) < _MOST_SYNC_ANSWERS:
                self._sync_answers[func] = answer
            return answer
        except TypeError:  # an unhashable callable: asked each time, as Flask does
            return super().ensure_sync(func)
