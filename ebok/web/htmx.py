"""Full page or fragment: every URL serves a full page, and only the panel's fragment
to an htmx partial request (htmx 4 sends HX-Request-Type: partial)."""

from typing import Any

from flask import Flask, Response, redirect, render_template, request
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse

from ebok.web.templating import render_public

VARY = "HX-Request, HX-Request-Type, HX-History-Restore-Request"
# The pages a fragment is rendered into without htmx.
PANEL_PAGE = "layouts/panel_page.html"
SIGNED_IN_PAGE = "layouts/signed_in_page.html"


def init_app(app: Flask) -> None:
    app.jinja_env.globals["is_partial_request"] = is_partial_request


def is_partial_request() -> bool:
    # A history restore has no HX-Request header, but check it anyway: it wants a page.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Request-Type") == "partial"
        and "HX-History-Restore-Request" not in request.headers
    )


def render_panel(
    fragment: str,
    *,
    title: str,
    status: int = 200,
    page: str = PANEL_PAGE,
    in_dialog: bool = False,
    empty_form: type | None = None,
    **context: Any,
) -> Response:
    """Renders `fragment` into the panel of `page`, or alone for htmx.

    `title` is the step's own title; it gets the "Błąd: " prefix when a form in the
    context has errors, both in the page's <title> and in the fragment's. A fragment for
    the dialog (in_dialog) keeps the page's title and URL.

    `empty_form`, a form class, marks a page that shows only that form, empty, and is the
    same for every visitor but for the CSRF token: it is rendered once (render_public),
    and the form is made only then.
    """
    context.setdefault("form", None)
    has_errors = bool(context["form"] is not None and _form_errors(context["form"]))
    partial = is_partial_request()
    if not partial:
        template = page
    else:
        template = "layouts/dialog_fragment.html" if in_dialog else "layouts/fragment.html"
    context.update(fragment=fragment, title=title, has_errors=has_errors, in_dialog=in_dialog)
    if empty_form is not None:
        body = render_public(
            template, (fragment, status), lambda: {**context, "form": empty_form()}
        )
    else:
        body = render_template(template, **context)
    response = Response(body, status=status)
    response.headers["Vary"] = VARY
    if partial and request.method == "GET" and status == 200 and not in_dialog:
        # The step's own URL goes into the address bar, so Back and reload work.
        response.headers["HX-Push-Url"] = request.full_path.rstrip("?")
    return response


def render_form(
    fragment: str, form: FlaskForm, *, title: str, status: int | None = None, **context: Any
) -> Response:
    """A form's panel: 200 when it is shown, 422 when a post left problems on it (the
    form re-rendered with what the customer typed), or the status given (429)."""
    if status is None:
        status = 422 if form.is_submitted() and _form_errors(form) else 200
    return render_panel(fragment, title=title, form=form, status=status, **context)


def _form_errors(form: FlaskForm) -> bool:
    return bool(form.errors) or bool(getattr(form, "form_errors", None))


def redirect_to(url: str, *, leave_panel: bool = False) -> BaseResponse:
    """303 after a successful post. htmx follows it with fetch and gets the next step's
    fragment; a page with another layout (leave_panel) needs a full navigation instead."""
    if leave_panel and is_partial_request():
        response = Response(status=200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)
