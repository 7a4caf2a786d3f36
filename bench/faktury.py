"""Faktury (12 invoices) under gunicorn against bench/baseline_app.py's /faktury: a bare
Flask page running the same three queries with SQLAlchemy Core and rendering the same HTML
from one compiled template (checked byte for byte, the CSRF token aside, before measuring).

Run: .venv/bin/python bench/faktury.py [--quick]   (needs `wrk`: apt-get install wrk)
Prints `Faktury req/s …: app X, baseline Y, ratio Z` (medians of interleaved runs, signed
in, 2 sync workers, production settings; goal: ratio ≥ 0.67) and the same in process.
"""

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import (  # noqa: E402
    BENCH,
    HTTPS,
    PASSWORD,
    ROOT,
    Server,
    app_environment,
    prepare,
    report,
    wrk,
)

TOKEN = re.compile(r'(name="csrf-token" content="|name="csrf_token" value=")[^"]+')
ROW = '<tr class="invoice-table__row'


def add_invoices(app, count: int = 12) -> None:
    from ebok.extensions import db
    from ebok.models import Customer, Invoice

    with app.app_context():
        customer = db.session.scalars(db.select(Customer).where(Customer.number == "500001")).one()
        for n in range(count):
            issued = date.today().replace(day=2) - timedelta(days=30 * n)
            db.session.add(
                Invoice(
                    customer_id=customer.id,
                    number=f"FV/2026/{n:06d}",
                    issue_date=issued,
                    period_from=issued - timedelta(days=30),
                    period_to=issued - timedelta(days=1),
                    due_date=issued + timedelta(days=14),
                    gross_amount=Decimal("89.99") + n,
                    currency="PLN",
                    paid_on=None if n < 2 else issued + timedelta(days=7),
                    delivery="paper",
                    pdf_sha256="0" * 64,
                    pdf_size=48_000 + n * 1000,
                    pdf_storage_key="x",
                )
            )
        db.session.commit()


def sign_in(app) -> tuple[str, str]:
    """The session cookie's name and value, and the signed-in Faktury page's HTML."""
    client = app.test_client()
    page = client.get("/", base_url=HTTPS).get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "login": "500001", "password": PASSWORD}
    response = client.post("/", base_url=HTTPS, data=form, headers={"Referer": HTTPS + "/"})
    assert response.status_code == 303, response.status_code
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name, domain="localhost").value
    return name, cookie


