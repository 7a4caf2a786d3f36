"""One way of changing what reaches the customer (SPEC §15): the contact e-mail, the
mobile number, the e-Faktura address and the login name. Each asks for the current
password (one limit for all), proves the new value where it needs proving (a link, a
code), writes one history row when made, and tells the customer through the old contact
with the same what-to-do; a proof waiting for the customer dies the same way for every
field, when a newer one replaces it and when the password changes."""

import pytest
from sqlalchemy import select
from support import (
    NEW_PASSWORD,
    TEST_PASSWORD,
    activate_einvoice,
    found,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.models import ContactChange

OLD_EMAIL = "ewa.kaminska@example.com"
OLD_PHONE = "+48600700805"
EINVOICE_ADDRESS = "faktury.ewa@example.com"  # activate_einvoice's
WHAT_TO_DO = "Jeśli to nie Ty, od razu skontaktuj się z Centrum Obsługi Klienta: 22 123 45 67."
SMS_WHAT_TO_DO = ("Nie Ty? Dzwoń", "22 123 45 67")

# Each kind of change: its form, what it sends there, where its proof goes (None: the
# password is all), the history row it writes, and who hears of it by e-mail and SMS.
KINDS = {
    "email": (
        "/moje-konto/adres-email",
        {"email": "ewa.nowa@example.com"},
        ("email", "ewa.nowa@example.com", r"/moje-konto/adres-email/potwierdz/\S+"),
        ("email", OLD_EMAIL, "ewa.nowa@example.com"),
        ([OLD_EMAIL], OLD_PHONE),
    ),
    "phone": (
        "/moje-konto/telefon",
        {"phone": "511 222 333"},
        ("sms", "+48511222333", r"\b\d{6}\b"),
        ("phone", OLD_PHONE, "+48511222333"),
        ([OLD_EMAIL], OLD_PHONE),
    ),
    "einvoice_address": (
        "/e-faktura/adres",
        {"email": "nowe.faktury@example.com"},
        ("email", "nowe.faktury@example.com", r"/e-faktura/potwierdz/\S+"),
        ("einvoice_address", EINVOICE_ADDRESS, "nowe.faktury@example.com"),
        ([EINVOICE_ADDRESS, OLD_EMAIL], OLD_PHONE),
    ),
    "login_name": (
        "/moje-konto/login",
        {"login_name": "ewa.k"},
        None,
        ("login_name", None, "ewa.k"),
        ([OLD_EMAIL], OLD_PHONE),
    ),
}


def history(app) -> list[tuple]:
    with app.app_context():
        return [
            (change.field, change.old_value, change.new_value)
            for change in db.session.scalars(
                select(ContactChange)
                .where(ContactChange.changed_at.is_not(None))
                .order_by(ContactChange.id)
            )
        ]


def proof_of(app, proof) -> str:
    channel, to, pattern = proof
    return found(pattern, outbox(app, channel, to)[-1].body_text).group(0)


def give_proof(app, visitor, proof) -> None:
    secret = proof_of(app, proof)
    if proof[0] == "sms":
        response = visitor.post("/moje-konto/telefon/kod", {"code": secret})
    else:
        response = visitor.post(secret)
    assert response.status_code in (200, 303), text_of(response)


def sent_count(app) -> int:
    return len(outbox(app))


@pytest.mark.parametrize("kind", KINDS)
def test_every_change_asks_the_password_writes_one_row_and_tells_the_old_contact(
    app, visitor, auth, customers, kind
):
    url, data, proof, row, (told_by_email, told_by_sms) = KINDS[kind]
    activate_einvoice(app)
    auth.log_in()
    sent = sent_count(app)
    refused = visitor.post(url, {**data, "current_password": "Zle#Haslo1"})
    assert refused.status_code == 422
    assert "Obecne hasło jest nieprawidłowe." in text_of(refused)
    assert sent_count(app) == sent and history(app) == []

    visitor.post(url, {**data, "current_password": TEST_PASSWORD})
    if proof is not None:
        assert history(app) == []  # not before the new value is proved
        give_proof(app, visitor, proof)
    assert history(app) == [row]
    for address in told_by_email:
        told = outbox(app, "email", address)[-1]
        assert WHAT_TO_DO in told.body_text, address
    sms = outbox(app, "sms", told_by_sms)[-1].body_text
    assert all(words in sms for words in SMS_WHAT_TO_DO), sms


@pytest.mark.config(RATELIMIT_CURRENT_PASSWORD="2/hour")
@pytest.mark.parametrize("kind", KINDS)
def test_every_change_shares_the_current_password_limit(app, visitor, auth, customers, kind):
    url, data, *_ = KINDS[kind]
    activate_einvoice(app)
    auth.log_in()
    for other, (other_url, other_data, *_) in KINDS.items():
        if other != kind:
            visitor.post(other_url, {**other_data, "current_password": "Zle#Haslo1"})
            break
    visitor.post(url, {**data, "current_password": "Zle#Haslo1"})
    response = visitor.post(url, {**data, "current_password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "Zbyt wiele prób z nieprawidłowym obecnym hasłem" in text_of(response)
    assert history(app) == []


LINKED = ["email", "einvoice_address"]


@pytest.mark.parametrize("kind", LINKED)
def test_a_newer_request_replaces_the_waiting_link(app, make_visitor, customers, kind):
    """Two requests for the same field: the first link is no longer active (not "used":
    nothing was changed with it), the second one works."""
    url, data, proof, row, _ = KINDS[kind]
    activate_einvoice(app)
    owner = make_visitor()
    owner.post("/", {"login": "200005", "password": TEST_PASSWORD})
    owner.post(url, {**data, "current_password": TEST_PASSWORD})
    first = proof_of(app, proof)
    owner.post(url, {**data, "current_password": TEST_PASSWORD})
    second = proof_of(app, proof)
    assert first != second
    mail_app = make_visitor()
    for method in (mail_app.get, mail_app.post):
        replaced = method(first)
        assert replaced.status_code == 410
        assert "Ten link nie jest już aktywny" in text_of(replaced)
    assert history(app) == []
    assert mail_app.post(second).status_code == 200
    assert history(app) == [row]


def test_a_new_password_ends_every_proof_waiting(app, make_visitor, customers):
    """Whoever asked for a change with the password cannot finish it once the customer
    has changed the password: the contact e-mail's link, the phone's code and the
    e-Faktura address's link alike."""
    activate_einvoice(app)
    owner = make_visitor()
    owner.post("/", {"login": "200005", "password": TEST_PASSWORD})
    for kind in ("email", "einvoice_address", "phone"):
        url, data, *_ = KINDS[kind]
        owner.post(url, {**data, "current_password": TEST_PASSWORD})
    links = [proof_of(app, KINDS[kind][2]) for kind in LINKED]
    code = proof_of(app, KINDS["phone"][2])
    account_page = text_of(owner.get("/moje-konto"))
    assert "Czekamy, aż otworzysz link" in account_page
    assert "Czekamy na potwierdzenie adresu nowe.faktury@example.com" in account_page
    changed = owner.post(
        "/moje-konto/haslo",
        {
            "current_password": TEST_PASSWORD,
            "password": NEW_PASSWORD,
            "password_repeat": NEW_PASSWORD,
        },
    )
    assert changed.status_code in (200, 303)
    account_page = text_of(owner.get("/moje-konto"))
    assert "Czekamy, aż otworzysz link" not in account_page
    assert "Czekamy na potwierdzenie adresu" not in account_page
    mail_app = make_visitor()
    for link in links:
        dead = mail_app.post(link)
        assert dead.status_code == 410, link
        assert "Ten link nie jest już aktywny" in text_of(dead)
    owner.post("/moje-konto/telefon/kod", {"code": code})
    assert history(app) == []


def test_a_waiting_einvoice_address_dies_with_a_resend_a_cancel_or_switching_off(
    app, make_visitor, customers
):
    """The e-Faktura address waits as an activation's does (Moje Konto says so, with "send
    again" and "cancel"), and its link stops working as the contact e-mail's does."""
    url, data, proof, row, _ = KINDS["einvoice_address"]
    activate_einvoice(app)
    owner, mail_app = make_visitor(), make_visitor()
    owner.post("/", {"login": "200005", "password": TEST_PASSWORD})
    owner.post(url, {**data, "current_password": TEST_PASSWORD})
    first = proof_of(app, proof)
    waiting = "Czekamy na potwierdzenie adresu nowe.faktury@example.com"
    assert waiting in text_of(owner.get("/moje-konto"))

    owner.post("/e-faktura/oczekujacy/wyslij-ponownie", {"zrodlo": "account"})
    second = proof_of(app, proof)
    assert second != first and mail_app.post(first).status_code == 410
    owner.post("/e-faktura/oczekujacy/anuluj", {"zrodlo": "account"})
    assert waiting not in text_of(owner.get("/moje-konto"))
    cancelled = mail_app.post(second)
    assert cancelled.status_code == 410
    assert "Ten link nie jest już aktywny" in text_of(cancelled)

    owner.post(url, {**data, "current_password": TEST_PASSWORD})
    third = proof_of(app, proof)
    owner.post("/e-faktura/wylacz")
    assert mail_app.post(third).status_code == 410
    assert history(app) == []
    assert "nieaktywna" in text_of(owner.get("/moje-konto"))


@pytest.mark.parametrize("kind", LINKED)
def test_a_link_confirmed_twice_changes_once_and_tells_once(app, make_visitor, customers, kind):
    url, data, proof, row, (told_by_email, _) = KINDS[kind]
    activate_einvoice(app)
    owner = make_visitor()
    owner.post("/", {"login": "200005", "password": TEST_PASSWORD})
    owner.post(url, {**data, "current_password": TEST_PASSWORD})
    link = proof_of(app, proof)
    first, second = make_visitor(), make_visitor(htmx=True)  # two tabs
    assert first.post(link).status_code == 200
    again = second.post(link)
    assert again.status_code == 410
    assert "Ten link został już wykorzystany" in text_of(again)
    assert history(app) == [row]
    for address in told_by_email:
        notices = [m for m in outbox(app, "email", address) if WHAT_TO_DO in m.body_text]
        assert len(notices) == 1, address
