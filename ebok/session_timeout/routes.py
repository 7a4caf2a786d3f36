"""Staying logged in; the answer to a form sent after the session ended is the errors
blueprint's (logged_out)."""

import math
from dataclasses import dataclass

from flask import Blueprint, Response, current_app
from flask.typing import ResponseReturnValue
from flask_login import login_required

from ebok.identity import sessions

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
    return SessionTiming(
        idle_minutes=sessions.idle_minutes(),
        seconds_left=sessions.seconds_left() or 0,
        warn_before=math.ceil(config["SESSION_WARNING_BEFORE"].total_seconds()),
    )


@bp.post("/sesja/przedluz")
@login_required
def stay_logged_in() -> ResponseReturnValue:
    """The button "Nie wylogowuj mnie" (a POST with the CSRF token): the session's idle
    time starts again. 204: app.js reads the new time left from the answer's header, and a
    browser without JavaScript would stay on its page."""
    sessions.keep_alive()
    return Response(status=204)
