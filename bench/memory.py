"""How much memory a web worker holds, against a bare Flask app's worker in the same run.

Run on demand: .venv/bin/python bench/memory.py [--quick] [--requests N]

Both run under the same gunicorn (2 sync workers, gunicorn's defaults), the app in
production mode on SQLite with one registered customer with 12 invoices (bench/faktury.py's
preparation), the baseline being bench/baseline_app.py: a bare Flask app with a session
that renders the login page's HTML, and Faktury from the same database with SQLAlchemy
Core. The app gets N mixed requests (default 10 000): the login page, a stylesheet, the
service worker, the manifest, and a signed-in customer's Strona Główna, Faktury and Moje
Konto; the baseline gets N of its two pages, in turn. Prints the workers' resident memory
(VmRSS, the largest of the two) after starting, halfway and at the end:

    worker memory MB after 10000 requests: app X, baseline Y, ratio Z
    worker memory MB: app after 0 / 5000 / 10000 requests: A / B / C (flat: C / B)

Goal (issue 26): ratio <= 1.5 and flat over time (C / B <= 1.05). Memory does not
depend on the machine's load, so one run is enough.
"""

import argparse
import http.client
import os
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import faktury  # noqa: E402  (bench/faktury.py: the customer, invoices and baseline pages)
import pages  # noqa: E402  (bench/pages.py: its gunicorn Server)


def worker_rss_mb(server: "pages.Server") -> float:
    """The largest VmRSS of the server's workers, in MB."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    sizes = []
    for pid in children.read_text().split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return max(sizes)


class Client:
    """Plain HTTP to the server, the cookies kept by hand (production's are Secure)."""

    def __init__(self, server: "pages.Server"):
        self.port = int(server.url.rsplit(":", 1)[1])
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.split(";", 1)[0].partition("=")
                    self.cookies[key] = rest
            return response.status, answer
        finally:
            connection.close()

    def get(self, path: str) -> bytes:
        status, body = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        return body


def signed_in(server: "pages.Server") -> Client:
    client = Client(server)
    page = client.get("/")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)[1].decode()
    form = urlencode({"csrf_token": token, "login": "500001", "password": pages.PASSWORD})
    status, _ = client.request("POST", "/", form)
    if status != 303:
        raise RuntimeError(f"the bench customer's login answered {status}")
    return client


def mixed_paths(server: "pages.Server") -> tuple[list[str], list[str]]:
    """(anonymous paths, signed-in paths) of the mix."""
    page = Client(server).get("/").decode()
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)[1]
    manifest = re.search(r'<link rel="manifest" href="([^"]+)"', page)[1]
    return ["/", stylesheet, "/sw.js", manifest], ["/strona-glowna", "/faktury", "/moje-konto"]


def load_app(server: "pages.Server", requests: int) -> list[float]:
    anonymous_paths, signed_in_paths = mixed_paths(server)
    visitor, customer = Client(server), signed_in(server)
    mix = [(visitor, path) for path in anonymous_paths]
    mix += [(customer, path) for path in signed_in_paths]
    sizes = [worker_rss_mb(server)]
    for n in range(requests):
        client, path = mix[n % len(mix)]
        if client is visitor and path == "/":
            visitor.cookies.clear()  # a new visitor each time: a new session
        client.get(path)
        if n + 1 == requests // 2:
            sizes.append(worker_rss_mb(server))
    sizes.append(worker_rss_mb(server))
    return sizes


def load_baseline(server: "pages.Server", requests: int, cookie: tuple[str, str]) -> float:
    customer = Client(server)
    customer.cookies[cookie[0]] = cookie[1]
    for n in range(requests):
        if n % 2:
            customer.get("/faktury")
        else:
            Client(server).get("/")
    return worker_rss_mb(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 000 requests")
    parser.add_argument("--requests", type=int, help="requests to each (default 10 000)")
    arguments = parser.parse_args()
    requests = arguments.requests or (2000 if arguments.quick else 10000)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = pages.app_environment(folder)
        _, _, cookie_name, cookie = faktury.prepare_both(folder, env)
        app_server = pages.Server("app:app", env, ROOT)
        try:
            start, half, end = load_app(app_server, requests)
        finally:
            app_server.stop()
        bench = {key: value for key, value in os.environ.items() if key.startswith("BENCH_")}
        baseline_server = pages.Server("baseline_app:app", bench, BENCH)
        try:
            baseline = load_baseline(baseline_server, requests, (cookie_name, cookie))
        finally:
            baseline_server.stop()
    pages.report(f"worker memory MB after {requests} requests", end, baseline)
    print(
        f"worker memory MB: app after 0 / {requests // 2} / {requests} requests: "
        f"{start:.1f} / {half:.1f} / {end:.1f} (flat: {end / half:.2f})",
        flush=True,
    )


if __name__ == "__main__":
    main()
