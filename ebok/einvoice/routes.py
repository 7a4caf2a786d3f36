"""e-Faktura: details, the activation window, the confirmation link, the address and
switching off. Views are thin: the service decides, the templates say it."""

from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ebok.contact import EMAIL_FORMAT_PROBLEM, normalize_email
from ebok.einvoice import service
from ebok.einvoice.forms import ActivationForm, AddressForm, WithdrawForm
from ebok.einvoice.service import Result
from ebok.htmx import is_partial_request, redirect_to, render_panel

bp = Blueprint("einvoice", __name__, url_prefix="/e-faktura")

SIGNED_IN_PAGE = "layouts/signed_in_page.html"


def _source() -> str:
    source = request.values.get("zrodlo") or request.values.get("source")
    return source if source in service.SOURCES else "account"


def _page_of(source: str) -> str:
    return url_for("account.home") if source == "banner" else url_for("account.my_account")


def _checked_address(field, empty_message: str) -> str | None:
    typed = (field.data or "").strip()
    if not typed:
        field.errors.append(empty_message)
        return None
    address = normalize_email(typed)
    if address is None:
        field.errors.append(EMAIL_FORMAT_PROBLEM)
    return address


@bp.get("/szczegoly")
@login_required
def details():
    return render_template(
        "einvoice/details.html",
        title=_("e-Faktura: details and terms"),
        terms_version=service.TERMS_VERSION,
    )


@bp.route("/aktywuj", methods=["GET", "POST"])
@login_required
def activate():
    account = current_user._get_current_object()
    source = _source()
    form = ActivationForm()
    status = 200
    if request.method == "GET":
        form.email.data = account.einvoice_address or account.customer.email
        form.source.data = source
    if account.einvoice_active and request.method == "GET":
        return _activation_result(Result.ALREADY_ACTIVE, account.einvoice_address, source)
    if form.validate_on_submit():
        address = _checked_address(
            form.email, _("Enter the e-mail address we should send invoice notices to.")
        )
        if not form.accept_terms.data:
            form.accept_terms.errors.append(
                _("To activate e-Faktura, accept its terms and conditions.")
            )
        if address and form.accept_terms.data:
            result = service.request_activation(account, address, source)
            return _activation_result(result, address, source)
        status = 422
    return render_panel(
        "einvoice/_activate.html",
        title=_("Activate e-Faktura"),
        form=form,
        status=status,
        page=SIGNED_IN_PAGE,
        in_dialog=True,
        source=source,
        terms_version=service.TERMS_VERSION,
    )


def _activation_result(result: Result, address: str, source: str):
    if result is Result.CONFIRMATION_SENT:
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
def confirm(token: str):
    """The link from the confirmation e-mail. Opening it shows a button; only the button's
    post changes anything, so mail scanners that open links cannot."""
    if request.method == "POST":  # CSRFProtect has checked the token
        result, address = service.confirm_link(token)
        done = True
    else:
        result, address = service.peek_link(token)
        done = False
    status = {Result.LINK_EXPIRED: 410, Result.LINK_USED: 410, Result.LINK_INVALID: 400}.get(
        result, 200
    )
    return render_panel(
        "einvoice/_confirm.html",
        title=_("Confirm the address for e-Faktura"),
        status=status,
        result=result.value,
        address=address,
        done=done,
        token=token,
    )


@bp.route("/adres", methods=["GET", "POST"])
@login_required
def change_address():
    account = current_user._get_current_object()
    if not account.einvoice_active:
        return redirect_to(url_for("account.my_account"), leave_panel=True)
    form = AddressForm()
    status = 200
    if form.validate_on_submit():
        address = _checked_address(form.email, _("Enter the new e-mail address."))
        if address:
            result = service.request_address_change(account, address)
            if result is Result.SAME_ADDRESS:
                form.email.errors.append(_("Invoice notices already go to this address."))
            else:
                flash(
                    _("The address for e-Faktura has been changed.")
                    if result is Result.ADDRESS_CHANGED
                    else _(
                        "We have sent a confirmation link to %(address)s. The address will "
                        "change when you open it.",
                        address=address,
                    ),
                    "status",
                )
                return redirect_to(url_for("account.my_account"), leave_panel=True)
        status = 422
    return render_panel(
        "einvoice/_change_address.html",
        title=_("Change the address for e-Faktura"),
        form=form,
        status=status,
        page=SIGNED_IN_PAGE,
        account=account,
    )


@bp.route("/wylacz", methods=["GET", "POST"])
@login_required
def withdraw():
    account = current_user._get_current_object()
    if not account.einvoice_active:
        return redirect_to(url_for("account.my_account"), leave_panel=True)
    form = WithdrawForm()
    if form.validate_on_submit():
        if service.withdraw(account) is Result.WITHDRAWN:
            flash(_("e-Faktura has been switched off. Your invoices will come on paper."), "status")
        return redirect_to(url_for("account.my_account"), leave_panel=True)
    return render_panel(
        "einvoice/_withdraw.html",
        title=_("Switch off e-Faktura"),
        form=form,
        page=SIGNED_IN_PAGE,
        account=account,
    )
