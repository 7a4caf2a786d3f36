"""Zapłać (SPEC §14): the payment buttons, the provider's notification, the return page,
"Płatności", and development's "Symulacja płatności" page. Thin views: the logic is in
service.py, the provider behind providers/."""

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_locale, pgettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ebok.customers.bank_accounts import group_in_fours
from ebok.identity.signing import external_url
from ebok.models import LARGEST_ID, Invoice, Payment, utcnow
from ebok.payments import metrics as payments_metrics
from ebok.payments import personal_data, service
from ebok.payments.forms import PayForm
from ebok.payments.providers import PaymentProvider, provider_for
from ebok.payments.providers.dev import DevProvider
from ebok.web.csrf import csrf
from ebok.web.htmx import SIGNED_IN_PAGE, VARY, is_partial_request, redirect_to, render_panel

bp = Blueprint("payments", __name__)
bp.record_once(lambda state: personal_data.register(state.app))
bp.record_once(lambda state: payments_metrics.register())


def _provider() -> PaymentProvider | None:
    return provider_for(current_app.config)


@bp.app_template_global("payment_offer")
def payment_offer(invoice: Invoice) -> dict[str, object] | None:
    """What an invoice offers: None (paid, or payments off), "pay", or "resume" (a payment
    of it is waiting: "Zapłać" goes back to it)."""
    if invoice.paid_on is not None or not current_app.config["PAYMENTS_PROVIDER"]:
        return None
    paid_online, waiting = _offers(invoice.customer_id)
    if invoice.id in paid_online:
        return None
    return {
        "kind": "resume" if invoice.id in waiting else "pay",
        "url": url_for("payments.pay_invoice", invoice_id=invoice.id),
    }


def _offers(customer_id: int) -> tuple[set[int], set[int]]:
    """The customer's invoices paid online, and those with a payment waiting: two queries
    per request, however many invoices the page shows."""
    cache = g.setdefault("payment_offers", {})
    if customer_id not in cache:
        cache[customer_id] = (
            service.paid_online(customer_id=customer_id),
            service.invoices_waiting(customer_id),
        )
    return cache[customer_id]


@bp.app_template_filter("payment_date")
def payment_date(value: datetime) -> str:
    """When a payment was made, in the portal's time zone: 4 grudnia 2026, 18:05."""
    return format_datetime(value, "d MMMM y, HH:mm")


@bp.app_template_global("payment_state")
def payment_state(payment: Payment) -> str:
    if payment.state == "paid":
        # Translators: a payment's state in the list of payments (feminine in Polish, as
        # "płatność": "przyjęta").
        return pgettext("payment state", "Received")
    if payment.state == "waiting":
        # Translators: a payment's state in the list of payments: not confirmed yet.
        return pgettext("payment state", "Waiting for confirmation")
    # Translators: a payment's state in the list of payments: it did not go through.
    return pgettext("payment state", "Not completed")


@bp.app_template_global("pay_all_offer")
def pay_all_offer(customer_id: int) -> str | None:
    """ "Zapłać wszystko": "pay", "resume" when every unpaid invoice already has a payment
    waiting (the button goes back to it), None with nothing to pay or payments off."""
    if not current_app.config["PAYMENTS_PROVIDER"]:
        return None
    payable = {invoice.id for invoice in service.payable_invoices(customer_id)}
    if not payable:
        return None
    return "resume" if payable <= _offers(customer_id)[1] else "pay"


@bp.app_template_global("payment_open")
def payment_open(payment: Payment) -> bool:
    """Whether the provider still takes the waiting payment (its time limit not passed)."""
    return payment.state == "waiting" and payment.expires_at > utcnow()


@bp.app_template_global("payments_enabled")
def payments_enabled() -> bool:
    return bool(current_app.config["PAYMENTS_PROVIDER"])


# -- starting ---------------------------------------------------------------------------


@bp.post(f"/faktury/<int(max={LARGEST_ID}):invoice_id>/zaplac")
@login_required
def pay_invoice(invoice_id: int) -> ResponseReturnValue:
    return _start([invoice_id])


@bp.post("/platnosci/zaplac-wszystko")
@login_required
def pay_all() -> ResponseReturnValue:
    return _start(None)


