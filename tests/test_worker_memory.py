"""What a web worker holds (issue 26): libraries only the command line or a rare page
needs stay out of the workers that never use them (bench/memory.py measures the rest)."""

import json
import subprocess
import sys

from support.actors import PRODUCTION_ENVIRONMENT

# In a fresh interpreter: this one has loaded everything the other tests use.
SERVE_PAGES = """
import json, sys
from app import app
client = app.test_client()
for path in ("/", "/sw.js", "/instrukcja"):
    assert client.get(path, base_url="https://localhost").status_code == 200, path
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


# `flask db` still migrates: tests/test_operations.py runs `db upgrade` through the CLI.
def test_a_worker_serving_pages_loads_neither_alembic_nor_fpdf_nor_an_unused_driver(tmp_path):
    environment = {
        **PRODUCTION_ENVIRONMENT,
        "FLASK_SECRET_KEY": "c4f1e7a9b2d85e3f60a1c9d7b4e2f8a3c5d1e9b7a6f4c2e0",
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/worker.db",
        "FLASK_MAIL_BACKEND": "dev",
        "FLASK_SMS_BACKEND": "dev",
        "FLASK_STATIC_BUILD_FOLDER": str(tmp_path / "static"),
        "PATH": "/usr/bin:/bin",
    }
    loaded = json.loads(
        subprocess.run(  # noqa: S603 (our interpreter, our code)
            [sys.executable, "-c", SERVE_PAGES],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert "flask" in loaded
    assert not {"alembic", "flask_migrate", "mako", "fpdf", "fontTools", "psycopg", "httpx"} & set(
        loaded
    )
