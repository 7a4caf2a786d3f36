"""Faktury (SPEC §11): the list, the PDF download and the Strona Główna cards' data."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from ebok.i18n import typography
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


@bp.app_template_global("invoice_table_rows")
@pass_context
def invoice_table_rows(
    context: Context, listed: list[service.ListedInvoice]
) -> list[formatting.TableRow]:
    """Faktury's rows formatted in one pass: in the page's bound language, the size units
    and the download link's words translated once, one download URL built for all."""
    language = bound_language(context)
    units = formatting.size_units()
    download_url = _download_urls()
    # Escaped as the templates escape a translation; each number is escaped as it goes in.
    # Translators: read by screen readers only, after the link "Download" in the column
    # "PDF file" ("Pobierz PDF faktury FV/2026/11/000123"); %(number)s is the invoice's number.
    of_invoice = str(escape(_("the PDF of invoice %(number)s")))
    rows = []
    for item in listed:
        invoice = item.invoice
        rows.append(
            formatting.TableRow(
                invoice=invoice,
                number=invoice.number,
                kind=item.kind,
                status_text=item.status_text,
                period=formatting.period(invoice.period_from, invoice.period_to, language),
                issued=formatting.long_date(invoice.issue_date, language),
                amount=formatting.amount(invoice.gross_amount, invoice.currency, language),
                due=formatting.long_date(invoice.due_date, language),
                size=formatting.file_size(invoice.pdf_size, language, units),
                download_url=download_url(invoice.id),
                download_words=typography.html(
                    Markup(of_invoice % {"number": escape(invoice.number)}),  # noqa: S704
                    language,
                ),
            )
        )
    return rows


# Any id will do: url_for writes an int as its digits, so the URL it builds for this one
# gives every invoice's by putting the invoice's id in its place.
_SAMPLE_ID = 918273645


def _download_urls() -> Callable[[int], str]:
    head, tail = url_for("invoices.download", invoice_id=_SAMPLE_ID).rsplit(str(_SAMPLE_ID), 1)
    return lambda invoice_id: f"{head}{invoice_id}{tail}"


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