def baseline_template(html: str, rows: list[dict]) -> str:
    """The app's page with its rows as one loop over `rows` (row 3, a paid one, as the
    pattern) and its token as {{ token }}."""
    start, end = html.index(ROW), html.index("</tbody>")
    chunks = html[start:end].split(ROW)[1:]
    pattern, sample = ROW + chunks[2], rows[2]
    for key in ("number", "period", "issued", "amount", "due", "size", "status"):
        pattern = pattern.replace(sample[key], "{{ r.%s }}" % key)  # noqa: UP031
    pattern = pattern.replace(f"--{sample['kind']}", "--{{ r.kind }}")
    overdue = '{% if r.kind == "overdue" %}<span aria-hidden="true">⚠ </span>{% endif %}'
    pattern = pattern.replace("{{ r.status }}", overdue + "{{ r.status }}")
    pattern = pattern.replace(f"/faktury/{sample['id']}.pdf", "/faktury/{{ r.id }}.pdf")
    template = html[:start] + "{% for r in rows %}" + pattern + "{% endfor %}" + html[end:]
    return TOKEN.sub(r"\1{{ token }}", template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, rougher figures")
    arguments = parser.parse_args()
    rounds, seconds = (3, 2) if arguments.quick else (7, 3)
    print(f"load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ebok-bench-faktury-") as name:
        folder = Path(name)
        env = app_environment(folder)
        app, baseline_app, cookie_name, cookie = prepare_both(folder, env)
        bench_in_process(app, baseline_app, cookie_name, cookie, 8 if arguments.quick else 20)
        if not shutil.which("wrk"):
            print("Faktury under gunicorn: skipped, wrk is missing (apt-get install wrk)")
            return
        header = (f"Cookie: {cookie_name}={cookie}",)
        bench_under_gunicorn(folder, env, rounds, seconds, header)


def prepare_both(folder: Path, env: dict):
    """(app, baseline_app module, session cookie name, value): the app's database with the
    bench customer signed in and 12 invoices, and the baseline's templates (BENCH_
    variables set for a gunicorn started after this), its Faktury checked against the
    app's."""
    app = prepare(folder, env)
    add_invoices(app)
    cookie_name, cookie = sign_in(app)
    os.environ.update(
        BENCH_TEMPLATE_FOLDER=str(folder / "baseline"),
        BENCH_DATABASE_URI=env["FLASK_SQLALCHEMY_DATABASE_URI"],
        BENCH_COOKIE_NAME=cookie_name,
    )
    import baseline_app

    client = app.test_client()
    client.set_cookie(cookie_name, cookie, domain="localhost")
    html = client.get("/faktury", base_url=HTTPS).get_data(as_text=True)
    with baseline_app.app.test_request_context():
        rows = baseline_rows(baseline_app, cookie_name, cookie)
    (folder / "baseline" / "faktury.html").write_text(baseline_template(html, rows))
    baseline_client = baseline_app.app.test_client()
    baseline_client.set_cookie(cookie_name, cookie)
    baseline_html = baseline_client.get("/faktury").get_data(as_text=True)
    if TOKEN.sub(r"\1", baseline_html) != TOKEN.sub(r"\1", html):
        raise SystemExit("the baseline's Faktury differs from the app's")
    return app, baseline_app, cookie_name, cookie


def baseline_rows(baseline_app, cookie_name: str, cookie: str) -> list[dict]:
    """The baseline's own row values, from a throwaway template that returns them."""
    captured = {}
    real = baseline_app.render_template

    def capture(name, **context):
        captured.update(context)
        return ""

    baseline_app.render_template = capture
    try:
        client = baseline_app.app.test_client()
        client.set_cookie(cookie_name, cookie)
        client.get("/faktury")
    finally:
        baseline_app.render_template = real
    return captured["rows"]


def bench_under_gunicorn(folder: Path, env: dict, rounds: int, seconds: int, header) -> None:
    app_server = Server("app:app", env, ROOT)
    baseline = Server(
        "baseline_app:app",
        {key: os.environ[key] for key in os.environ if key.startswith("BENCH_")},
        BENCH,
    )
    try:
        app_runs, baseline_runs = [], []
        for _ in range(rounds):
            app_runs.append(wrk(app_server, seconds, "/faktury", header))
            baseline_runs.append(wrk(baseline, seconds, "/faktury", header))
    finally:
        app_server.stop()
        baseline.stop()
    for index, (name, digits) in enumerate(
        [
            ("Faktury req/s (12 invoices, gunicorn, 2 workers, wrk -c8)", "{:.0f}"),
            ("Faktury p99 ms", "{:.2f}"),
            ("Faktury req per CPU second of the workers", "{:.0f}"),
        ]
    ):
        app_figures = [run[index] for run in app_runs]
        baseline_figures = [run[index] for run in baseline_runs]
        report(name, statistics.median(app_figures), statistics.median(baseline_figures), digits)
        pairs = sorted(a / b for a, b in zip(app_figures, baseline_figures, strict=True))
        print(f"  ratio of each pair of runs: {' '.join(f'{r:.2f}' for r in pairs)}")


def bench_in_process(app, baseline_app, cookie_name: str, cookie: str, rounds: int) -> None:
    """Best of alternating rounds of 100 WSGI calls each (test clients, no gunicorn)."""
    client = app.test_client()
    client.set_cookie(cookie_name, cookie, domain="localhost")
    baseline_client = baseline_app.app.test_client()
    baseline_client.set_cookie(cookie_name, cookie)

    def rate(get) -> float:
        start = time.perf_counter()
        for _ in range(100):
            get().close()
        return 100 / (time.perf_counter() - start)

    app_rates, baseline_rates = [], []
    for _ in range(rounds):
        app_rates.append(rate(lambda: client.get("/faktury", base_url=HTTPS)))
        baseline_rates.append(rate(lambda: baseline_client.get("/faktury")))
    report("Faktury req/s in process (best round)", max(app_rates), max(baseline_rates), "{:.0f}")


if __name__ == "__main__":
    main()
