"""Development only: the messages the dev backends kept, so a newcomer can finish a
registration without SMTP or an SMS gateway, and the limits counted so far, which a tester
trying the journeys runs into as a customer would (they can be cleared here). Registered
only in debug mode."""

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from ebok.extensions import db
from ebok.identity import throttle
from ebok.models import OutboxMessage

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.get("/wiadomosci")
def outbox() -> ResponseReturnValue:
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50)
    ).all()
    return render_template(
        "dev/outbox.html",
        title=_("Sent messages (development)"),
        messages=messages,
        limits=throttle.counted(),
    )


@bp.post("/limity/wyczysc")
def clear_limits() -> ResponseReturnValue:
    """CSRFProtect guards it, as every POST."""
    throttle.forget_all()
    return redirect(url_for("dev.outbox", _anchor="limits"), 303)
