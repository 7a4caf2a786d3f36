"""Error pages in Polish, as a page or as the panel's fragment for htmx.

The pages never touch the database: current_user is a lazy template global (see
ebok.web.templating) and none of these templates reads it, so they render while the database
is away too.
"""

import logging
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_url
from flask_wtf.csrf import CSRFError
from limits.errors import StorageError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from ebok.extensions import login_manager
from ebok.identity import sessions, throttle
from ebok.identity.hashing_gate import HashingBusy
from ebok.identity.throttle import CountingUnavailable
from ebok.web.forms import busy_message
from ebok.web.htmx import PANEL_PAGE, VARY, is_partial_request, render_panel

bp = Blueprint("errors", __name__)
log = logging.getLogger("ebok.errors")


@bp.app_errorhandler(CSRFError)
def csrf_error(error: Exception) -> ResponseReturnValue:
    if sessions.current_session().timed_out:
        # The session ended (and its token with it) while the form was open.
        return logged_out()
    return _error_page(
        400,
        _("The form has expired"),
        message=_(
            "For your security, forms expire after some time or when you "
            "log in or out. Go back, refresh the page and send the form "
            "again."
        ),
    )


def logged_out() -> Response:
    """A form sent after the session ended (its CSRF token went with it): 401 with a page
    that says so, never "the form has expired". With htmx, app.js keeps the form and what
    was typed in it, takes this page's header (no longer signed in) and shows the notice;
    without JavaScript the page sends the customer back to the form to copy it. After the
    next login the customer comes back to the form's page."""
    sessions.remember_page_after_login(_page_of_the_form())
    heading = _("You have been logged out")
    response = Response(
        render_template(
            PANEL_PAGE,
            fragment="errors/_logged_out.html",
            title=heading,
            heading=heading,
            idle_minutes=sessions.idle_minutes(),
            has_errors=False,
            in_dialog=False,
        ),
        status=401,
    )
    response.headers["Vary"] = VARY
    return response


def _page_of_the_form() -> str | None:
    """The page the form (or htmx request) was on: the Referer's path when it is this
    site's (browsers send it here, Referrer-Policy strict-origin-when-cross-origin); None
    (Strona Główna) else."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc == request.host and referrer.path != "/":
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return None


def unauthorized() -> ResponseReturnValue:
    """A signed-in page asked for without a session: a form sent after the session timed
    out answers as logged_out; otherwise Flask-Login's redirect to the login page, and
    when the session timed out, the page is remembered to come back to after the login."""
    timed_out = sessions.current_session().timed_out
    if request.method == "POST" and timed_out:
        return logged_out()
    if timed_out:
        # For an htmx request (a part of a page refreshing itself), the page it came from.
        page = _page_of_the_form() if is_partial_request() else request.full_path.rstrip("?")
        sessions.remember_page_after_login(page)
    answer: BaseResponse = redirect(login_url("auth.login", next_url=request.url))
    return answer


@bp.record_once
def _install_unauthorized(state: object) -> None:
    login_manager.unauthorized_handler(unauthorized)


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(error: Exception) -> ResponseReturnValue:
    return _error_page(
        413,
        _("What you sent is too large"),
        message=_(
            "The form received more than it accepts. Go back, check what you typed or "
            "pasted into the fields and send the form again."
        ),
    )


@bp.app_errorhandler(429)
def too_many_requests(error: Exception) -> ResponseReturnValue:
    """A limit no form tells of (Flask-Limiter's RateLimitExceeded): the page says when to
    try again; Flask-Limiter adds Retry-After and the X-RateLimit-* headers."""
    retry_at = throttle.retry_at()
    return _error_page(
        429,
        _("Too many attempts"),
        message=(
            # Translators: the text of the Too many attempts page; %(wait)s is a sentence saying
            # when to try again ("Try again in 5 minutes (at 16:45).").
            _(
                "For your security we have paused this for a while. %(wait)s",
                wait=throttle.wait_message(retry_at),
            )
            if retry_at
            else _("For your security we have paused this for a while. Try again later.")
        ),
    )


@bp.app_errorhandler(404)
def not_found(error: Exception) -> ResponseReturnValue:
    return _error_page(
        404,
        _("Page not found"),
        message=_("Check the address, or go back to the login page."),
    )


@bp.app_errorhandler(405)
def method_not_allowed(error: Exception) -> ResponseReturnValue:
    return not_found(error)


@bp.app_errorhandler(500)
def server_error(error: Exception) -> ResponseReturnValue:
    return _error_page(
        500,
        _("Sorry, something went wrong"),
        message=_(
            "We are working on it. What you typed has not been lost: go "
            "back and try again in a few minutes."
        ),
    )


@bp.app_errorhandler(HTTPException)
def other_http_error(error: HTTPException) -> ResponseReturnValue:
    return _error_page(
        error.code or 500,
        _("Sorry, something went wrong"),
        message=_("Go back and try again."),
    )


@bp.app_errorhandler(sa_exc.OperationalError)
@bp.app_errorhandler(sa_exc.InterfaceError)
@bp.app_errorhandler(sa_exc.TimeoutError)  # no free connection in the pool in time
def database_unavailable(error: Exception) -> ResponseReturnValue:
    # The driver's own words (no statement, no parameters) say which outage it is.
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[:1]
    log.error("database unavailable: %s %s", type(error).__name__, " ".join(reason))
    # The page is made without the database: nothing on it (the language chosen, for one)
    # asks for the account again, which would wait out another connection timeout.
    login_manager._update_request_context_with_user()
    return _unavailable()


@bp.app_errorhandler(StorageError)
def storage_unavailable(error: StorageError) -> ResponseReturnValue:
    log.error("rate limit storage unavailable: %s", type(error.storage_error).__name__)
    return _unavailable()


@bp.app_errorhandler(CountingUnavailable)
def sms_unavailable(error: Exception) -> ResponseReturnValue:
    return _unavailable(
        heading=_("We cannot send an SMS code right now"),
        message=_(
            "For a moment we cannot check how many codes have been sent, so for your "
            "security we are not sending any. No SMS has been sent. Try again in a few "
            "minutes, or choose a link by e-mail if we have your e-mail address."
        ),
    )


@bp.app_errorhandler(HashingBusy)
def hashing_busy(error: HashingBusy) -> ResponseReturnValue:
    """A password to hash where no form tells of it (a new password being set) while too
    many customers log in; hashing_gate sets Retry-After."""
    return _unavailable(message=busy_message(error.retry_after))


def _unavailable(heading: str | None = None, message: str | None = None) -> Response:
    """503 with Retry-After, a page or a fragment; with JavaScript the fragment is only
    told in the live region and never replaces the form (static/js/app.js)."""
    heading = heading or _("Strefa Klienta is unavailable for a moment")
    if message is None:
        message = (
            _(
                "We are working on it. What you typed is still in the form: send it again "
                "in a few minutes."
            )
            if is_partial_request()
            else _("We are working on it. Go back and try again in a few minutes.")
        )
    response = _error_page(503, heading, message=message)
    throttle.report_no_limit()
    response.headers["Retry-After"] = str(current_app.config["OUTAGE_RETRY_AFTER"])
    return response


def _error_page(status: int, heading: str, message: str) -> Response:
    """Every error page: its heading is also its title."""
    return render_panel(
        "errors/_error.html", title=heading, status=status, heading=heading, message=message
    )
