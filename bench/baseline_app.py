"""The baseline for the login page: a bare Flask app that renders the same HTML with Jinja
and keeps a CSRF-like token in its session, and nothing else (no extensions, no headers).

bench/pages.py writes the template (the app's own login page, its token replaced by
{{ token }}) into a folder and starts gunicorn on `baseline_app:app` with
BENCH_TEMPLATE_FOLDER set; it is not part of the product.
"""

import os
import secrets

from flask import Flask, render_template, session

app = Flask(__name__, template_folder=os.environ.get("BENCH_TEMPLATE_FOLDER", "."))
app.secret_key = secrets.token_hex(32)


@app.get("/")
def login():
    token = session.setdefault("token", secrets.token_hex(20))
    return render_template("login.html", token=token)
