"""Backends hand one outbox message to the world: SMTP, the SMS gateway, or nobody (dev).

A backend raises DeliveryError with a description that is safe to store and log: it never
holds the message body (bodies carry codes and links), and the recipient only masked.
"""

import json
import smtplib
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import TYPE_CHECKING, Any

from ebok.normalising import mask_email, mask_phone
from ebok.outside import http

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Outgoing:
    """A claimed outbox row, detached from any database session."""

    id: int
    channel: str
    recipient: str
    subject: str | None
    body_text: str
    body_html: str | None
    attempts: int  # including the one under way
    created_at: datetime
    claimed_at: datetime
    attachment_filename: str | None = None  # a PDF sent along (an invoice)
    attachment: bytes | None = None
    verification_id: int | None = None  # the code or link it carries

    @property
    def masked_recipient(self) -> str:
        return mask_recipient(self.channel, self.recipient)


def mask_recipient(channel: str, recipient: str) -> str:
    return mask_phone(recipient) if channel == "sms" else mask_email(recipient)


class DeliveryError(Exception):
    """Delivery failed; str(error) is safe to store in last_error and to log.

    `permanent`: the server answered that it will never take this message (an SMTP 5xx,
    an address needing SMTPUTF8 the server lacks, a gateway's 4xx other than 408 and 429),
    so trying again cannot help; otherwise the failure may pass (down, slow, 4xx SMTP).
    """

    def __init__(self, description: str, *, permanent: bool = False) -> None:
        super().__init__(description)
        self.permanent = permanent


class DevBackend:
    """Sends nothing: the message stays in the outbox, listed on the development page."""

    name = "dev"
    keeps_body = True  # the development page shows it

    def __init__(self, config: Mapping) -> None:
        pass

    def send(self, message: Outgoing) -> None:
        pass

    def close(self) -> None:
        pass


def idempotency_key(message: Outgoing) -> str:
    """The same for every attempt at one outbox row, so a receiver can drop a repeat.

    The creation time makes it unique even if outbox ids start again (a new database).
    """
    return f"outbox.{message.id}.{message.created_at:%Y%m%d%H%M%S%f}"


