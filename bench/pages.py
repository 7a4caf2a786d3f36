"""How fast the login page is served, how heavy a first visit is, and what a login costs,
each against a baseline measured in the same run.

Run: .venv/bin/python bench/pages.py [--quick]   (needs `wrk`: apt-get install wrk)
Prints lines `name: app X, baseline Y, ratio Z`:
- GET / under gunicorn (2 sync workers) against bench/baseline_app.py, a bare Flask app
  rendering the same HTML with Jinja and a session, under the same gunicorn; runs are
  interleaved (app, baseline, app, ...) and the median of each side is taken, because the
  machine is shared. Every request is a first visit (wrk sends no cookies), so both sides
  start a session and set its cookie each time.
- first visit: every response a first visit fetches (the page, what it links, the web
  app manifest and its icons, the service worker, what the worker precaches), as gunicorn
  sends them to a browser accepting br and gzip, against the same responses uncompressed.
- login: the server time of POST / with the right password (WSGI, no network) against one
  argon2 verify with the same parameters, interleaved, medians.
"""

import argparse
import gzip
import html.parser
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def production_environment() -> dict:
    """The tests' complete production environment (every setting production requires)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.actors import PRODUCTION_ENVIRONMENT

    return dict(PRODUCTION_ENVIRONMENT)


VENV_BIN = Path(sys.executable).parent
PASSWORD = "Haslo#2026x"  # noqa: S105 (the bench customer's)
# Production cookies are Secure: the test client sends them over https only.
HTTPS = "https://localhost"


def report(name: str, app: float, baseline: float, unit_format: str = "{:.1f}") -> None:
    ratio = app / baseline if baseline else float("nan")
    print(
        f"{name}: app {unit_format.format(app)}, baseline {unit_format.format(baseline)}, "
        f"ratio {ratio:.2f}",
        flush=True,
    )


class Server:
    """gunicorn on a socket bound here to a free loopback port (port 0), stopped on exit."""

    def __init__(
        self, app_spec: str, env: dict, cwd: Path, workers: int = 2, extra_args: tuple = ()
    ):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        command = [
            str(VENV_BIN / "gunicorn"),
            "--config",
            str(BENCH / "gunicorn_defaults.conf.py"),
            "--workers",
            str(workers),
            "--bind",
            f"fd://{self.socket.fileno()}",
            "--log-level",
            "warning",
            *extra_args,
            app_spec,
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=cwd, env={**os.environ, **env}, pass_fds=[self.socket.fileno()]
        )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:  # noqa: S310
                    response.read()
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not start at {self.url}")

    def worker_cpu_seconds(self) -> float:
        """User and system time of the workers so far (Linux /proc)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        total = 0
        for pid in children.read_text().split():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
        self.socket.close()


