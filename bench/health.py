"""How fast /healthz and /readyz answer, healthy and with the database hung.

Run on demand: .venv/bin/python bench/health.py [DATABASE_URI]
(default: SQLite in a temporary directory; e.g. postgresql+psycopg://postgres@127.0.0.1/db
for PostgreSQL, whose tables it creates and drops). Redis is a private redis-server.
Server time per request, median of N through the WSGI test client (no network); each
baseline is measured in the same run:
- /healthz against the cheapest thing the app serves (a static file);
- /readyz against what it must do anyway: one query on a pooled connection and a PING;
- /readyz with a database that accepts connections and never answers, against the
  configured HEALTH_CHECK_TIMEOUT (the bound it must keep): the first probe waits that
  long, the later ones (while that check still waits) not at all.
"""

import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import TEST_CONFIG, RedisServer  # noqa: E402

from ebok import create_app  # noqa: E402
from ebok.extensions import db, limiter  # noqa: E402

ROUNDS = 200
HUNG_ROUNDS = 5


def median_ms(call, rounds=ROUNDS) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def show(name: str, app_ms: float, baseline_ms: float) -> None:
    print(f"{name}: app {app_ms:.2f}, baseline {baseline_ms:.2f}, ratio {app_ms / baseline_ms:.2f}")


def get_ok(client, path: str, status: int = 200):
    def call():
        response = client.get(path)
        assert response.status_code == status, (path, response.status_code, response.data)
        response.close()

    return call


def healthy(database_uri: str, redis: RedisServer) -> None:
    app = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_uri, "RATELIMIT_STORAGE_URI": redis.uri}
    )
    with app.app_context():
        db.create_all()
    try:
        client = app.test_client()
        show(
            "healthz server ms",
            median_ms(get_ok(client, "/healthz")),
            median_ms(get_ok(client, "/static/icons/icon.svg")),
        )

        def dependencies():
            with app.app_context():
                db.session.execute(sa.text("SELECT 1"))
                db.session.remove()
                limiter.storage.check()

        show(
            "readyz server ms (database and Redis up)",
            median_ms(get_ok(client, "/readyz")),
            median_ms(dependencies),
        )
    finally:
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


def hung() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    uri = f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/x"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": uri})
    timeout_ms = app.config["HEALTH_CHECK_TIMEOUT"] * 1000
    probe = get_ok(app.test_client(), "/readyz", 503)
    try:
        show("readyz server ms (database hung, first probe)", median_ms(probe, 1), timeout_ms)
        # While that check still waits, later probes say so at once.
        show(
            "readyz server ms (database hung, later probes)",
            median_ms(probe, HUNG_ROUNDS),
            timeout_ms,
        )
    finally:
        listener.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database_uri = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{folder}/bench.db"
        redis = RedisServer(Path(folder))
        try:
            healthy(database_uri, redis)
        finally:
            redis.stop()
    hung()


if __name__ == "__main__":
    main()
