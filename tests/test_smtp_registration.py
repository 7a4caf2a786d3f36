"""Registration by e-mail end to end through a real SMTP server (aiosmtpd), the SMTP
backend and the outbox worker: the link the customer clicks is the one in the caught
message, and once it has gone out the database no longer holds it."""

from sqlalchemy import select
from support import account_of, follow, found, text_of

from ebok.extensions import db
from ebok.models import OutboxMessage


def test_registration_by_a_link_caught_by_a_real_smtp_server(
    app, runner, visitor, customers, smtp_server
):
    server = smtp_server()
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=server.port,
        SERVER_NAME="ebok.example.pl",
    )
    customer = customers["email_only"]
    visitor.post("/rejestracja/", {"number": customer.number, "action": "next"})
    visitor.post(
        "/rejestracja/sposob", {"channel": "email", "email": customer.email, "action": "next"}
    )
    assert server.received == []  # the request only wrote it; the worker sends it
    assert runner.invoke(args=["outbox", "deliver"]).exit_code == 0

    [mail] = server.messages
    assert mail["To"] == customer.email
    assert mail["Subject"] == "Rejestracja w Strefie Klienta"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    link = found(r"https://ebok\.example\.pl(/rejestracja/link/\S+)", plain).group(1)
    assert link in html
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        [row] = db.session.scalars(select(OutboxMessage)).all()
        assert row.status == "sent"
        assert token not in row.body_text + (row.body_html or "")

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
