"""Strona Główna and Moje Konto (SPEC §5, §6)."""

from flask import Blueprint, flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ebok.account import settings
from ebok.account.forms import ChangePasswordForm, LoginNameForm
from ebok.htmx import redirect_to, render_panel

bp = Blueprint("account", __name__)

SIGNED_IN_PAGE = "layouts/signed_in_page.html"


@bp.get("/strona-glowna")
@login_required
def home():
    return render_template("account/home.html", title=_("Home"), customer=current_user.customer)


@bp.get("/moje-konto")
@login_required
def my_account():
    return render_template(
        "account/my_account.html", title=_("My Account"), customer=current_user.customer
    )


@bp.route("/moje-konto/haslo", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        problems = settings.change_password(
            current_user._get_current_object(),
            form.current_password.data,
            form.password.data,
            form.password_repeat.data,
        )
        if not problems:
            flash(
                _(
                    "Your password has been changed. You have been logged out on every other "
                    "device."
                ),
                "status",
            )
            return redirect_to(url_for("account.my_account"), leave_panel=True)
        for field_name, field_problems in problems.items():
            getattr(form, field_name).errors.extend(field_problems)
        status = 422
    return render_panel(
        "account/_change_password.html",
        title=_("Change password"),
        form=form,
        status=status,
        page=SIGNED_IN_PAGE,
    )


@bp.route("/moje-konto/login", methods=["GET", "POST"])
@login_required
def login_name():
    form = LoginNameForm()
    status = 200
    if not form.is_submitted():
        form.login_name.data = current_user.login_name
    if form.validate_on_submit():
        problem = settings.set_login_name(current_user._get_current_object(), form.login_name.data)
        if problem is None:
            flash(
                _("Your login has been saved.")
                if current_user.login_name
                else _("Your login has been removed."),
                "status",
            )
            return redirect_to(url_for("account.my_account"), leave_panel=True)
        form.login_name.errors.append(problem)
        status = 422
    return render_panel(
        "account/_login_name.html",
        title=_("Your login"),
        form=form,
        status=status,
        page=SIGNED_IN_PAGE,
    )
