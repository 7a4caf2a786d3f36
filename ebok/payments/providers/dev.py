"""Development's provider: no account, no network. Its page "Symulacja płatności"
(ebok/payments/routes.py, registered only in development) takes the place of the
provider's: "Zapłać" sends the notification Przelewy24 would send, signed the same way,
"Odrzuć" gives the payment up."""

import json
import secrets
from collections.abc import Mapping
from typing import Any

from flask import url_for

from ebok.payments.providers import Notification, Registration, Transaction
from ebok.payments.providers.przelewy24 import Przelewy24, sign

DEV_MERCHANT_ID = 1
DEV_CRC = "dev-crc"  # noqa: S105 - a development stand-in, signs nothing real


class DevProvider(Przelewy24):
    """Przelewy24's signs and notification checks, with its calls answered here."""

    name = "dev"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(
            {
                **config,
                "P24_MERCHANT_ID": DEV_MERCHANT_ID,
                "P24_POS_ID": DEV_MERCHANT_ID,
                "P24_CRC": DEV_CRC,
                "P24_URL": "",
                "P24_API_KEY": "",
            }
        )

    def register(self, registration: Registration) -> str:
        return registration.session_id

    def redirect_url(self, token: str) -> str:
        return url_for("payments.dev_page", session_id=token)

    def verify(self, notification: Notification) -> bool:
        return True

    def transaction(self, session_id: str) -> Transaction | None:
        return None  # nobody paid on the simulation page: the payment was abandoned

    def notification_body(self, session_id: str, amount: int, currency: str) -> bytes:
        """What Przelewy24 would POST to urlStatus for this payment, signed."""
        fields: dict[str, Any] = {
            "merchantId": self.merchant_id,
            "posId": self.pos_id,
            "sessionId": session_id,
            "amount": amount,
            "originAmount": amount,
            "currency": currency,
            "orderId": secrets.randbelow(10**9) + 1,
            "methodId": 25,
            "statement": f"p24-{secrets.token_hex(4)}",
        }
        return json.dumps({**fields, "sign": sign(fields, self.crc)}).encode()
