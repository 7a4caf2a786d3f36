"""Usuń konto w Strefie Klienta (SPEC §15): after the password, the online account goes
(login, password, sessions, pending codes and links); the customer, the invoices, the
consents and the e-Faktura record stay; the customer is told and may register again."""

from sqlalchemy import select
from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    WizardActions,
    account_of,
    activate_einvoice,
    assert_shape,
    follow,
    last_code,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.models import Customer, EInvoiceConsent, MarketingConsent, Verification


def test_delete_the_account_then_register_again(app, visitor, make_visitor, auth, customers):
    activate_einvoice(app)
    other_device = make_visitor()
    other_device.post("/", {"login": "200005", "password": TEST_PASSWORD})
    auth.log_in()
    visitor.post("/moje-konto/zgody", {"email": "y"})
    # A code waiting to be used (a phone change asked for).
    visitor.post("/moje-konto/telefon", {"current_password": TEST_PASSWORD, "phone": "511222333"})

    assert "Usuń konto w Strefie Klienta" in text_of(visitor.client.get("/moje-konto"))
    response = visitor.get("/moje-konto/usun-konto")
    assert response.status_code == 200
    assert_shape(visitor, response)
    page = text_of(response)
    assert "Co zostanie usunięte" in page and "Co zostanie zachowane" in page
    assert "faktury będą przychodzić na papierze" in page

    wrong = visitor.post("/moje-konto/usun-konto", {"current_password": "Zle#Haslo1"})
    assert wrong.status_code == 422
    assert account_of(app, customers["registered"]) is not None

    done = follow(
        visitor, visitor.post("/moje-konto/usun-konto", {"current_password": TEST_PASSWORD})
    )
    assert done.request.path == "/konto-usuniete"
    assert "Twoje konto w Strefie Klienta zostało usunięte" in text_of(done)
    assert account_of(app, customers["registered"]) is None

    # Logged out here and on the other device.
    for browser in (visitor, other_device):
        response = browser.client.get("/moje-konto", follow_redirects=False)
        assert response.status_code in (302, 303)

    # The customer is told on both channels.
    assert "usunięte" in outbox(app, "email", "ewa.kaminska@example.com")[-1].title
    assert "usunięte" in outbox(app, "sms", "+48600700805")[-1].body_text.lower()

    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == "200005")).one()
        records = db.session.scalars(select(EInvoiceConsent).order_by(EInvoiceConsent.id)).all()
        assert [(r.event, r.account_id, r.customer_id, r.source) for r in records] == [
            ("activated", None, customer.id, "banner"),
            ("withdrawn", None, customer.id, "account_deleted"),
        ]
        assert db.session.scalars(select(MarketingConsent)).one().granted
        live = db.session.scalars(
            select(Verification).where(Verification.superseded_at.is_(None))
        ).all()
        assert live == []

    # Registration again, by SMS.
    wizard = WizardActions(app, make_visitor())
    wizard.start("200005")
    wizard.choose("sms", "600 700 805")
    wizard.enter_code(last_code(app, "+48600700805"))
    response = wizard.set_password(NEW_PASSWORD)
    assert response.status_code == 200
    assert account_of(app, customers["registered"]) is not None


def test_deleting_needs_a_login(make_visitor, customers):
    stranger = make_visitor()
    assert stranger.get("/moje-konto/usun-konto", follow_redirects=False).status_code in (302, 303)