class SmtpBackend:
    """One SMTP connection, opened at the first message and reused until close()."""

    name = "smtp"
    keeps_body = False

    def __init__(self, config: Mapping) -> None:
        self.server = config["MAIL_SERVER"]
        self.port = int(config["MAIL_PORT"])
        self.use_tls = bool(config["MAIL_USE_TLS"])
        self.use_ssl = bool(config["MAIL_USE_SSL"])
        self.username = config["MAIL_USERNAME"]
        self.password = config["MAIL_PASSWORD"]
        self.sender = config["MAIL_DEFAULT_SENDER"]
        self.timeout = float(config["MAIL_TIMEOUT"])
        self.domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        self.connection: smtplib.SMTP | None = None

    def build(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(localtime=True)
        # The same on every attempt: a copy sent again after a worker crash can be told
        # apart by mail servers and clients.
        email["Message-ID"] = f"<{idempotency_key(message)}@{self.domain}>"
        # RFC 3834: keeps out-of-office robots from answering a no-reply address.
        email["Auto-Submitted"] = "auto-generated"
        email.set_content(message.body_text)
        if message.body_html:
            email.add_alternative(message.body_html, subtype="html")
        if message.attachment is not None:
            email.add_attachment(
                message.attachment,
                maintype="application",
                subtype="pdf",
                filename=message.attachment_filename,
            )
        return email

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                self.server, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(self.server, self.port, timeout=self.timeout)
        try:
            if self.use_tls and not self.use_ssl:
                connection.starttls(context=ssl.create_default_context())
            if self.username:
                connection.login(self.username, self.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, message: Outgoing) -> None:
        email = self.build(message)
        try:
            self._send_reconnecting(email)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryError(
                f"SMTPRecipientsRefused: recipient refused ({', '.join(map(str, codes))})",
                permanent=all(code >= 500 for code in codes),
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            # The address needs SMTPUTF8 (RFC 6531) and this server does not offer it.
            raise DeliveryError(_describe(error, message), permanent=True) from None
        except smtplib.SMTPResponseException as error:
            # The server answered and the session goes on (smtplib has reset it).
            raise DeliveryError(
                _describe(error, message), permanent=error.smtp_code >= 500
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise DeliveryError(_describe(error, message)) from None
        except Exception as error:  # anything else must not lose the message either
            self._drop()
            raise DeliveryError(type(error).__name__) from None

    def _send_reconnecting(self, email: EmailMessage) -> None:
        if self.connection is not None:
            try:
                self.connection.send_message(email)
                return
            except smtplib.SMTPServerDisconnected:
                self._drop()  # it closed an idle session: one more try on a new one
        self.connection = self._connect()
        self.connection.send_message(email)

    def _drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        """Say goodbye to the server; a failure here loses nothing."""
        if self.connection is None:
            return
        try:
            self.connection.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self._drop()


# Client errors worth another try: the gateway timed out waiting, or asks us to slow down.
RETRIED_HTTP_STATUSES = frozenset({408, 429})


class HttpSmsBackend:
    """The SMS gateway's JSON API, through the shared HTTP client (ebok.outside.http):
    its connections are kept between messages, a redirect is a failure."""

    name = "http"
    keeps_body = False

    def __init__(self, config: Mapping) -> None:
        self.url = config["SMS_GATEWAY_URL"]
        self.token = config["SMS_GATEWAY_TOKEN"]
        self.sender = config["SMS_SENDER"]
        self.timeout = http.timeout(float(config["SMS_TIMEOUT"]))

    def request(self, message: Outgoing) -> "httpx.Request":
        if not self.url or urllib.parse.urlsplit(self.url).scheme not in ("http", "https"):
            raise DeliveryError("SMS_GATEWAY_URL is not set to an http(s) URL")
        key = idempotency_key(message)
        body = {
            "to": message.recipient,
            "message": message.body_text,
            "from": self.sender,
            "idempotency_key": key,  # a gateway that honours it sends a retry only once
        }
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return http.shared_client().build_request(
            "POST",
            self.url,
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers=headers,
            timeout=self.timeout,
        )

    def send(self, message: Outgoing) -> None:
        import httpx  # loaded with the shared client, by the worker that sends SMS

        request = self.request(message)
        try:
            response = http.shared_client().send(request)
            response.read()
            response.close()
        except httpx.TransportError as error:
            text = _describe(_operating_system_error(error) or error, message)
            raise DeliveryError(f"SMS gateway unreachable: {text}") from None
        except Exception as error:  # anything else must not lose the message either
            raise DeliveryError(type(error).__name__) from None
        status = response.status_code
        if not 200 <= status < 300:
            # Only the status: a gateway may echo the message (and its code) in its answer.
            raise DeliveryError(
                f"SMS gateway answered HTTP {status}",
                permanent=400 <= status < 500 and status not in RETRIED_HTTP_STATUSES,
            )

    def close(self) -> None:
        pass  # the shared client keeps its connections for the next message


def _operating_system_error(error: BaseException) -> OSError | None:
    """The socket error under httpx's (and httpcore's) wrappers, if there is one."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(error: BaseException, message: Outgoing) -> str:
    """The error's class and text, with the recipient masked and the body left out.

    Only SMTP and socket errors get here; their text comes from the server or the
    operating system, which may quote the recipient address but never our body.
    """
    text = str(error).replace(message.recipient, message.masked_recipient)
    for part in (message.body_text, message.body_html):
        if part and part.strip():
            text = text.replace(part.strip(), "[body]")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


Backend = DevBackend | SmtpBackend | HttpSmsBackend
BACKENDS: dict[str, dict[str, type[Backend]]] = {
    "email": {"smtp": SmtpBackend, "dev": DevBackend},
    "sms": {"http": HttpSmsBackend, "dev": DevBackend},
}
CONFIG_KEYS = {"email": "MAIL_BACKEND", "sms": "SMS_BACKEND"}


def backend_for(channel: str, config: Mapping[str, Any]) -> Backend:
    """The backend the configuration chooses for a channel ("email" or "sms")."""
    key = CONFIG_KEYS[channel]
    choice = config.get(key) or "dev"
    try:
        backend_class = BACKENDS[channel][choice]
    except KeyError:
        known = ", ".join(BACKENDS[channel])
        raise ValueError(f"{key}={choice!r} is not one of: {known}") from None
    return backend_class(config)
