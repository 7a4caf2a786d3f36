"""Moje dane (SPEC §15): changing the contact e-mail and phone, Zgody, the forgotten
customer number, Pobierz moje dane and Usuń konto. Views are thin: the forms check, the
logic modules (service, consents, reminders, personal_data, deletion) decide, the
templates say it."""

import json
import time

from flask import Blueprint, Response, current_app, flash, request, session, url_for
from flask.typing import ResponseReturnValue
from flask.views import View
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ebok.i18n import _l
from ebok.identity import throttle
from ebok.identity.signing import Outcome
from ebok.identity.throttle import CountingUnavailable
from ebok.logs import audit
from ebok.models import ContactChange, utcnow
from ebok.mydata import consents as consent_records
from ebok.mydata import deletion, personal_data, reminders, service
from ebok.mydata.forms import (
    ConsentsForm,
    DataPasswordForm,
    DeleteAccountForm,
    ForgottenNumberForm,
    NewEmailForm,
    NewPhoneForm,
)
from ebok.mydata.service import Result, einvoice_records
from ebok.web.forms import Problem, refuse_throttled
from ebok.web.htmx import SIGNED_IN_PAGE, redirect_to, render_form, render_panel
from ebok.web.personal_data import as_json, collect, readable
from ebok.web.templating import format_phone
from ebok.web.titles import link_problem_heading
from ebok.wizard.forms import CodeForm

bp = Blueprint("mydata", __name__)
bp.record_once(lambda state: personal_data.register(state.app))
# For Moje Konto's contact details (templates/mydata/_contact_buttons.html).
bp.add_app_template_global(service.pending_email_change, "pending_email_change")

# The phone change waiting for its code, by its id; the number itself stays in the database.
PHONE_CHANGE = "mydata_phone_change"
LINK_PROBLEM_STATUS = {
    Outcome.EXPIRED: 410,
    Outcome.USED: 410,
    Outcome.SUPERSEDED: 410,
    Outcome.INVALID: 400,
}


def _too_many_sends(form: FlaskForm) -> int:
    return refuse_throttled(
        form,
        # Translators: a form error when a new contact is to be proved; %(wait)s is a sentence
        # saying when to try again ("Try again in 5 minutes (at 16:45).").
        _l("We have already sent too many codes or links. %(wait)s"),
    )


class ChangeContact(View):
    """Zmień adres e-mail and Zmień numer telefonu, one view with the field its parameter:
    the current password and the new value, then the proof goes to the new value."""

    methods = ["GET", "POST"]
    decorators = [login_required]
    forms: dict[str, type[NewEmailForm | NewPhoneForm]] = {
        "email": NewEmailForm,
        "phone": NewPhoneForm,
    }

    def __init__(self, field: str) -> None:
        self.field = field

    def dispatch_request(self) -> ResponseReturnValue:
        account = current_user._get_current_object()
        form = self.forms[self.field]()
        status = None
        if form.validate_with_current_password(account):
            try:
                change = service.request_change(account, self.field, form.new_value())
            except (RateLimitExceeded, CountingUnavailable):
                status = _too_many_sends(form)
            else:
                return _proof_sent(change)
        return render_form(
            f"mydata/_change_{self.field}.html",
            form,
            title=_contact_title(self.field),
            page=SIGNED_IN_PAGE,
            customer=account.customer,
            status=status or form.status,
        )


bp.add_url_rule("/moje-konto/adres-email", view_func=ChangeContact.as_view("change_email", "email"))
bp.add_url_rule("/moje-konto/telefon", view_func=ChangeContact.as_view("change_phone", "phone"))


def _contact_title(field: str) -> str:
    if field == "email":
        return _("Change your e-mail address")
    return _("Change your phone number")


def _proof_sent(change: ContactChange) -> ResponseReturnValue:
    """Where the link or the code went; a code is typed on the next page."""
    if change.field == "email":
        flash(
            # Translators: a status message; %(address)s is the new contact e-mail address.
            _(
                "We have sent a link to %(address)s. Your contact address will change "
                "when you open it.",
                address=change.new_value,
            ),
            "status",
        )
        return redirect_to(url_for("account.my_account"), leave_panel=True)
    session[PHONE_CHANGE] = change.id
    flash(
        # Translators: a status message; %(phone)s is the new mobile number.
        _("We have sent an SMS code to %(phone)s.", phone=format_phone(change.new_value)),
        "status",
    )
    return redirect_to(url_for("mydata.phone_code"))


