"""The signed-in session (SPEC §16): a row per login, the cookie carrying only its random
id (ebok.web.security keeps Flask's session data in the row); started after a login, a
registration or a password reset (with the device cookie) and ended at logout, from
Bezpieczeństwo, or everywhere when the password changes. Also the login history and the
login the login page fills in."""

import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, session
from flask.sessions import SecureCookieSession
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import joinedload

from ebok.clients import this_client
from ebok.extensions import db
from ebok.identity.devices import forget_this_browser, remember_device
from ebok.logs import audit
from ebok.models import (
    Account,
    LoginEvent,
    LoginSession,
    RecoveryCode,
    RememberedDevice,
    utcnow,
)

# How many logins and failures Bezpieczeństwo lists.
HISTORY_LENGTH = 20


class Session(SecureCookieSession):
    """Flask's session, kept in the signed cookie until login and in a LoginSession row
    (`record`) after it; the cookie then carries only `cookie_id`."""

    record: LoginSession | None = None
    cookie_id: str | None = None
    # Set when the cookie named a row that is gone (ended, or past a timeout).
    timed_out = False
    # The database error met looking the row up, raised again where error pages answer it.
    unavailable: Exception | None = None
    # When the row will say the session was last used once this request is saved (seen_at).
    seen: datetime | None = None


def logged_in() -> bool:
    """Is a customer logged in? Flask-Login, which keeps the account's id in the session
    under "_user_id", is asked only when the id is there: a visitor's page loads no user."""
    return "_user_id" in session and current_user.is_authenticated


def current_session() -> Session:
    """This request's session; a blank one where Flask uses its null session (probes)."""
    current = session._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    return current if isinstance(current, Session) else Session()


def hash_cookie_id(cookie_id: str) -> str:
    return hashlib.sha256(cookie_id.encode()).hexdigest()


# Built once per process (building it cost more than running it on every signed-in page);
# a request gives only the row's id.
_SESSION_ROW = (
    select(LoginSession)
    .where(LoginSession.id_hash == bindparam("id_hash"))
    .options(joinedload(LoginSession.account).joinedload(Account.customer))
)


def find_session(cookie_id: str) -> LoginSession | None:
    """The session row named by a cookie (one primary-key lookup, the account and its
    customer with it: every signed-in page shows the customer), or None; a row past its
    idle or absolute timeout is deleted and None returned."""
    record = db.session.scalars(_SESSION_ROW, {"id_hash": hash_cookie_id(cookie_id)}).first()
    if record is None or not _expired(record, utcnow()):
        return record
    db.session.delete(record)
    db.session.commit()
    audit("session_timed_out", account=record.account_id)
    return None


def _expired(record: LoginSession, now: datetime) -> bool:
    config = current_app.config
    return (
        now - record.last_seen_at > config["PERMANENT_SESSION_LIFETIME"]
        or now - record.created_at > config["SESSION_ABSOLUTE_LIFETIME"]
    )


def seen_at(current: Session) -> datetime:
    """When this request counts as the session's last use, decided once per request: now
    when SESSION_LAST_SEEN_EVERY has passed since the row's last_seen_at, else that. The
    page tells the time the session ends from it, so it must be what save_session writes."""
    assert current.record is not None
    if current.seen is None:
        now = utcnow()
        due = now - current.record.last_seen_at >= current_app.config["SESSION_LAST_SEEN_EVERY"]
        current.seen = now if due else current.record.last_seen_at
    return current.seen


def keep_alive() -> None:
    """The button "Nie wylogowuj mnie": this request counts as the session's last use,
    whenever the row last recorded one (save_session writes it)."""
    current_session().seen = utcnow()


def time_left() -> timedelta | None:
    """How long this browser's signed-in session lasts if nothing else reaches the server:
    to its idle timeout, counted from this request, or to its absolute timeout when that
    comes first. None when not signed in."""
    current = current_session()
    record = current.record
    if record is None:
        return None
    config = current_app.config
    ends = min(
        seen_at(current) + config["PERMANENT_SESSION_LIFETIME"],
        record.created_at + config["SESSION_ABSOLUTE_LIFETIME"],
    )
    return max(ends - utcnow(), timedelta(0))


def seconds_left() -> int | None:
    """time_left in whole seconds, as the page and the X-Session-Time-Left header tell it:
    rounded up, so that the browser's timer never runs out before the server's."""
    left = time_left()
    return None if left is None else math.ceil(left.total_seconds())


def idle_minutes() -> int:
    """The idle timeout in whole minutes, as pages tell it (at least 1)."""
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    return max(1, math.ceil(lifetime.total_seconds() / 60))


def save_session(current: Session, data: str | None) -> None:
    """Writes the session's data when it changed, and when it was last seen at most once
    per SESSION_LAST_SEEN_EVERY (seen_at): most signed-in requests write nothing."""
    record = current.record
    assert record is not None
    values: dict[str, object] = {}
    seen = seen_at(current)
    if seen != record.last_seen_at:
        values["last_seen_at"] = seen
    if data is not None:
        values["data"] = data
    if not values:
        return
    db.session.execute(
        update(LoginSession).where(LoginSession.id_hash == record.id_hash).values(**values)
    )
    db.session.commit()


