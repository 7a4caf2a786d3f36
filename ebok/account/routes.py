"""Strona Główna and Moje Konto (SPEC §5, §6)."""

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

bp = Blueprint("account", __name__)


@bp.get("/strona-glowna")
@login_required
def home():
    return render_template("account/home.html", title=_("Home"),
                           customer=current_user.customer)


@bp.get("/moje-konto")
@login_required
def my_account():
    return render_template("account/my_account.html", title=_("My Account"),
                           customer=current_user.customer)
