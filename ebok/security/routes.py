"""Bezpieczeństwo (SPEC §16): where the account is signed in, its last logins and failed
attempts, and the browsers it remembers; ending sessions and forgetting devices."""

from flask import Blueprint, abort, flash, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ebok.extensions import db
from ebok.identity import devices, sessions
from ebok.models import LARGEST_ID, Account
from ebok.web.htmx import redirect_to

bp = Blueprint("security", __name__, url_prefix="/moje-konto/bezpieczenstwo")


def _account() -> Account:
    account: Account = current_user._get_current_object()
    return account


@bp.get("")
@login_required
def overview() -> ResponseReturnValue:
    account = _account()
    return render_template(
        "security/overview.html",
        title=_("Security"),
        login_sessions=sessions.active_sessions(account),
        public_id=sessions.public_id,
        is_current=sessions.is_current,
        history=sessions.login_history(account),
        devices=devices.remembered_devices(account),
        is_this_device=lambda device: devices.is_this_device(account, device),
    )


@bp.post("/sesje/<session_id>/wyloguj")
@login_required
def end_session(session_id: str) -> ResponseReturnValue:
    account = _account()
    if not sessions.end_other_session(account, session_id):
        abort(404)
    db.session.commit()
    flash(_("That device has been logged out."), "status")
    return redirect_to(url_for("security.overview"))


@bp.post("/wyloguj-inne")
@login_required
def end_other_sessions() -> ResponseReturnValue:
    ended = sessions.end_all_sessions(_account(), except_current=True)
    db.session.commit()
    flash(
        # Translators: after "Log out of all other devices"; %(num)d is how many were.
        ngettext(
            "%(num)d other device has been logged out.",
            "%(num)d other devices have been logged out.",
            ended,
        )
        if ended
        else _("You were not logged in on any other device."),
        "status",
    )
    return redirect_to(url_for("security.overview"))


@bp.post("/urzadzenia/<int:device_id>/zapomnij")
@login_required
def forget_device(device_id: int) -> ResponseReturnValue:
    if device_id > LARGEST_ID or not devices.forget_device(_account(), device_id):
        abort(404)
    db.session.commit()
    flash(_("The device has been forgotten."), "status")
    return redirect_to(url_for("security.overview"))
