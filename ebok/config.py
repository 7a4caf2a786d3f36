"""Configuration defaults. Every key can be overridden by a FLASK_-prefixed environment
variable (FLASK_SECRET_KEY, FLASK_MAIL_SERVER, ...) or by the test config."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Config, Flask
from sqlalchemy.engine import make_url

DEFAULTS = {
    # Must be set in production (FLASK_SECRET_KEY); development uses DEV_SECRET_KEY.
    "SECRET_KEY": None,
    # Old keys still accepted for signatures and sessions while keys rotate (newest last).
    "SECRET_KEY_FALLBACKS": [],
    # Absolute URL links in messages are built from, never from the request's Host header.
    "SERVER_NAME": None,
    "PREFERRED_URL_SCHEME": None,  # "https", or "http" in development (flask run)
    # Behind a reverse proxy: how many proxies set X-Forwarded-For / -Proto (ProxyFix).
    "PROXY_FIX_X_FOR": 0,
    "PROXY_FIX_X_PROTO": 0,
    # Only a direct peer in these addresses or networks may set those headers (ebok/clients.py);
    # by default nginx on this machine.
    "PROXY_TRUSTED": ["127.0.0.1", "::1"],
    # gunicorn.conf.py refuses to listen beyond loopback while the headers are trusted,
    # unless the buffering proxy is on another host and this says so.
    "PROXY_ON_ANOTHER_HOST": False,
    "SQLALCHEMY_DATABASE_URI": "sqlite:///ebok.sqlite3",
    # hide_parameters: SQL parameters (logins, contact data) never reach logs or tracebacks.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    # PostgreSQL: every database call is bounded (seconds), so a database that hangs or is
    # frozen costs a request a few seconds and the outage page, never a worker (README,
    # Operations). The server cancels a statement or a lock wait after its timeout; the
    # app gives up waiting for any answer a second later (ebok/database.py). 0: no bound.
    "DATABASE_CONNECT_TIMEOUT": 2,  # libpq's minimum
    "DATABASE_STATEMENT_TIMEOUT": 5,
    "DATABASE_LOCK_TIMEOUT": 3,
    "DATABASE_POOL_TIMEOUT": 3,  # waiting for a free connection in the process's pool
    # TCP keepalives and tcp_user_timeout: a peer gone from the network (no more
    # acknowledgements) ends the connection.
    "DATABASE_KEEPALIVES_IDLE": 10,
    # SQLite: how long a write waits for another writer (an import, the worker) to commit.
    "SQLITE_BUSY_TIMEOUT_MS": 5000,
    # Customers import: rows per transaction; a rerun after an interruption resumes from
    # the last commit.
    "CUSTOMERS_IMPORT_BATCH_SIZE": 5000,
    # Retention (README, "Retention"): days a customer may be absent from billing's
    # customers files before `flask customers retention` removes their online account and
    # personal data; 0, the default, is off: the import never deletes (SPEC §8), and a
    # billing that sends only changes would otherwise lose every unchanged customer.
    "CUSTOMERS_RETENTION_DAYS": 0,
    # Request limits, answered with 413 before the body is read: the whole body, each
    # non-file field, and the number of fields. No form here comes near them.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_MEMORY_SIZE": 16 * 1024,
    "MAX_FORM_PARTS": 50,
    # DEBUG, INFO, WARNING or ERROR: one JSON line per event on standard error.
    "LOG_LEVEL": "INFO",
    # Invoices (SPEC §11): where the PDFs are kept (None: the instance folder's invoices/;
    # several app servers share one volume), the largest PDF the import takes, rows per
    # transaction, invoices per page, and whether the new-invoice e-mail carries the PDF.
    "INVOICE_STORAGE": None,
    "INVOICE_MAX_PDF_BYTES": 5 * 1024 * 1024,
    # The invoices import stops before a batch when the storage has less free (bytes).
    "INVOICE_STORAGE_MIN_FREE_BYTES": 100 * 1024 * 1024,
    "INVOICES_IMPORT_BATCH_SIZE": 2000,
    "INVOICES_PER_PAGE": 12,
    "INVOICE_ATTACH_PDF": False,
    # The PDFs made here (the guide, the demo invoices) embed DejaVu Sans for the Polish
    # letters (Debian: fonts-dejavu-core); without it the guide offers printing only.
    "PDF_FONT_DIR": "/usr/share/fonts/truetype/dejavu",
    # Sessions: idle timeout (refreshed on every request) and absolute timeout.
    "PERMANENT_SESSION_LIFETIME": timedelta(minutes=30),
    "SESSION_ABSOLUTE_LIFETIME": timedelta(hours=12),
    # "Remember this browser" at the second step of a login skips it for this long.
    "TWO_STEP_REMEMBER_BROWSER": timedelta(days=30),
    # A signed-in session's row records when it was last used at most this often.
    "SESSION_LAST_SEEN_EVERY": timedelta(minutes=1),
    # Signed-in pages warn this long before the idle timeout, offering to stay logged in
    # (WCAG 2.2.1).
    "SESSION_WARNING_BEFORE": timedelta(minutes=2),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    # Rate limits: memory:// counts per process; use redis://host:6379/0 with several.
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Attempts are counted before they are checked and given back when right (a negative
    # cost, throttle.count_attempt), which needs the fixed window's counter.
    "RATELIMIT_STRATEGY": "fixed-window",
    # Per client address: a ceiling, not the guard. Mobile carriers (carrier-grade NAT) and
    # offices put many customers behind one address, whose failures must not lock out the
    # next one typing the right password; the per-account and per-device limits below do
    # the real work, this only slows one address spraying many accounts.
    "RATELIMIT_LOGIN": "100/15 minutes",
    # Per account, however it was typed (customer number or login name), for clients the
    # account does not know; the daily cap keeps strangers under NIST SP 800-63B's 100
    # failures (§5.2.2) while the owner's devices and the password reset still work.
    "RATELIMIT_LOGIN_PER_ACCOUNT": "5/15 minutes",
    "RATELIMIT_LOGIN_PER_ACCOUNT_DAILY": "100/day",
    # A browser that has logged in to an account before (a signed device cookie, OWASP's
    # "device cookies") is limited on its own, not by strangers' failures.
    "RATELIMIT_LOGIN_PER_DEVICE": "5/15 minutes",
    # How often a customer is told (e-mail and SMS) that the login limit stops strangers.
    "RATELIMIT_ATTACK_NOTICE": "1/hour",
    "DEVICE_COOKIE_NAME": "ebok_device",
    "DEVICE_COOKIE_LIFETIME": timedelta(days=365),
    # Wrong current passwords in Zmień hasło, per account (and RATELIMIT_LOGIN per client).
    "RATELIMIT_CURRENT_PASSWORD": "5/15 minutes",
    "RATELIMIT_NUMBER_LOOKUP": "20/hour",
    "RATELIMIT_CONTACT_CHECK": "10/hour",
    "RATELIMIT_CODE_ATTEMPTS": "10/10 minutes",
    # Wrong codes at the second step of a login (and switching it off), per account.
    "RATELIMIT_TWO_STEP_PER_ACCOUNT": "5/15 minutes;20/day",
    # Codes and links really sent, per customer and channel; a browser with the account's
    # device cookie has a share of its own.
    "RATELIMIT_CODE_SENDS_PER_CUSTOMER": "3/15 minutes;6/day",
    "RATELIMIT_CODE_SENDS": "10/hour",
    # "Nie pamiętasz numeru klienta?": messages with the customer numbers, per contact datum.
    "RATELIMIT_NUMBER_REMINDERS_PER_CONTACT": "3/15 minutes;6/day",
    # e-Faktura confirmation links (e-mails to an address that may be anyone's).
    "RATELIMIT_EINVOICE_LINKS_PER_ACCOUNT": "3/hour;10/day",
    "RATELIMIT_EINVOICE_LINKS": "10/hour",
    # Redis (the limits' storage) must answer within these seconds, or Flask-Limiter counts
    # in this process's memory until it answers again (SMS codes are then not sent).
    "RATELIMIT_STORAGE_CONNECT_TIMEOUT": 0.5,
    "RATELIMIT_STORAGE_TIMEOUT": 0.5,
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    # A refund that Redis does not take (gone mid-request) is logged; the answer stands.
    "RATELIMIT_SWALLOW_ERRORS": True,
    # Verification codes and links.
    "SMS_CODE_LIFETIME": timedelta(minutes=10),
    "SMS_CODE_MAX_TRIES": 5,
    "SMS_CODE_LENGTH": 6,  # digits
    # The code step tells the customer the SMS is late when it is still unsent this many
    # seconds after the code was made (or was given up), and offers a new code or e-mail.
    "SMS_LATE_AFTER": 60,
    # The operator's password rule (SPEC §3.5): from 8 to 32 characters.
    "PASSWORD_MIN_LENGTH": 8,
    "PASSWORD_MAX_LENGTH": 32,
    # A second request for a code or link within this time (a double click on "Dalej")
    # gets the one just sent: one SMS, one live code.
    "DOUBLE_SUBMIT_WINDOW": timedelta(seconds=10),
    "REGISTRATION_LINK_LIFETIME": timedelta(days=3),
    "RESET_LINK_LIFETIME": timedelta(hours=1),
    "EINVOICE_LINK_LIFETIME": timedelta(days=3),
    # How long after proving the code or link the customer may take to set a password.
    # "Pobierz moje dane": how long the data is shown after the password is typed again.
    "DATA_UNLOCK_LIFETIME": timedelta(minutes=5),
    "VERIFIED_STEP_LIFETIME": timedelta(minutes=30),
    # Password hashing: argon2id, 64 MiB and 3 passes, five times OWASP's floor (19 MiB,
    # t=2, p=1); one lane, since the hashing slots below already fill the cores (README,
    # "Login storms"). Hashes with other parameters are redone at the next login.
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    "ARGON2_PARALLELISM": 1,
    # Hashes running at once on this machine, across every process (None: its cores);
    # the lock files that count them are in HASHING_GATE_DIR (None: the instance folder's
    # hashing-gate/), which every process of the machine must share.
    "HASHING_SLOTS": None,
    "HASHING_GATE_DIR": None,
    # No hash waits longer than this (seconds) for a slot: past it, and when the queue is
    # already so long, the login is answered 503 "try again in HASHING_RETRY_AFTER seconds".
    "HASHING_WAIT_LIMIT": 10,
    "HASHING_RETRY_AFTER": 5,
    # Places in the machine's queue (None: as many as the slots serve within
    # HASHING_WAIT_LIMIT at the measured speed of a hash).
    "HASHING_QUEUE": None,
    # Messages: "dev" keeps them in the database for the development outbox page.
    "MAIL_BACKEND": None,  # "smtp" in production, "dev" in development when not set
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,  # STARTTLS
    "MAIL_USE_SSL": False,  # implicit TLS, usually port 465
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "Strefa Klienta <no-reply@example.invalid>",
    "MAIL_TIMEOUT": 10,
    "SMS_BACKEND": None,  # "http" in production, "dev" in development when not set
    "SMS_GATEWAY_URL": None,
    "SMS_GATEWAY_TOKEN": None,
    "SMS_SENDER": "StrefaKlienta",
    "SMS_TIMEOUT": 10,
    "OUTBOX_MAX_ATTEMPTS": 12,
    # Payments (SPEC §14): "przelewy24", or "dev" (the local "Symulacja płatności" page),
    # which development uses when it is not set. Production without it takes no payments
    # online ("Zapłać" is not offered; transfers as before). Przelewy24's REST API v1: its base URL
    # (https://sandbox.przelewy24.pl or https://secure.przelewy24.pl), the merchant and POS
    # ids, the API ("reports") key for HTTP Basic auth as posId:key, the CRC key the signs
    # are made with, and the minutes a registered payment may be paid in (its timeLimit).
    "PAYMENTS_PROVIDER": None,
    "P24_URL": None,
    "P24_MERCHANT_ID": None,
    "P24_POS_ID": None,
    "P24_API_KEY": None,
    "P24_CRC": None,
    "P24_TIME_LIMIT": 15,
    # Seconds a call to the provider may take (each read; connecting at most 3 s): past it
    # the customer gets the "payments unavailable" page, never a hung worker.
    "PAYMENTS_TIMEOUT": 10,
    # The return page asks for the payment's state every POLL_INTERVAL seconds, for at most
    # POLL_FOR seconds; then "Sprawdź ponownie".
    "PAYMENTS_POLL_INTERVAL": 3,
    "PAYMENTS_POLL_FOR": 120,
    # How often a looping worker (flask outbox deliver --loop) looks for due messages; on
    # PostgreSQL a committed message also wakes it at once (LISTEN/NOTIFY).
    "OUTBOX_POLL_INTERVAL": 1.0,
    # Messages of one channel a worker sends at once, each over a connection of its own:
    # a slow SMS gateway then delays customers by one answer, not by one per customer ahead.
    "OUTBOX_SENDERS_PER_CHANNEL": 4,
    # While a channel keeps failing, one message is tried this often (seconds); when it
    # gets through, the channel's waiting messages go out at once.
    "OUTBOX_PROBE_INTERVAL": 5.0,
    # Where `flask assets build` writes the fingerprinted, compressed static files
    # (None: the instance folder's static/).
    "STATIC_BUILD_FOLDER": None,
    # Outages: the Retry-After (seconds) of the 503 page when the database or Redis is away.
    "OUTAGE_RETRY_AFTER": 30,
    # /readyz: not ready when a message has been due for longer than this (seconds) and no
    # worker took it (the outbox is stuck, not one message failing), or when the database
    # or Redis does not answer within HEALTH_CHECK_TIMEOUT seconds.
    "READYZ_OUTBOX_MAX_AGE": 900,
    "HEALTH_CHECK_TIMEOUT": 1.0,
    # Read by gunicorn.conf.py: the health listener's address (/healthz, /readyz only), so
    # probes never wait behind logins in the app's queue; "" turns it off.
    "HEALTH_BIND": "127.0.0.1:8001",
    # What the pages show.
    "CUSTOMER_SERVICE_PHONE": "22 123 45 67",
    # The operator's identity (ebok/operator.py). Unset, the pages name no operator.
    "OPERATOR_NAME": None,  # e.g. "Vectra": the header, every <title>, e-mails
    # The name after "w" in Polish hints ("zgłoszony w Vectrze"): a string for Polish, or
    # a mapping of language to form. Without it those hints name no operator.
    "OPERATOR_NAME_LOCATIVE": None,
    "OPERATOR_LOGO": None,  # the path of an SVG file; a neutral mark when unset
    "OPERATOR_PRIMARY_COLOR": None,  # "#rrggbb": the header and accents
    # The few design tokens an operator sets (issue 22), served in the colour's stylesheet:
    # the accent of icons and highlighted edges ("#rrggbb", at least 3:1 on white; the
    # primary colour when unset), the corner radius of boxes and buttons ("0.5rem", "6px";
    # square when unset), and a font served from the portal itself: the path of a WOFF2
    # file and its family name (the system's fonts when unset).
    "OPERATOR_ACCENT_COLOR": None,
    "OPERATOR_CORNER_RADIUS": None,
    "OPERATOR_FONT": None,
    "OPERATOR_FONT_NAME": None,
    "OPERATOR_EMAIL": None,  # the customer service's address, shown in the footer
    "OPERATOR_ADDRESS": None,  # the postal address, shown in the footer
    # The portal's real address, shown as an anti-phishing cue; from SERVER_NAME if unset.
    "OPERATOR_PORTAL_URL": None,
    # Where to report a suspicious message: an e-mail address or a URL; the customer
    # service phone when unset.
    "OPERATOR_PHISHING_REPORT": None,
    "GOOGLE_PLAY_URL": "https://play.google.com/store/apps",
    "BABEL_DEFAULT_LOCALE": "pl",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Warsaw",
    # The interface languages (SPEC §12), each needing its compiled catalog; the switcher
    # offers them in this order. The default (BABEL_DEFAULT_LOCALE) is Polish.
    "LANGUAGES": ["pl", "en", "uk"],
    # The visitor's language choice (a year); __Host-language in production.
    "LANGUAGE_COOKIE_NAME": "language",
}

# Used only when the app runs in debug or testing mode without FLASK_SECRET_KEY.
DEV_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"  # noqa: S105

# A key shorter than this is refused in production (HMAC-SHA256 wants 32 random bytes).
MIN_SECRET_KEY_LENGTH = 32
# A key with fewer different characters is refused as typed, not generated. A generated key
# of the shortest allowed length (32 hex digits, `secrets.token_hex(16)`) has about 14 of
# the 16 hex digits; fewer than 7 happens about twice in 10^10 keys (fewer than 10 would
# refuse one real key in 10^4). Typed placeholders fall below it (`aaaa…`, `000…01`), or
# are a short piece repeated (`change-me` × 4), refused on their own.
MIN_SECRET_KEY_DISTINCT_CHARACTERS = 7
# What the refusals suggest instead.
GENERATE_KEY = "`python -c 'import secrets; print(secrets.token_hex(32))'`"


def from_environment() -> Config:
    """The settings as create_app reads them (the defaults, then FLASK_ variables), for
    what runs before there is an app: gunicorn.conf.py."""
    config = Config(os.getcwd())
    config.from_mapping(DEFAULTS)
    config.from_prefixed_env()
    return config


def development_mode(app: Flask) -> bool:
    """Tests, and debug mode under Flask's own CLI (`flask run`, `flask demo seed`).

    Debug or testing mode anywhere else (gunicorn, another WSGI server) is a mistake,
    refused by check_production(): there the public development key would sign sessions
    and links. Flask's CLI sets FLASK_RUN_FROM_CLI for every command it runs; gunicorn's
    arbiter sets SERVER_SOFTWARE, so a CLI flag leaking into gunicorn's environment (or
    FLASK_TESTING set for it) does not make it development.
    """
    if os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        return False
    launched_by_flask_cli = os.environ.get("FLASK_RUN_FROM_CLI") == "true"
    return app.testing or (app.debug and launched_by_flask_cli)


# The longest values the SMS texts are measured with: every SMS keeps 8 characters to spare
# in one segment with them (tests/test_wording.py), so longer ones are refused at start.
SMS_LIMITS: dict[str, Any] = {
    "SMS_CODE_LENGTH": 8,  # digits
    "SMS_CODE_LIFETIME": timedelta(minutes=60),
    "CUSTOMER_SERVICE_PHONE": 16,  # characters: "+48 22 123 45 67"
}


def check_sms_limits(config: Config) -> None:
    too_long = {
        "SMS_CODE_LENGTH": config["SMS_CODE_LENGTH"] > SMS_LIMITS["SMS_CODE_LENGTH"],
        "SMS_CODE_LIFETIME": config["SMS_CODE_LIFETIME"] > SMS_LIMITS["SMS_CODE_LIFETIME"],
        "CUSTOMER_SERVICE_PHONE": len(config["CUSTOMER_SERVICE_PHONE"])
        > SMS_LIMITS["CUSTOMER_SERVICE_PHONE"],
    }
    for setting, refused in too_long.items():
        if refused:
            raise RuntimeError(
                f"FLASK_{setting} is longer than the SMS texts allow (at most "
                f"{SMS_LIMITS[setting]}): an SMS would take two segments."
            )


SECONDS_OR_DURATION = (
    "PERMANENT_SESSION_LIFETIME",
    "SESSION_ABSOLUTE_LIFETIME",
    "SESSION_LAST_SEEN_EVERY",
    "SESSION_WARNING_BEFORE",
    "TWO_STEP_REMEMBER_BROWSER",
)


def finish_config(app: Flask) -> None:
    """Fills in what depends on the mode, after refusing an unsafe production setup."""
    development = development_mode(app)
    config = app.config
    if isinstance(config["SECRET_KEY_FALLBACKS"], str):  # one old key, not given as a list
        config["SECRET_KEY_FALLBACKS"] = [config["SECRET_KEY_FALLBACKS"]]
    if development:
        config["SECRET_KEY"] = config["SECRET_KEY"] or DEV_SECRET_KEY
    else:
        check_production(app)
    check_sms_limits(config)
    if isinstance(config["P24_TIME_LIMIT"], str):
        config["P24_TIME_LIMIT"] = int(config["P24_TIME_LIMIT"])
    # Durations of the sessions and of two-step login given in seconds (FLASK_…=1800).
    for name in SECONDS_OR_DURATION:
        if isinstance(config[name], int | float):
            config[name] = timedelta(seconds=config[name])
    # Flask-WTF signs with one key only; itsdangerous takes a list, signs with the last
    # and accepts all, so forms rendered before a key rotation still submit after it.
    config.setdefault(
        "WTF_CSRF_SECRET_KEY", [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]
    )
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(config)

    if not config["PREFERRED_URL_SCHEME"]:
        config["PREFERRED_URL_SCHEME"] = "http" if app.debug else "https"

    for backend, production_choice in (("MAIL_BACKEND", "smtp"), ("SMS_BACKEND", "http")):
        if not config[backend]:
            config[backend] = "dev" if development else production_choice
    if development and not config["PAYMENTS_PROVIDER"]:
        config["PAYMENTS_PROVIDER"] = "dev"

    if not development:
        # Production cookies: HTTPS only, and a __Host- name binds them to this host.
        config["SESSION_COOKIE_SECURE"] = True
        if config["SESSION_COOKIE_NAME"] == "session":
            config["SESSION_COOKIE_NAME"] = "__Host-session"
        if config["DEVICE_COOKIE_NAME"] == "ebok_device":
            config["DEVICE_COOKIE_NAME"] = "__Host-ebok_device"
        if config["LANGUAGE_COOKIE_NAME"] == "language":
            config["LANGUAGE_COOKIE_NAME"] = "__Host-language"


def check_production(app: Flask) -> None:
    """Refuses to start production with a setup that would leak or mislead."""
    config = app.config
    key = config["SECRET_KEY"]
    if app.debug:
        raise RuntimeError(
            "FLASK_DEBUG is set, but the app is not run by `flask run`. Debug mode is for "
            "development only: unset FLASK_DEBUG in production."
        )
    if app.testing:
        raise RuntimeError("FLASK_TESTING is set under gunicorn: it is for the test suite only.")
    if not key:
        raise RuntimeError(
            "FLASK_SECRET_KEY is not set. Production refuses to start without a real "
            f"secret key: generate one with {GENERATE_KEY}."
        )
    # The fallbacks verify signatures as the key does: a weak one lets forged sessions,
    # device cookies and links through just the same.
    check_secret_key("FLASK_SECRET_KEY", key)
    for position, fallback in enumerate(config["SECRET_KEY_FALLBACKS"]):
        check_secret_key(f"FLASK_SECRET_KEY_FALLBACKS[{position}]", fallback)
    if not config["SERVER_NAME"]:
        raise RuntimeError(
            "FLASK_SERVER_NAME is not set. Links in e-mails are built from it (e.g. "
            "FLASK_SERVER_NAME=ebok.example.pl); production refuses to start without it."
        )
    left = placeholders_left(config)
    if left:
        raise RuntimeError(
            f"{', '.join(left)} still {'has its' if len(left) == 1 else 'have their'} "
            "placeholder: production refuses to start until the operator's own values are "
            "set (deploy/strefa-klienta.env.example lists every setting production needs)."
        )
    check_payments(config)


# What Przelewy24 needs (SPEC §14); production refuses to start without any of them.
LOOPBACK = ("127.0.0.1", "::1", "localhost")
P24_SETTINGS = ("P24_URL", "P24_MERCHANT_ID", "P24_POS_ID", "P24_API_KEY", "P24_CRC")


def check_payments(config: Config) -> None:
    provider = config["PAYMENTS_PROVIDER"]
    if not provider:
        return  # no payments online
    if provider == "dev":
        raise RuntimeError(
            "FLASK_PAYMENTS_PROVIDER is dev: its page marks payments paid for anyone. "
            "Production takes payments through przelewy24."
        )
    if provider != "przelewy24":
        return  # unknown: refused by ebok.payments when the app is made
    missing = [f"FLASK_{name}" for name in P24_SETTINGS if not config[name]]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} not set. Payments go through Przelewy24 "
            "(FLASK_PAYMENTS_PROVIDER=przelewy24): set the merchant's data from its panel."
        )
    url = urlsplit(str(config["P24_URL"]))
    # Plain HTTP only to this machine (a test's stand-in for the provider).
    if not (url.scheme == "https" or (url.scheme == "http" and url.hostname in LOOPBACK)):
        raise RuntimeError("FLASK_P24_URL must be an https:// URL (Przelewy24's host).")


def check_secret_key(setting: str, key: str | bytes) -> None:
    """Refuses a key anyone could know or guess: the public development key, a short one,
    or one typed rather than generated (few different characters, or a short piece
    repeated: a generated key never repeats itself)."""
    raw = key.encode() if isinstance(key, str) else key
    if raw == DEV_SECRET_KEY.encode():
        raise RuntimeError(f"{setting} is the development key; set a real one.")
    if len(raw) < MIN_SECRET_KEY_LENGTH:
        raise RuntimeError(
            f"{setting} is too short: use at least {MIN_SECRET_KEY_LENGTH} random bytes, "
            f"e.g. {GENERATE_KEY}."
        )
    # A string is its own rotation exactly when it is a shorter piece repeated.
    repeated = raw in (raw + raw)[1:-1]
    if repeated or len(set(raw)) < MIN_SECRET_KEY_DISTINCT_CHARACTERS:
        raise RuntimeError(
            f"{setting} is not random (a short piece repeated, or fewer than "
            f"{MIN_SECRET_KEY_DISTINCT_CHARACTERS} different characters): generate one with "
            f"{GENERATE_KEY}."
        )


def engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS with the defaults under them: no SQL parameters in logs,
    and for PostgreSQL the DATABASE_* bounds (each of the operator's connect_args wins;
    their libpq `options` come after ours, so the same -c setting overrides ours)."""
    given = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
    options: dict = {"hide_parameters": True}
    if make_url(config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "postgresql":
        options["pool_timeout"] = config["DATABASE_POOL_TIMEOUT"]
        given_args = dict(given.pop("connect_args", {}))
        server_settings = " ".join(
            f"-c {name}={int(config[key] * 1000)}"
            for name, key in (
                ("statement_timeout", "DATABASE_STATEMENT_TIMEOUT"),
                ("lock_timeout", "DATABASE_LOCK_TIMEOUT"),
            )
        )
        idle = int(config["DATABASE_KEEPALIVES_IDLE"])
        options["connect_args"] = {
            "connect_timeout": int(config["DATABASE_CONNECT_TIMEOUT"]),
            "keepalives": 1,
            "keepalives_idle": idle,
            "keepalives_interval": max(1, idle // 2),
            "keepalives_count": 3,
            # Sent data unacknowledged this long (milliseconds): the peer is gone.
            "tcp_user_timeout": idle * 1000,
            **given_args,
            "options": " ".join(filter(None, (server_settings, given_args.get("options")))),
        }
    return {**options, **given}


# --- The settings an operator sees (issue 28): one definition for the production check,
# the README's "Configuration" tables and deploy/strefa-klienta.env.example, both rendered
# by `scripts/settings_docs.py` (tests/test_settings_docs.py fails when either drifts).
# REQUIRED: production refuses to start while the setting keeps its default (a placeholder
# such as the Centre's "22 123 45 67") or is empty. LISTED: in the environment example, set
# to a value to adapt. OPTIONAL: in the environment example, commented out.
REQUIRED = "required"
LISTED = "listed"
OPTIONAL = "optional"
# The environment example's values an operator must replace carry this mark; production
# refuses to start while any setting still does.
PLACEHOLDER_MARK = "change-me"


@dataclass(frozen=True)
class Setting:
    names: tuple[str, ...]  # without FLASK_
    default: str  # as the README shows it
    meaning: str
    # The environment example's value and whether it must be set (REQUIRED, LISTED,
    # OPTIONAL); None: not in the example (the default suits most operators).
    env: tuple[str, str] | None = None

    @property
    def required(self) -> bool:
        return self.env is not None and self.env[1] == REQUIRED


@dataclass(frozen=True)
class SettingsGroup:
    title: str
    settings: tuple[Setting, ...]


SETTINGS: tuple[SettingsGroup, ...] = (
    SettingsGroup(
        "Site and keys",
        (
            Setting(
                ("SECRET_KEY",),
                "none",
                (
                    "at least 32 bytes, generated (not a short piece "
                    "repeated, at least 7 different characters): the app refuses to start "
                    "otherwise"
                ),
                env=("change-me", REQUIRED),
            ),
            Setting(
                ("SECRET_KEY_FALLBACKS",),
                "`[]`",
                (
                    "old keys still accepted while rotating (sessions, links and open forms), "
                    "e.g. `'[\"old-key\"]'`; each is checked like the key"
                ),
                env=("'[\"the-previous-key\"]'", OPTIONAL),
            ),
            Setting(
                ("SERVER_NAME",),
                "none",
                ("host name the links in e-mails are built from (never the request's Host)"),
                env=("change-me.example.pl", REQUIRED),
            ),
            Setting(
                ("DEBUG",),
                "unset",
                (
                    "`1` only with `flask run` (development); any other server refuses to start "
                    "with it"
                ),
            ),
            Setting(
                ("LOG_LEVEL",),
                "`INFO`",
                (
                    "`DEBUG`, `INFO`, `WARNING` or `ERROR`: one JSON line per event on "
                    "standard error"
                ),
            ),
        ),
    ),
    SettingsGroup(
        "Database and limits storage",
        (
            Setting(
                ("SQLALCHEMY_DATABASE_URI",),
                "`sqlite:///ebok.sqlite3` (in `instance/`)",
                ("e.g. `postgresql+psycopg://user:pass@db/ebok`"),
                env=("postgresql+psycopg://ebok:change-me@localhost/ebok", LISTED),
            ),
            Setting(
                ("DATABASE_STATEMENT_TIMEOUT", "DATABASE_LOCK_TIMEOUT"),
                "`5`, `3`",
                (
                    "PostgreSQL: seconds the server lets a statement run and wait for a lock; the"
                    " app waits for any answer 1 s longer, then drops the connection (`0`: no "
                    "bound); the imports and `db upgrade` run without them"
                ),
            ),
            Setting(
                ("DATABASE_CONNECT_TIMEOUT", "DATABASE_POOL_TIMEOUT"),
                "`2`, `3`",
                (
                    "PostgreSQL: seconds to open a connection, and to wait for a free one in the "
                    "process's pool"
                ),
            ),
            Setting(
                ("DATABASE_KEEPALIVES_IDLE",),
                "`10`",
                (
                    "PostgreSQL: seconds before TCP keepalives probe an idle connection (3 "
                    "probes, half as far apart) and before unacknowledged data ends one "
                    "(`tcp_user_timeout`). Each of `FLASK_SQLALCHEMY_ENGINE_OPTIONS`' "
                    "`connect_args` overrides these"
                ),
            ),
            Setting(
                ("RATELIMIT_STORAGE_URI",),
                "`memory://`",
                ("`redis://host:6379/0` when several processes or machines serve"),
                env=("redis://localhost:6379/0", LISTED),
            ),
            Setting(
                ("RATELIMIT_STORAGE_CONNECT_TIMEOUT", "RATELIMIT_STORAGE_TIMEOUT"),
                "`0.5`, `0.5`",
                ("seconds Redis may take to connect and to answer (see Operations)"),
            ),
        ),
    ),
    SettingsGroup(
        "Proxy and health checks",
        (
            Setting(
                ("PROXY_FIX_X_FOR",),
                "`0`",
                (
                    "number of trusted proxies in front setting `X-Forwarded-For` (the client "
                    "address for throttling and the audit log); `1` with nginx on this machine"
                ),
                env=("1", LISTED),
            ),
            Setting(
                ("PROXY_FIX_X_PROTO",),
                "`0`",
                ("the same for `X-Forwarded-Proto` (https)"),
                env=("1", LISTED),
            ),
            Setting(
                ("PROXY_TRUSTED",),
                '`["127.0.0.1", "::1"]`',
                (
                    "addresses or networks of the proxies in front: `X-Forwarded-*` headers count"
                    " only from them (and from a unix socket); also gunicorn's "
                    "`forwarded_allow_ips`"
                ),
                env=('\'["127.0.0.1", "::1"]\'', OPTIONAL),
            ),
            Setting(
                ("PROXY_ON_ANOTHER_HOST",),
                "`false`",
                (
                    "`true`: gunicorn may listen beyond loopback while proxy headers are trusted,"
                    " because the buffering proxy is on another host (named in "
                    "`FLASK_PROXY_TRUSTED`)"
                ),
                env=("true", OPTIONAL),
            ),
            Setting(
                ("HEALTH_BIND",),
                "`127.0.0.1:8001`",
                (
                    "read by `gunicorn.conf.py`: the health listener's address (`/healthz`, "
                    "`/readyz` only); empty: none"
                ),
            ),
            Setting(
                ("HEALTH_CHECK_TIMEOUT",),
                "`1.0`",
                ("seconds `/readyz` waits for the database"),
            ),
            Setting(
                ("READYZ_OUTBOX_MAX_AGE",),
                "`900`",
                (
                    "`/readyz` fails when a message has been due for longer (seconds) and no "
                    "worker took it: the outbox is stuck (see Operations)"
                ),
            ),
            Setting(
                ("OUTAGE_RETRY_AFTER",),
                "`30`",
                ("the `Retry-After` of the 503 page during an outage"),
            ),
        ),
    ),
    SettingsGroup(
        "E-mail",
        (
            Setting(
                ("MAIL_BACKEND",),
                "`smtp` (`dev` in development)",
                ("`dev` keeps e-mails in the database for `/dev/wiadomosci`"),
            ),
            Setting(
                ("MAIL_SERVER",),
                "`localhost`",
                ("SMTP server"),
                env=("smtp.example.pl", LISTED),
            ),
            Setting(
                ("MAIL_PORT",),
                "`25`",
                ("its port (587 for STARTTLS, 465 for implicit TLS)"),
                env=("587", LISTED),
            ),
            Setting(
                ("MAIL_USE_TLS",),
                "`false`",
                ("`true`: STARTTLS"),
                env=("true", LISTED),
            ),
            Setting(
                ("MAIL_USE_SSL",),
                "`false`",
                ("`true`: implicit TLS (port 465)"),
            ),
            Setting(
                ("MAIL_USERNAME",),
                "none",
                ("SMTP login name, when the server asks for one"),
                env=("ebok", LISTED),
            ),
            Setting(
                ("MAIL_PASSWORD",),
                "none",
                ("SMTP password, with `FLASK_MAIL_USERNAME`"),
                env=("change-me", LISTED),
            ),
            Setting(
                ("MAIL_DEFAULT_SENDER",),
                "`Strefa Klienta <no-reply@example.invalid>`",
                ("the `From:` of e-mails: an address of the operator's"),
                env=('"Strefa Klienta <change-me@example.pl>"', REQUIRED),
            ),
        ),
    ),
    SettingsGroup(
        "SMS",
        (
            Setting(
                ("SMS_BACKEND",),
                "`http` (`dev` in development)",
                ("`dev` keeps SMS messages in the database"),
            ),
            Setting(
                ("SMS_GATEWAY_URL",),
                "none",
                (
                    'the gateway\'s address; `POST {"to", "message", '
                    '"from", "idempotency_key"}` with `Authorization: Bearer` and '
                    "`Idempotency-Key`"
                ),
                env=("https://change-me.example.pl/send", REQUIRED),
            ),
            Setting(
                ("SMS_GATEWAY_TOKEN",),
                "none",
                ("the bearer token of the gateway"),
                env=("change-me", REQUIRED),
            ),
            Setting(
                ("SMS_SENDER",),
                "`StrefaKlienta`",
                ("the sender of SMS messages (the name or number registered with the gateway)"),
                env=("change-me", REQUIRED),
            ),
            Setting(
                ("SMS_LATE_AFTER",),
                "`60`",
                (
                    'seconds after which a code\'s SMS still unsent (or given up) is "late": the '
                    "code step says so and offers a new code or e-mail"
                ),
            ),
            Setting(
                ("SMS_CODE_LENGTH", "SMS_CODE_LIFETIME"),
                "`6`, 10 minutes",
                (
                    "digits of an SMS code and how long it is valid; at most 8 digits and 60 "
                    "minutes (refused at start beyond), so every SMS stays one segment with 8 "
                    "characters to spare"
                ),
            ),
            Setting(
                ("OUTBOX_POLL_INTERVAL",),
                "`1`",
                (
                    "seconds between a looping worker's looks for due messages (retries; every "
                    "message on SQLite); on PostgreSQL a new message wakes it at once"
                ),
            ),
            Setting(
                ("OUTBOX_SENDERS_PER_CHANNEL",),
                "`4`",
                (
                    "messages of one channel (e-mail, SMS) a worker sends at once, each over a "
                    "connection of its own"
                ),
            ),
            Setting(
                ("OUTBOX_PROBE_INTERVAL",),
                "`5`",
                (
                    "seconds between tries of a channel that keeps failing; when one gets "
                    "through, its waiting messages go out at once"
                ),
            ),
        ),
    ),
    SettingsGroup(
        "Customers",
        (
            Setting(
                ("CUSTOMERS_RETENTION_DAYS",),
                "`0`",
                (
                    "days a customer may be absent from billing's customers files before "
                    "`flask customers retention` removes their online account and personal "
                    'data (README, "Retention"); `0`, the default, is off: set it, e.g. to '
                    "`90`, once billing sends full files (every current customer in each)"
                ),
                env=("90", OPTIONAL),
            ),
        ),
    ),
    SettingsGroup(
        "Invoices",
        (
            Setting(
                ("INVOICE_STORAGE",),
                "`instance/invoices`",
                (
                    "folder of the invoice PDFs, stored under their SHA-256: the five-year "
                    "archive customers are promised (back it up, see Backups); app servers "
                    "share one volume"
                ),
                env=("/srv/strefa-klienta/invoices", REQUIRED),
            ),
            Setting(
                ("INVOICE_ATTACH_PDF",),
                "`false`",
                ("`true`: the new-invoice e-mail carries the PDF as an attachment"),
            ),
            Setting(
                ("INVOICE_MAX_PDF_BYTES",),
                "`5242880`",
                ("the largest PDF the invoices import takes"),
            ),
            Setting(
                ("INVOICE_STORAGE_MIN_FREE_BYTES",),
                "`104857600` (100 MiB)",
                (
                    "the invoices import stops before a batch when the storage's volume has less "
                    "free (see Operations)"
                ),
            ),
            Setting(
                ("INVOICES_IMPORT_BATCH_SIZE", "INVOICES_PER_PAGE"),
                "`2000`, `12`",
                ("rows per transaction of the import; invoices per page of *Faktury*"),
            ),
            Setting(
                ("PDF_FONT_DIR",),
                "`/usr/share/fonts/truetype/dejavu`",
                (
                    "DejaVu Sans (Debian `fonts-dejavu-core`) for the PDFs made here "
                    "(`ebok/web/pdf_fonts.py`): the guide's (without it the guide offers printing"
                    " only) and the demo invoices'"
                ),
            ),
        ),
    ),
    SettingsGroup(
        "Payments",
        (
            Setting(
                ("PAYMENTS_PROVIDER",),
                "`dev` in development; none in production",
                (
                    '`przelewy24`; unset in production: no payments online (no "Zapłać", '
                    "transfers as before); `dev` is refused in production"
                ),
                env=("przelewy24", OPTIONAL),
            ),
            Setting(
                ("P24_URL",),
                "none",
                (
                    "`https://sandbox.przelewy24.pl` (sandbox) or `https://secure.przelewy24.pl` "
                    "(live)"
                ),
                env=("https://secure.przelewy24.pl", OPTIONAL),
            ),
            Setting(
                ("P24_MERCHANT_ID",),
                "none",
                "from Przelewy24's panel",
                env=("change-me", OPTIONAL),
            ),
            Setting(
                ("P24_POS_ID",),
                "none",
                "from Przelewy24's panel (usually the merchant id)",
                env=("change-me", OPTIONAL),
            ),
            Setting(
                ("P24_API_KEY",),
                "none",
                'the API ("reports") key: HTTP Basic auth as posId:key',
                env=("change-me", OPTIONAL),
            ),
            Setting(
                ("P24_CRC",),
                "none",
                "the CRC key every sign is made with",
                env=("change-me", OPTIONAL),
            ),
            Setting(
                ("P24_TIME_LIMIT",),
                "`15`",
                (
                    'minutes a registered payment may be paid in; meanwhile "Zapłać" goes back '
                    "to it, after it a new payment may start"
                ),
            ),
            Setting(
                ("PAYMENTS_TIMEOUT",),
                "`10`",
                (
                    "seconds each call to Przelewy24 may take (connecting at most 3): past it "
                    'the customer gets "Płatności są chwilowo niedostępne" (503, with the account '
                    "number for a transfer), never a hung worker"
                ),
            ),
            Setting(
                ("PAYMENTS_POLL_INTERVAL", "PAYMENTS_POLL_FOR"),
                "`3`, `120`",
                "the return page asks for the state every 3 s, for 2 minutes at most",
            ),
        ),
    ),
    SettingsGroup(
        "The operator",
        (
            Setting(
                ("CUSTOMER_SERVICE_PHONE",),
                "`22 123 45 67`",
                (
                    "shown where a customer must call; at most 16 characters (`+48 22 123 45 "
                    "67`), or the app refuses to start: the SMS texts that quote it are measured "
                    "with that length"
                ),
                env=('"change-me"', REQUIRED),
            ),
            Setting(
                ("GOOGLE_PLAY_URL",),
                "Google Play",
                ("the operator's mobile app on Google Play (not the store's front page)"),
                env=("https://play.google.com/store/apps/details?id=change-me", REQUIRED),
            ),
            Setting(
                ("OPERATOR_NAME",),
                "none: no operator named",
                (
                    "the operator's name in the header, every `<title>` (\"Strefa Klienta "
                    'Vectra"), e-mails'
                ),
                env=("change-me", REQUIRED),
            ),
            Setting(
                ("OPERATOR_NAME_LOCATIVE",),
                "none",
                (
                    'the name after "w" in Polish hints ("zgłoszony w Vectrze"); or JSON `{"pl": '
                    '"Vectrze", "uk": "…"}`; unset, the hints name no operator'
                ),
                env=("change-me", OPTIONAL),
            ),
            Setting(
                ("OPERATOR_EMAIL",),
                "none",
                ("the customer service's e-mail address, in the footer"),
                env=("change-me@example.pl", REQUIRED),
            ),
            Setting(
                ("OPERATOR_ADDRESS",),
                "none",
                ("the postal address in the footer"),
                env=('"change-me"', OPTIONAL),
            ),
            Setting(
                ("OPERATOR_LOGO",),
                "a neutral mark",
                ("path of an SVG file, served at a hashed URL cached for a year"),
                env=("/etc/strefa-klienta/logo.svg", OPTIONAL),
            ),
            Setting(
                ("OPERATOR_PRIMARY_COLOR",),
                "`#00558c`",
                (
                    "`#rrggbb` of the header and accents, served as a small stylesheet (the CSP "
                    "allows no inline style); header text black or white by contrast"
                ),
                env=("'\"#00558c\"'", OPTIONAL),
            ),
            Setting(
                ("OPERATOR_ACCENT_COLOR",),
                "the primary colour",
                (
                    "`#rrggbb` of icons and of the edges that mark what matters (the amount to "
                    "pay, the e-Faktura card); must contrast at least 3:1 with white, or the app "
                    "does not start; dark mode keeps the link colour"
                ),
            ),
            Setting(
                ("OPERATOR_CORNER_RADIUS",),
                "square",
                (
                    "corners of boxes (half of it on buttons and fields): `6px`, `0.5rem`, at "
                    "most `24px`/`1.5rem`"
                ),
            ),
            Setting(
                ("OPERATOR_FONT", "OPERATOR_FONT_NAME"),
                "the system's fonts",
                (
                    "path of a WOFF2 file served by the portal itself at a hashed URL cached for "
                    "a year (no third-party fonts), and its family name (letters, digits, spaces,"
                    " hyphens)"
                ),
            ),
            Setting(
                ("OPERATOR_PORTAL_URL",),
                "from `FLASK_SERVER_NAME`",
                (
                    "the portal's real address, shown on the login page and in every e-mail "
                    "against phishing"
                ),
            ),
            Setting(
                ("OPERATOR_PHISHING_REPORT",),
                "the service phone",
                ("an e-mail address or URL where customers report suspicious messages"),
                env=("change-me@example.pl", OPTIONAL),
            ),
        ),
    ),
    SettingsGroup(
        "Languages",
        (
            Setting(
                ("LANGUAGES",),
                '`["pl", "en", "uk"]`',
                (
                    "the interface languages, in the switcher's order, each needing its compiled "
                    "catalog; the default is `FLASK_BABEL_DEFAULT_LOCALE` (`pl`). A visitor's "
                    "choice is kept in the `__Host-language` cookie (`language` in development; a"
                    " year) and on the account, which messages sent later use"
                ),
            ),
            Setting(
                ("LANGUAGE_COOKIE_NAME",),
                "`language` (`__Host-language` in production)",
                (
                    "the cookie of the visitor's language choice; a choice under the old name "
                    "`language` is read once, then moved"
                ),
            ),
        ),
    ),
    SettingsGroup(
        "Requests, limits and cookies",
        (
            Setting(
                ("HASHING_SLOTS",),
                "the machine's cores",
                'password hashes running at once on this machine (README, "Login storms")',
                env=("2", OPTIONAL),
            ),
            Setting(
                ("HASHING_WAIT_LIMIT",),
                "`10`",
                (
                    "the seconds a login waits for a hash at most, past which it is answered "
                    '"try again in 5 seconds" (503) at once'
                ),
                env=("10", OPTIONAL),
            ),
            Setting(
                ("HASHING_GATE_DIR", "HASHING_RETRY_AFTER", "HASHING_QUEUE"),
                "the instance folder's `hashing-gate/`, `5`, measured",
                (
                    "the lock files every worker of the machine shares; the Retry-After of "
                    "the busy answer; a fixed queue length instead of the measured one"
                ),
            ),
            Setting(
                ("MAX_CONTENT_LENGTH",),
                "`65536`",
                ("largest request body in bytes, answered with 413 before it is read"),
            ),
            Setting(
                ("MAX_FORM_MEMORY_SIZE",),
                "`16384`",
                ("largest single text field of a multipart form, in bytes (413)"),
            ),
            Setting(
                ("MAX_FORM_PARTS",),
                "`50`",
                ("most fields in a multipart form (413)"),
            ),
            Setting(
                (
                    "RATELIMIT_LOGIN",
                    "RATELIMIT_LOGIN_PER_ACCOUNT",
                    "RATELIMIT_LOGIN_PER_ACCOUNT_DAILY",
                    "RATELIMIT_LOGIN_PER_DEVICE",
                    "RATELIMIT_CURRENT_PASSWORD",
                    "RATELIMIT_ATTACK_NOTICE",
                    "RATELIMIT_NUMBER_LOOKUP",
                    "RATELIMIT_CONTACT_CHECK",
                    "RATELIMIT_CODE_ATTEMPTS",
                    "RATELIMIT_CODE_SENDS",
                    "RATELIMIT_CODE_SENDS_PER_CUSTOMER",
                    "RATELIMIT_TWO_STEP_PER_ACCOUNT",
                    "RATELIMIT_NUMBER_REMINDERS_PER_CONTACT",
                    "RATELIMIT_EINVOICE_LINKS",
                    "RATELIMIT_EINVOICE_LINKS_PER_ACCOUNT",
                ),
                'see `ebok/config.py` and "Security notes"',
                ('throttling, e.g. `"5/15 minutes"`; several limits separated by `;`'),
            ),
            Setting(
                ("PERMANENT_SESSION_LIFETIME", "SESSION_ABSOLUTE_LIFETIME"),
                "30 minutes, 12 hours",
                (
                    "a signed-in session's idle and absolute timeouts (in seconds when set), "
                    "counted from its row"
                ),
            ),
            Setting(
                ("SESSION_LAST_SEEN_EVERY",),
                "60 seconds",
                (
                    "how often at most a session's row records that it was used (the idle "
                    "timeout's precision)"
                ),
            ),
            Setting(
                ("SESSION_WARNING_BEFORE",),
                "120 seconds",
                (
                    'how long before the idle timeout a signed-in page offers "Nie '
                    'wylogowuj mnie" (in seconds when set)'
                ),
            ),
            Setting(
                ("TWO_STEP_REMEMBER_BROWSER",),
                "30 days",
                (
                    'how long "remember this browser" skips the login\'s second step (in '
                    "seconds when set)"
                ),
            ),
            Setting(
                ("DATA_UNLOCK_LIFETIME",),
                "5 minutes",
                "how long Pobierz moje dane is shown after the password is typed again",
            ),
            Setting(
                ("DEVICE_COOKIE_NAME", "DEVICE_COOKIE_LIFETIME"),
                "`ebok_device` (`__Host-ebok_device` in production), 365 days",
                (
                    "the device cookie of a browser that has logged in, registered or reset the "
                    "password"
                ),
            ),
            Setting(
                ("DOUBLE_SUBMIT_WINDOW",),
                "10 seconds",
                ('a second "Dalej" on the channel step within it gets the code or link just sent'),
            ),
        ),
    ),
)


def required_settings() -> list[str]:
    return [
        name
        for group in SETTINGS
        for setting in group.settings
        if setting.required
        for name in setting.names
    ]


def _carries_placeholder(value: Any) -> bool:
    if isinstance(value, str):
        return PLACEHOLDER_MARK in value.lower()
    if isinstance(value, list | tuple):
        return any(_carries_placeholder(item) for item in value)
    if isinstance(value, dict):
        return any(_carries_placeholder(item) for item in value.values())
    return False


def placeholders_left(config: Mapping[str, Any]) -> list[str]:
    """The settings production would run with a placeholder: a REQUIRED one still at its
    default or empty, or any one still carrying the environment example's mark."""
    left = [
        name
        for name in required_settings()
        if not config.get(name) or config[name] == DEFAULTS.get(name)
    ]
    left += [
        name for name in DEFAULTS if name not in left and _carries_placeholder(config.get(name))
    ]
    return [f"FLASK_{name}" for name in left]
