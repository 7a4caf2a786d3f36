"""The payment provider behind one small interface (SPEC §14): what the product needs of
any provider, one module per provider (przelewy24, dev), chosen by PAYMENTS_PROVIDER."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class ProviderUnavailable(Exception):
    """The provider did not answer as its protocol says: down, too slow, a server error, a
    refusal of our credentials, an answer we cannot read. str() is safe to log (no key)."""


@dataclass(frozen=True)
class Registration:
    """A payment to register with the provider; amount in minor units (grosze)."""

    session_id: str
    amount: int
    currency: str
    description: str
    email: str
    language: str  # the interface language; the provider gets the nearest it has
    url_return: str
    url_status: str
    time_limit: int  # minutes


@dataclass(frozen=True)
class Notification:
    """The provider's word that a payment was made, as it sent it (not yet believed)."""

    merchant_id: int
    pos_id: int
    session_id: str
    amount: int
    origin_amount: int
    currency: str
    order_id: int
    method_id: int
    statement: str
    sign: str


@dataclass(frozen=True)
class Transaction:
    """What the provider knows of a payment, asked for when its notification never came."""

    session_id: str
    order_id: int | None
    amount: int
    currency: str
    paid: bool  # the money arrived (it still has to be verified)


class PaymentProvider(Protocol):
    name: str

    def register(self, registration: Registration) -> str:
        """Registers the payment; its token. Raises ProviderUnavailable."""
        ...

    def redirect_url(self, token: str) -> str:
        """The provider's page where the customer pays the registered payment."""
        ...

    def parse_notification(self, body: bytes) -> Notification | None:
        """The notification a request's body carries; None if it is not one."""
        ...

    def check_notification(self, notification: Notification) -> bool:
        """Whether the notification is the provider's own, for this merchant (its sign,
        compared in constant time, its merchant and POS)."""
        ...

    def verify(self, notification: Notification) -> bool:
        """Confirms the payment with the provider, as its protocol requires before the
        payment counts; False when the provider refuses. Raises ProviderUnavailable."""
        ...

    def transaction(self, session_id: str) -> Transaction | None:
        """The provider's record of a payment; None when it has none. Raises
        ProviderUnavailable."""
        ...


PROVIDERS = ("przelewy24", "dev")


def provider_for(config: Mapping[str, Any]) -> PaymentProvider | None:
    """The provider the settings choose; None when payments are off (production without
    PAYMENTS_PROVIDER)."""
    choice = config.get("PAYMENTS_PROVIDER")
    if not choice:
        return None
    if choice == "przelewy24":
        from ebok.payments.providers.przelewy24 import Przelewy24

        return Przelewy24(config)
    if choice == "dev":
        from ebok.payments.providers.dev import DevProvider

        return DevProvider(config)
    raise ValueError(f"PAYMENTS_PROVIDER={choice!r} is not one of: {', '.join(PROVIDERS)}")
