"""A fake Przelewy24 on loopback, speaking its REST API v1 as the public documentation
describes it (SPEC §14): register, the payment page's token, verify, a transaction by
sessionId, and the notification it would send. It checks the HTTP Basic auth (posId:API
key) and every sign, and refuses what Przelewy24 would refuse (400/401), so a wrong sign
fails the test that caused it; `problems` lists every refusal.

It can be told to be down (connections refused), to hang (no answer until released), to
answer 500, or to give a token no page can have."""

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MERCHANT_ID = 123456
POS_ID = 123456
API_KEY = "fake-p24-reports-key"
CRC = "fake-p24-crc-key"

REGISTER_FIELDS = {
    "merchantId": int,
    "posId": int,
    "sessionId": str,
    "amount": int,
    "currency": str,
    "description": str,
    "email": str,
    "country": str,
    "language": str,
    "urlReturn": str,
    "urlStatus": str,
    "timeLimit": int,
    "sign": str,
}
VERIFY_FIELDS = {
    "merchantId": int,
    "posId": int,
    "sessionId": str,
    "amount": int,
    "currency": str,
    "orderId": int,
    "sign": str,
}
LANGUAGES = {
    "bg",
    "cs",
    "de",
    "en",
    "es",
    "fr",
    "hr",
    "hu",
    "it",
    "nl",
    "pl",
    "pt",
    "se",
    "sk",
    "ro",
}


