"""POST /jezyk: the switcher's form. It works without JavaScript (a plain form post,
answered with 303 to the page it was on) and needs the CSRF token like every form."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, url_for
from flask.typing import ResponseReturnValue

from ebok.i18n import languages
from ebok.language_switch.forms import LanguageForm

bp = Blueprint("language_switch", __name__)


@bp.post("/jezyk")
def switch() -> ResponseReturnValue:
    form = LanguageForm()
    language = languages.valid(form.language.data) if form.validate_on_submit() else None
    if language is None:
        abort(400)  # a language the switcher never offers: a made-up request
    response = redirect(back_to(form.next.data), code=303)
    languages.remember_choice(response, language)
    return response


def back_to(next_path: str | None) -> str:
    """The page the switcher was on, if `next_path` is a path on this site; otherwise
    the login page (which sends a logged-in customer home). Never another site: no
    scheme, no host, no `//` or backslash a browser would read as one."""
    if next_path is not None and is_local_path(next_path):
        return next_path
    return url_for("auth.login")


def is_local_path(path: str | None) -> bool:
    if not path or not path.startswith("/") or path.startswith("//"):
        return False
    if "\\" in path or any(ord(character) < 32 or ord(character) == 127 for character in path):
        return False
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc
