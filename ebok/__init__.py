"""Strefa Klienta: the application factory."""

import logging
import os
from pathlib import Path

from flask import Flask

from ebok import database
from ebok.clients import TrustedProxyFix, proxy_headers_trusted
from ebok.config import DEFAULTS, finish_config
from ebok.extensions import babel, db, login_manager
from ebok.identity import throttle
from ebok.logs import configure_logging, hold_audit_until_saved
from ebok.web.application import Application
from ebok.web.csrf import csrf

PACKAGE_DIR = Path(__file__).resolve().parent
# Templates, static files, catalogs and migrations: inside the package when installed from
# a wheel (build_hooks.py puts them there), the repository's top-level folders in a checkout.
RESOURCES = PACKAGE_DIR if (PACKAGE_DIR / "templates").is_dir() else PACKAGE_DIR.parent
TRANSLATIONS = RESOURCES / "translations"

log = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    app = Application(
        __name__,
        template_folder=str(RESOURCES / "templates"),
        static_folder=str(RESOURCES / "static"),
        # SQLite files named without a path go here: instance/ in the working directory.
        instance_path=os.path.abspath("instance"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    finish_config(app)
    configure_logging(app)
    _check_catalogs(app)

    if proxy_headers_trusted(app.config):
        app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]  # Flask's documented way
            app.wsgi_app,
            trusted=app.config["PROXY_TRUSTED"],
            x_for=app.config["PROXY_FIX_X_FOR"],
            x_proto=app.config["PROXY_FIX_X_PROTO"],
        )

    _init_extensions(app)
    _register_blueprints(app)

    from ebok.cli import register_commands

    register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    database.init_app(app)
    hold_audit_until_saved()
    csrf.init_app(app)
    throttle.init_app(app)
    from ebok import auth, messages, operator
    from ebok.i18n import languages
    from ebok.web import assets, form_input, htmx, security, templating

    babel.init_app(
        app,
        default_translation_directories=str(TRANSLATIONS),
        locale_selector=languages.select_locale,
    )
    from ebok.health import checks as health_checks
    from ebok.health import metrics as health_metrics

    auth.init_login_manager(login_manager)
    # templating makes current_user a lazy global instead: a page that does not show the
    # customer never loads the account (an error page must render with the database away).
    login_manager.init_app(app, add_context_processor=False)
    # Flask-Login's remember-me cookie is never set (a session lives in its row, SPEC §16):
    # its hook after every request would only look for it.
    app.after_request_funcs[None].remove(login_manager._update_remember_cookie)
    security.init_app(app)
    assets.init_app(app)
    form_input.init_app(app)
    templating.init_app(app)
    htmx.init_app(app)
    languages.init_app(app)
    messages.init_app(app)
    health_checks.init_app(app)
    health_metrics.init_app(app)
    operator.init_app(app)


def _check_catalogs(app: Flask) -> None:
    """A configured language without its compiled catalog would be served in the source
    strings: production refuses to start, development only warns. English is no
    exception: its catalog holds the English wording and plural forms, which may differ
    from the source strings."""
    missing = [
        language
        for language in app.config["LANGUAGES"]
        if not (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").is_file()
    ]
    if not missing:
        return
    problem = (
        f"No compiled catalog for the configured language(s) {', '.join(missing)} in "
        f"{TRANSLATIONS}. Install the package with pip (the build compiles them), or in a "
        "checkout run `make setup` (pybabel compile -d translations)."
    )
    if not (app.debug or app.testing):
        raise RuntimeError(problem)
    log.warning(problem)


def _register_blueprints(app: Flask) -> None:
    from ebok.account.routes import bp as account_bp
    from ebok.auth.routes import bp as auth_bp
    from ebok.dev.routes import bp as dev_bp
    from ebok.einvoice.routes import bp as einvoice_bp
    from ebok.errors.routes import bp as errors_bp
    from ebok.guide.routes import bp as guide_bp
    from ebok.health.routes import bp as health_bp
    from ebok.invoices.routes import bp as invoices_bp
    from ebok.language_switch.routes import bp as language_switch_bp
    from ebok.mydata.routes import bp as mydata_bp
    from ebok.password_reset.routes import bp as password_reset_bp
    from ebok.payments.providers import provider_for
    from ebok.payments.routes import bp as payments_bp
    from ebok.pwa.routes import bp as pwa_bp
    from ebok.registration.routes import bp as registration_bp
    from ebok.security.routes import bp as security_bp
    from ebok.session_timeout.routes import bp as session_timeout_bp

    app.register_blueprint(errors_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(registration_bp)
    app.register_blueprint(password_reset_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(security_bp)
    app.register_blueprint(session_timeout_bp)
    app.register_blueprint(einvoice_bp)
    app.register_blueprint(mydata_bp)
    app.register_blueprint(invoices_bp)
    provider_for(app.config)  # an unknown PAYMENTS_PROVIDER is refused at start
    app.register_blueprint(payments_bp)
    app.register_blueprint(guide_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(language_switch_bp)
    if app.debug:
        app.register_blueprint(dev_bp)