def p24_sign(fields: dict[str, Any], crc: str = CRC) -> str:
    """Przelewy24's sign, written here independently of the app's."""
    text = json.dumps({**fields, "crc": crc}, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha384(text.encode()).hexdigest()


class FakePrzelewy24:
    def __init__(self):
        self.mode = "ok"  # "ok", "hang", "error", "bad_token"
        self.verify_delay = 0.0  # seconds verify takes: notifications at once overlap
        self.registered: dict[str, dict] = {}  # sessionId -> the register body
        self.paid: dict[str, int] = {}  # sessionId -> orderId
        self.verified: list[str] = []
        self.problems: list[str] = []
        self.calls: list[str] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # Headers and body go out as two writes: without this, Nagle's algorithm
                # holds the body for the client's delayed ACK (40 ms on Linux).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.calls.append(f"{method} {self.path}")
                if fake.mode == "hang":
                    fake.release.wait(30)
                    self.close_connection = True
                    return
                if fake.mode == "error":
                    self._answer(500, {"error": "Internal error", "code": 500})
                    return
                expected = "Basic " + base64.b64encode(f"{POS_ID}:{API_KEY}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    fake.problems.append(f"{method} {self.path}: wrong Basic auth")
                    self._answer(401, {"error": "Incorrect authentication", "code": 401})
                    return
                status, body = fake.route(method, self.path, raw)
                self._answer(status, body)

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

            def do_GET(self):
                self._handle("GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def config(self) -> dict[str, Any]:
        """The app's settings for this provider."""
        return {
            "PAYMENTS_PROVIDER": "przelewy24",
            "P24_URL": self.url,
            "P24_MERCHANT_ID": MERCHANT_ID,
            "P24_POS_ID": POS_ID,
            "P24_API_KEY": API_KEY,
            "P24_CRC": CRC,
            "P24_TIME_LIMIT": 15,
        }

    # -- the protocol ----------------------------------------------------------------

    def _refuse(self, what: str) -> tuple[int, dict]:
        self.problems.append(what)
        return 400, {"error": what, "code": 400}

    def _fields(self, raw: bytes, fields: dict[str, type]) -> dict | str:
        try:
            body = json.loads(raw)
        except ValueError:
            return "not JSON"
        if not isinstance(body, dict):
            return "not an object"
        for name, kind in fields.items():
            if type(body.get(name)) is not kind:
                return f"{name} missing or not {kind.__name__}"
        if body["merchantId"] != MERCHANT_ID or body["posId"] != POS_ID:
            return "wrong merchantId or posId"
        return body

    def route(self, method: str, path: str, raw: bytes) -> tuple[int, dict]:
        if method == "POST" and path == "/api/v1/transaction/register":
            return self.register(raw)
        if method == "PUT" and path == "/api/v1/transaction/verify":
            return self.verify(raw)
        prefix = "/api/v1/transaction/by/sessionId/"
        if method == "GET" and path.startswith(prefix):
            return self.by_session(path[len(prefix) :])
        return 404, {"error": "Not found", "code": 404}

    def register(self, raw: bytes) -> tuple[int, dict]:
        body = self._fields(raw, REGISTER_FIELDS)
        if isinstance(body, str):
            return self._refuse(f"register: {body}")
        signed = {key: body[key] for key in ("sessionId", "merchantId", "amount", "currency")}
        if body["sign"] != p24_sign(signed):
            return self._refuse("register: wrong sign")
        if body["language"] not in LANGUAGES or body["country"] != "PL":
            return self._refuse("register: language or country not supported")
        if body["sessionId"] in self.registered:
            return self._refuse("register: sessionId used before")
        if body["amount"] <= 0 or len(body["description"]) > 1024:
            return self._refuse("register: amount or description")
        self.registered[body["sessionId"]] = body
        if self.mode == "bad_token":
            return 200, {"data": {"token": "../<script>"}, "responseCode": 0}
        token = secrets.token_hex(16).upper()
        body["token"] = token
        return 200, {"data": {"token": token}, "responseCode": 0}

    def verify(self, raw: bytes) -> tuple[int, dict]:
        body = self._fields(raw, VERIFY_FIELDS)
        if isinstance(body, str):
            return self._refuse(f"verify: {body}")
        signed = {key: body[key] for key in ("sessionId", "orderId", "amount", "currency")}
        if body["sign"] != p24_sign(signed):
            return self._refuse("verify: wrong sign")
        registered = self.registered.get(body["sessionId"])
        if registered is None or self.paid.get(body["sessionId"]) != body["orderId"]:
            return self._refuse("verify: no such paid transaction")
        if (registered["amount"], registered["currency"]) != (body["amount"], body["currency"]):
            return self._refuse("verify: amount or currency differs")
        if self.verify_delay:
            time.sleep(self.verify_delay)
        with self._lock:
            self.verified.append(body["sessionId"])
        return 200, {"data": {"status": "success"}, "responseCode": 0}

    def by_session(self, session_id: str) -> tuple[int, dict]:
        registered = self.registered.get(session_id)
        if registered is None:
            return 404, {"error": "Transaction not found", "code": 404}
        order_id = self.paid.get(session_id)
        data = {
            "statement": f"p24-{session_id[:8]}",
            "orderId": order_id or 0,
            "sessionId": session_id,
            "status": 2 if order_id else 0,
            "amount": registered["amount"],
            "currency": registered["currency"],
        }
        return 200, {"data": data, "responseCode": 0}

    # -- what the tests do --------------------------------------------------------------

    def pay(self, session_id: str, *, amount: int | None = None, crc: str = CRC) -> bytes:
        """The customer pays on the provider's page: the notification Przelewy24 then
        POSTs to urlStatus (signed with `crc`; another amount to forge one)."""
        registered = self.registered[session_id]
        order_id = self.paid.setdefault(session_id, secrets.randbelow(10**9) + 1)
        fields = {
            "merchantId": MERCHANT_ID,
            "posId": POS_ID,
            "sessionId": session_id,
            "amount": registered["amount"] if amount is None else amount,
            "originAmount": registered["amount"] if amount is None else amount,
            "currency": registered["currency"],
            "orderId": order_id,
            "methodId": 154,
            "statement": f"p24-{session_id[:8]}",
        }
        return json.dumps({**fields, "sign": p24_sign(fields, crc)}).encode()

    def stop(self) -> None:
        """Down: connections refused from now on."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
