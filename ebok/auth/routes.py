"""The login page (SPEC §2) and logout."""

from flask import Blueprint, flash, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required

from ebok.auth.forms import LoginForm, SecondStepForm
from ebok.auth.service import (
    check_second_step,
    log_in_attempt,
    needs_second_step,
    start_second_step,
    tell_of_new_browser,
)
from ebok.i18n import _l, languages
from ebok.identity import sessions, two_step
from ebok.identity.hashing_gate import HashingBusy
from ebok.identity.sessions import SinceLastLogin, end_session, take_prefilled_login
from ebok.models import Account
from ebok.web.forms import refuse_busy, refuse_throttled
from ebok.web.htmx import redirect_to, render_form, render_panel
from ebok.web.templating import format_phone

bp = Blueprint("auth", __name__)


# Decorators apply bottom up: "/" is registered first, so url_for builds it.
@bp.route("/logowanie", methods=["GET", "POST"])
@bp.route("/", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if sessions.logged_in():
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
                if needs_second_step(account):
                    if not start_second_step(account):
                        flash(
                            _(
                                "We cannot send an SMS code right now. Enter one of your "
                                "recovery codes, or try again later."
                            ),
                            "problem",
                        )
                    return redirect_to(url_for("auth.second_step"))
                return _logged_in(account)
            form.form_errors.append(_("The customer number, login or password is incorrect."))
    return render_form("auth/_login.html", form, title=_("Log in to Strefa Klienta"), status=status)


def _logged_in(account: Account, *, skip_second_step: bool = False) -> ResponseReturnValue:
    """Both steps done: the session, the history, the notice of the last login."""
    since = sessions.since_last_login(account)
    sessions.record_login(account, succeeded=True)
    # Back to the page where the last session timed out, if it did (ebok.errors.routes.logged_out).
    page = sessions.take_page_after_login() or url_for("account.home")
    if sessions.start_session(account, skip_second_step=skip_second_step):
        tell_of_new_browser(account)
    _tell_of_last_login(since)
    response = redirect_to(page, leave_panel=True)
    languages.sync_at_login(response, account)
    return response


SECOND_STEP_TITLE = _l("Enter the code from the authenticator app")


@bp.route("/logowanie/kod", methods=["GET", "POST"])
def second_step() -> ResponseReturnValue:
    """The login's second step (SPEC §16), reached only after the right password."""
    if sessions.logged_in():
        return redirect_to(url_for("account.home"), leave_panel=True)
    account = sessions.pending_login()
    if account is None or account.two_step is None:
        flash(_("Your login has expired. Please log in again."), "status")
        return redirect_to(url_for("auth.login"))
    form = SecondStepForm()
    title = str(SECOND_STEP_TITLE)
    if account.two_step == two_step.SMS:
        title = _("Enter the SMS code")
        form.code.label.text = title
        form.code.description = " ".join(
            [
                _(
                    "We have sent an SMS code to %(phone)s.",
                    phone=format_phone(account.customer.phone),
                ),
                _("If you do not have your phone, enter one of your recovery codes."),
            ]
        )
    status = None
    if form.validate_on_submit():
        try:
            outcome = check_second_step(account, form.code.data or "")
        except RateLimitExceeded:
            status = refuse_throttled(
                form,
                # Translators: a form error at the login's second step; %(wait)s is a sentence
                # saying when to try again ("Try again in 5 minutes (at 16:45).").
                _l("Too many wrong codes. %(wait)s"),
            )
        else:
            if outcome is not two_step.Outcome.WRONG:
                sessions.end_pending_login()
                if outcome is two_step.Outcome.RECOVERY_CODE:
                    flash(_("You have used one of your recovery codes."), "status")
                return _logged_in(account, skip_second_step=bool(form.remember.data))
            if not sessions.count_wrong_code():
                flash(_("Too many wrong codes. Please log in again."), "status")
                return redirect_to(url_for("auth.login"))
            form.code.errors = [_("The code is incorrect. Check it and try again.")]
    return render_form(
        "auth/_second_step.html",
        form,
        title=title,
        status=status,
        account_two_step=account.two_step,
    )


@bp.post("/logowanie/kod/wyslij-ponownie")
def resend_second_step_code() -> ResponseReturnValue:
    """A new SMS code for the waiting login (the newer supersedes the older)."""
    account = sessions.pending_login()
    if account is None or account.two_step != two_step.SMS:
        return redirect_to(url_for("auth.second_step"))
    if start_second_step(account, again=True):
        phone = format_phone(account.customer.phone)
        flash(_("We have sent an SMS code to %(phone)s.", phone=phone), "status")
    else:
        flash(
            _(
                "We cannot send an SMS code right now. Enter one of your "
                "recovery codes, or try again later."
            ),
            "problem",
        )
    return redirect_to(url_for("auth.second_step"))


def _tell_of_last_login(since: SinceLastLogin | None) -> None:
    """SPEC §16: when the account last logged in and how many failed attempts came since;
    with a link to Bezpieczeństwo when there were any (the "security" message)."""
    if since is None:
        return
    # Translators: shown after login. %(when)s is a date and time ("3 December 2026, 14:02"),
    # %(num)d the number of failed login attempts since that login.
    notice = ngettext(
        "Last login: %(when)s. Since then: %(num)d failed attempt.",
        "Last login: %(when)s. Since then: %(num)d failed attempts.",
        since.failures,
        when=format_datetime(since.last_login, "d MMMM y, HH:mm"),
    )
    flash(notice, "security" if since.failures else "status")


@bp.post("/wyloguj")
@login_required
def logout() -> ResponseReturnValue:
    end_session(current_user._get_current_object())
    flash(_("You have been logged out."), "status")
    return redirect_to(url_for("auth.login"), leave_panel=True)
