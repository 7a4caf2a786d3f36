"""The login page (SPEC §2) and logout."""

import logging

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ebok import throttle
from ebok.auth.forms import LoginForm
from ebok.auth.service import (
    authenticate,
    end_session,
    login_key,
    start_session,
    take_prefilled_login,
)
from ebok.htmx import redirect_to, render_form, render_panel
from ebok.logs import fingerprint
from ebok.throttle import Throttled

bp = Blueprint("auth", __name__)
log = logging.getLogger("ebok.auth")


# Decorators apply bottom up: "/" is registered first, so url_for builds it.
@bp.route("/logowanie", methods=["GET", "POST"])
@bp.route("/", methods=["GET", "POST"])
def login():
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
        typed_login, password = form.login.data or "", form.password.data or ""
        account_key = login_key(typed_login)
        try:
            throttle.check("RATELIMIT_LOGIN")
            throttle.check("RATELIMIT_LOGIN_PER_ACCOUNT", account_key)
        except Throttled as throttled:
            log.warning("login throttled login=%s", fingerprint(account_key))
            form.form_errors.append(
                _(
                    "Too many unsuccessful attempts to log in. %(wait)s If you do not remember "
                    "your password, use Forgotten password.",
                    wait=throttled.wait_message(),
                )
            )
            status = 429
        else:
            account = authenticate(typed_login, password)
            if account is not None:
                start_session(account)
                return redirect_to(url_for("account.home"), leave_panel=True)
            log.info("login failed login=%s", fingerprint(account_key))
            _count_failure(account_key)
            form.form_errors.append(_("The customer number, login or password is incorrect."))
    return render_form("auth/_login.html", form, title=_("Log in to Strefa Klienta"), status=status)


def _count_failure(account_key: str) -> None:
    for name, subject in (("RATELIMIT_LOGIN", None), ("RATELIMIT_LOGIN_PER_ACCOUNT", account_key)):
        try:
            throttle.hit(name, subject)
        except Throttled:
            pass  # this failure is told as it is; the next attempt is refused


@bp.post("/wyloguj")
@login_required
def logout():
    end_session(current_user._get_current_object())
    flash(_("You have been logged out."), "status")
    return redirect_to(url_for("auth.login"), leave_panel=True)
