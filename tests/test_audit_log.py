"""Issue 9, finding 5: an audit event for every authentication and e-Faktura change,
accounts and customers by id, the client by address; and the logs of every flow, searched
for each secret the flow used, hold none of them."""

import json
import logging

from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    AuthActions,
    WizardActions,
    follow,
    found,
    last_link,
    outbox,
)

WRONG_PASSWORD = "Zle#Haslo1"
CHANGED_PASSWORD = "Trzecie#Haslo3"
LOGIN_NAME = "ewa.audyt"
STRANGER = "obcy.adres@example.com"


def _every_flow(app, make_visitor, customers) -> list[str]:
    """Walks every flow once; returns each secret used on the way."""
    secrets = [NEW_PASSWORD, TEST_PASSWORD, WRONG_PASSWORD, CHANGED_PASSWORD, LOGIN_NAME]
    secrets.append("Tajne#Haslo99")
    registering = WizardActions(app, make_visitor(), "/rejestracja")
    secrets.append(registering.to_password(customers["both"]))
    follow(registering.visitor, registering.set_password())

    owner = make_visitor()
    auth = AuthActions(owner)
    auth.post_login("Tajne#Haslo99", WRONG_PASSWORD)  # a password typed as the login
    auth.post_login(customers["registered"].number, WRONG_PASSWORD)
    auth.log_in(customers["registered"].number, TEST_PASSWORD)
    owner.post("/moje-konto/login", {"login_name": LOGIN_NAME, "current_password": TEST_PASSWORD})
    owner.post(
        "/moje-konto/haslo",
        {
            "current_password": TEST_PASSWORD,
            "password": CHANGED_PASSWORD,
            "password_repeat": CHANGED_PASSWORD,
        },
    )
    data = {"email": STRANGER, "zrodlo": "account", "accept_terms": "y"}
    owner.post("/e-faktura/aktywuj", data)
    confirm = found(r"/e-faktura/potwierdz/(\S+)", outbox(app, "email", STRANGER)[-1].body_text)
    secrets.append(confirm.group(1))
    owner.post(f"/e-faktura/potwierdz/{confirm.group(1)}")
    owner.post(
        "/e-faktura/adres",
        {"email": customers["registered"].email, "current_password": CHANGED_PASSWORD},
    )
    owner.post("/e-faktura/wylacz", {})
    auth.log_out()

    resetting = WizardActions(app, make_visitor(), "/zapomnialem-hasla")
    resetting.send_link(customers["registered"])
    link = last_link(app, customers["registered"].email)
    secrets.append(link.rsplit("/", 1)[1])
    resetting.visitor.get(link)
    follow(resetting.visitor, resetting.set_password("Czwarte#Haslo4"))
    secrets.append("Czwarte#Haslo4")
    for customer in (customers["both"], customers["registered"]):
        secrets += [customer.email, customer.phone, customer.phone[3:]]
    return secrets


def test_every_flow_is_audited_without_a_secret(app, make_visitor, customers, caplog, capsys):
    caplog.set_level("INFO")
    secrets = _every_flow(app, make_visitor, customers)
    written = capsys.readouterr().err
    events = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    audited = {event["audit"] for event in events if event["logger"] == "ebok.audit"}
    for expected in (
        "code_sent",
        "code_verified",
        "account_created",
        "login_failed",
        "login_succeeded",
        "login_name_set",
        "password_changed",
        "einvoice_link_sent",
        "einvoice_activated",
        "einvoice_address_changed",
        "einvoice_withdrawn",
        "logout",
        "link_sent",
        "password_reset",
    ):
        assert expected in audited, expected
    assert all(
        event["client"] == "127.0.0.1" for event in events if event["logger"] == "ebok.audit"
    )
    logs = caplog.text + written
    for secret in secrets:
        assert secret not in logs, secret
        assert secret.casefold() not in logs.casefold(), secret


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, message, None, None)


# A werkzeug request line as coloured on a terminal, with a link's token in it.
TOKEN = "abc.defghijklmnopqrstuvwxyz1"
COLOURED = f'127.0.0.1 - - "\x1b[32mGET /rejestracja/link/{TOKEN} HTTP/1.1\x1b[0m" 200 -'


def test_json_lines_drop_a_terminals_colour_codes_and_tokens():
    from ebok.logs import JsonLines

    event = json.loads(JsonLines().format(_record(COLOURED)))
    assert event["event"] == '127.0.0.1 - - "GET /rejestracja/link/[token] HTTP/1.1" 200 -'


def test_development_writes_plain_lines(make_app):
    """`flask run` (FLASK_DEBUG): lines a person reads, tokens still cut; JSON again for
    the next app that is not in development."""
    from ebok import logs

    def line_written() -> str:
        root = logging.getLogger()
        [handler] = [each for each in root.handlers if each.get_name() == logs._HANDLER_NAME]
        return handler.format(_record(COLOURED))

    make_app(DEBUG=True)
    line = line_written()
    assert not line.startswith("{")
    assert " INFO werkzeug: 127.0.0.1" in line
    assert "/rejestracja/link/[token]" in line
    make_app()
    assert line_written().startswith("{")