@bp.route("/moje-konto/telefon/kod", methods=["GET", "POST"])
@login_required
def phone_code() -> ResponseReturnValue:
    account = current_user._get_current_object()
    change = service.pending_phone_change(account, session.get(PHONE_CHANGE))
    if change is None:
        return redirect_to(url_for("mydata.change_phone"))
    form = CodeForm()
    status = None
    if form.validate_on_submit():
        try:
            result = service.confirm_phone_change(change, form.code.data or "")
        except Problem as problem:
            problem.put_on(form)
        except RateLimitExceeded:
            status = refuse_throttled(
                form,
                # Translators: a form error under the SMS code; %(wait)s is a sentence saying
                # when to try again ("Try again in 5 minutes (at 16:45).").
                _l("Too many wrong codes. %(wait)s"),
            )
        else:
            session.pop(PHONE_CHANGE, None)
            if result is Result.CHANGED:
                flash(_("Your contact phone number has been changed."), "status")
            return redirect_to(url_for("account.my_account"), leave_panel=True)
    return render_form(
        "mydata/_phone_code.html",
        form,
        title=_contact_title("phone"),
        heading=_("Enter the SMS code"),
        page=SIGNED_IN_PAGE,
        phone=change.new_value,
        status=status,
    )


@bp.post("/moje-konto/telefon/wyslij-ponownie")
@login_required
def resend_phone_code() -> ResponseReturnValue:
    account = current_user._get_current_object()
    change = service.pending_phone_change(account, session.get(PHONE_CHANGE))
    if change is None:
        return redirect_to(url_for("mydata.change_phone"))
    try:
        # A new change request for the same number, counted like the first; the older
        # code stops working.
        change = service.request_change(account, "phone", change.new_value)
    except (RateLimitExceeded, CountingUnavailable):
        flash(
            # Translators: a status message (a problem); %(wait)s is a sentence saying when to try
            # again ("Try again in 5 minutes (at 16:45).").
            _("A new code cannot be sent yet. %(wait)s", wait=throttle.retry_message()),
            "problem",
        )
    else:
        return _proof_sent(change)
    return redirect_to(url_for("mydata.phone_code"))


