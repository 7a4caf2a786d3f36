"""A login while too many customers log in (the machine's hashing slots taken, the queue
full), in a real browser: with JavaScript the 503 never replaces the form; its message goes
to the live region, and what was typed stays, so pressing Zaloguj again logs in."""

import fcntl
import os
from pathlib import Path

import pytest
from conftest import audit
from support import TEST_PASSWORD

BUSY = "Wielu klientów loguje się teraz. Spróbuj ponownie za 5 sekund."


@pytest.fixture
def live_config(tmp_path) -> dict:
    return {
        "HASHING_SLOTS": 1,
        "HASHING_QUEUE": 0,
        "HASHING_GATE_DIR": str(tmp_path / "hashing-gate"),
    }


def test_a_busy_login_is_told_and_the_form_keeps_what_was_typed(page, live, live_config):
    page.allowed_console_errors += ["status of 503"]
    folder = Path(live_config["HASHING_GATE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    slot = os.open(folder / "slot-0", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(slot, fcntl.LOCK_EX)  # another worker's login is hashing
        page.goto(live.url + "/")
        page.get_by_label("Numer klienta lub login").fill("200005")
        page.get_by_label("Hasło", exact=True).fill(TEST_PASSWORD)
        page.get_by_role("button", name="Zaloguj").click()
        page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('Wielu klientów')"
        )
        # No-break spaces keep Polish one-letter words with the next word: read as spaces.
        status = page.locator("#status").inner_text().replace("\u00a0", " ")
        assert BUSY in status
        assert page.get_by_label("Numer klienta lub login").input_value() == "200005"
        assert page.get_by_label("Hasło", exact=True).input_value() == TEST_PASSWORD
        audit(page, "login, too many customers logging in")
    finally:
        os.close(slot)

    page.get_by_role("button", name="Zaloguj").click()  # a moment later
    page.wait_for_url(live.url + "/strona-glowna")
