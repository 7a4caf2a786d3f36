"""Bezpieczeństwo (SPEC §16): where the account is signed in, its last logins and failed
attempts, and the browsers it remembers; ending sessions and forgetting devices."""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required

from ebok.extensions import db
from ebok.i18n import _l, lazy_pgettext
from ebok.identity import accounts, devices, sessions, throttle, two_step
from ebok.logs import audit
from ebok.models import LARGEST_ID, Account
from ebok.operator import current as current_operator
from ebok.security import personal_data
from ebok.security.forms import (
    ConfirmAppForm,
    ConfirmSmsForm,
    NewRecoveryCodesForm,
    SwitchOffForm,
    SwitchOnForm,
)
from ebok.web.forms import refuse_throttled
from ebok.web.htmx import SIGNED_IN_PAGE, redirect_to, render_form, render_panel
from ebok.web.templating import format_phone

bp = Blueprint("security", __name__, url_prefix="/moje-konto/bezpieczenstwo")
bp.record_once(lambda state: personal_data.register(state.app))


def _account() -> Account:
    account: Account = current_user._get_current_object()
    return account


@bp.get("")
@login_required
def overview() -> ResponseReturnValue:
    account = _account()
    return render_template(
        "security/overview.html",
        title=_("Security"),
        login_sessions=sessions.active_sessions(account),
        public_id=sessions.public_id,
        is_current=sessions.is_current,
        history=sessions.login_history(account),
        devices=devices.remembered_devices(account),
        is_this_device=lambda device: devices.is_this_device(account, device),
        recovery_codes_left=two_step.recovery_codes_left(account) if account.two_step else 0,
    )


@bp.post("/sesje/<session_id>/wyloguj")
@login_required
def end_session(session_id: str) -> ResponseReturnValue:
    account = _account()
    if not sessions.end_other_session(account, session_id):
        abort(404)
    db.session.commit()
    flash(_("That device has been logged out."), "status")
    return redirect_to(url_for("security.overview"))


@bp.post("/wyloguj-inne")
@login_required
def end_other_sessions() -> ResponseReturnValue:
    ended = sessions.end_all_sessions(_account(), except_current=True)
    db.session.commit()
    flash(
        # Translators: after "Log out of all other devices"; %(num)d is how many were.
        ngettext(
            "%(num)d other device has been logged out.",
            "%(num)d other devices have been logged out.",
            ended,
        )
        if ended
        else _("You were not logged in on any other device."),
        "status",
    )
    return redirect_to(url_for("security.overview"))


@bp.post("/urzadzenia/<int:device_id>/zapomnij")
@login_required
def forget_device(device_id: int) -> ResponseReturnValue:
    if device_id > LARGEST_ID or not devices.forget_device(_account(), device_id):
        abort(404)
    db.session.commit()
    flash(_("The device has been forgotten."), "status")
    return redirect_to(url_for("security.overview"))


# -- two-step login (SPEC §16) -------------------------------------------------------------

# The secret shown while the app is set up, and the recovery codes shown once after: in
# the session (on the server once signed in), never in a URL.
SETUP_SECRET = "two_step_setup"  # noqa: S105 (a session key, not a secret)
RECOVERY_CODES = "two_step_recovery_codes"
# The SMS codes sent to switch SMS on, and to switch two-step login by SMS off.
SMS_SETUP = "two_step_sms_setup"
SMS_SWITCH_OFF = "two_step_sms_switch_off"
TOO_MANY_CODES = _l("Too many wrong codes. %(wait)s")


@bp.route("/dwuetapowe/wlacz", methods=["GET", "POST"])
@login_required
def switch_on() -> ResponseReturnValue:
    account = _account()
    if account.two_step:
        return redirect_to(url_for("security.overview"), leave_panel=True)
    form = SwitchOnForm()
    form.offer_sms(account.customer.sms_phone is not None)
    if form.validate_with_current_password(account):
        if form.method.data != two_step.SMS:
            session[SETUP_SECRET] = two_step.new_secret()
            return redirect_to(url_for("security.set_up_app"))
        try:
            record = two_step.send_sms_code(account, two_step.SETUP_PURPOSE)
        except (RateLimitExceeded, throttle.CountingUnavailable):
            db.session.rollback()
            form.form_errors.append(_("We cannot send an SMS code right now. Try again later."))
            form.status = 429
        else:
            session[SMS_SETUP] = record.id
            return redirect_to(url_for("security.set_up_sms"))
    return render_form(
        "security/_switch_on.html",
        form,
        title=_("Switch on two-step login"),
        page=SIGNED_IN_PAGE,
        status=form.status,
    )


@bp.route("/dwuetapowe/aplikacja", methods=["GET", "POST"])
@login_required
def set_up_app() -> ResponseReturnValue:
    account = _account()
    secret = session.get(SETUP_SECRET)
    if account.two_step or not secret:
        return redirect_to(url_for("security.switch_on"))
    form = ConfirmAppForm()
    status = None
    if form.validate_on_submit():
        switched_on, status = _switch_on_with_first_code(
            account,
            form,
            SETUP_SECRET,
            check=lambda code: two_step.matching_step(secret, code),
            switch_on=lambda step: two_step.switch_on(account, secret, step),
        )
        if switched_on:
            return redirect_to(url_for("security.recovery_codes"))
    uri = two_step.provisioning_uri(account, secret, current_operator().portal_name)
    return render_form(
        "security/_set_up_app.html",
        form,
        title=_("Set up the authenticator app"),
        page=SIGNED_IN_PAGE,
        status=status,
        # Translators: the text alternative of the QR code to scan with an authenticator app.
        qr_code=two_step.qr_code_svg(uri, _("QR code for the authenticator app")),
        secret_groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
    )


