"""Gunicorn settings for Strefa Klienta in production (README, "Production"):

    gunicorn --config gunicorn.conf.py 'ebok:create_app()'

Options on the command line or in GUNICORN_CMD_ARGS override these, e.g. --bind."""

import ipaddress
import multiprocessing
import os
import re
import shlex
import shutil
import socket
import stat
import tempfile

# Prometheus' multiprocess mode (ebok/metrics.py): each worker counts in files of its own
# in this folder and /metrics adds them up. prometheus_client reads the variable when it
# is imported, so it is set before anything of the app is: systemd's unit gives a folder
# under /run (RuntimeDirectory), otherwise a temporary one. Emptied when gunicorn starts.
# The folder is made in on_starting (a start refused before it leaves nothing behind) and,
# when it is this master's own temporary one, removed in on_exit. (gunicorn may run this
# file more than once in the master: the name, not a flag, says whose the folder is.)
own_metrics_dir = os.path.join(tempfile.gettempdir(), f"strefa-klienta-metrics-{os.getpid()}")
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or own_metrics_dir
metrics_dir_made_here = metrics_dir == own_metrics_dir
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

from gunicorn.glogging import Logger  # noqa: E402

from ebok.clients import proxy_headers_trusted  # noqa: E402
from ebok.config import from_environment  # noqa: E402


def _read_environment_file(path):
    """The FLASK_ variables of the environment file, as the shell reads its lines
    (KEY=value, quotes, comments), into this process's environment."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            name, equals, value = line.strip().partition("=")
            if equals and name.startswith("FLASK_") and name.isidentifier():
                os.environ[name] = " ".join(shlex.split(value))


# gunicorn runs this file again on every reload (HUP), in the master, before it forks the
# new workers, which then load the app with what it read. With STREFA_KLIENTA_ENV_FILE
# (the systemd unit sets it to /etc/strefa-klienta/env) the FLASK_ settings are read from
# the file each time, so new credentials reach the app without a restart: `systemctl
# reload strefa-klienta` (README, "Rotating credentials"). A setting removed from the file
# keeps its old value until a restart: set it to its default instead (e.g. `[]`).
if os.environ.get("STREFA_KLIENTA_ENV_FILE"):
    _read_environment_file(os.environ["STREFA_KLIENTA_ENV_FILE"])

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
    _empty_metrics_dir()
    _open_health_listener(server)


def _empty_metrics_dir():
    """Counts of an earlier run (files of processes long gone) would be added to this one's."""
    os.makedirs(metrics_dir, mode=0o700, exist_ok=True)
    if (
        metrics_dir_made_here
    ):  # a name in the shared temporary folder: ours, not a link to elsewhere
        status = os.lstat(metrics_dir)
        if not (stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid()):
            raise RuntimeError(
                f"{metrics_dir} is not this user's folder: set PROMETHEUS_MULTIPROC_DIR"
            )
    for entry in os.scandir(metrics_dir):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def on_exit(server):
    if metrics_dir_made_here:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def child_exit(server, worker):
    """In the master, a worker gone: its live gauges stop counting (its counters stay)."""
    from ebok.metrics import mark_process_dead

    mark_process_dead(worker.pid)


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
