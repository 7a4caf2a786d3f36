"""Strona Główna and Moje Konto (SPEC §5, §6)."""

from flask import Blueprint, flash, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ebok.account import service
from ebok.account.forms import LOGIN_NAME_TAKEN, ChangePasswordForm, LoginNameForm
from ebok.identity.sessions import start_session
from ebok.models import Account
from ebok.web.forms import add_errors
from ebok.web.htmx import SIGNED_IN_PAGE, redirect_to, render_form

bp = Blueprint("account", __name__)


@bp.get("/strona-glowna")
@login_required
def home() -> ResponseReturnValue:
    return render_template("account/home.html", title=_("Home"), customer=current_user.customer)


@bp.get("/moje-konto")
@login_required
def my_account() -> ResponseReturnValue:
    return render_template(
        "account/my_account.html", title=_("My Account"), customer=current_user.customer
    )


@bp.route("/moje-konto/haslo", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    account = current_user._get_current_object()
    form = ChangePasswordForm()
    form.customer_number = account.customer.number
    if form.validate_with_current_password(account):
        service.change_password(account, form.password.data or "")
        return _password_changed(account)
    return _account_form("account/_change_password.html", form, _("Change password"))


def _password_changed(account: Account) -> ResponseReturnValue:
    start_session(account)  # this session goes on, with a fresh cookie
    flash(
        _("Your password has been changed. You have been logged out on every other device."),
        "status",
    )
    return redirect_to(url_for("account.my_account"), leave_panel=True)


@bp.route("/moje-konto/login", methods=["GET", "POST"])
@login_required
def login_name() -> ResponseReturnValue:
    form = LoginNameForm(login_name=current_user.login_name)
    account = current_user._get_current_object()
    if form.validate_with_current_password(account):
        if not service.set_login_name(account, form.login_name.data):
            add_errors(form.login_name, LOGIN_NAME_TAKEN)
            return _login_name_form(form)
        saved = current_user.login_name
        flash(
            _("Your login has been saved.") if saved else _("Your login has been removed."),
            "status",
        )
        return redirect_to(url_for("account.my_account"), leave_panel=True)
    return _login_name_form(form)


def _login_name_form(form: LoginNameForm) -> ResponseReturnValue:
    return _account_form("account/_login_name.html", form, _("Your login"))


def _account_form(
    fragment: str, form: ChangePasswordForm | LoginNameForm, title: str
) -> ResponseReturnValue:
    """A Moje Konto form in the signed-in page: 422 with its problems, 429 when throttled."""
    return render_form(fragment, form, title=title, page=SIGNED_IN_PAGE, status=form.status)
