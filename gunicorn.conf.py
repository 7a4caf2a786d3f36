"""Gunicorn settings for Strefa Klienta in production (README, "Production"):

    gunicorn --config gunicorn.conf.py 'ebok:create_app()'

Options on the command line or in GUNICORN_CMD_ARGS override these, e.g. --bind."""

import ipaddress
import multiprocessing
import os
import re
import socket

from gunicorn.glogging import Logger

from ebok.clients import proxy_headers_trusted
from ebok.config import from_environment

# The app's settings (FLASK_ variables), for what gunicorn must know before the app runs.
SETTINGS = from_environment()

# nginx on the same machine proxies to this address (deploy/nginx/strefa-klienta.conf).
# The workers need a buffering proxy in front: on_starting() below refuses or warns when
# the bind reaches beyond this machine.
bind = ["127.0.0.1:8000"]
# Threads, so that a login waiting for one of the machine's hashing slots (argon2 runs
# outside the GIL; ebok/identity/hashing_gate.py) holds a thread, not a whole worker, and
# the cheap pages always find a free one: 2 workers per core + 1 (WEB_CONCURRENCY
# overrides), each with 32 threads (--threads overrides). Together they must outnumber the
# logins the hashing queue lets wait (FLASK_HASHING_WAIT_LIMIT × slots ÷ one hash's
# seconds, about 100 on 2 cores) plus the pages served meanwhile (README, "Login storms").
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or 0) or multiprocessing.cpu_count() * 2 + 1
threads = 32
# A request that takes longer is a stuck worker: it is killed and replaced.
timeout = 30
graceful_timeout = 30
# X-Forwarded-Proto (https) is trusted only from the proxy: the app's own rule
# (FLASK_PROXY_TRUSTED, by default nginx on this machine).
trusted = SETTINGS["PROXY_TRUSTED"]
forwarded_allow_ips = trusted if isinstance(trusted, str) else ",".join(trusted)
# Health checks (/healthz, /readyz) have a listener of their own, so a probe never waits
# behind logins in the app's queue: the master opens it once (on_starting, below) and each
# worker answers it from a small thread after fork (ebok/health/listener.py).
# FLASK_HEALTH_BIND="" turns it off; the probes still answer on the app's address as well.
health_bind = SETTINGS["HEALTH_BIND"]


def _open_health_listener(server):
    """In the master, once (not again on reload): the health listener's socket."""
    if health_bind:
        from ebok.health.listener import open_listener

        server.health_listener = open_listener(health_bind)
        host, port = server.health_listener.getsockname()[:2]
        server.log.info("Health checks at: http://%s:%s (/healthz, /readyz)", host, port)


def post_fork(server, worker):
    worker.health_listener = getattr(server, "health_listener", None)


def post_worker_init(worker):
    """In each worker, its app loaded: a thread answers the probes."""
    if worker.health_listener is not None:
        from ebok.health.listener import serve_in_thread

        worker.health_server = serve_in_thread(worker.health_listener, worker.wsgi)


def worker_exit(server, worker):
    """In a worker that is leaving: its thread stops taking probes, answering the one it
    has."""
    health_server = getattr(worker, "health_server", None)
    if health_server is not None:
        from ebok.health.listener import stop_serving

        stop_serving(health_server)


proc_name = "strefa-klienta"
# systemd starts, reloads (HUP) and stops it; gunicorn's control socket (gunicorn 25.1+)
# would sit in $HOME, shared by every gunicorn the user runs.
control_socket_disable = True

# Both logs go to standard output and error (the journal under systemd); the app's own
# log (logins, messages sent) is JSON lines on standard error, set up by the app
# (ebok/logs.py, level FLASK_LOG_LEVEL).
accesslog = "-"
errorlog = "-"
# No query string, no Referer, and the path as ProductionLogger leaves it: signed links carry
# their token in the path (/rejestracja/link/<token>), and logs never hold tokens.
access_log_format = (
    '%(h)s %({x-forwarded-for}i)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)

# A path segment this long is a token (signed links are 70+ characters); file names and
# the app's own paths are far shorter.
TOKEN_SEGMENT = re.compile(r"/[^/]{40,}")


class ProductionLogger(Logger):
    """Gunicorn's logger, whose access log gets only the request's method, path (tokens
    replaced), protocol and headers other than Referer, so no atom of the access log format
    can hold a token."""

    def atoms(self, resp, req, environ, request_time):
        path = TOKEN_SEGMENT.sub("/[token]", environ.get("PATH_INFO") or "")
        # Only the CGI variables: wsgi.* and werkzeug.* hold the full URL.
        cgi = {
            name: value
            for name, value in environ.items()
            if name.isupper() and name != "HTTP_REFERER"
        }
        cgi.update(PATH_INFO=path, RAW_URI=path, QUERY_STRING="")
        headers = [(name, value) for name, value in _headers(req) if name.upper() != "REFERER"]
        return super().atoms(resp, headers, cgi, request_time)


def _headers(req):
    headers = req.headers if hasattr(req, "headers") else req
    return headers.items() if hasattr(headers, "items") else headers


logger_class = ProductionLogger


def on_starting(server):
    """In the master, before gunicorn binds."""
    _refuse_or_warn_if_exposed(server)
    _open_health_listener(server)


def _refuse_or_warn_if_exposed(server):
    """A worker's thread waits for the whole request, so clients sending one header line
    every few seconds hold every thread (slowloris). Only a buffering proxy (nginx) in
    front, reading whole requests first, keeps them off. And the app trusting
    X-Forwarded-* makes sense only when no one else can reach gunicorn. So a bind beyond
    loopback or a unix socket is refused while proxy headers are trusted (unless the
    operator says the proxy is on another host), and warned about otherwise."""
    exposed = [_shown(address) for address in server.cfg.address if not _local(address)]
    if not exposed:
        return
    where = ", ".join(exposed)
    if proxy_headers_trusted(SETTINGS) and not SETTINGS["PROXY_ON_ANOTHER_HOST"]:
        raise RuntimeError(
            f"gunicorn listens on {where}, beyond this machine, while the app trusts "
            "X-Forwarded-* headers (FLASK_PROXY_FIX_X_FOR, FLASK_PROXY_FIX_X_PROTO): its "
            "workers must sit behind nginx (or another buffering proxy). Bind 127.0.0.1 or "
            "a unix socket; with the proxy on another host, name it in FLASK_PROXY_TRUSTED "
            "and set FLASK_PROXY_ON_ANOTHER_HOST=true."
        )
    server.log.warning(
        "!!! gunicorn listens on %s, beyond this machine: its workers must sit behind "
        "nginx (or another buffering proxy); reached directly, slow clients hold "
        "every thread and the site stops answering. See README, Production. !!!",
        where,
    )


def _local(address) -> bool:
    """A loopback address, or a unix socket (a path, or an fd:// of one)."""
    if isinstance(address, str):
        return True  # unix:PATH
    if isinstance(address, int):  # fd://N: the socket handed over
        with socket.socket(fileno=os.dup(address)) as handed_over:
            if handed_over.family == socket.AF_UNIX:
                return True
            address = handed_over.getsockname()
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _shown(address) -> str:
    if isinstance(address, tuple):
        host, port = address[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"fd://{address}"
