"""A server outage seen in a real browser (issue 10, finding 5): with JavaScript the 503
fragment never replaces the form; its words go to the live region and what the customer
typed stays, so they can send it again once the database is back."""

import contextlib
from pathlib import Path

from ebok.extensions import db


@contextlib.contextmanager
def database_away(live):
    """The SQLite file cannot be opened (a directory stands in its place) until the block
    ends; the pool's open connections are dropped, as a restarted server drops them."""
    with live.app.app_context():
        assert db.engine.url.database is not None  # the SQLite file's path
        path = Path(db.engine.url.database)
        db.engine.dispose()
    away = path.with_suffix(".away")
    path.rename(away)
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        away.rename(path)
        with live.app.app_context():
            db.engine.dispose()


def test_an_outage_is_told_and_the_form_keeps_what_was_typed(page, live):
    page.allowed_console_errors += ["status of 503"]
    page.goto(live.url + "/rejestracja/")
    field = page.get_by_label("Twój Numer Ewidencyjny Klienta")
    field.fill("200001")
    with database_away(live):
        page.get_by_role("button", name="Dalej").click()
        page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('niedostępna')"
        )
    # No-break spaces keep Polish one-letter words with the next word: read as spaces.
    status = page.locator("#status").inner_text().replace("\u00a0", " ")
    assert "Wpisane dane są nadal w formularzu" in status
    assert field.input_value() == "200001"
    assert page.title() == "Twój Numer Ewidencyjny Klienta – Rejestracja – Strefa Klienta Kablonet"

    page.get_by_role("button", name="Dalej").click()  # once the database is back
    page.get_by_role("radio", name="SMS").wait_for()
