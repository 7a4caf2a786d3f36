"""Faktury (SPEC §11): the list, the PDF download and the Strona Główna cards' data."""

from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, abort, current_app, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from jinja2 import pass_context
from jinja2.runtime import Context

from ebok.invoices import formatting, service
from ebok.invoices.forms import InvoiceFilterForm
from ebok.models import LARGEST_ID, Customer, Invoice
from ebok.web.htmx import SIGNED_IN_PAGE, render_form
from ebok.web.templating import bound_language

bp = Blueprint("invoices", __name__)


# In the page's language, bound once per render (ebok/web/templating.py).
@bp.app_template_filter("invoice_amount")
@pass_context
def invoice_amount(context: Context, value: Decimal, currency: str) -> str:
    return formatting.amount(value, currency, bound_language(context))


@bp.app_template_filter("long_date")
@pass_context
def long_date(context: Context, value: date) -> str:
    return formatting.long_date(value, bound_language(context))


@bp.app_template_global("invoice_period")
@pass_context
def invoice_period(context: Context, invoice: Invoice) -> str:
    return formatting.period(invoice.period_from, invoice.period_to, bound_language(context))


@bp.app_template_filter("file_size")
@pass_context
def file_size(context: Context, size: int) -> str:
    return formatting.file_size(size, bound_language(context))


@bp.app_template_global("invoice_home_summary")
def invoice_home_summary(customer: Customer) -> service.HomeSummary:
    return service.home_summary(customer, date.today())


@bp.get("/faktury")
@login_required
def invoice_list() -> ResponseReturnValue:
    customer_id = current_user.customer_id
    years = service.invoice_years(customer_id)
    form = InvoiceFilterForm(list(years), formdata=request.args)
    valid = form.validate()
    year, page = (form.year, form.page) if valid else (None, 1)
    per_page = current_app.config["INVOICES_PER_PAGE"]
    return render_form(
        "invoices/_list.html",
        form,
        title=_("Invoices"),
        status=200 if valid else 422,
        page=SIGNED_IN_PAGE,
        listing=service.invoice_page(customer_id, year, page, per_page, years),
    )


# An id past the column's range is a 404 like any id that is not the customer's.
@bp.get(f"/faktury/<int(max={LARGEST_ID}):invoice_id>.pdf")
@login_required
def download(invoice_id: int) -> ResponseReturnValue:
    return _pdf_response(service.find_invoice(current_user.customer_id, invoice_id=invoice_id))


@bp.get("/faktury/numer/<path:number>")
@login_required
def download_by_number(number: str) -> ResponseReturnValue:
    return _pdf_response(service.find_invoice(current_user.customer_id, number=number))


def _pdf_response(invoice: Invoice | None) -> Response:
    outcome = service.invoice_pdf(invoice)
    if outcome is service.PdfProblem.NOT_FOUND:
        abort(404)
    if outcome is service.PdfProblem.DAMAGED:
        abort(500)
    response = Response(outcome.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{outcome.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
