"""Registration by e-mail end to end through a real SMTP server (aiosmtpd) and the SMTP
backend: the link the customer clicks is the one in the caught message."""

import re
import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from helpers import follow, text_of
from support import account_of


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_inbox():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def test_registration_by_a_link_caught_by_a_real_smtp_server(app, visitor, customers, smtp_inbox):
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_inbox.port,
        SERVER_NAME="ebok.example.pl",
    )
    customer = customers["email_only"]
    visitor.post("/rejestracja/", {"number": customer.number, "action": "next"})
    visitor.post(
        "/rejestracja/sposob", {"channel": "email", "email": customer.email, "action": "next"}
    )
    assert len(smtp_inbox.messages) == 1
    mail = smtp_inbox.messages[0]
    assert mail["To"] == customer.email
    assert mail["Subject"] == "Rejestracja"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    link = re.search(r"https://ebok\.example\.pl(/rejestracja/link/\S+)", plain).group(1)
    assert link in html

    response = visitor.get(link)
    assert "Podaj hasło" in text_of(response)
    response = follow(
        visitor,
        visitor.post(
            "/rejestracja/haslo",
            {"password": "Nowe#Haslo1", "password_repeat": "Nowe#Haslo1", "action": "next"},
        ),
    )
    assert "Strona Główna" in text_of(response)
    assert account_of(app, customer) is not None
