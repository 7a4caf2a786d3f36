"""What the escaping gettext and the typography (issue 12) cost a signed-in page, against
Flask-Babel's own template gettext measured in the same run.

Run on demand: .venv/bin/python bench/i18n.py [--quick]

The demo data (`flask demo seed`: customer 100005 with a year of invoices), signed in
through the test client; for Strona Główna, Faktury and Moje Konto in Polish and
Ukrainian, the server time of a GET with the app's template gettext (escape the
translation, put the values in, typography) and with Flask-Babel's (the translation
trusted as markup, no typography), swapped in and out of the same app in interleaved
rounds; the median round of each side counts. Prints `name: app X, baseline Y, ratio Z`
(milliseconds per page).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flask_babel import get_translations

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ebok import create_app  # noqa: E402
from ebok.customers.demo import DEMO_PASSWORD  # noqa: E402
from ebok.extensions import db  # noqa: E402
from ebok.web import templating

PAGES = ("/strona-glowna", "/faktury", "/moje-konto")


def install_flask_babel_gettext(app) -> None:
    """The callables Flask-Babel installs: the translation is trusted as markup."""
    app.jinja_env.install_gettext_callables(
        lambda s: get_translations().ugettext(s),
        lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )


def signed_in_client(app, language: str):
    client = app.test_client()
    client.set_cookie("language", language)
    response = client.post("/", data={"login": "100005", "password": DEMO_PASSWORD})
    assert response.status_code in (302, 303), response.status_code
    return client


def milliseconds_per_get(client, path: str, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    return (time.perf_counter() - started) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and requests")
    arguments = parser.parse_args()
    rounds, requests = (5, 10) if arguments.quick else (9, 30)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
                "INVOICE_STORAGE": f"{folder}/invoices",
                "RATELIMIT_STORAGE_URI": "memory://",
                "LOG_LEVEL": "WARNING",
                "WTF_CSRF_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
        result = app.test_cli_runner().invoke(args=["demo", "seed"])
        assert result.exit_code == 0, result.output
        for language in ("pl", "uk"):
            client = signed_in_client(app, language)
            for path in PAGES:
                ours, theirs = [], []
                for _ in range(rounds):
                    templating.install_gettext(app)
                    ours.append(milliseconds_per_get(client, path, requests))
                    install_flask_babel_gettext(app)
                    theirs.append(milliseconds_per_get(client, path, requests))
                templating.install_gettext(app)
                app_ms, baseline_ms = statistics.median(ours), statistics.median(theirs)
                print(
                    f"GET {path} ({language}) with escaping gettext and typography: "
                    f"app {app_ms:.2f} ms, baseline {baseline_ms:.2f} ms, "
                    f"ratio {app_ms / baseline_ms:.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
