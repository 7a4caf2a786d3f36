"""Development only: the messages the dev backends kept, so a newcomer can finish a
registration without SMTP or an SMS gateway. Registered only in debug mode."""

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from ebok.extensions import db
from ebok.models import OutboxMessage

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.get("/wiadomosci")
def outbox() -> ResponseReturnValue:
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50)
    ).all()
    return render_template(
        "dev/outbox.html", title=_("Sent messages (development)"), messages=messages
    )