def start_session(account: Account, *, skip_second_step: bool = False) -> bool:
    """A fresh session for the account (nothing from before login carries over, the id
    is new), and the device cookie for this browser (remembered at the second step when
    `skip_second_step`). The caller's transaction is committed with the session's row.
    True when the browser was new to the account."""
    current = current_session()
    if current.record is not None:
        db.session.execute(
            delete(LoginSession).where(LoginSession.id_hash == current.record.id_hash)
        )
    current.clear()
    client = this_client()
    cookie_id = secrets.token_urlsafe(32)
    record = LoginSession(
        id_hash=hash_cookie_id(cookie_id),
        account=account,
        browser=client.browser,
        system=client.system,
        network=client.network,
    )
    db.session.add(record)
    new_device = remember_device(account, skip_second_step=skip_second_step)
    db.session.commit()
    current.record, current.cookie_id, current.seen = record, cookie_id, None
    login_user(account)
    current.permanent = True  # idle timeout: PERMANENT_SESSION_LIFETIME
    audit("login_succeeded", account=account.id)
    return new_device


def forget_expired_sessions() -> int:
    """Deletes every account's timed-out sessions, and commits; how many. A row is dead
    once timed out (find_session says so): this only keeps the table small. The outbox
    worker runs it now and then (a chore of its housekeeping), so no login pays for it."""
    config = current_app.config
    now = utcnow()
    result = db.session.execute(
        delete(LoginSession).where(
            (LoginSession.last_seen_at < now - config["PERMANENT_SESSION_LIFETIME"])
            | (LoginSession.created_at < now - config["SESSION_ABSOLUTE_LIFETIME"])
        )
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def end_session(account: Account) -> None:
    """Logs this browser out: its session is dead at once, on every worker."""
    current = current_session()
    if current.record is not None:
        db.session.execute(
            delete(LoginSession).where(LoginSession.id_hash == current.record.id_hash)
        )
        db.session.commit()
    current.record = current.cookie_id = None
    logout_user()
    current.clear()
    audit("logout", account=account.id)


def end_all_sessions(account: Account, except_current: bool = False) -> int:
    """Ends every session of the account (a new password, the customer's wish, the
    account's deletion), or every one but this browser's. The caller commits. Returns how
    many were ended."""
    statement = delete(LoginSession).where(LoginSession.account_id == account.id)
    if except_current:
        current = current_session()
        if current.record is not None:
            statement = statement.where(LoginSession.id_hash != current.record.id_hash)
    ended = db.session.execute(statement).rowcount  # type: ignore[attr-defined]
    audit("sessions_ended", account=account.id, count=ended, kept_current=except_current)
    return int(ended or 0)


def forget_account(account: Account) -> None:
    """Before an account is deleted: its sessions (ended at once), login history,
    remembered devices and recovery codes, whose rows refer to it. The caller commits."""
    end_all_sessions(account)
    for model in (LoginEvent, RememberedDevice, RecoveryCode):
        db.session.execute(delete(model).where(model.account_id == account.id))


def sign_this_browser_out() -> None:
    """This request's session ended and its device cookie taken away, the account they
    named being deleted."""
    current = current_session()
    current.record = current.cookie_id = None
    logout_user()
    current.clear()
    forget_this_browser()


def end_other_session(account: Account, session_id: str) -> bool:
    """Ends one other session of the account, named as active_sessions() names it (its
    hash's first 16 characters); False when there is no such session. The caller commits."""
    current = current_session()
    for record in active_sessions(account):
        if public_id(record) == session_id and record is not current.record:
            db.session.delete(record)
            audit("session_ended", account=account.id)
            return True
    return False


def public_id(record: LoginSession) -> str:
    """How a page names a session: a part of the hash, never the cookie's id."""
    return record.id_hash[:16]


def active_sessions(account: Account) -> list[LoginSession]:
    """The account's sessions still alive, the most recently used first."""
    now = utcnow()
    config = current_app.config
    return list(
        db.session.scalars(
            select(LoginSession)
            .where(
                LoginSession.account_id == account.id,
                LoginSession.last_seen_at >= now - config["PERMANENT_SESSION_LIFETIME"],
                LoginSession.created_at >= now - config["SESSION_ABSOLUTE_LIFETIME"],
            )
            .order_by(LoginSession.last_seen_at.desc())
        )
    )


def is_current(record: LoginSession) -> bool:
    return record is current_session().record


# -- the login history ----------------------------------------------------------------


def record_login(account: Account, succeeded: bool) -> None:
    """Adds a login or a failed attempt to the account's history. The caller commits."""
    client = this_client()
    db.session.add(
        LoginEvent(
            account_id=account.id,
            succeeded=succeeded,
            browser=client.browser,
            system=client.system,
            network=client.network,
        )
    )


def login_history(account: Account) -> list[LoginEvent]:
    return list(
        db.session.scalars(
            select(LoginEvent)
            .where(LoginEvent.account_id == account.id)
            .order_by(LoginEvent.at.desc(), LoginEvent.id.desc())
            .limit(HISTORY_LENGTH)
        )
    )


def logins_recorded(account: Account) -> int:
    return int(
        db.session.scalar(
            select(func.count()).where(
                LoginEvent.account_id == account.id, LoginEvent.succeeded.is_(True)
            )
        )
        or 0
    )


@dataclass(frozen=True)
class SinceLastLogin:
    last_login: datetime
    failures: int


def since_last_login(account: Account) -> SinceLastLogin | None:
    """Before this login is recorded: when the account last logged in and how many failed
    attempts there were since; None on the first login. One query (every login asks)."""
    last_login = (
        select(func.max(LoginEvent.at))
        .where(LoginEvent.account_id == account.id, LoginEvent.succeeded.is_(True))
        .scalar_subquery()
    )
    failures = (
        select(func.count())
        .where(
            LoginEvent.account_id == account.id,
            LoginEvent.succeeded.is_(False),
            LoginEvent.at > last_login,
        )
        .scalar_subquery()
    )
    row = db.session.execute(select(last_login, failures)).one()
    if row[0] is None:
        return None
    return SinceLastLogin(row[0], int(row[1] or 0))


# -- a login waiting for its second step (SPEC §16) ---------------------------------------

PENDING_LOGIN = "two_step_login"
SECOND_FACTOR_PROVED = "second_factor_proved"


def await_second_step(account: Account, sms_verification: int | None = None) -> None:
    """The password was right: the login waits for its code, in the visitor's session
    (with the id of the SMS code sent for it, if one was)."""
    session[PENDING_LOGIN] = {
        "account": account.id,
        "since": int(time.time()),
        "tries": 0,
        "sms": sms_verification,
    }


def pending_sms_verification() -> int | None:
    return (session.get(PENDING_LOGIN) or {}).get("sms")


def replace_pending_sms_verification(sms_verification: int | None) -> None:
    pending = dict(session.get(PENDING_LOGIN) or {})
    if pending:
        pending["sms"] = sms_verification
        session[PENDING_LOGIN] = pending


def pending_login() -> Account | None:
    """The account whose login waits for its second step, while the wait is fresh
    (SMS_CODE_LIFETIME, as for codes)."""
    pending = session.get(PENDING_LOGIN)
    if not pending:
        return None
    lifetime = current_app.config["SMS_CODE_LIFETIME"].total_seconds()
    if time.time() - pending["since"] > lifetime:
        session.pop(PENDING_LOGIN, None)
        return None
    return db.session.get(Account, pending["account"])


def count_wrong_code() -> bool:
    """One more wrong code for the waiting login; False (and the wait ended) once
    SMS_CODE_MAX_TRIES are used up."""
    pending = dict(session.get(PENDING_LOGIN) or {})
    pending["tries"] = pending.get("tries", 0) + 1
    if pending["tries"] >= current_app.config["SMS_CODE_MAX_TRIES"]:
        session.pop(PENDING_LOGIN, None)
        return False
    session[PENDING_LOGIN] = pending
    return True


def end_pending_login() -> None:
    session.pop(PENDING_LOGIN, None)


def second_factor_proved(account: Account) -> None:
    """A password reset by SMS code proved the phone: it counts as the second step of the
    next login to this account from this browser (within SMS_CODE_LIFETIME)."""
    session[SECOND_FACTOR_PROVED] = {"account": account.id, "at": int(time.time())}


def take_second_factor_proof(account: Account) -> bool:
    proof = session.pop(SECOND_FACTOR_PROVED, None)
    lifetime = current_app.config["SMS_CODE_LIFETIME"].total_seconds()
    return bool(proof and proof["account"] == account.id and time.time() - proof["at"] <= lifetime)


# The login page fills this in once: after a password reset only the new password is left
# to type. Kept in the session, never in the URL (access logs).
LOGIN_PREFILL = "login_prefill"


def prefill_login(login: str) -> None:
    session[LOGIN_PREFILL] = login


def take_prefilled_login() -> str | None:
    return session.pop(LOGIN_PREFILL, None)


# The signed-in page to go back to after the next login (a session that timed out while
# the customer was on it), kept in the visitor's session, never in the URL.
PAGE_AFTER_LOGIN = "page_after_login"


def remember_page_after_login(path: str | None) -> None:
    # Only a path of this site: "//host" and "/\\host" would leave it.
    if path and path.startswith("/") and not path.startswith(("//", "/\\")) and path != "/":
        session[PAGE_AFTER_LOGIN] = path


def take_page_after_login() -> str | None:
    """Before start_session, which clears the visitor's session."""
    return session.pop(PAGE_AFTER_LOGIN, None)
