"""What a form here may receive, decided once where the request body is parsed, before
CSRF checks, forms or views see it:

- text only: an uploaded file is dropped (no form here takes one, and Flask-WTF would
  hand its FileStorage to a text field), so the field is simply missing;
- no NUL characters (PostgreSQL cannot store them, not even as a query parameter; no
  keyboard types them): each becomes U+FFFD, the replacement character a decoder puts
  for what it cannot read, so the value stays visibly wrong and the field's own checks
  refuse it with their message (a login not found, a character not allowed);
- a body without Content-Length (chunked) that filled MAX_CONTENT_LENGTH is refused with
  413 like a longer declared one, instead of being parsed cut short.

The other request limits (MAX_CONTENT_LENGTH, MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS) are
Werkzeug's, answered with 413 by the errors blueprint."""

from flask import Flask, Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream


class FormRequest(Request):
    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        super()._load_form_data()
        if self._chunked_body_filled_the_limit():
            self.__dict__["form"] = ImmutableMultiDict()  # never the cut form
            raise RequestEntityTooLarge()
        # Set as Werkzeug sets them, past the cached properties.
        self.__dict__["form"] = ImmutableMultiDict(
            (_without_nul(key), _without_nul(value)) for key, value in self.form.items(multi=True)
        )
        if self.files:
            for _name, upload in self.files.items(multi=True):
                upload.close()
            self.__dict__["files"] = ImmutableMultiDict()

    def _chunked_body_filled_the_limit(self) -> bool:
        stream = self.__dict__.get("stream")
        return (
            self.content_length is None
            and isinstance(stream, LimitedStream)
            and stream.is_exhausted
        )


def _without_nul(text: str | None) -> str | None:
    # Werkzeug gives a part without a readable name the name None.
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


def init_app(app: Flask) -> None:
    app.request_class = FormRequest
