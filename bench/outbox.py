"""How fast the outbox worker sends e-mail, against raw smtplib in the same run.

Run on demand: .venv/bin/python bench/outbox.py [--quick] [--messages N] [--profile]

Both sides send the same messages to the same aiosmtpd sink (its own process, so it does
not share our interpreter's lock). The baseline is what a hand-written script would do:
build each message with the standard library (EmailMessage, the same headers and both
parts) and send it over one smtplib connection, with no database at all. The app side is
`outbox deliver`'s work (run_worker): claim from the database, send, and commit each
message's outcome as soon as the server has accepted it (issue 19.1: a killed worker
repeats only what was on the wire), with OUTBOX_SENDERS_PER_CHANNEL senders (4, each over
its own connection; `1 sender` rows: one connection, as the baseline). Rounds are
interleaved and the median of each side is taken. Prints, per database:

    outbox deliver sqlite msg/s: app X, baseline Y, ratio Z
    outbox deliver sqlite msg per CPU second: app X, baseline Y, ratio Z
    outbox deliver sqlite 1 sender msg/s: ...   (and msg per CPU second)
    outbox deliver postgresql msg/s: app X, baseline Y, ratio Z
    outbox deliver postgresql msg per CPU second: app X, baseline Y, ratio Z
    outbox deliver postgresql 1 sender msg/s: ...   (and msg per CPU second)
    outbox deliver postgresql 3 workers msg/s: app X, baseline Y, ratio Z
    code to the SMS gateway postgresql ms p50/p95: woken X/Y, polling X/Y, baseline X/Y

Goal for the last line (issue 26): p95 <= 100 ms with the worker woken by LISTEN/NOTIFY.
It measures from the commit of the request that wrote the code (what "Dalej" does once the
form is checked) to the gateway receiving it, with a looping worker at the production poll
interval (1 s); "polling" is the same worker with the listener off, "baseline" a direct
HTTP POST of the same text to the same gateway (no database, no worker).

Goal: msg/s ratio >= 0.6 with the default senders, and msg per CPU second ratio >= 0.5
with one sender. That is the price of one commit per message (issue 19.1) against a sink
on loopback that answers in about a millisecond: recording at checkpoints measured
0.95-1.0 on the same machine (2026-12-04), per-message commits 0.55-0.70 msg/s and
0.58-0.70 per CPU second. Against a real SMTP server, tens of milliseconds per message,
the commit is a few per cent of the time.

The parallel row runs several worker processes on one PostgreSQL outbox (claims with
FOR UPDATE SKIP LOCKED) against as many raw smtplib senders, and checks that every
message reached the sink exactly once. --profile prints where the app side's time goes
(pyinstrument). PostgreSQL is skipped, saying so, when it is not reachable.
"""

import argparse
import collections
import multiprocessing
import os
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import sqlalchemy as sa  # noqa: E402
from support import TEST_CONFIG, ensure_database, with_test_templates  # noqa: E402

from ebok import create_app  # noqa: E402
from ebok.extensions import db  # noqa: E402
from ebok.messages import run_worker, send_email  # noqa: E402
from ebok.models import OutboxMessage  # noqa: E402

SENDER = "Strefa Klienta <no-reply@example.invalid>"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ebok_outbox"
PARALLEL_BATCH = 50  # smaller than the default 100, so every worker gets a share


# -- the sink: an aiosmtpd server in its own process, noting every Message-ID -------------


class _Sink:
    def __init__(self, log):
        self.log = log

    async def handle_DATA(self, server, session, envelope):
        for line in envelope.original_content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.log.write(line[11:].strip() + b"\n")
                break
        return "250 OK"


def run_sink(port: int, log_path: str) -> None:
    from aiosmtpd.controller import Controller

    # Blocked before the server's thread starts, so only sigwait below receives it.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    with open(log_path, "ab", buffering=0) as log:
        controller = Controller(_Sink(log), hostname="127.0.0.1", port=port)
        controller.start()
        signal.sigwait([signal.SIGTERM])
        controller.stop()


def start_sink(folder: str) -> tuple[subprocess.Popen, int, Path]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = Path(folder) / "sink.log"
    log_path.touch()
    sink = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--sink", str(port), str(log_path)]
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=1).quit()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    return sink, port, log_path


