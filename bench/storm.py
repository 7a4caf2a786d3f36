"""A login storm: N clients logging in without pause, while one visitor loads the login
page and one signed-in customer loads Strona Główna, each every 0.2 s.

Run on demand: .venv/bin/python bench/storm.py [--quick] [--seconds S] [--clients 0,4,16,48]

The app runs under gunicorn with gunicorn.conf.py (its workers, threads and hooks) and
production settings (argon2's production parameters, the hashing gate's defaults), on
SQLite in a temporary folder. Each storming client is a returning customer's browser: a
new session (the login page) for every login, but the device cookie of its first login
kept, as a customer's own browser keeps it, so its later logins are not a new browser's
(which would also queue an e-mail and an SMS each; --new-browsers makes every login a
new browser's). For each N it prints logins/s (303 answers), busy answers/s (503 "try
again in 5 seconds", after which that client waits 5 s), the login POST's p50 / p99, and
p50 / p99 of GET / and of Strona Główna. The baseline is the machine's hashing capacity,
measured in the same run: the cores this process may use ÷ one verify's CPU time
(production's parameters, in process); "logins per CPU second of the workers" against
one verify alone moves less with the machine's load. Goals (a quiet machine): at N = 48,
GET / p99 <= 150 ms, Strona Główna p99 <= 250 ms, logins/s >= 0.9 × capacity, no login
answered later than the bound (HASHING_WAIT_LIMIT) plus one hash. The load average is
printed before and after: the figures mean little when it is above the core count.
"""

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import TEST_CONFIG, TEST_PASSWORD, Browser, Gunicorn, add_customers  # noqa: E402

from ebok import create_app  # noqa: E402
from ebok.config import DEFAULTS  # noqa: E402
from ebok.extensions import db  # noqa: E402
from ebok.identity.passwords import hash_password  # noqa: E402
from ebok.models import Account, Customer  # noqa: E402

PERIOD = 0.2  # seconds between the probing clients' requests
NUMBER = "200005"  # support.CUSTOMERS' registered customer
HOME = "/strona-glowna"
RETRY_AFTER = 5  # seconds a client told "try again in 5 seconds" waits


def percentile(samples: list[float], which: int) -> float:
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[which - 1]


def ms(samples: list[float]) -> str:
    if not samples:
        return "—"
    return f"{percentile(samples, 50) * 1000:.0f} ms / {percentile(samples, 99) * 1000:.0f} ms"


def capacity(argon2: dict) -> tuple[float, float, int]:
    """(logins/s the cores allow, one verify's CPU seconds, cores)."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(
        time_cost=argon2["ARGON2_TIME_COST"],
        memory_cost=argon2["ARGON2_MEMORY_COST"],
        parallelism=argon2["ARGON2_PARALLELISM"],
    )
    password_hash = hasher.hash(TEST_PASSWORD)
    rounds = 10
    start = time.process_time()
    for _ in range(rounds):
        hasher.verify(password_hash, TEST_PASSWORD)
    cpu = (time.process_time() - start) / rounds
    cores = len(os.sched_getaffinity(0))
    return cores / cpu, cpu, cores


def workers_cpu_seconds(master: int) -> float:
    """CPU seconds (user and system) the gunicorn workers have used so far."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    ticks = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def add_storm_accounts(app, count: int) -> None:
    """An account per storming client: the login limits (LOGIN_PER_ACCOUNT, counted before
    the check) would refuse several logins of one account at once."""
    with app.app_context():
        password_hash = hash_password(TEST_PASSWORD)  # production's parameters
        for n in range(count):
            customer = Customer(number=storm_number(n), first_name="Jan", last_name=f"Nowak {n}")
            db.session.add(Account(customer=customer, password_hash=password_hash))
        db.session.commit()
        db.engine.dispose()


def storm_number(n: int) -> str:
    return str(700000 + n)


