"""/healthz: the process answers (nothing else is touched). /readyz: the database and
Redis answer and the outbox is being delivered. Both answer JSON without a session or a
cookie, count against no rate limit (throttle counts only where a feature asks), are exempt
from flask.typing import ResponseReturnValue
from CSRF, and answer within HEALTH_CHECK_TIMEOUT."""

from flask import Blueprint, Response, current_app, jsonify
from flask.typing import ResponseReturnValue

from ebok import metrics
from ebok.health.checks import readiness_problems
from ebok.web.csrf import csrf

bp = Blueprint("health", __name__)
csrf.exempt(bp)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return _answer([])


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    return _answer(readiness_problems(current_app._get_current_object()))  # type: ignore[attr-defined]


@bp.get("/metrics")
def metrics_page() -> ResponseReturnValue:
    """Prometheus' text format; on the health listener, and on the app's port for this
    machine only (nginx), like the probes."""
    body, content_type = metrics.exposition()
    response = Response(body, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _answer(problems: list[str]) -> ResponseReturnValue:
    response = jsonify(status="fail" if problems else "ok", problems=problems)
    response.status_code = 503 if problems else 200
    response.headers["Cache-Control"] = "no-store"
    return response