def _start(invoice_ids: list[int] | None) -> ResponseReturnValue:
    form = PayForm()
    if not form.validate_on_submit():
        abort(400)
    provider = _provider()
    if provider is None:
        abort(404)
    account = current_user._get_current_object()
    outcome = service.start_payment(
        account,
        invoice_ids,
        provider,
        time_limit=int(current_app.config["P24_TIME_LIMIT"]),
        language=str(get_locale()),
        urls=_payment_urls,
    )
    if outcome is service.StartProblem.NOTHING_TO_PAY:
        return redirect_to(url_for("invoices.invoice_list"), leave_panel=True)
    if outcome is service.StartProblem.UNAVAILABLE:
        return _unavailable()
    if isinstance(outcome, service.WaitingElsewhere):
        return redirect_to(
            url_for("payments.return_page", session_id=outcome.session_id), leave_panel=True
        )
    return redirect_to(outcome.url, leave_panel=True)


def _payment_urls(session_id: str) -> tuple[str, str]:
    return (
        external_url(url_for("payments.return_page", session_id=session_id)),
        external_url(url_for("payments.notification")),
    )


def _unavailable() -> ResponseReturnValue:
    customer = current_user.customer
    response = render_panel(
        "payments/_unavailable.html",
        title=_("Payments are temporarily unavailable"),
        status=503,
        page=SIGNED_IN_PAGE,
        bank_account=group_in_fours(customer.bank_account) if customer.bank_account else None,
    )
    response.headers["Retry-After"] = str(current_app.config["OUTAGE_RETRY_AFTER"])
    return response


# -- the provider's notification ------------------------------------------------------------

ANSWERS = {
    service.Handled.PAID: 200,
    service.Handled.ALREADY_PAID: 200,
    service.Handled.REFUSED: 400,
    service.Handled.UNAVAILABLE: 503,
}


@bp.post("/platnosci/powiadomienie")
@csrf.exempt  # the provider's server posts it; its sign is the check
def notification() -> ResponseReturnValue:
    provider = _provider()
    if provider is None:
        abort(404)
    handled = service.handle_notification(provider, request.get_data(cache=False))
    status = ANSWERS[handled]
    return jsonify({"status": handled.value}), status


# -- the return page and "Płatności" ----------------------------------------------------------


@bp.get("/platnosci/<session_id>")
@login_required
def return_page(session_id: str) -> ResponseReturnValue:
    payment = service.find_payment(current_user.customer_id, session_id)
    if payment is None:
        abort(404)
    config = current_app.config
    interval = max(1, int(config["PAYMENTS_POLL_INTERVAL"]))
    polls = max(0, int(config["PAYMENTS_POLL_FOR"]) // interval)
    poll = request.args.get("proba", type=int)
    context: dict[str, Any] = {
        "payment": payment,
        "interval": interval,
        "next_poll": (poll or 0) + 1
        if payment.state == "waiting" and (poll or 0) < polls
        else None,
    }
    if poll is not None and is_partial_request():
        # A poll of the state alone; a change is announced in the page's live region.
        body = render_template("payments/_state.html", announce=True, **context)
        response = Response(body)
        response.headers["Vary"] = VARY
        response.headers["Cache-Control"] = "no-store"
        return response
    response = render_panel(
        "payments/_return.html", title=_("Payment"), page=SIGNED_IN_PAGE, **context
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/platnosci")
@login_required
def payment_list() -> ResponseReturnValue:
    return render_panel(
        "payments/_list.html",
        title=_("Payments"),
        page=SIGNED_IN_PAGE,
        payments=service.payments_of(current_user.customer_id),
    )


# -- development: "Symulacja płatności" -----------------------------------------------------


def _dev_payment(session_id: str) -> tuple[DevProvider, Payment]:
    provider = _provider()
    if not isinstance(provider, DevProvider):
        abort(404)
    payment = service.find_payment(current_user.customer_id, session_id)
    if payment is None:
        abort(404)
    return provider, payment


@bp.route("/dev/platnosc/<session_id>", methods=["GET", "POST"])
@login_required
def dev_page(session_id: str) -> ResponseReturnValue:
    provider, payment = _dev_payment(session_id)
    form = PayForm()
    if form.validate_on_submit():
        if request.form.get("action") == "pay":
            body = provider.notification_body(payment.session_id, payment.amount, payment.currency)
            service.handle_notification(provider, body)
        else:
            service.mark_failed(payment)
        return redirect_to(url_for("payments.return_page", session_id=session_id), leave_panel=True)
    return render_panel(
        "payments/_dev_page.html",
        title=_("Payment simulation"),
        page=SIGNED_IN_PAGE,
        payment=payment,
        form=form,
    )
