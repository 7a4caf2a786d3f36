"""The one HTTP client of every outside service (ebok/outside/http.py, issue 23): one
client per process, its connections kept between calls (the SMS gateway and the payment
provider alike), a new client after a fork, no redirects followed."""

import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ebok.messages.backends import DeliveryError, HttpSmsBackend, Outgoing
from ebok.outside import http


class Gateway:
    """An SMS gateway on loopback counting the connections it accepted."""

    def __init__(self, status=200, location=None):
        self.connections = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                gateway.connections += 1

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def message(number: int) -> Outgoing:
    now = datetime(2026, 12, 4, 12, 0)
    return Outgoing(number, "sms", "+48600700805", None, "Kod: 123456", None, 1, now, now)


def backend(url: str) -> HttpSmsBackend:
    return HttpSmsBackend(
        {"SMS_GATEWAY_URL": url, "SMS_GATEWAY_TOKEN": "t", "SMS_SENDER": "Test", "SMS_TIMEOUT": 2}
    )


def test_messages_share_one_connection():
    gateway = Gateway()
    try:
        for number in range(5):
            backend(gateway.url).send(message(number))  # a new backend each time, as workers do
        assert gateway.connections == 1
    finally:
        gateway.stop()


def test_a_redirect_is_a_failure_not_followed():
    gateway = Gateway(status=307, location="http://127.0.0.1:9/elsewhere")
    try:
        with pytest.raises(DeliveryError, match="HTTP 307"):
            backend(gateway.url).send(message(1))
    finally:
        gateway.stop()


def test_a_forked_process_gets_a_client_of_its_own(monkeypatch):
    parent = http.shared_client()
    assert http.shared_client() is parent
    # A gunicorn worker is a fork: another process id, the parent's client inherited.
    monkeypatch.setattr(http.os, "getpid", lambda: -1)
    child = http.shared_client()
    assert child is not parent
    monkeypatch.undo()
    assert http.shared_client() is not child  # back in "the parent": a client of its own
    assert parent in http._inherited and child in http._inherited
    for client in (parent, child):
        client.close()
