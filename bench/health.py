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
  long, the later ones (while that check still waits) not at all;
- /readyz under a login storm (STORM_CLIENTS clients logging in at once, production's
  argon2 cost, gunicorn with gunicorn.conf.py): on the health listener against the app's
  own port, where probes wait in the queue of logins (the longest wait of each).
"""

import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import (  # noqa: E402
    TEST_CONFIG,
    TEST_PASSWORD,
    Browser,
    Gunicorn,
    RedisServer,
    add_customers,
    free_port,
)

from ebok import create_app  # noqa: E402
from ebok.extensions import db, limiter  # noqa: E402

ROUNDS = 200
HUNG_ROUNDS = 5
STORM_CLIENTS = 64
STORM_SECONDS = 20


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


def storm(folder: Path) -> None:
    """Probes while STORM_CLIENTS clients log in again and again for STORM_SECONDS."""
    database_uri = f"sqlite:///{folder}/storm.db"
    argon2 = {key: value for key, value in TEST_CONFIG.items() if not key.startswith("ARGON2_")}
    app = create_app({**argon2, "SQLALCHEMY_DATABASE_URI": database_uri})
    with app.app_context():
        db.create_all()
    add_customers(app)  # hashed with production's argon2 parameters
    health_port = free_port()
    environment = {
        "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
        "FLASK_HEALTH_BIND": f"127.0.0.1:{health_port}",
        "FLASK_ARGON2_TIME_COST": str(app.config["ARGON2_TIME_COST"]),
        "FLASK_ARGON2_MEMORY_COST": str(app.config["ARGON2_MEMORY_COST"]),
        "FLASK_ARGON2_PARALLELISM": str(app.config["ARGON2_PARALLELISM"]),
    }
    workers = multiprocessing.cpu_count() * 2 + 1  # gunicorn.conf.py's rule
    server = Gunicorn(folder, environment, workers, config=ROOT / "gunicorn.conf.py")
    stop = threading.Event()

    def log_in_again(number: int) -> None:
        while not stop.is_set():
            Browser(server, f"198.51.{number // 250}.{number % 250 + 1}").log_in(
                "200005", TEST_PASSWORD, "storm"
            )

    def probe_ms(port: int) -> float:
        start = time.perf_counter()
        status = server.request("GET", "/readyz", timeout=STORM_SECONDS, port=port)[0]
        assert status == 200, status
        return (time.perf_counter() - start) * 1000

    try:
        server.wait_until_serving()
        clients = [threading.Thread(target=log_in_again, args=(n,)) for n in range(STORM_CLIENTS)]
        for client in clients:
            client.start()
        time.sleep(2)  # the queue fills
        listener, app_port = [], []
        deadline = time.monotonic() + STORM_SECONDS
        while time.monotonic() < deadline:
            listener.append(probe_ms(health_port))
            app_port.append(probe_ms(server.port))
        stop.set()
        for client in clients:
            client.join()
    finally:
        server.stop()
        server.wait_until_stopped()
    show(
        f"readyz ms under {STORM_CLIENTS} logging in (listener vs app port), longest",
        max(listener),
        max(app_port),
    )
    show(
        f"readyz ms under {STORM_CLIENTS} logging in (listener vs app port), median",
        statistics.median(listener),
        statistics.median(app_port),
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database_uri = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{folder}/bench.db"
        redis = RedisServer(Path(folder))
        try:
            healthy(database_uri, redis)
        finally:
            redis.stop()
    hung()
    with tempfile.TemporaryDirectory() as folder:
        storm(Path(folder))


if __name__ == "__main__":
    main()
