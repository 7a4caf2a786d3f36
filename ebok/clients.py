"""Who is asking: the client address used for throttling and logs, and which peers may
tell it (the proxy in front)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING, Any

from flask import request
from ua_parser import parse as parse_user_agent
from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def client_address() -> str:
    # Behind a trusted proxy, TrustedProxyFix has already put the real address here.
    return request.remote_addr or "unknown"


def client_network() -> str:
    """The client's address shortened to its network, as the customer's session list and
    login history show it: a /24 of IPv4, a /48 of IPv6 (a site; its /64 would be one
    household's line, more than the customer needs to recognise it)."""
    try:
        address = ip_address(client_address().split("%", 1)[0])
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ip_network(f"{address}/{prefix}", strict=False))


@dataclass(frozen=True)
class Client:
    """A client as the customer's session list and login history show it."""

    browser: str
    system: str
    network: str


def this_client() -> Client:
    """The browser and system in words ("Firefox", "Windows 10"; empty when the
    User-Agent names nothing known, by ua-parser's maintained rules) and the network of
    the client's address."""
    browser, system = _describe_user_agent(request.user_agent.string[:1000])
    return Client(browser, system, client_network())


@lru_cache(maxsize=256)
def _describe_user_agent(user_agent: str) -> tuple[str, str]:
    parsed = parse_user_agent(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else ""
    system = ""
    if parsed.os:
        system = " ".join(part for part in (parsed.os.family, parsed.os.major) if part)
    return browser[:100], system[:100]


def proxy_headers_trusted(config: Mapping[str, Any]) -> bool:
    """Whether X-Forwarded-For / -Proto are read at all (FLASK_PROXY_FIX_X_FOR / _PROTO)."""
    return bool(config["PROXY_FIX_X_FOR"] or config["PROXY_FIX_X_PROTO"])


class TrustedProxyFix:
    """ProxyFix for requests that come from a trusted proxy (FLASK_PROXY_TRUSTED), the app
    as it is for everyone else. ProxyFix alone believes X-Forwarded-For from whoever
    connects: a client reaching gunicorn directly could then pick its own address
    (a fresh rate limit per request, any address in the audit log) and claim https.

    A peer without an IP address is a unix socket, which only processes on this machine
    with the socket file's permissions can reach: the proxy."""

    def __init__(
        self, app: "WSGIApplication", trusted: list[str], x_for: int, x_proto: int
    ) -> None:
        self.app = app
        self.proxied = ProxyFix(app, x_for=x_for, x_proto=x_proto)
        self.trusted = trusted_networks(trusted)

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        if self._from_trusted(environ.get("REMOTE_ADDR") or ""):
            return self.proxied(environ, start_response)
        return self.app(environ, start_response)

    def _from_trusted(self, peer: str) -> bool:
        if not peer:
            return True  # a unix socket
        try:
            address = ip_address(peer.split("%", 1)[0])  # without an IPv6 zone
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket
        return any(address in network for network in self.trusted)


def trusted_networks(values: list[str] | str) -> list[IPv4Network | IPv6Network]:
    """FLASK_PROXY_TRUSTED: addresses or networks, as a JSON list or separated by commas."""
    if isinstance(values, str):
        values = [value.strip() for value in values.split(",") if value.strip()]
    try:
        return [ip_network(value, strict=False) for value in values]
    except ValueError as error:
        raise RuntimeError(
            f"FLASK_PROXY_TRUSTED must list IP addresses or networks of the proxies in "
            f'front, e.g. \'["127.0.0.1", "::1"]\' or \'["10.0.0.0/24"]\': {error}'
        ) from None
