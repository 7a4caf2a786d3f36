"""Staying logged in, and the answer to a form sent after the session ended."""

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from ebok.extensions import login_manager
from ebok.identity import sessions
from ebok.web.htmx import PANEL_PAGE, VARY

bp = Blueprint("session_timeout", __name__)


@dataclass(frozen=True)
class SessionTiming:
    """What a signed-in page tells of its session (templates/layouts/_session_warning.html)."""

    idle_minutes: int  # the idle timeout, for the sentence shown without JavaScript
    seconds_left: int  # until it ends if nothing reaches the server (app.js's timer)
    warn_before: int  # seconds before the end the warning opens


@bp.app_template_global()
def session_timing() -> SessionTiming:
    config = current_app.config
    left = sessions.time_left()
    return SessionTiming(
        idle_minutes=idle_minutes(),
        # Rounded up: the browser's timer must never run out before the server's.
        seconds_left=math.ceil(left.total_seconds()) if left is not None else 0,
        warn_before=math.ceil(config["SESSION_WARNING_BEFORE"].total_seconds()),
    )


def idle_minutes() -> int:
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    return max(1, math.ceil(lifetime.total_seconds() / 60))


@bp.post("/sesja/przedluz")
@login_required
def stay_logged_in() -> ResponseReturnValue:
    """ "Zostań zalogowany" (a POST with the CSRF token): the session's idle time starts
    again. 204: app.js reads the new time left from the answer's header, and a browser
    without JavaScript would stay on its page."""
    sessions.keep_alive()
    return Response(status=204)


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
            fragment="session_timeout/_logged_out.html",
            title=heading,
            heading=heading,
            idle_minutes=idle_minutes(),
            has_errors=False,
            in_dialog=False,
        ),
        status=401,
    )
    response.headers["Vary"] = VARY
    return response


def _page_of_the_form() -> str | None:
    """The page the form was on: the Referer's path when it is this site's (browsers send
    it here, Referrer-Policy strict-origin-when-cross-origin); None (Strona Główna) else."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc == request.host and referrer.path != "/":
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return None


def unauthorized() -> ResponseReturnValue:
    """A signed-in page asked for without a session: a form sent answers as logged_out;
    a page redirects to the login page, to come back to it after the login."""
    if request.method == "POST":
        return logged_out()
    sessions.remember_page_after_login(request.full_path.rstrip("?"))
    answer: BaseResponse = redirect(url_for("auth.login"))
    return answer


@bp.record_once
def _install(state: object) -> None:
    login_manager.unauthorized_handler(unauthorized)
