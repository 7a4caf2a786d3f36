"""Przelewy24's REST API v1, as its public documentation describes it (SPEC §14):

- register: POST {url}/api/v1/transaction/register; the answer's data.token gives the
  customer's page {url}/trnRequest/{token};
- the notification it POSTs to our urlStatus;
- verify: PUT {url}/api/v1/transaction/verify: the payment counts only once it succeeds;
- a transaction by our sessionId: GET {url}/api/v1/transaction/by/sessionId/{sessionId}
  (reconciliation of a notification that never came).

HTTP Basic auth as posId:API key; every sign is the SHA-384 hex of the compact JSON (no
spaces, slashes and non-ASCII unescaped) of the documented fields in their order, plus
the CRC key as "crc".
"""

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ebok.outside import http
from ebok.payments.providers import (
    Notification,
    ProviderUnavailable,
    Registration,
    Transaction,
)

log = logging.getLogger("ebok.payments")

REGISTER_SIGN = ("sessionId", "merchantId", "amount", "currency")
NOTIFICATION_SIGN = (
    "merchantId",
    "posId",
    "sessionId",
    "amount",
    "originAmount",
    "currency",
    "orderId",
    "methodId",
    "statement",
)
VERIFY_SIGN = ("sessionId", "orderId", "amount", "currency")
# The payment page's languages (ISO 639-1, as Przelewy24 lists them). Ukrainian is not
# among them: a Ukrainian customer gets the English page.
LANGUAGES = (
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
)
FALLBACK_LANGUAGES = {"uk": "en"}
# A transaction's status in the provider's answer: 0 no payment, 1 advance payment,
# 2 payment made, 3 payment returned.
STATUS_PAID = (1, 2)


def sign(fields: Mapping[str, Any], crc: str) -> str:
    """The SHA-384 hex of {...fields, "crc": crc} as compact JSON, slashes and non-ASCII
    as they are (PHP's JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)."""
    text = json.dumps({**fields, "crc": crc}, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha384(text.encode("utf-8")).hexdigest()


def page_language(language: str) -> str:
    language = FALLBACK_LANGUAGES.get(language, language)
    return language if language in LANGUAGES else "pl"


class Przelewy24:
    name = "przelewy24"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.url = str(config["P24_URL"] or "").rstrip("/")
        self.merchant_id = int(config["P24_MERCHANT_ID"] or 0)
        self.pos_id = int(config["P24_POS_ID"] or 0)
        self.auth = (str(self.pos_id), str(config["P24_API_KEY"] or ""))
        self.crc = str(config["P24_CRC"] or "")
        self.timeout = http.timeout(float(config["PAYMENTS_TIMEOUT"]))

    # -- the calls ---------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        """One call; the answer's JSON object. Anything else is ProviderUnavailable."""
        import httpx  # loaded with the shared client, by the workers that take payments

        try:
            response = http.shared_client().request(
                method,
                f"{self.url}/api/v1/{path}",
                json=body,
                auth=self.auth,
                timeout=self.timeout,
                headers={"Accept": "application/json"},
            )
        except httpx.TimeoutException as error:
            raise ProviderUnavailable(f"Przelewy24 {path}: no answer in time") from error
        except httpx.HTTPError as error:
            raise ProviderUnavailable(
                f"Przelewy24 {path}: unreachable ({type(error).__name__})"
            ) from error
        if response.status_code == 404:
            return {"responseCode": 404}
        if response.status_code != 200:
            raise ProviderUnavailable(f"Przelewy24 {path}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise ProviderUnavailable(f"Przelewy24 {path}: an answer that is not JSON") from None
        if not isinstance(answer, dict):
            raise ProviderUnavailable(f"Przelewy24 {path}: an unexpected answer")
        return answer

    def register(self, registration: Registration) -> str:
        signed = {
            "sessionId": registration.session_id,
            "merchantId": self.merchant_id,
            "amount": registration.amount,
            "currency": registration.currency,
        }
        body = {
            "merchantId": self.merchant_id,
            "posId": self.pos_id,
            "sessionId": registration.session_id,
            "amount": registration.amount,
            "currency": registration.currency,
            "description": registration.description,
            "email": registration.email,
            "country": "PL",
            "language": page_language(registration.language),
            "urlReturn": registration.url_return,
            "urlStatus": registration.url_status,
            "timeLimit": registration.time_limit,
            "sign": sign(signed, self.crc),
        }
        answer = self._call("POST", "transaction/register", body)
        data = answer.get("data")
        token = data.get("token") if isinstance(data, dict) else None
        if (
            not isinstance(token, str)
            or not token.isascii()
            or not token.replace("-", "").isalnum()
        ):
            raise ProviderUnavailable("Przelewy24 transaction/register: no usable token")
        return token

    def redirect_url(self, token: str) -> str:
        return f"{self.url}/trnRequest/{quote(token, safe='')}"

    def parse_notification(self, body: bytes) -> Notification | None:
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        integers = ("merchantId", "posId", "amount", "originAmount", "orderId", "methodId")
        texts = ("sessionId", "currency", "statement", "sign")
        if not all(type(data.get(name)) is int for name in integers):
            return None
        if not all(isinstance(data.get(name), str) for name in texts):
            return None
        return Notification(
            merchant_id=data["merchantId"],
            pos_id=data["posId"],
            session_id=data["sessionId"],
            amount=data["amount"],
            origin_amount=data["originAmount"],
            currency=data["currency"],
            order_id=data["orderId"],
            method_id=data["methodId"],
            statement=data["statement"],
            sign=data["sign"],
        )

    def check_notification(self, notification: Notification) -> bool:
        expected = sign(
            {
                "merchantId": notification.merchant_id,
                "posId": notification.pos_id,
                "sessionId": notification.session_id,
                "amount": notification.amount,
                "originAmount": notification.origin_amount,
                "currency": notification.currency,
                "orderId": notification.order_id,
                "methodId": notification.method_id,
                "statement": notification.statement,
            },
            self.crc,
        )
        signed = hmac.compare_digest(expected.encode(), notification.sign.encode("utf-8"))
        return (
            signed
            and notification.merchant_id == self.merchant_id
            and notification.pos_id == self.pos_id
        )

    def verify(self, notification: Notification) -> bool:
        signed = {
            "sessionId": notification.session_id,
            "orderId": notification.order_id,
            "amount": notification.amount,
            "currency": notification.currency,
        }
        body = {
            "merchantId": self.merchant_id,
            "posId": self.pos_id,
            **signed,
            "sign": sign(signed, self.crc),
        }
        answer = self._call("PUT", "transaction/verify", body)
        data = answer.get("data")
        return isinstance(data, dict) and data.get("status") == "success"

    def transaction(self, session_id: str) -> Transaction | None:
        answer = self._call("GET", f"transaction/by/sessionId/{quote(session_id, safe='')}")
        data = answer.get("data")
        if not isinstance(data, dict) or data.get("sessionId") != session_id:
            return None
        try:
            return Transaction(
                session_id=session_id,
                order_id=int(data["orderId"]) if data.get("orderId") else None,
                amount=int(data["amount"]),
                currency=str(data["currency"]),
                paid=int(data.get("status", 0)) in STATUS_PAID,
            )
        except (KeyError, TypeError, ValueError):
            raise ProviderUnavailable(
                "Przelewy24 transaction/by/sessionId: an unexpected answer"
            ) from None