def wrk(
    server: "Server", seconds: int, path: str = "/", headers: tuple[str, ...] = ()
) -> tuple[float, float, float]:
    """Requests per second, the 99th percentile latency in ms, and requests per second of
    the workers' CPU time (less moved by other work on the machine than the first two)."""
    cpu_before = server.worker_cpu_seconds()
    url = server.url + path
    header_options = [option for header in headers for option in ("-H", header)]
    output = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk") or "wrk",
            "-t2",
            "-c8",
            f"-d{seconds}s",
            "--latency",
            *header_options,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests_per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    if re.search(r"Non-2xx or 3xx responses", output):
        raise RuntimeError(f"errors while loading {url}:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    per_cpu_second = requests / max(server.worker_cpu_seconds() - cpu_before, 0.01)
    return requests_per_second, p99, per_cpu_second


def app_environment(folder: Path) -> dict:
    """Production mode (no debug, no testing), as an operator runs it."""
    return {
        **production_environment(),
        "FLASK_SECRET_KEY": "bench-" + "k" * 40,
        "FLASK_LOG_LEVEL": "WARNING",
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
        "FLASK_MAIL_BACKEND": "dev",
        "FLASK_SMS_BACKEND": "dev",
        "FLASK_STATIC_BUILD_FOLDER": str(folder / "static"),
    }


def prepare(folder: Path, env: dict) -> None:
    """Database with one registered customer, the built assets, the baseline's template."""
    run_env = {**os.environ, **env}
    flask = [str(VENV_BIN / "flask"), "--app", "app"]
    for command in (["db", "upgrade"], ["assets", "build"]):
        subprocess.run(flask + command, cwd=ROOT, env=run_env, check=True, capture_output=True)  # noqa: S603
    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    from ebok import create_app
    from ebok.extensions import db
    from ebok.identity.passwords import hash_password
    from ebok.models import Account, Customer

    app = create_app()
    with app.app_context():
        customer = Customer(
            number="500001", first_name="A", last_name="B", email="a@example.com", phone=None
        )
        db.session.add(customer)
        db.session.add(Account(customer=customer, password_hash=hash_password(PASSWORD)))
        db.session.commit()
    page = app.test_client().get("/").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    (folder / "baseline").mkdir()
    (folder / "baseline" / "login.html").write_text(page.replace(token, "{{ token }}"))
    return app


def bench_login_page(folder: Path, env: dict, rounds: int, seconds: int) -> None:
    app_server = Server("app:app", env, ROOT)
    baseline = Server(
        "baseline_app:app", {"BENCH_TEMPLATE_FOLDER": str(folder / "baseline")}, BENCH
    )
    try:
        app_runs, baseline_runs = [], []
        for _ in range(rounds):
            app_runs.append(wrk(app_server, seconds))
            baseline_runs.append(wrk(baseline, seconds))
    finally:
        app_server.stop()
        baseline.stop()
    for index, (name, digits) in enumerate(
        [
            ("GET / req/s (gunicorn, 2 workers, wrk -c8)", "{:.0f}"),
            ("GET / p99 ms", "{:.2f}"),
            ("GET / req per CPU second of the workers", "{:.0f}"),
        ]
    ):
        app_figures = [run[index] for run in app_runs]
        baseline_figures = [run[index] for run in baseline_runs]
        report(name, statistics.median(app_figures), statistics.median(baseline_figures), digits)
        # Neighbouring runs share the machine's load: their ratios show the spread.
        pairs = sorted(a / b for a, b in zip(app_figures, baseline_figures, strict=True))
        print(f"  ratio of each pair of runs: {' '.join(f'{r:.2f}' for r in pairs)}")


def bench_login_page_in_process(app, folder: Path, rounds: int) -> None:
    """The same comparison without gunicorn, wrk or the network: WSGI calls in this
    process, the best of many short alternating rounds, which a loaded machine moves
    least (preemption only ever adds time)."""
    os.environ["BENCH_TEMPLATE_FOLDER"] = str(folder / "baseline")
    sys.path.insert(0, str(BENCH))
    import baseline_app
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/", base_url=HTTPS).get_environ()

    def best_rate(wsgi_app) -> float:
        start = time.perf_counter()
        for _ in range(200):
            b"".join(wsgi_app(dict(environ), lambda status, headers, exc_info=None: None))
        return 200 / (time.perf_counter() - start)

    app_rates, baseline_rates = [], []
    for _ in range(rounds):
        app_rates.append(best_rate(app.wsgi_app))
        baseline_rates.append(best_rate(baseline_app.app.wsgi_app))
    report(
        "GET / req/s in process (WSGI, one core, best round)",
        max(app_rates[1:]),
        max(baseline_rates[1:]),
        "{:.0f}",
    )


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") in {"stylesheet", "icon", "manifest"}:
            self.urls.append(attrs["href"])
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])


def _fetch(url: str, encoding: str) -> tuple[int, int, bytes, dict]:
    """Bytes of the status line and headers, bytes of the body as sent, the decoded body."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": encoding})  # noqa: S310
    with urllib.request.urlopen(request) as response:  # noqa: S310
        body = response.read()
        head = f"HTTP/1.1 {response.status} {response.reason}\r\n{response.headers}\r\n"
        headers = dict(response.headers)
    decode = {"br": brotli.decompress, "gzip": gzip.decompress}
    decoded = decode.get(headers.get("Content-Encoding"), bytes)(body)
    return len(head.encode()), len(body), decoded, headers


def first_visit(base_url: str, encoding: str) -> dict[str, tuple[int, int]]:
    """Every response of a first visit, once each, by path: (header bytes, body bytes).
    The page and what it links (the apple-touch-icon is a manifest icon too), the
    manifest's icons, the worker, what it precaches and its offline pages."""
    sizes, queue = {}, ["/"]
    while queue:
        path = queue.pop(0)
        if path in sizes:
            continue
        head, size, body, headers = _fetch(base_url + path, encoding)
        sizes[path] = (head, size)
        content_type = headers.get("Content-Type", "")
        if path == "/":
            parser = _Links()
            parser.feed(body.decode())
            queue += parser.urls + ["/sw.js"]
        elif content_type.startswith("application/manifest+json"):
            queue += [icon["src"] for icon in json.loads(body)["icons"]]
        elif path == "/sw.js":
            queue += json.loads(re.search(rb"PRECACHE = (\[.*?\]);", body).group(1))
            queue.append(json.loads(re.search(rb"OFFLINE_URL = (\".*?\");", body).group(1)))
    return sizes


