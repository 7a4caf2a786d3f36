"""E-mail links: signed, time-limited, single-use, superseded by newer ones (SPEC §3.4,
§10), and built from the configured server name; and the signed-link table itself."""

from datetime import timedelta

import pytest
from support import WizardActions, last_link, outbox, text_of

from ebok.identity import signing
from ebok.identity.signing import Key, Outcome


def test_a_tampered_link(app, visitor, wizard, customers):
    wizard.send_link(customers["email_only"])
    link = last_link(app, customers["email_only"].email)
    response = visitor.get(link[:-3] + ("abc" if not link.endswith("abc") else "xyz"))
    assert response.status_code == 400
    assert "Ten link jest nieprawidłowy" in text_of(response)


def test_a_link_for_the_other_flow_is_not_valid_here(app, visitor, wizard, customers):
    wizard.send_link(customers["email_only"])
    token = last_link(app, customers["email_only"].email).rsplit("/", 1)[1]
    response = visitor.get(f"/zapomnialem-hasla/link/{token}")
    assert response.status_code == 400
    assert "Ten link jest nieprawidłowy" in text_of(response)


def test_an_expired_link_offers_a_new_one(app, visitor, wizard, customers):
    customer = customers["email_only"]
    wizard.send_link(customer)
    link = last_link(app, customer.email)
    app.config["REGISTRATION_LINK_LIFETIME"] = timedelta(seconds=-1)
    response = visitor.get(link)
    assert response.status_code == 410
    assert "Ten link wygasł" in text_of(response)
    app.config["REGISTRATION_LINK_LIFETIME"] = timedelta(days=3)
    response = wizard.resend()
    assert "Wysłaliśmy nowy link." in text_of(response)
    assert last_link(app, customer.email) != link


def test_a_superseded_link_stops_working(app, visitor, wizard, customers):
    customer = customers["email_only"]
    wizard.send_link(customer)
    first = last_link(app, customer.email)
    wizard.resend()
    second = last_link(app, customer.email)
    assert first != second
    response = visitor.get(first)
    assert response.status_code == 410
    assert "Ten link nie jest już aktywny" in text_of(response)
    assert "Podaj hasło" in text_of(visitor.get(second))


def test_a_link_works_once(app, make_visitor, customers):
    customer = customers["email_only"]
    first = WizardActions(app, make_visitor())
    first.send_link(customer)
    link = last_link(app, customer.email)
    first.visitor.get(link)
    first.set_password()
    second = make_visitor()
    response = second.get(link)
    assert response.status_code == 410
    assert "Ten link został już wykorzystany" in text_of(response)


@pytest.mark.config(SERVER_NAME="ebok.example.pl")
def test_links_use_the_configured_server_name_not_the_host_header(app, visitor, customers):
    customer = customers["email_only"]
    visitor.referer = "https://evil.example.com/"
    visitor.get("/", base_url="https://evil.example.com")
    for url, data in (
        ("/rejestracja/", {"number": customer.number, "action": "next"}),
        ("/rejestracja/sposob", {"channel": "email", "email": customer.email, "action": "next"}),
    ):
        response = visitor.post(url, data, base_url="https://evil.example.com")
        assert response.request.host == "evil.example.com"
    body = outbox(app, "email", customer.email)[-1].body_text
    assert "https://ebok.example.pl/rejestracja/link/" in body
    assert "evil.example.com" not in body


def test_without_a_server_name_links_follow_the_server_being_run(app, visitor, customers):
    """Development (`flask run --port 8080`): the link opens on the port the developer runs."""
    assert app.config["SERVER_NAME"] is None
    customer = customers["email_only"]
    visitor.get("/", base_url="http://127.0.0.1:8080")
    for url, data in (
        ("/rejestracja/", {"number": customer.number, "action": "next"}),
        ("/rejestracja/sposob", {"channel": "email", "email": customer.email, "action": "next"}),
    ):
        visitor.post(url, data, base_url="http://127.0.0.1:8080")
    body = outbox(app, "email", customer.email)[-1].body_text
    assert "http://127.0.0.1:8080/rejestracja/link/" in body


def test_links_survive_a_key_rotation(app, visitor, wizard, customers):
    customer = customers["email_only"]
    wizard.send_link(customer)
    link = last_link(app, customer.email)
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "a-new-secret-key"
    assert "Podaj hasło" in text_of(visitor.client.get(link, follow_redirects=True))


def test_every_purpose_is_registered_and_an_unknown_one_fails_loudly(app):
    with app.app_context():
        for name in ("registration", "reset", "einvoice_address"):
            assert signing.lifetime(name) > timedelta(0)
        with pytest.raises(LookupError):
            signing.dumps("newsletter", {Key.ACCOUNT: 1})
        with pytest.raises(LookupError):
            signing.loads("newsletter", "token")
        # A payload must bind exactly what its purpose binds.
        with pytest.raises(ValueError):
            signing.dumps("reset", {Key.ACCOUNT: 1})


def test_a_link_of_one_purpose_is_not_valid_for_another(app):
    with app.app_context():
        token = signing.dumps("registration", {Key.VERIFICATION: 1, Key.NONCE: "x"})
        assert signing.loads("registration", token) == (
            Outcome.OK,
            {"verification": 1, "nonce": "x"},
        )
        assert signing.loads("reset", token) == (Outcome.INVALID, None)
