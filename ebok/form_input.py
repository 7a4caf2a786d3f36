"""Input no form here can use, refused before any view sees it: a NUL character (which
PostgreSQL cannot store in text) and uploaded files (no form here takes one; Flask-WTF
would hand a FileStorage to a text field). The request limits (MAX_CONTENT_LENGTH,
MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS) have been applied by Werkzeug by then."""

from flask import Flask, request
from werkzeug.exceptions import BadRequest


class UnusableInput(BadRequest):
    """Answered by the errors blueprint with a page saying which kind it was."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind  # "nul" or "file"


def init_app(app: Flask) -> None:
    app.before_request(refuse_unusable_input)


def refuse_unusable_input() -> None:
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.files:
        raise UnusableInput("file")
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise UnusableInput("nul")