@bp.route("/moje-konto/adres-email/potwierdz/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> ResponseReturnValue:
    """The link from the e-mail to the new address. Opening it shows a button; only the
    button's post changes anything, so mail scanners that open links cannot."""
    done = request.method == "POST"  # CSRFProtect has checked the token
    if done:
        outcome, result, change = service.confirm_email_link(token)
        if result is Result.ALREADY_CHANGED:
            outcome = Outcome.USED
    else:
        outcome, change = service.open_email_link(token)
    title = _("Confirm your new e-mail address")
    if outcome is not Outcome.OK:
        heading = link_problem_heading(outcome.value)
    elif done:
        heading = _("Your contact e-mail address has been changed.")
    else:
        heading = title
    return render_panel(
        "mydata/_confirm_email.html",
        title=title,
        heading=heading,
        status=LINK_PROBLEM_STATUS.get(outcome, 200),
        link_problem=None if outcome is Outcome.OK else outcome.value,
        address=change.new_value if change is not None and outcome is Outcome.OK else None,
        done=done,
        token=token,
    )


@bp.route("/moje-konto/zgody", methods=["GET", "POST"])
@login_required
def consents() -> ResponseReturnValue:
    account = current_user._get_current_object()
    customer = account.customer
    form = ConsentsForm(
        data=None if request.method == "POST" else consent_records.current(customer)
    )
    if form.validate_on_submit():
        changed = consent_records.record_choices(customer, form.chosen())
        flash(
            _("Your consents have been saved.") if changed else _("Nothing has changed."),
            "status",
        )
        return redirect_to(url_for("mydata.consents"))
    return render_form(
        "mydata/_consents.html",
        form,
        title=_("Consents"),
        page=SIGNED_IN_PAGE,
        history=consent_records.history(customer),
        einvoice_history=einvoice_records(account),
        account=account,
        wording_version=consent_records.WORDING_VERSION,
    )


@bp.route("/nie-pamietam-numeru", methods=["GET", "POST"])
def forgotten_number() -> ResponseReturnValue:
    form = ForgottenNumberForm()
    status = None
    if form.validate_on_submit():
        try:
            reminders.send_numbers(*form.channel_and_contact())
        except (RateLimitExceeded, CountingUnavailable):
            status = _too_many_sends(form)
        else:
            return redirect_to(url_for("mydata.number_sent"))
    return render_form(
        "mydata/_forgotten_number.html",
        form,
        title=_("Forgot your customer number?"),
        status=status,
    )


@bp.get("/nie-pamietam-numeru/wyslane")
def number_sent() -> ResponseReturnValue:
    """The same page whatever matched."""
    return render_panel(
        "mydata/_number_sent.html",
        title=_("Forgot your customer number?"),
        heading=_("Check your e-mail or SMS"),
    )


# When the password was last typed again for the customer's data: the data page and the
# file are served for DATA_UNLOCK_LIFETIME after it.
DATA_UNLOCKED_AT = "mydata_unlocked_at"


@bp.route("/moje-konto/moje-dane", methods=["GET", "POST"])
@login_required
def download_data() -> ResponseReturnValue:
    account = current_user._get_current_object()
    form = DataPasswordForm()
    if form.validate_with_current_password(account):
        session[DATA_UNLOCKED_AT] = int(time.time())
        audit("personal_data_shown", account=account.id)
        return redirect_to(url_for("mydata.data_page"))
    return render_form(
        "mydata/_download_data.html",
        form,
        title=_("Download my data"),
        page=SIGNED_IN_PAGE,
        status=form.status,
    )


def _unlocked() -> bool:
    unlocked_at = session.get(DATA_UNLOCKED_AT)
    lifetime = current_app.config["DATA_UNLOCK_LIFETIME"].total_seconds()
    return isinstance(unlocked_at, int) and time.time() - unlocked_at < lifetime


@bp.get("/moje-konto/moje-dane/podglad")
@login_required
def data_page() -> ResponseReturnValue:
    if not _unlocked():
        return redirect_to(url_for("mydata.download_data"))
    account = current_user._get_current_object()
    shown = [(section, readable(section, built)) for section, built in collect(account)]
    # Signed-in pages are not stored by browsers or caches anyway (web/security.py).
    return render_panel(
        "mydata/_data_page.html", title=_("Your data"), page=SIGNED_IN_PAGE, sections=shown
    )


@bp.get("/moje-konto/moje-dane/plik")
@login_required
def data_file() -> ResponseReturnValue:
    """The same data as a JSON file, made on request and never stored."""
    if not _unlocked():
        return redirect_to(url_for("mydata.download_data"))
    account = current_user._get_current_object()
    document = {
        "format": "strefa-klienta-personal-data",
        "version": 1,
        "generated_at": as_json(utcnow()),
        **{section.key: as_json(built) for section, built in collect(account)},
    }
    body = json.dumps(document, ensure_ascii=False, indent=2)
    response = Response(body + "\n", mimetype="application/json")
    filename = f"strefa-klienta-{account.customer.number}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    audit("personal_data_downloaded", account=account.id)
    return response


@bp.route("/moje-konto/usun-konto", methods=["GET", "POST"])
@login_required
def delete_account() -> ResponseReturnValue:
    account = current_user._get_current_object()
    form = DeleteAccountForm()
    if form.validate_with_current_password(account):
        deletion.delete_account(account)
        return redirect_to(url_for("mydata.account_deleted"), leave_panel=True)
    return render_form(
        "mydata/_delete_account.html",
        form,
        title=_("Delete your Strefa Klienta account"),
        page=SIGNED_IN_PAGE,
        account=account,
        status=form.status,
    )


@bp.get("/konto-usuniete")
def account_deleted() -> ResponseReturnValue:
    return render_panel(
        "mydata/_account_deleted.html", title=_("Your Strefa Klienta account has been deleted")
    )
