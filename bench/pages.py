"""How fast and how heavy the pages are, for a cheap phone on a slow connection.

Run on demand: .venv/bin/python bench/pages.py
Prints, for the main pages and wizard steps, the server time per request (median of N,
through the WSGI test client: no network) and the bytes sent (raw and gzip), plus the
static assets every first visit loads, and the cost of one password hash.
"""

import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import TEST_CONFIG  # noqa: E402

from ebok import create_app  # noqa: E402
from ebok.extensions import db  # noqa: E402
from ebok.models import Customer  # noqa: E402
from ebok.passwords import hash_password  # noqa: E402

ROUNDS = 50


def timed(call) -> tuple[float, bytes]:
    samples, body = [], b""
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - start)
        body = response.get_data()
        response.close()
    return statistics.median(samples) * 1000, body


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
            "RATELIMIT_NUMBER_LOOKUP": "100000/hour",
        }
        # Production's hashing parameters, to measure what a login really costs.
        config.pop("ARGON2_TIME_COST"), config.pop("ARGON2_MEMORY_COST")
        config.pop("ARGON2_PARALLELISM")
        app = create_app(config)
        with app.app_context():
            db.create_all()
            db.session.add(
                Customer(
                    number="500001",
                    first_name="A",
                    last_name="B",
                    email="a@example.com",
                    phone="+48600700800",
                )
            )
            db.session.commit()
        client = app.test_client()
        htmx = {"HX-Request": "true", "HX-Request-Type": "partial"}
        print(f"{'what':44} {'median ms':>9} {'bytes':>7} {'gzip':>6}")
        cases = [
            ("login page (full page)", lambda: client.get("/")),
            ("login page (htmx fragment)", lambda: client.get("/", headers=htmx)),
            ("registration step 2 (full page)", lambda: client.get("/rejestracja/")),
            (
                "registration step 2 (htmx fragment)",
                lambda: client.get("/rejestracja/", headers=htmx),
            ),
            ("guide page", lambda: client.get("/instrukcja")),
        ]
        for name, call in cases:
            milliseconds, body = timed(call)
            print(f"{name:44} {milliseconds:9.2f} {len(body):7} {len(gzip.compress(body)):6}")
        total_raw = total_gzip = 0
        for asset in ("css/app.css", "js/app.js", "vendor/htmx.min.js"):
            data = (ROOT / "static" / asset).read_bytes()
            total_raw += len(data)
            total_gzip += len(gzip.compress(data))
            print(f"{'static ' + asset:44} {'':9} {len(data):7} {len(gzip.compress(data)):6}")
        print(f"{'static total (first visit, then cached)':44} {'':9} {total_raw:7} {total_gzip:6}")
        with app.app_context():
            start = time.perf_counter()
            for _ in range(5):
                hash_password("Haslo#2026x")
            print(
                f"{'argon2id hash (t=3, 64 MiB, p=4)':44} "
                f"{(time.perf_counter() - start) / 5 * 1000:9.2f}"
            )


if __name__ == "__main__":
    main()
