"""The login page (SPEC §2) and logout."""

from flask import Blueprint, flash, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required

from ebok.auth.forms import LoginForm
from ebok.auth.service import log_in_attempt
from ebok.i18n import _l, languages
from ebok.identity.hashing_gate import HashingBusy
from ebok.identity.sessions import end_session, start_session, take_prefilled_login
from ebok.web.forms import refuse_busy, refuse_throttled
from ebok.web.htmx import redirect_to, render_form, render_panel

bp = Blueprint("auth", __name__)


# Decorators apply bottom up: "/" is registered first, so url_for builds it.
@bp.route("/logowanie", methods=["GET", "POST"])
@bp.route("/", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect_to(url_for("account.home"), leave_panel=True)
    if request.method != "POST":
        prefilled = take_prefilled_login()
        if prefilled:  # after a password reset
            form = LoginForm(data={"login": prefilled})
            return render_form("auth/_login.html", form, title=_("Log in to Strefa Klienta"))
        # The same page for every visitor: rendered once, so the title is lazy too.
        return render_panel(
            "auth/_login.html", title=_l("Log in to Strefa Klienta"), empty_form=LoginForm
        )
    form = LoginForm()
    status = None
    if form.validate_on_submit():
        try:
            account = log_in_attempt(form.login.data or "", form.password.data or "")
        except RateLimitExceeded:
            status = refuse_throttled(
                form,
                # Translators: a form error on the login page; %(wait)s is a sentence saying when to
                # try again ("Try again in 5 minutes (at 16:45).").
                _l(
                    "Too many unsuccessful attempts to log in. %(wait)s If you do not remember "
                    "your password, use Forgotten password."
                ),
            )
        except HashingBusy as busy:
            status = refuse_busy(form, busy)
        else:
            if account is not None:
                start_session(account)
                response = redirect_to(url_for("account.home"), leave_panel=True)
                languages.sync_at_login(response, account)
                return response
            form.form_errors.append(_("The customer number, login or password is incorrect."))
    return render_form("auth/_login.html", form, title=_("Log in to Strefa Klienta"), status=status)


@bp.post("/wyloguj")
@login_required
def logout() -> ResponseReturnValue:
    end_session(current_user._get_current_object())
    flash(_("You have been logged out."), "status")
    return redirect_to(url_for("auth.login"), leave_panel=True)