# -- the two sides -----------------------------------------------------------------------


def make_app(database_uri: str, port: int, senders: int | None = None, **engine):
    config = {
        **TEST_CONFIG,
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_DEFAULT_SENDER": SENDER,
        "LOG_LEVEL": "WARNING",  # the baseline logs nothing either
    }
    if senders is not None:
        config["OUTBOX_SENDERS_PER_CHANNEL"] = senders
    if engine:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **engine}
    # The e-mail it sends is one of the tests' templates (tests/templates/messages/_test).
    return with_test_templates(create_app(config))


def fill_outbox(app, count: int) -> list[tuple[str, str, str, str]]:
    """`count` pending e-mails; returns them as (to, subject, text, html) for the baseline."""
    with app.app_context():
        db.session.execute(sa.delete(OutboxMessage))
        for n in range(count):
            send_email(
                f"klient{n}@example.pl",
                "Rejestracja w Strefie Klienta",
                "_test/hello",
                name=f"Klient {n}",
                code=f"{n:06d}",
                link=f"https://ebok.example.pl/rejestracja/link/{uuid.uuid4().hex}",
            )
        db.session.commit()
        rows = db.session.execute(
            sa.select(
                OutboxMessage.recipient,
                OutboxMessage.subject,
                OutboxMessage.body_text,
                OutboxMessage.body_html,
            ).order_by(OutboxMessage.id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def app_side(app, profile: bool = False) -> tuple[int, float, float]:
    """Returns messages sent, wall seconds, CPU seconds of this process."""
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
    with app.app_context():
        if profiler:
            profiler.start()
        start, cpu_start = time.perf_counter(), time.process_time()
        totals = run_worker(limit=100)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        if profiler:
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        db.session.remove()
    return totals.sent, elapsed, cpu


def baseline_side(port: int, messages, tag: str) -> tuple[float, float]:
    """Raw smtplib: one connection, each message built with the standard library.
    Returns wall seconds and CPU seconds of this process."""
    start, cpu_start = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as connection:
        for n, (to, subject, text, html) in enumerate(messages):
            email = EmailMessage()
            email["From"] = SENDER
            email["To"] = to
            email["Subject"] = subject
            email["Date"] = formatdate(localtime=True)
            email["Message-ID"] = f"<baseline.{tag}.{n}@example.invalid>"
            email["Auto-Submitted"] = "auto-generated"
            email.set_content(text)
            email.add_alternative(html, subtype="html")
            connection.send_message(email)
    return time.perf_counter() - start, time.process_time() - cpu_start


def ratio_line(name: str, app_rates: list[float], baseline_rates: list[float]) -> None:
    app_rate, baseline_rate = statistics.median(app_rates), statistics.median(baseline_rates)
    print(
        f"{name}: app {app_rate:.0f}, baseline {baseline_rate:.0f}, "
        f"ratio {app_rate / baseline_rate:.2f}",
        flush=True,
    )


def one_worker(name: str, app, port: int, count: int, rounds: int, profile: bool) -> None:
    """Wall-clock rates, and rates per CPU second of the sending process (steadier on a
    loaded machine, where the sink's share of the CPU moves both wall figures)."""
    warm_up = fill_outbox(app, 20)
    app_side(app), baseline_side(port, warm_up, f"{name}.warm-up".replace(" ", "-"))
    rates = {"app": [], "baseline": [], "app_cpu": [], "baseline_cpu": []}
    for round_number in range(rounds):
        messages = fill_outbox(app, count)
        tag = f"{name}.{round_number}".replace(" ", "-")
        if round_number % 2:  # alternate which side goes first, as the load drifts
            _add(rates, "baseline", count, *baseline_side(port, messages, tag))
        sent, elapsed, cpu = app_side(app, profile and round_number == rounds - 1)
        assert sent == count, f"{name}: sent {sent} of {count}"
        _add(rates, "app", count, elapsed, cpu)
        if not round_number % 2:
            _add(rates, "baseline", count, *baseline_side(port, messages, tag))
    ratio_line(f"outbox deliver {name} msg/s", rates["app"], rates["baseline"])
    ratio_line(f"outbox deliver {name} msg per CPU second", rates["app_cpu"], rates["baseline_cpu"])


def _add(rates: dict, side: str, count: int, elapsed: float, cpu: float) -> None:
    rates[side].append(count / elapsed)
    rates[f"{side}_cpu"].append(count / max(cpu, 1e-6))


# -- several workers at once on PostgreSQL -------------------------------------------------


def _worker_process(app, go, results) -> None:
    go.wait()
    with app.app_context():
        results.put(run_worker(limit=PARALLEL_BATCH).sent)
        db.engine.dispose()


def _baseline_process(port, messages, tag, go, results) -> None:
    go.wait()
    baseline_side(port, messages, tag)
    results.put(len(messages))


def _timed_processes(target, argument_lists) -> tuple[float, list]:
    context = multiprocessing.get_context("fork")
    go, results = context.Event(), context.Queue()
    processes = [
        context.Process(target=target, args=(*args, go, results)) for args in argument_lists
    ]
    for process in processes:
        process.start()
    time.sleep(0.5)  # every process is waiting on `go`
    start = time.perf_counter()
    go.set()
    counts = [results.get(timeout=300) for _ in processes]
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join()
    return elapsed, counts


def parallel_workers(app, port, count, workers, rounds, log_path: Path) -> None:
    app_rates, baseline_rates = [], []
    for round_number in range(rounds):
        messages = fill_outbox(app, count)
        with app.app_context():
            db.engine.dispose()  # the children open their own connections
        before = len(log_path.read_bytes().splitlines())
        elapsed, sent = _timed_processes(_worker_process, [(app,)] * workers)
        received = log_path.read_bytes().splitlines()[before:]
        check_sent_once(app, count, sent, received)
        app_rates.append(count / elapsed)
        shares = [messages[n::workers] for n in range(workers)]
        tags = [f"parallel.{round_number}.{n}" for n in range(workers)]
        elapsed, _ = _timed_processes(
            _baseline_process, list(zip([port] * workers, shares, tags, strict=True))
        )
        baseline_rates.append(count / elapsed)
    ratio_line(f"outbox deliver postgresql {workers} workers msg/s", app_rates, baseline_rates)


def check_sent_once(app, count: int, sent: list[int], received: list[bytes]) -> None:
    doubles = [mid for mid, times in collections.Counter(received).items() if times > 1]
    with app.app_context():
        statuses = dict(
            db.session.execute(
                sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        db.session.remove()
    if doubles or len(received) != count or sum(sent) != count or statuses != {"sent": count}:
        raise SystemExit(
            f"DOUBLES OR LOSSES: {len(received)} received for {count}, {len(doubles)} twice, "
            f"workers reported {sent}, statuses {statuses}"
        )
    print(f"  {len(sent)} workers sent {sent} (sum {sum(sent)}): each message once", flush=True)


# -- a code from the commit to the SMS gateway (LISTEN/NOTIFY, issue 26) ----------------------


class _Gateway:
    """An SMS gateway on 127.0.0.1 that notes when each request arrived."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.arrived: list[float] = []
        self.changed = threading.Condition()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                self.rfile.read(int(self.headers["Content-Length"]))
                with gateway.changed:
                    gateway.arrived.append(time.perf_counter())
                    gateway.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.arrived) >= count, timeout=30):
                raise SystemExit("the SMS gateway never got the code")
            return self.arrived[count - 1]


def _percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"{statistics.median(ordered) * 1000:.1f}/{p95 * 1000:.1f}"


def code_latency(url: str, schema: str, count: int) -> None:
    """One line: a code's time from its commit to the gateway, woken and polling."""
    import random
    import threading

    import httpx

    from ebok.messages import send_sms, wakeup

    gateway = _Gateway()
    app = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_pre_ping": True,
                "connect_args": {"options": f"-csearch_path={schema}"},
            },
            "SMS_BACKEND": "http",
            "SMS_GATEWAY_URL": gateway.url,
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        db.create_all()

    def measure(listening: bool) -> list[float]:
        stop = threading.Event()
        listens = wakeup.listens
        if not listening:
            wakeup.listens = lambda url: False  # the same worker, polling only
        try:

            def work():
                with app.app_context():
                    run_worker(loop=True, interval=1.0, stop=stop)

            worker = threading.Thread(target=work)
            worker.start()
            time.sleep(1.5)  # connected and listening, its first looks over
            latencies = []
            with app.app_context():
                for _ in range(count):
                    time.sleep(random.uniform(0.01, 0.05))  # noqa: S311 (not a secret)
                    send_sms("+48600700800", "registration_code", code="123456", minutes=10)
                    started = time.perf_counter()
                    db.session.commit()
                    latencies.append(gateway.wait_for(len(gateway.arrived) + 1) - started)
                db.session.remove()
        finally:
            stop.set()
            worker.join()
            wakeup.listens = listens
        return latencies

    woken = measure(listening=True)
    polling = measure(listening=False)
    baseline = []
    with httpx.Client() as client:
        for _ in range(count):
            started = time.perf_counter()
            client.post(gateway.url, json={"to": "+48600700800", "text": "Kod: 123456"})
            baseline.append(gateway.wait_for(len(gateway.arrived)) - started)
    with app.app_context():
        db.engine.dispose()
    gateway.server.shutdown()
    print(
        "code to the SMS gateway postgresql ms p50/p95: "
        f"woken {_percentiles(woken)}, polling {_percentiles(polling)}, "
        f"baseline {_percentiles(baseline)} (goal: woken p95 <= 100)",
        flush=True,
    )


# -- the run ---------------------------------------------------------------------------------


def postgresql_schema(url: str):
    """A schema of our own in the PostgreSQL database, dropped afterwards; None if down."""
    try:
        ensure_database(url)  # ebok_outbox on a fresh machine
        admin = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with admin.begin() as connection:
            schema = f"bench_outbox_{uuid.uuid4().hex[:10]}"
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as error:
        print(f"outbox deliver postgresql: skipped, {url} unreachable ({error.orig})")
        return None, None
    return admin, schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, one round")
    parser.add_argument("--messages", type=int, help="messages per round (default 200)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5)")
    parser.add_argument("--workers", type=int, default=3, help="parallel workers (default 3)")
    parser.add_argument("--postgresql", default=PG_URL, help="database URL for PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="pyinstrument the app side")
    arguments = parser.parse_args()
    count = arguments.messages or (100 if arguments.quick else 200)
    rounds = arguments.rounds or (1 if arguments.quick else 5)
    print(f"load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}", flush=True)

    with tempfile.TemporaryDirectory() as folder:
        sink, port, log_path = start_sink(folder)
        try:
            sqlite = make_app(f"sqlite:///{folder}/bench.db", port)
            with sqlite.app_context():
                db.create_all()
            one_worker("sqlite", sqlite, port, count, rounds, arguments.profile)
            sqlite_1 = make_app(f"sqlite:///{folder}/bench.db", port, senders=1)
            one_worker("sqlite 1 sender", sqlite_1, port, count, rounds, False)

            admin, schema = postgresql_schema(arguments.postgresql)
            if admin is not None:
                try:
                    options = {"connect_args": {"options": f"-csearch_path={schema}"}}
                    pg = make_app(arguments.postgresql, port, **options)
                    with pg.app_context():
                        db.create_all()
                    one_worker("postgresql", pg, port, count, rounds, arguments.profile)
                    pg_1 = make_app(arguments.postgresql, port, senders=1, **options)
                    one_worker("postgresql 1 sender", pg_1, port, count, rounds, False)
                    with pg_1.app_context():
                        db.engine.dispose()
                    workers = arguments.workers
                    parallel_workers(pg, port, count * workers, workers, rounds, log_path)
                    with pg.app_context():
                        db.engine.dispose()
                    code_latency(arguments.postgresql, schema, 40 if arguments.quick else 100)
                finally:
                    with admin.begin() as connection:
                        connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
                    admin.dispose()
        finally:
            sink.terminate()
            sink.wait(timeout=10)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sink"]:
        run_sink(int(sys.argv[2]), sys.argv[3])
    else:
        main()
