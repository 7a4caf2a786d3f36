"""The health listener: /healthz and /readyz on a port of their own, answered in each
gunicorn worker by a small thread, so a probe never waits in the queue of logins (every
sync worker may be busy hashing a password). gunicorn.conf.py's hooks use it: the master
opens the socket once, before any worker is forked; each worker serves it after fork."""

import socket
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from flask import Flask

from ebok.health.checks import PROBE_PATHS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Seconds a probe's connection may take to send its request: a stuck client holds the
# thread no longer.
REQUEST_TIMEOUT = 5


def open_listener(address: str) -> socket.socket:
    """A listening socket on "host:port" (the master's, inherited by the workers)."""
    host, _, port = address.rpartition(":")
    listener = socket.create_server((host.strip("[]"), int(port)))
    # Every worker's thread waits for the same socket: when a probe comes, all of them wake
    # and one takes it. Blocking, the others would wait inside accept() for the next probe,
    # and a worker leaving could not stop its thread.
    listener.setblocking(False)
    return listener


def serve_in_thread(listener: socket.socket, app: Flask) -> WSGIServer:
    """Answers probes on `listener` from a daemon thread of this process, until
    stop_serving() (when the worker exits)."""
    server = WSGIServer(listener.getsockname()[:2], _QuietHandler, bind_and_activate=False)
    server.socket = listener
    server.server_name, server.server_port = listener.getsockname()[:2]
    server.setup_environ()
    server.set_app(_only_probes(app))
    thread = threading.Thread(target=server.serve_forever, name="health", daemon=True)
    thread.start()
    return server


def stop_serving(server: WSGIServer) -> None:
    """Stops taking probes and finishes the one under way: a worker leaving (a reload, a
    restart) must not take a probe from the queue and then exit without answering it. The
    probes still waiting are taken by the other workers. Bounded: a probe's client that
    sends nothing holds the thread REQUEST_TIMEOUT seconds at most."""
    stopping = threading.Thread(target=server.shutdown, name="health-stop", daemon=True)
    stopping.start()
    stopping.join(REQUEST_TIMEOUT + 1)


def _only_probes(app: Flask) -> "WSGIApplication":
    """The app for the probes' paths; anything else is not served here."""

    def serve(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        if environ.get("PATH_INFO") in PROBE_PATHS:
            return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not found: this port answers /healthz, /readyz and /metrics only.\n"]

    return serve


class _QuietHandler(WSGIRequestHandler):
    """No line per probe on standard error: a load balancer probes every few seconds."""

    timeout = REQUEST_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        pass
