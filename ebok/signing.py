"""Signed, time-limited links: itsdangerous with SHA-256, one salt per purpose, keys
rotating as [*SECRET_KEY_FALLBACKS, SECRET_KEY] (newest last)."""

import hashlib

from flask import current_app
from itsdangerous import URLSafeTimedSerializer


def secret_keys() -> list[str]:
    config = current_app.config
    return [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]


def serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret_keys(), salt=salt, signer_kwargs={"digest_method": hashlib.sha256}
    )


def external_url(path: str) -> str:
    """Links in messages are built from the configured server name, never from the
    request's Host header."""
    config = current_app.config
    server = config["SERVER_NAME"] or "127.0.0.1:5000"
    return f"{config['PREFERRED_URL_SCHEME']}://{server}{path}"
