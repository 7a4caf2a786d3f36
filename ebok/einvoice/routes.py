"""e-Faktura: details, the activation window, the confirmation link, the address and
switching off. Views are thin: the service decides, the templates say it."""

from flask import Blueprint, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ebok.einvoice import service
from ebok.einvoice.forms import ActivationForm, AddressForm, WithdrawForm
from ebok.einvoice.service import Result
from ebok.i18n import _l
from ebok.identity import throttle
from ebok.identity.signing import Outcome
from ebok.web.forms import email_address, refuse_throttled
from ebok.web.htmx import SIGNED_IN_PAGE, is_partial_request, redirect_to, render_form, render_panel
from ebok.web.titles import link_problem_heading

bp = Blueprint("einvoice", __name__, url_prefix="/e-faktura")

# A link that does not work: gone for good (410), or never ours (400).
LINK_PROBLEM_STATUS = {
    Outcome.EXPIRED: 410,
    Outcome.USED: 410,
    Outcome.SUPERSEDED: 410,
    Outcome.INVALID: 400,
}


def _source() -> str:
    """Where the customer opened the activation window: ?zrodlo= (and the form's field)."""
    source = request.values.get("zrodlo")
    return source if source in service.SOURCES else "account"


def _page_of(source: str) -> str:
    return url_for("account.home") if source == "banner" else url_for("account.my_account")


@bp.get("/szczegoly")
@login_required
def details() -> ResponseReturnValue:
    return render_template(
        "einvoice/details.html",
        title=_("e-Faktura: details and terms"),
        terms_version=service.TERMS_VERSION,
    )


@bp.route("/aktywuj", methods=["GET", "POST"])
@login_required
def activate() -> ResponseReturnValue:
    account = current_user._get_current_object()
    source = _source()
    if account.einvoice_active and request.method == "GET":
        return _activation_result(Result.ALREADY_ACTIVE, account.einvoice_address, source)
    form = ActivationForm(email=account.einvoice_address or account.customer.email, source=source)
    status = None
    if form.validate_on_submit():
        address = email_address(form.email)
        try:
            result = service.request_activation(account, address, source)
        except RateLimitExceeded:
            status = _too_many_links(form)
        else:
            return _activation_result(result, address, source)
    return render_form(
        "einvoice/_activate.html",
        form,
        title=_("Activate e-Faktura"),
        page=SIGNED_IN_PAGE,
        in_dialog=True,
        source=source,
        terms_version=service.TERMS_VERSION,
        status=status,
    )


def _too_many_links(form: FlaskForm) -> int:
    return refuse_throttled(
        form,
        # Translators: a form error in the e-Faktura window; %(wait)s is a sentence saying when to
        # try again ("Try again in 5 minutes (at 16:45).").
        _l("We have already sent too many confirmation links. %(wait)s"),
    )


def _activation_result(result: Result, address: str, source: str) -> ResponseReturnValue:
    if result is Result.CONFIRMATION_SENT:
        # Translators: a status message; %(address)s is the e-mail address invoice notices are to go
        # to, which the link confirms.
        message = _(
            "We have sent a confirmation link to %(address)s. e-Faktura will start "
            "when you open it.",
            address=address,
        )
    elif result is Result.ACTIVATED:
        message = _("e-Faktura has been activated")
    else:
        message = _("e-Faktura is already active")
    flash(message, "status")
    if not is_partial_request():
        return redirect_to(_page_of(source))
    return render_panel(
        "einvoice/_activation_result.html",
        title=_("Activate e-Faktura"),
        page=SIGNED_IN_PAGE,
        in_dialog=True,
        result=result.value,
        address=address,
        account=current_user,
    )


