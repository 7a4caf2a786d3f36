"""Starting as operators start it: a configured language needs its compiled catalog, and
the gunicorn configuration keeps signed links out of the access log and the app's records
in the error log. The installed wheel itself, served by gunicorn and nginx from another
directory, is checked by scripts/check-install (in CI)."""

import importlib.util
import logging
import os
import shutil
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import PRODUCTION_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def in_production(environment):
    """The environment of a production start: every setting production requires."""
    environment(**PRODUCTION_ENVIRONMENT)


def test_production_refuses_a_language_without_a_compiled_catalog(in_production, production_app):
    with pytest.raises(RuntimeError, match=r"language\(s\) de in .*translations"):
        production_app(LANGUAGES=["pl", "de"])


def test_production_starts_with_every_catalog_and_speaks_polish(in_production, production_app):
    app = production_app(LANGUAGES=["pl", "en"])
    with app.app_context():
        from ebok.extensions import db

        db.create_all()
    page = app.test_client().get("/", headers={"Accept-Language": "pl"}).get_data(as_text=True)
    assert "Logowanie do Strefy Klienta" in page


def test_development_warns_about_a_missing_catalog(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="ebok"):
        make_app(LANGUAGES=["pl", "de"])
    assert "language(s) de" in caplog.text


def test_sqlite_files_without_a_path_go_to_instance_in_the_working_directory(
    in_production, production_app, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    app = production_app(SQLALCHEMY_DATABASE_URI="sqlite:///e.sqlite3")
    assert Path(app.instance_path) == tmp_path / "instance"
    assert (tmp_path / "instance").is_dir()


def load_gunicorn_config():
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if given is None:  # the metrics folder it made for a gunicorn no test starts here
        shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)
    return module


@pytest.fixture
def gunicorn_logger():
    """Makes the logger gunicorn.conf.py gives gunicorn (in the test, so that it writes to
    the test's captured stderr), and restores the app's logger after."""
    from gunicorn.config import Config

    app_log = logging.getLogger("ebok")
    saved = app_log.level, list(app_log.handlers), app_log.propagate
    yield lambda: load_gunicorn_config().logger_class(Config())
    app_log.setLevel(saved[0])
    app_log.handlers, app_log.propagate = saved[1], saved[2]


def test_the_apps_info_records_reach_standard_error_under_gunicorn(
    gunicorn_logger, in_production, production_app, capsys
):
    gunicorn_logger()
    production_app()  # the factory sets up the app's log
    logging.getLogger("ebok.auth").info("login failed login=0123456789ab")
    assert '"event": "login failed login=0123456789ab"' in capsys.readouterr().err


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/rejestracja/link/" + "eyJhIjoxfQ.aBcDeF." + "x" * 43, "/rejestracja/link/[token]"),
        ("/e-faktura/potwierdz/" + "T" * 80 + "/", "/e-faktura/potwierdz/[token]/"),
        ("/static/css/app.css", "/static/css/app.css"),
    ],
)
def test_the_access_log_shows_no_token_no_query_and_no_referer(gunicorn_logger, path, logged):
    from gunicorn.glogging import SafeAtoms

    config = load_gunicorn_config()
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path + "?token=secret-query",
        "PATH_INFO": path,
        "QUERY_STRING": "token=secret-query",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://ebok.example.pl" + path,
        "werkzeug.request": f"<Request 'http://ebok.example.pl{path}?token=secret-query'>",
    }
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = gunicorn_logger().atoms(response, request, environ, timedelta(milliseconds=5))
    line = config.access_log_format % SafeAtoms(atoms)
    assert logged in line
    for secret in ("x" * 43, "T" * 80, "secret-query", "ebok.example.pl"):
        assert secret not in line
        assert all(secret not in str(value) for value in atoms.values())
