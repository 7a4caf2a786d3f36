"""A login storm under real gunicorn (production's gthread workers): while logins hold the
machine's one hashing slot and fill its queue, a signed-in customer's page is answered, and
the logins past the queue get the busy answer at once. Counts and statuses only."""

import threading

import pytest
from support import (
    PROJECT_ROOT,
    TEST_PASSWORD,
    Browser,
    Gunicorn,
    add_customers,
    app_on_database,
    wait_for,
)

from ebok.extensions import db

# One slot and two places in the queue: three logins are taken, the rest refused.
SLOTS, QUEUE = 1, 2
LOGINS = 8
# Each hash takes about a second (argon2 with 75 passes), so the taken logins keep the
# slot and the queue full while the others arrive; no login waits past the bound.
SETTINGS = {
    "ARGON2_TIME_COST": 75,
    "HASHING_SLOTS": SLOTS,
    "HASHING_QUEUE": QUEUE,
    "HASHING_WAIT_LIMIT": 120,
    # Every login is the same account's: its own limit (5 in 15 minutes, counted before the
    # check and given back after it) would refuse some while others are counted.
    "RATELIMIT_LOGIN_PER_ACCOUNT": "100/15 minutes",
}
BUSY = "Wielu klientów loguje się teraz. Spróbuj ponownie za 5 sekund."


@pytest.fixture
def server(tmp_path):
    database_uri = f"sqlite:///{tmp_path}/ebok.sqlite3"
    app = app_on_database(database_uri, ARGON2_TIME_COST=SETTINGS["ARGON2_TIME_COST"])
    with app.app_context():
        db.create_all()
    add_customers(app)
    with app.app_context():
        db.engine.dispose()
    server = Gunicorn(
        tmp_path,
        {
            "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
            "FLASK_HEALTH_BIND": "",
            **{f"FLASK_{key}": str(value) for key, value in SETTINGS.items()},
        },
        workers=2,
        config=PROJECT_ROOT / "gunicorn.conf.py",
        threads=8,
    )
    try:
        server.wait_until_serving()
        yield server
    finally:
        server.stop()
        server.wait_until_stopped()


@pytest.mark.slow
def test_pages_are_served_while_logins_saturate_hashing_and_the_excess_is_told_to_wait(server):
    signed_in = Browser(server, "192.0.2.1")
    cookies = signed_in.signed_in_cookies("200005", TEST_PASSWORD)
    customers = [Browser(server, f"198.51.100.{n + 1}") for n in range(LOGINS)]
    answers: list[tuple[int | None, bytes]] = []
    lock = threading.Lock()

    def log_in(customer: Browser) -> None:
        answer = customer.post("/?storm=1", {"login": "200005", "password": TEST_PASSWORD})
        with lock:
            answers.append(answer)

    logins = [threading.Thread(target=log_in, args=(customer,)) for customer in customers]
    for login in logins:
        login.start()
    # The logins beyond the slot and the queue are answered while the others hash.
    wait_for(lambda: len(answers) >= LOGINS - SLOTS - QUEUE, "the busy answers")
    with lock:
        busy_first = [status for status, _ in answers]
    home = server.request(
        "GET", "/strona-glowna", {"Cookie": cookies, "X-Forwarded-For": "192.0.2.1"}
    )
    login_page = server.request("GET", "/")
    with lock:
        done_when_served = sum(1 for status, _ in answers if status == 303)
    for login in logins:
        login.join()

    assert busy_first == [503] * (LOGINS - SLOTS - QUEUE)
    assert home[0] == 200 and "Ewa Kamińska" in home[2].decode()
    assert login_page[0] == 200
    # The pages were answered while the hashing slot was still taken by the storm.
    assert done_when_served < SLOTS + QUEUE
    statuses = sorted(status or 0 for status, _ in answers)
    assert statuses == [303] * (SLOTS + QUEUE) + [503] * (LOGINS - SLOTS - QUEUE)
    for status, body in answers:
        if status == 503:
            page = body.decode()
            assert BUSY in page.replace("\xa0", " ")
            assert 'value="200005"' in page  # the login kept
            assert TEST_PASSWORD not in page
