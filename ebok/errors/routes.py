"""Error pages in Polish, as a page or as the panel's fragment for htmx."""

from flask import Blueprint
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ebok.extensions import limiter
from ebok.htmx import render_panel
from ebok.throttle import Throttled, seconds_until, wait_message

bp = Blueprint("errors", __name__)


@bp.app_errorhandler(CSRFError)
def csrf_error(error):
    return render_panel(
        "errors/_error.html",
        title=_("The form has expired"),
        status=400,
        heading=_("The form has expired"),
        message=_(
            "For your security, forms expire after some time or when you "
            "log in or out. Go back, refresh the page and send the form "
            "again."
        ),
    )


@bp.app_errorhandler(Throttled)
def throttled(error: Throttled):
    return _too_many(error.retry_at)


@bp.app_errorhandler(429)
def too_many_requests(error):
    return _too_many(limiter.current_limit.reset_at if limiter.current_limit else None)


def _too_many(retry_at):
    response = render_panel(
        "errors/_error.html",
        title=_("Too many attempts"),
        status=429,
        heading=_("Too many attempts"),
        message=(
            _(
                "For your security we have paused this for a while. %(wait)s",
                wait=wait_message(retry_at),
            )
            if retry_at
            else _("For your security we have paused this for a while. Try again later.")
        ),
    )
    if retry_at:
        response.headers["Retry-After"] = str(seconds_until(retry_at))
    return response


@bp.app_errorhandler(404)
def not_found(error):
    return render_panel(
        "errors/_error.html",
        title=_("Page not found"),
        status=404,
        heading=_("Page not found"),
        message=_("Check the address, or go back to the login page."),
    )


@bp.app_errorhandler(405)
def method_not_allowed(error):
    return not_found(error)


@bp.app_errorhandler(500)
def server_error(error):
    return render_panel(
        "errors/_error.html",
        title=_("Sorry, something went wrong"),
        status=500,
        heading=_("Sorry, something went wrong"),
        message=_(
            "We are working on it. What you typed has not been lost: go "
            "back and try again in a few minutes."
        ),
    )


@bp.app_errorhandler(HTTPException)
def other_http_error(error: HTTPException):
    return render_panel(
        "errors/_error.html",
        title=_("Sorry, something went wrong"),
        status=error.code or 500,
        heading=_("Sorry, something went wrong"),
        message=_("Go back and try again."),
    )