def log_in(browser: Browser, login: str) -> tuple[int | None, list[str]]:
    """The login's status and the cookies it set (name=value)."""
    body = urlencode(
        {"csrf_token": browser.csrf_token.decode(), "login": login, "password": TEST_PASSWORD}
    )
    headers = {
        "X-Forwarded-For": browser.address,
        "Cookie": browser.cookie,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    connection = http.client.HTTPConnection("127.0.0.1", browser.server.port, timeout=60)
    try:
        connection.request("POST", "/?storm=1", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        cookies = [
            value.split(";", 1)[0]
            for name, value in response.getheaders()
            if name.lower() == "set-cookie"
        ]
        return response.status, cookies
    except OSError:
        return None, []
    finally:
        connection.close()


def warm_up(server: Gunicorn, signed_in: dict) -> None:
    """Every worker renders both pages once before anything is measured."""
    for _ in range(40):
        server.request("GET", "/")
        server.request("GET", HOME, signed_in)


class Storm:
    def __init__(self, server: Gunicorn, clients: int, seconds: float, new_browsers: bool):
        self.server = server
        self.new_browsers = new_browsers
        self.clients = clients
        self.seconds = seconds
        self.stop = threading.Event()
        self.logins: list[float] = []  # seconds of each 303
        self.busy: list[float] = []  # seconds of each 503
        self.other: dict[object, int] = {}
        self.pages: dict[str, list[float]] = {"/": [], HOME: []}
        self.page_failures: dict[str, int] = {"/": 0, HOME: 0}
        self.lock = threading.Lock()
        self.cpu = 0.0  # the workers' CPU seconds during the run

    def log_in_again(self, number: int) -> None:
        address = f"198.51.{number // 250}.{number % 250 + 1}"
        device = ""  # a returning customer's browser: its device cookie from the first login
        while not self.stop.is_set():
            browser = Browser(self.server, address)
            if device:
                browser.cookie = f"{browser.cookie}; {device}"
            start = time.perf_counter()
            status, cookies = log_in(browser, storm_number(number))
            took = time.perf_counter() - start
            if not self.new_browsers:
                device = next((c for c in cookies if "ebok_device=" in c), device)
            with self.lock:
                if status in (200, 303):
                    self.logins.append(took)
                elif status == 503:
                    self.busy.append(took)
                else:
                    self.other[status] = self.other.get(status, 0) + 1
            if status == 503:  # as the message asks: Retry-After
                self.stop.wait(RETRY_AFTER)

    def probe(self, path: str, headers: dict) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            status = self.server.request("GET", path, headers)[0]
            took = time.perf_counter() - start
            if status == 200:
                self.pages[path].append(took)
            else:
                self.page_failures[path] += 1
            self.stop.wait(max(0.0, PERIOD - took))

    def run(self, signed_in: dict) -> None:
        threads = [
            threading.Thread(target=self.log_in_again, args=(n,)) for n in range(self.clients)
        ]
        threads.append(threading.Thread(target=self.probe, args=("/", {})))
        threads.append(threading.Thread(target=self.probe, args=(HOME, signed_in)))
        for thread in threads:
            thread.start()
        self.stop.wait(self.seconds)
        self.stop.set()
        for thread in threads:
            thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per row instead of 20")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--clients", default="0,4,16,48")
    parser.add_argument("--threads", type=int, help="per worker, instead of gunicorn.conf.py's")
    parser.add_argument(
        "--new-browsers",
        action="store_true",
        help="every login from a browser new to the account (each queues an e-mail and an SMS)",
    )
    parser.add_argument(
        "--before",
        action="store_true",
        help="as it was before the hashing gate: sync workers, argon2 p=4, no bound on hashes",
    )
    arguments = parser.parse_args()
    seconds = arguments.seconds or (10 if arguments.quick else 20)
    rows = [int(n) for n in arguments.clients.split(",")]

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    argon2 = {key: value for key, value in DEFAULTS.items() if key.startswith("ARGON2_")}
    if arguments.before:
        argon2["ARGON2_PARALLELISM"] = 4
    per_second, cpu, cores = capacity(argon2)
    print(
        f"hashing capacity: {per_second:.1f} logins/s ({cores} cores ÷ {cpu * 1000:.0f} ms "
        f"CPU per verify, t={argon2['ARGON2_TIME_COST']}, "
        f"{argon2['ARGON2_MEMORY_COST']} KiB, p={argon2['ARGON2_PARALLELISM']})"
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database_uri = f"sqlite:///{folder}/storm.db"
        settings = {k: v for k, v in TEST_CONFIG.items() if not k.startswith("ARGON2_")}
        app = create_app({**settings, **argon2, "SQLALCHEMY_DATABASE_URI": database_uri})
        with app.app_context():
            db.create_all()
        add_customers(app)  # hashed with production's argon2 parameters
        add_storm_accounts(app, max(rows))
        environment = {
            "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
            "FLASK_HEALTH_BIND": "",
            "FLASK_HASHING_GATE_DIR": str(folder / "hashing-gate"),
            **{f"FLASK_{key}": str(value) for key, value in argon2.items()},
        }
        if arguments.before:
            environment["FLASK_HASHING_SLOTS"] = "1000"  # as good as no bound
        # gunicorn.conf.py's workers and threads (the command line would override them).
        import runpy

        conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
        workers, threads = conf["workers"], arguments.threads or conf["threads"]
        worker_class = conf["worker_class"]
        if arguments.before:
            threads, worker_class = None, "sync"
        server = Gunicorn(
            folder,
            environment,
            workers,
            config=ROOT / "gunicorn.conf.py",
            threads=threads,
        )
        print(f"gunicorn: {workers} {worker_class} workers × {threads or 1} threads")
        try:
            server.wait_until_serving()
            customer = Browser(server, "192.0.2.1")
            signed_in = {
                "X-Forwarded-For": customer.address,
                "Cookie": customer.signed_in_cookies(NUMBER, TEST_PASSWORD),
            }
            warm_up(server, signed_in)
            print()
            print(
                "| N | logins/s | busy (503)/s | login p50 / p99 | GET / p50 / p99 "
                "| Strona Główna p50 / p99 |"
            )
            print("| --- | --- | --- | --- | --- | --- |")
            results = {}
            for clients in rows:
                storm = Storm(server, clients, seconds, arguments.new_browsers)
                cpu_before = workers_cpu_seconds(server.process.pid)
                storm.run(signed_in)
                storm.cpu = workers_cpu_seconds(server.process.pid) - cpu_before
                results[clients] = storm
                logins = f"{len(storm.logins) / seconds:.1f}" if clients else "—"
                busy = f"{len(storm.busy) / seconds:.1f}" if clients else "—"
                print(
                    f"| {clients} | {logins} | {busy} | {ms(storm.logins) if clients else '—'} "
                    f"| {ms(storm.pages['/'])} | {ms(storm.pages[HOME])} |",
                    flush=True,
                )
                problems = {
                    **storm.other,
                    **{f"failed {p}": n for p, n in storm.page_failures.items() if n},
                }
                if problems:
                    print(f"  other answers: {problems}")
                if storm.busy:
                    late = sum(1 for took in storm.busy if took > 1)
                    print(
                        f"  busy answers: {len(storm.busy)}, {late} of them after a wait "
                        f"(the bound passed), the longest {max(storm.busy) * 1000:.0f} ms"
                    )
                if storm.logins:
                    print(
                        f"  logins per CPU second of the workers: "
                        f"{len(storm.logins) / storm.cpu:.2f} (one verify alone: {1 / cpu:.2f})"
                    )
        finally:
            server.stop()
            server.wait_until_stopped()
    print()
    top = max(rows)
    if top:
        storm = results[top]
        rate = len(storm.logins) / seconds
        print(
            f"logins/s at N={top}: app {rate:.1f}, baseline (capacity) {per_second:.1f}, "
            f"ratio {rate / per_second:.2f} (goal >= 0.9)"
        )
        print(
            f"GET / p99 ms at N={top}: {percentile(storm.pages['/'], 99) * 1000:.0f} (goal <= 150)"
        )
        print(
            f"Strona Główna p99 ms at N={top}: "
            f"{percentile(storm.pages[HOME], 99) * 1000:.0f} (goal <= 250)"
        )
        if storm.logins:
            print(f"longest login at N={top}: {max(storm.logins) * 1000:.0f} ms")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
