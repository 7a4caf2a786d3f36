"""Nie pamiętasz numeru klienta? (issue 24): the POST for a contact nobody has against the
same POST for a contact on file, alternating, in one run. The page must not tell them
apart by its timing either: the ratio should stay near 1 (within the machine's noise).

Run: .venv/bin/python bench/forgotten_number.py [--rounds N]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import TEST_CONFIG, Visitor  # noqa: E402

from ebok import create_app  # noqa: E402
from ebok.extensions import db  # noqa: E402
from ebok.models import Customer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                **TEST_CONFIG,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/b.db",
                "LOG_LEVEL": "WARNING",
                "RATELIMIT_CODE_SENDS": "1000000/minute",
                "RATELIMIT_NUMBER_REMINDERS_PER_CONTACT": "1000000/minute",
            }
        )
        with app.app_context():
            db.create_all()
            db.session.add(
                Customer(
                    number="200001",
                    first_name="Anna",
                    last_name="Nowak",
                    email="anna.nowak@example.com",
                    phone="+48512345678",
                )
            )
            db.session.commit()
        visitor = Visitor(app.test_client(), htmx=False)
        visitor.get("/nie-pamietam-numeru")
        cases = {
            "e-mail": ("anna.nowak@example.com", "nikt@example.com"),
            "SMS": ("512 345 678", "512 000 000"),
        }
        for channel, (known, unknown) in cases.items():
            times: dict[str, list[float]] = {"known": [], "unknown": []}
            for _ in range(rounds):
                for name, contact in (("known", known), ("unknown", unknown)):
                    started = time.perf_counter()
                    response = visitor.post(
                        "/nie-pamietam-numeru", {"contact": contact}, follow_redirects=False
                    )
                    times[name].append(time.perf_counter() - started)
                    assert response.status_code == 303, response.status_code
            known_ms = statistics.median(times["known"]) * 1000
            unknown_ms = statistics.median(times["unknown"]) * 1000
            print(
                f"forgotten number POST, {channel} (ms): app (unknown contact) {unknown_ms:.2f}, "
                f"baseline (known contact) {known_ms:.2f}, ratio {unknown_ms / known_ms:.3g}"
            )


if __name__ == "__main__":
    main()