@bp.route("/potwierdz/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """The link from the confirmation e-mail. Opening it shows a button; only the button's
    post changes anything, so mail scanners that open links cannot."""
    done = request.method == "POST"  # CSRFProtect has checked the token
    outcome, result, address = (service.confirm_link if done else service.peek_link)(token)
    title = _("Confirm the address for e-Faktura")
    if outcome is not Outcome.OK:
        heading = link_problem_heading(outcome.value)
    elif not done:
        heading = title
    elif result is Result.ACTIVATED:
        heading = _("e-Faktura has been activated")
    else:
        heading = _("The address for e-Faktura has been changed.")
    return render_panel(
        "einvoice/_confirm.html",
        title=title,
        heading=heading,
        status=LINK_PROBLEM_STATUS.get(outcome, 200),
        link_problem=None if outcome is Outcome.OK else outcome.value,
        address=address,
        done=done,
        token=token,
    )


@bp.route("/adres", methods=["GET", "POST"])
@login_required
def change_address() -> ResponseReturnValue:
    account = current_user._get_current_object()
    if not account.einvoice_active:
        return redirect_to(url_for("account.my_account"), leave_panel=True)
    form = AddressForm()
    status = None
    if form.validate_with_current_password(account):
        address = email_address(form.email)
        try:
            result = service.request_address_change(account, address)
        except RateLimitExceeded:
            status = _too_many_links(form)
        else:
            flash(_address_change_message(result, address), "status")
            return redirect_to(url_for("account.my_account"), leave_panel=True)
    return render_form(
        "einvoice/_change_address.html",
        form,
        title=_("Change the address for e-Faktura"),
        page=SIGNED_IN_PAGE,
        account=account,
        status=status or form.status,
    )


def _address_change_message(result: Result, address: str) -> str:
    if result is Result.ADDRESS_CHANGED:
        return _("The address for e-Faktura has been changed.")
    # Translators: a status message; %(address)s is the new e-mail address for invoice notices,
    # which the link confirms.
    return _(
        "We have sent a confirmation link to %(address)s. The address will "
        "change when you open it.",
        address=address,
    )


@bp.route("/wylacz", methods=["GET", "POST"])
@login_required
def withdraw() -> ResponseReturnValue:
    account = current_user._get_current_object()
    if not account.einvoice_active:
        return redirect_to(url_for("account.my_account"), leave_panel=True)
    form = WithdrawForm()
    if form.validate_on_submit():
        if service.withdraw(account):
            flash(_("e-Faktura has been switched off. Your invoices will come on paper."), "status")
        return redirect_to(url_for("account.my_account"), leave_panel=True)
    return render_panel(
        "einvoice/_withdraw.html",
        title=_("Switch off e-Faktura"),
        form=form,
        page=SIGNED_IN_PAGE,
        account=account,
    )


@bp.post("/oczekujacy/wyslij-ponownie")
@login_required
def resend_confirmation() -> ResponseReturnValue:
    """A new link for the address waiting for confirmation (Strona Główna, Moje Konto)."""
    account = current_user._get_current_object()
    address = account.einvoice_pending_address
    try:
        result = service.resend_confirmation(account)
    except RateLimitExceeded:
        flash(
            # Translators: a status message (a problem); %(wait)s is a sentence saying when to try
            # again ("Try again in 5 minutes (at 16:45).").
            _("A new link cannot be sent yet. %(wait)s", wait=throttle.retry_message()),
            "problem",
        )
    else:
        if result is Result.CONFIRMATION_SENT:
            flash(
                # Translators: a status message; %(address)s is the e-mail address the link went to.
                _("We have sent a new confirmation link to %(address)s.", address=address),
                "status",
            )
    return redirect_to(_page_of(_source()), leave_panel=True)


@bp.post("/oczekujacy/anuluj")
@login_required
def cancel_confirmation() -> ResponseReturnValue:
    if service.cancel_confirmation(current_user._get_current_object()) is Result.PENDING_CANCELLED:
        flash(
            _("The address change has been cancelled. The link we sent no longer works."), "status"
        )
    return redirect_to(_page_of(_source()), leave_panel=True)
