"""What an attacker's request costs (issue 9.1), each against a baseline measured in the
same run:

- the password check on a password of many distinct refused characters, against the
  quadratic ordering it had before (`sorted(set(p) - ALLOWED, key=p.index)`), at a size the
  old code gets through in about a second (the 250,000 characters of the report took 28 s);
- a 3 MB password POST and a 20 MB form POST, against an ordinary login POST.

Run: .venv/bin/python bench/abuse.py
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import TEST_CONFIG, Visitor  # noqa: E402

from ebok import create_app  # noqa: E402
from ebok.extensions import db  # noqa: E402
from ebok.identity.passwords import ALLOWED_CHARACTERS, password_problems  # noqa: E402

DISTINCT_CHARACTERS = 100_000


def median_ms(action, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def line(name: str, app_ms: float, baseline_ms: float) -> None:
    print(f"{name}: app {app_ms:.2f}, baseline {baseline_ms:.2f}, ratio {app_ms / baseline_ms:.3g}")


def main() -> None:
    password = "".join(chr(0x100 + index) for index in range(DISTINCT_CHARACTERS))
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{folder}/b.db"
        app = create_app(
            {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database, "LOG_LEVEL": "WARNING"}
        )
        with app.app_context():
            db.create_all()
        with app.test_request_context():
            app_ms = median_ms(lambda: password_problems(password))
            baseline_ms = median_ms(
                lambda: sorted(set(password) - ALLOWED_CHARACTERS, key=password.index), repeat=1
            )
        line(
            f"password check, {DISTINCT_CHARACTERS} distinct refused characters (ms)",
            app_ms,
            baseline_ms,
        )

        visitor = Visitor(app.test_client(), htmx=False)
        visitor.get("/")
        login_ms = median_ms(lambda: visitor.post("/", {"login": "1", "password": "x"}))
        huge_password = "A" * (3 * 1024 * 1024)
        huge_ms = median_ms(lambda: visitor.post("/moje-konto/haslo", {"password": huge_password}))
        line("3 MB password POST, answered 413 (ms)", huge_ms, login_ms)
        body = "A" * (20 * 1024 * 1024)
        body_ms = median_ms(lambda: visitor.post("/", {"login": body}), repeat=3)
        line("20 MB form POST, answered 413, client encoding included (ms)", body_ms, login_ms)


if __name__ == "__main__":
    main()
