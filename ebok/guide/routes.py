"""The printable guide to Strefa Klienta, linked from the login page."""

from flask import Blueprint, render_template
from flask_babel import gettext as _

bp = Blueprint("guide", __name__)


@bp.get("/instrukcja")
def guide():
    return render_template("guide/guide.html", title=_("Guide to Strefa Klienta"))
