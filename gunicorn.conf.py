"""Gunicorn settings for Strefa Klienta in production (README, "Production"):

    gunicorn --config gunicorn.conf.py 'ebok:create_app()'

Options on the command line or in GUNICORN_CMD_ARGS override these, e.g. --bind."""

import multiprocessing
import os
import re

from gunicorn.glogging import Logger

# nginx on the same machine proxies to this address (deploy/nginx/strefa-klienta.conf).
bind = ["127.0.0.1:8000"]
# Logins hash with argon2 and keep a core busy; WEB_CONCURRENCY overrides the rule of thumb.
workers = int(os.environ.get("WEB_CONCURRENCY") or 0) or multiprocessing.cpu_count() * 2 + 1
# A request that takes longer is a stuck worker: it is killed and replaced.
timeout = 30
graceful_timeout = 30
# Health checks (/healthz, /readyz) have a listener of their own, so a probe never waits
# behind logins in the app's queue: the master opens it once (on_starting) and each worker
# answers it from a small thread after fork (ebok/health/listener.py). FLASK_HEALTH_BIND=""
# turns it off; the probes still answer on the app's address as well.
health_bind = os.environ.get("FLASK_HEALTH_BIND", "127.0.0.1:8001")


def on_starting(server):
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

        serve_in_thread(worker.health_listener, worker.wsgi)


# X-Forwarded-Proto (https) is trusted only from the proxy on this machine.
forwarded_allow_ips = "127.0.0.1,::1"
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
