"""Input no form here can use, refused before any view sees it: a NUL character (which
PostgreSQL cannot store in text) and uploaded files (no form here takes one; Flask-WTF
would hand a FileStorage to a text field). The request limits (MAX_CONTENT_LENGTH,
MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS) have been applied by Werkzeug by then."""

from flask import Flask, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream


class UnusableInput(BadRequest):
    """Answered by the errors blueprint with a page saying which kind it was."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind  # "nul" or "file"


def init_app(app: Flask) -> None:
    app.before_request(refuse_unusable_input)


def refuse_unusable_input() -> None:
    if _chunked_body_cut_at_the_limit():
        raise RequestEntityTooLarge()
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.files:
        raise UnusableInput("file")
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise UnusableInput("nul")


def _chunked_body_cut_at_the_limit() -> bool:
    """A body without Content-Length (chunked) is read only up to MAX_CONTENT_LENGTH, and
    Werkzeug then parses what it has read. A body that filled the limit is taken as too
    large, so a cut form never reaches a view."""
    if request.content_length is not None or request.method not in ("POST", "PUT", "PATCH"):
        return False
    request.form  # noqa: B018 (parsing reads the stream)
    stream = request.stream
    return isinstance(stream, LimitedStream) and stream.is_exhausted
