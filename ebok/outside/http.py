"""The one HTTP client every outside service is called with (httpx).

One `httpx.Client` per process, made at its first use (so a gunicorn worker never shares
the master's sockets), keeps connections to each service open between calls. Every call
names its own timeout from the settings (connecting is bounded by CONNECT_TIMEOUT at
most), nothing follows a redirect (it would turn a POST into a GET or send a token on),
and the only retry is a connection that failed to open: nothing was sent yet, so it is
safe for any request. A request that may have reached the service is never repeated here;
the caller decides (the outbox retries later, a payment is reconciled).
"""

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

# Opening a TCP (and TLS) connection to a service on a good network takes milliseconds.
CONNECT_TIMEOUT = 3.0
CONNECT_RETRIES = 1
# Enough for the outbox's senders and a gunicorn worker's threads.
MAX_CONNECTIONS = 20

_lock = threading.Lock()
_clients: dict[int, "httpx.Client"] = {}
# Clients a fork inherited: kept (never closed, never used), since closing one here could
# end the parent's TLS sessions on the sockets both processes hold.
_inherited: list["httpx.Client"] = []


def shared_client() -> "httpx.Client":
    """This process's client (a new one after a fork). httpx is loaded here, by the
    processes that call an outside service (4 MB a web worker need not carry)."""
    import httpx

    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        with _lock:
            client = _clients.get(pid)
            if client is None:
                _inherited.extend(_clients.values())  # the parent's: never used here
                _clients.clear()
                client = httpx.Client(
                    transport=httpx.HTTPTransport(retries=CONNECT_RETRIES),
                    limits=httpx.Limits(
                        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
                    ),
                    follow_redirects=False,
                    trust_env=False,  # no proxy or .netrc from the environment
                )
                _clients[pid] = client
    return client


def timeout(seconds: float) -> "httpx.Timeout":
    """A call's bounds: `seconds` for each read and write and for a free connection, the
    connection itself at most CONNECT_TIMEOUT."""
    import httpx

    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))


def close() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
