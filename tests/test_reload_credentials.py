"""New credentials without a restart (issue 28, 15c): on `systemctl reload` (HUP)
gunicorn.conf.py reads the environment file again, and the new workers use what it says
while the old ones finish; no request goes unanswered meanwhile."""

import signal
import threading

import pytest
from support import PROJECT_ROOT, Gunicorn, add_customers, app_on_database, wait_for

from ebok.extensions import db


@pytest.mark.slow
def test_a_reload_reads_the_environment_file_again(tmp_path):
    database_uri = f"sqlite:///{tmp_path}/ebok.sqlite3"
    app = app_on_database(database_uri)
    with app.app_context():
        db.create_all()
    add_customers(app)
    environment_file = tmp_path / "env"
    environment_file.write_text('# the operator\'s\nFLASK_CUSTOMER_SERVICE_PHONE="22 555 01 23"\n')
    server = Gunicorn(
        tmp_path,
        {
            "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
            "FLASK_HEALTH_BIND": "",
            "STREFA_KLIENTA_ENV_FILE": str(environment_file),
        },
        workers=2,
        config=PROJECT_ROOT / "gunicorn.conf.py",
    )
    answers: list[int | None] = []
    stop = threading.Event()

    def keep_asking():
        while not stop.is_set():
            answers.append(server.request("GET", "/")[0])

    try:
        server.wait_until_serving()
        assert b"tel:225550123" in server.request("GET", "/")[2]
        asking = threading.Thread(target=keep_asking)
        asking.start()
        environment_file.write_text('FLASK_CUSTOMER_SERVICE_PHONE="22 555 09 99"\n')
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: b"tel:225550999" in server.request("GET", "/")[2], "the new workers")
        stop.set()
        asking.join()
    finally:
        stop.set()
        server.stop()
        server.wait_until_stopped()
    assert answers and set(answers) == {200}