def bench_first_visit(env: dict) -> None:
    server = Server("app:app", env, ROOT, workers=1)
    try:
        compressed = first_visit(server.url, "br, gzip")
        plain = first_visit(server.url, "identity")
        css = next(path for path in compressed if path.endswith(".css"))
        css_headers = _fetch(server.url + css, "br")[3]
    finally:
        server.stop()
    # The list: the page, its CSS, JS and htmx, the manifest and the icons.
    listed = [path for path in compressed if path != "/sw.js" and not path.startswith("/offline/")]
    report(
        "first visit KB, bodies of page+CSS+JS+htmx+manifest+icons, br (goal <= 30)",
        sum(compressed[path][1] for path in listed) / 1000,
        sum(plain[path][1] for path in listed) / 1000,
    )
    report(
        f"first visit KB on the wire, all {len(compressed)} responses with headers, br",
        sum(map(sum, compressed.values())) / 1000,
        sum(map(sum, plain.values())) / 1000,
    )
    for path, (head, size) in sorted(compressed.items()):
        print(f"  {path:52} headers {head:4} body {size:6} (uncompressed {plain[path][1]})")
    print(f"  a stylesheet: Cache-Control: {css_headers.get('Cache-Control')}")


def bench_login(app, rounds: int) -> None:
    from argon2 import PasswordHasher

    with app.app_context():
        config = app.config
        hasher = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_COST"],
            parallelism=config["ARGON2_PARALLELISM"],
        )
    password_hash = hasher.hash(PASSWORD)
    login_times, verify_times = [], []
    for _ in range(rounds):
        client = app.test_client()
        page = client.get("/", base_url=HTTPS).get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        form = {"csrf_token": token.group(1), "login": "500001", "password": PASSWORD}
        start = time.perf_counter()
        response = client.post("/", base_url=HTTPS, data=form, headers={"Referer": HTTPS + "/"})
        login_times.append(time.perf_counter() - start)
        assert response.status_code == 303, response.status_code
        response.close()
        start = time.perf_counter()
        hasher.verify(password_hash, PASSWORD)
        verify_times.append(time.perf_counter() - start)
    report(
        f"login POST server ms vs one argon2 verify (t={hasher.time_cost}, "
        f"{hasher.memory_cost} KiB, p={hasher.parallelism})",
        statistics.median(login_times) * 1000,
        statistics.median(verify_times) * 1000,
    )


def profile(app) -> None:
    """Where the server time of GET / and of a login goes (pyinstrument, in process)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(2000):
            client = app.test_client()
            client.get("/", base_url=HTTPS).close()
    print(profiler.output_text(color=False, unicode=False, show_all=False))
    profiler = Profiler(interval=0.0005)
    client = app.test_client()
    page = client.get("/", base_url=HTTPS).get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "login": "500001", "password": PASSWORD}
    with profiler:
        client.post("/", base_url=HTTPS, data=form, headers={"Referer": HTTPS + "/"}).close()
    print(profiler.output_text(color=False, unicode=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, rougher figures")
    parser.add_argument("--profile", action="store_true", help="where the time goes, then exit")
    arguments = parser.parse_args()
    rounds, seconds = (3, 2) if arguments.quick else (7, 3)
    with tempfile.TemporaryDirectory(prefix="ebok-bench-") as name:
        folder = Path(name)
        env = app_environment(folder)
        app = prepare(folder, env)
        if arguments.profile:
            profile(app)
            return
        bench_login_page(folder, env, rounds, seconds)
        bench_login_page_in_process(app, folder, 8 if arguments.quick else 20)
        bench_first_visit(env)
        bench_login(app, 5 if arguments.quick else 15)


if __name__ == "__main__":
    main()