@bp.route("/dwuetapowe/sms", methods=["GET", "POST"])
@login_required
def set_up_sms() -> ResponseReturnValue:
    account = _account()
    sent = session.get(SMS_SETUP)
    if account.two_step or not sent:
        return redirect_to(url_for("security.switch_on"))
    form = ConfirmSmsForm()
    status = None
    if form.validate_on_submit():
        switched_on, status = _switch_on_with_first_code(
            account,
            form,
            SMS_SETUP,
            check=lambda code: True if two_step.check_sms_code(account, sent, code) else None,
            switch_on=lambda _: two_step.switch_on_sms(account),
        )
        if switched_on:
            return redirect_to(url_for("security.recovery_codes"))
    return render_form(
        "security/_set_up_sms.html",
        form,
        title=_("Enter the SMS code"),
        page=SIGNED_IN_PAGE,
        status=status,
        phone=account.customer.phone,
    )


def _switch_on_with_first_code(
    account: Account,
    form: ConfirmAppForm | ConfirmSmsForm,
    setup_key: str,
    *,
    check: Callable[[str], Any],
    switch_on: Callable[[Any], list[str]],
) -> tuple[bool, int | None]:
    """The first code proves the chosen way works: counted like every code, then two-step
    login is switched on (`switch_on` given what `check` found; None from `check` is a
    wrong code), the customer told and the recovery codes kept to be shown once.
    (Switched on, the status to announce.)"""
    try:
        throttle.count_attempt([("RATELIMIT_CODE_ATTEMPTS", None)])
    except RateLimitExceeded:
        return False, refuse_throttled(form, TOO_MANY_CODES)
    proof = check(form.code.data or "")
    if proof is None:
        db.session.commit()  # the SMS code's tries
        form.code.errors = [_("The code is incorrect. Check it and try again.")]
        return False, None
    throttle.attempt_was_right()
    codes = switch_on(proof)
    _tell_switched(account, on=True)
    db.session.commit()
    session.pop(setup_key, None)
    session[RECOVERY_CODES] = codes
    return True, None


def _tell_switched(account: Account, *, on: bool) -> None:
    if on:
        # Translators: the subject of the e-mail telling the customer two-step login
        # was switched on.
        subject = lazy_pgettext("e-mail subject", "Two-step login is on")
    else:
        # Translators: the subject of the e-mail telling the customer two-step login
        # was switched off.
        subject = lazy_pgettext("e-mail subject", "Two-step login is off")
    accounts.tell_customer(account, subject, "two_step_on" if on else "two_step_off")


@bp.route("/dwuetapowe/nowe-kody", methods=["GET", "POST"])
@login_required
def new_recovery_codes() -> ResponseReturnValue:
    account = _account()
    if not account.two_step:
        return redirect_to(url_for("security.overview"), leave_panel=True)
    form = NewRecoveryCodesForm()
    if form.validate_with_current_password(account):
        session[RECOVERY_CODES] = two_step.new_recovery_codes(account)
        audit("recovery_codes_replaced", account=account.id)
        db.session.commit()
        return redirect_to(url_for("security.recovery_codes"))
    return render_form(
        "security/_new_recovery_codes.html",
        form,
        title=_("New recovery codes"),
        page=SIGNED_IN_PAGE,
        status=form.status,
    )


@bp.get("/dwuetapowe/kody")
@login_required
def recovery_codes() -> ResponseReturnValue:
    """The recovery codes, shown once, right after they were made."""
    codes = session.pop(RECOVERY_CODES, None)
    if not codes:
        return redirect_to(url_for("security.overview"))
    return render_panel(
        "security/_recovery_codes.html",
        title=_("Your recovery codes"),
        page=SIGNED_IN_PAGE,
        codes=codes,
    )


@bp.route("/dwuetapowe/wylacz", methods=["GET", "POST"])
@login_required
def switch_off() -> ResponseReturnValue:
    account = _account()
    if not account.two_step:
        return redirect_to(url_for("security.overview"), leave_panel=True)
    form = SwitchOffForm()
    if account.two_step == two_step.SMS:
        form.for_sms()
    if form.validate_with_current_password(account):
        try:
            outcome = two_step.check_code_counted(
                account, form.code.data or "", session.get(SMS_SWITCH_OFF)
            )
        except RateLimitExceeded:
            form.status = refuse_throttled(form, TOO_MANY_CODES)
        else:
            if outcome is not two_step.Outcome.WRONG:
                two_step.switch_off(account)
                _tell_switched(account, on=False)
                db.session.commit()
                session.pop(SMS_SWITCH_OFF, None)
                flash(_("Two-step login is off."), "status")
                return redirect_to(url_for("security.overview"), leave_panel=True)
            db.session.commit()
            form.code.errors = [_("The code is incorrect. Check it and try again.")]
    return render_form(
        "security/_switch_off.html",
        form,
        title=_("Switch off two-step login"),
        page=SIGNED_IN_PAGE,
        status=form.status,
    )


@bp.post("/dwuetapowe/wylacz/sms")
@login_required
def send_switch_off_code() -> ResponseReturnValue:
    """An SMS code to switch two-step login by SMS off with (asked for: it costs money)."""
    account = _account()
    if account.two_step != two_step.SMS:
        return redirect_to(url_for("security.overview"), leave_panel=True)
    try:
        session[SMS_SWITCH_OFF] = two_step.send_sms_code(account, two_step.SETUP_PURPOSE).id
    except (RateLimitExceeded, throttle.CountingUnavailable):
        db.session.rollback()
        flash(_("We cannot send an SMS code right now. Try again later."), "problem")
    else:
        flash(
            _("We have sent an SMS code to %(phone)s.", phone=format_phone(account.customer.phone)),
            "status",
        )
    return redirect_to(url_for("security.switch_off"))
