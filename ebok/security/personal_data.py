"""Bezpieczeństwo's sections of the customer's data ("Pobierz moje dane",
ebok/web/personal_data.py; docs/personal-data.md documents each field): every login and
failed attempt kept, the sessions open now, and whether two-step login is on."""

from flask.sansio.app import App
from sqlalchemy import select

from ebok.extensions import db
from ebok.i18n import _l
from ebok.identity import sessions
from ebok.models import Account, LoginEvent
from ebok.web.personal_data import Fields, Section, add_section


def logins(account: Account) -> list[Fields]:
    rows = db.session.scalars(
        select(LoginEvent)
        .where(LoginEvent.account_id == account.id)
        .order_by(LoginEvent.at.desc(), LoginEvent.id.desc())
    )
    return [
        {
            "at": row.at,
            "succeeded": row.succeeded,
            "browser": row.browser or None,
            "system": row.system or None,
            "network": row.network or None,
        }
        for row in rows
    ]


def open_sessions(account: Account) -> list[Fields]:
    return [
        {
            "created_at": record.created_at,
            "last_seen_at": record.last_seen_at,
            "browser": record.browser or None,
            "system": record.system or None,
            "network": record.network or None,
        }
        for record in sessions.active_sessions(account)
    ]


def two_step(account: Account) -> Fields:
    return {"method": account.two_step}


WHERE_FROM = {"browser": _l("Browser"), "system": _l("System"), "network": _l("Network")}
SECTIONS = [
    Section(
        "logins",
        _l("Logins and failed attempts"),
        {"at": _l("When"), "succeeded": _l("Logged in"), **WHERE_FROM},
        logins,
        order=90,
    ),
    Section(
        "sessions",
        _l("Where you are logged in"),
        {"created_at": _l("Logged in"), "last_seen_at": _l("Last active"), **WHERE_FROM},
        open_sessions,
        order=91,
    ),
    Section(
        "two_step_login",
        _l("Two-step login"),
        {"method": _l("Second step")},
        two_step,
        order=92,
        values={"totp": _l("an authenticator app"), "sms": _l("an SMS code")},
    ),
]


def register(app: App) -> None:
    for section in SECTIONS:
        add_section(app, section)
