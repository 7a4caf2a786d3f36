"""Who is asking: the client address used for throttling and logs."""

from flask import request


def client_address() -> str:
    # With FLASK_PROXY_FIX_X_FOR set, ProxyFix has already put the real address here.
    return request.remote_addr or "unknown"
