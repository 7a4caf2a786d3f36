"""e-Faktura (SPEC §5, §5.1, §6): the banner, the activation window, the confirmation
link, switching off, and the consent record; as plain requests and as htmx."""

import re
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from support import (
    TEST_PASSWORD,
    AuthActions,
    activate_einvoice,
    follow,
    found,
    give_account,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.models import Account, EInvoiceConsent

BANNER_TEXT = (
    "Dzięki e-Fakturze będziesz mógł otrzymywać fakturę w formie elektronicznej "
    "zawierającej te same dane, co faktura papierowa. Nie trzeba już czekać na "
    "rachunek w formie papierowej - jest on dostępny w wersji elektronicznej, a "
    "informacja o jego wystawieniu wysyłana jest na podany wcześniej adres e-mail."
)


def einvoice_state(app, number="200005") -> dict:
    with app.app_context():
        account = db.session.scalars(
            select(Account).join(Account.customer).where(Account.customer.has(number=number))
        ).one()
        consents = db.session.scalars(
            select(EInvoiceConsent)
            .where(EInvoiceConsent.account_id == account.id)
            .order_by(EInvoiceConsent.id)
        ).all()
        return {
            "active": account.einvoice_active,
            "address": account.einvoice_address,
            "since": account.einvoice_since,
            "consents": [(c.event, c.address, c.terms_version, c.source) for c in consents],
        }


def activate(visitor, source="banner", email="ewa.kaminska@example.com", accept=True):
    data = {"email": email, "zrodlo": source}
    if accept:
        data["accept_terms"] = "y"
    return visitor.post("/e-faktura/aktywuj", data)


def test_the_banner_is_shown_only_while_einvoice_is_inactive(app, visitor, auth, customers):
    auth.log_in()
    page = visitor.client.get("/strona-glowna")
    text = text_of(page)
    assert BANNER_TEXT in text
    assert "Szczegóły" in text and "Aktywuj" in text
    body = page.get_data(as_text=True)
    assert 'data-hx-target="#dialog-content"' in body and "<dialog" in body
    activate(visitor)
    assert BANNER_TEXT not in text_of(visitor.client.get("/strona-glowna"))


def test_details_show_the_description_and_the_terms(visitor, auth, customers):
    auth.log_in()
    page = text_of(visitor.client.get("/e-faktura/szczegoly"))
    assert BANNER_TEXT in page
    assert "Regulamin usługi e-Faktura" in page


def test_activation_from_the_banner(app, visitor, auth, customers):
    auth.log_in()
    window = visitor.get("/e-faktura/aktywuj?zrodlo=banner")
    assert window.status_code == 200
    body = window.get_data(as_text=True)
    assert 'id="dialog-title"' in body
    assert 'value="ewa.kaminska@example.com"' in body  # prefilled, editable
    assert ("<html" in body) is (not visitor.htmx)
    if visitor.htmx:
        assert "HX-Push-Url" not in window.headers  # the window does not change the URL
        assert 'method="dialog"' in body

    response = activate(visitor)
    assert response.status_code == 200
    page = text_of(response)
    assert "e-Faktura została aktywowana" in page
    if visitor.htmx:
        body = response.get_data(as_text=True)
        assert '<div id="einvoice-banner" data-hx-swap-oob="delete"></div>' in body
        assert re.search(
            r'<div id="status" data-hx-swap-oob="innerHTML">\s*<p><span class="nowrap">e-Faktura'
            r"</span> została aktywowana</p>",
            body,
        )
    else:
        assert BANNER_TEXT not in page  # redirected to Strona Główna, without the banner

    state = einvoice_state(app)
    assert state["active"] and state["address"] == "ewa.kaminska@example.com"
    assert state["consents"] == [("activated", "ewa.kaminska@example.com", "2026-11", "banner")]
    confirmations = outbox(app, "email", "ewa.kaminska@example.com")
    assert [m.subject for m in confirmations] == ["e-Faktura jest aktywna"]
    assert confirmations[0].body_html and "e-Faktura" in confirmations[0].body_text

    account_page = text_of(visitor.client.get("/moje-konto"))
    assert "aktywna" in account_page and "ewa.kaminska@example.com" in account_page


def test_without_a_contact_email_the_window_says_every_address_is_confirmed(
    app, visitor, auth, customers
):
    """No contact e-mail on file: no "an address other than your contact address" for the
    customer to puzzle over."""
    customer = customers["phone_only"]
    give_account(app, customer)
    auth.log_in(customer.number)
    body = text_of(visitor.get("/e-faktura/aktywuj"))
    assert "Najpierw wyślemy na ten adres link, aby go potwierdzić." in body
    assert "kontaktow" not in body
    auth.log_out()
    auth.log_in()  # 200005 has one: the hint names it
    assert "inny niż kontaktowy" in text_of(visitor.get("/e-faktura/aktywuj"))


def test_activation_from_my_account_updates_the_card(app, visitor, auth, customers):
    auth.log_in()
    assert "nieaktywna" in text_of(visitor.client.get("/moje-konto"))
    response = activate(visitor, source="account")
    if visitor.htmx:
        assert (
            'id="einvoice-card" class="card" aria-labelledby="einvoice-card-title" '
            'data-hx-swap-oob="outerHTML"' in response.get_data(as_text=True)
        )
    page = text_of(visitor.client.get("/moje-konto"))
    assert "Aktywna od" in page
    assert einvoice_state(app)["consents"][0][3] == "account"


def test_the_terms_must_be_accepted_and_the_address_kept(app, visitor, auth, customers):
    auth.log_in()
    response = activate(visitor, email="Ewa.Kaminska@Example.com ", accept=False)
    assert response.status_code == 422
    assert "Aby aktywować e-Fakturę, zaakceptuj regulamin." in text_of(response)
    assert 'value="Ewa.Kaminska@Example.com "' in response.get_data(as_text=True)
    assert not einvoice_state(app)["active"]


def test_a_bad_address_is_refused(app, visitor, auth, customers):
    auth.log_in()
    for typed, message in (
        ("", "Podaj adres e-mail, na który mamy wysyłać powiadomienia"),
        ("ewa@", "Podaj adres e-mail w poprawnym formacie"),
    ):
        response = activate(visitor, email=typed)
        assert response.status_code == 422
        assert message in text_of(response)
    assert not einvoice_state(app)["active"]


def test_double_activation_activates_once_and_sends_one_email(app, visitor, auth, customers):
    auth.log_in()
    first, second = activate(visitor), activate(visitor)
    assert "e-Faktura została aktywowana" in text_of(first)
    assert "e-Faktura jest już aktywna" in text_of(second)
    assert len(outbox(app, "email", "ewa.kaminska@example.com")) == 1
    assert len(einvoice_state(app)["consents"]) == 1


def test_concurrent_activations_from_two_tabs(app, make_visitor, customers):
    tabs = [make_visitor() for _ in range(6)]
    for tab in tabs:
        AuthActions(tab).log_in()
    for tab in tabs:
        tab.get("/e-faktura/aktywuj")  # each tab has its form and token
    barrier = threading.Barrier(len(tabs))
    results = []

    def click(tab):
        barrier.wait()
        results.append(activate(tab).status_code)

    threads = [threading.Thread(target=click, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * len(tabs)
    assert len(einvoice_state(app)["consents"]) == 1
    # Six test clients are six browsers: each login after the first is told (issue 25).
    sent = outbox(app, "email", "ewa.kaminska@example.com")
    assert len([m for m in sent if m.subject != "Nowe logowanie do Strefy Klienta"]) == 1


def test_a_changed_address_is_confirmed_by_a_link_first(
    app, visitor, auth, make_visitor, customers
):
    auth.log_in()
    response = activate(visitor, email="ewa.nowy@example.com")
    assert "Wysłaliśmy link potwierdzający na adres ewa.nowy@example.com" in text_of(response)
    assert not einvoice_state(app)["active"]
    link = found(
        r"https?://[^/]+(/e-faktura/potwierdz/\S+)",
        outbox(app, "email", "ewa.nowy@example.com")[-1].body_text,
    ).group(1)

    # Opened in the mail app, which is not logged in: a page with a button; GET changes nothing.
    mail_app = make_visitor()
    page = mail_app.get(link)
    assert page.status_code == 200 and "Potwierdź adres" in text_of(page)
    assert not einvoice_state(app)["active"]
    confirmed = mail_app.post(link)
    assert "e-Faktura została aktywowana" in text_of(confirmed)
    state = einvoice_state(app)
    assert state["active"] and state["address"] == "ewa.nowy@example.com"
    assert state["consents"] == [("activated", "ewa.nowy@example.com", "2026-11", "banner")]

    # The same link again: it has been used.
    again = mail_app.post(link)
    assert again.status_code == 410
    assert "Ten link został już wykorzystany" in text_of(again)
    assert len(einvoice_state(app)["consents"]) == 1


def test_tampered_and_expired_confirmation_links(app, visitor, auth, make_visitor, customers):
    auth.log_in()
    activate(visitor, email="ewa.nowy@example.com")
    link = found(
        r"https?://[^/]+(/e-faktura/potwierdz/\S+)",
        outbox(app, "email", "ewa.nowy@example.com")[-1].body_text,
    ).group(1)
    stranger = make_visitor()
    tampered = stranger.get(link[:-4] + "AAAA")
    assert tampered.status_code == 400 and "Ten link jest nieprawidłowy" in text_of(tampered)
    app.config["EINVOICE_LINK_LIFETIME"] = timedelta(seconds=-1)
    expired = stranger.get(link)
    assert expired.status_code == 410 and "Ten link wygasł" in text_of(expired)
    assert stranger.post(link).status_code == 410
    assert not einvoice_state(app)["active"]


def test_changing_the_address(app, visitor, auth, make_visitor, customers):
    auth.log_in()
    activate(visitor)
    response = visitor.post(
        "/e-faktura/adres",
        {"email": "ewa.kaminska@example.com", "current_password": TEST_PASSWORD},
    )
    assert response.status_code == 422
    assert "Powiadomienia o fakturach już trafiają na ten adres." in text_of(response)
    response = visitor.post(
        "/e-faktura/adres", {"email": "faktury@example.com", "current_password": TEST_PASSWORD}
    )
    link = found(
        r"https?://[^/]+(/e-faktura/potwierdz/\S+)",
        outbox(app, "email", "faktury@example.com")[-1].body_text,
    ).group(1)
    assert einvoice_state(app)["address"] == "ewa.kaminska@example.com"
    make_visitor().post(link)
    state = einvoice_state(app)
    assert state["address"] == "faktury@example.com"
    assert state["consents"][-1][:2] == ("address_changed", "faktury@example.com")


def test_switching_off_needs_a_confirmation_step(app, visitor, auth, customers):
    auth.log_in()
    activate(visitor)
    page = visitor.get("/e-faktura/wylacz")
    assert "Wyłączyć e-Fakturę?" in text_of(page)
    assert einvoice_state(app)["active"]  # the GET only asks
    response = follow(visitor, visitor.post("/e-faktura/wylacz"))
    assert "e-Faktura została wyłączona" in text_of(response)
    state = einvoice_state(app)
    assert not state["active"]
    assert [c[0] for c in state["consents"]] == ["activated", "withdrawn"]
    assert (
        outbox(app, "email", "ewa.kaminska@example.com")[-1].subject
        == "e-Faktura została wyłączona"
    )
    assert response.status_code == 200
    # And the banner is back.
    assert BANNER_TEXT in text_of(visitor.client.get("/strona-glowna"))


def test_einvoice_pages_need_a_login(visitor):
    for url in (
        "/e-faktura/aktywuj",
        "/e-faktura/adres",
        "/e-faktura/wylacz",
        "/e-faktura/szczegoly",
        "/strona-glowna",
        "/moje-konto",
    ):
        response = visitor.client.get(url)
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == "/" and parse_qs(location.query)["next"] == [url]
    response = visitor.post(
        "/e-faktura/aktywuj",
        {"email": "x@example.com", "accept_terms": "y"},
        follow_redirects=False,
    )
    assert response.status_code == 302


def test_an_address_needing_smtputf8_is_refused_and_an_idn_kept_in_ascii(
    app, visitor, auth, customers
):
    """Our relay may lack SMTPUTF8 (RFC 6531): a non-ASCII local part could never be
    delivered, so it is refused; a domain in Unicode is IDNA and needs no extension."""
    auth.log_in()
    window = text_of(visitor.get("/e-faktura/aktywuj"))
    assert "Przed znakiem @ wpisz litery bez polskich znaków" in window
    response = activate(visitor, email="łukasz@example.pl")
    assert response.status_code == 422
    assert "Przed znakiem @ nie może być" in text_of(response)
    assert 'value="łukasz@example.pl"' in response.get_data(as_text=True)
    activate(visitor, email="ewa@kamińska.pl")
    assert outbox(app, "email", "ewa@xn--kamiska-6jb.pl")  # the link goes to the ASCII form
    assert not outbox(app, "email", "łukasz@example.pl")


def confirmation_link(app, address: str) -> str:
    return found(
        r"https?://[^/]+(/e-faktura/potwierdz/\S+)", outbox(app, "email", address)[-1].body_text
    ).group(1)


def test_changing_the_address_needs_the_current_password_and_tells_the_old_one(
    app, visitor, auth, make_visitor, customers
):
    """Issue 18, item 3: whoever holds a session cannot redirect the invoices silently."""
    activate_einvoice(app)  # to faktury.ewa@example.com
    auth.log_in()
    form = visitor.get("/e-faktura/adres").get_data(as_text=True)
    assert 'name="current_password"' in form and 'autocomplete="current-password"' in form
    for typed, message in (("", "Podaj obecne hasło."), ("Zle#Haslo1", "Obecne hasło jest")):
        data = {"email": "obcy@example.com", "current_password": typed}
        response = visitor.post("/e-faktura/adres", data)
        assert response.status_code == 422 and message in text_of(response)
        body = response.get_data(as_text=True)
        assert 'value="obcy@example.com"' in body  # what was typed stays, the password never
        assert "Zle#Haslo1" not in body
    assert not outbox(app, "email", "obcy@example.com")
    # An address problem is told alone: the password is checked only once the rest is valid.
    response = visitor.post("/e-faktura/adres", {"email": "obcy@", "current_password": "Zle#1"})
    assert "Obecne hasło jest" not in text_of(response)

    data = {"email": "obcy@example.com", "current_password": TEST_PASSWORD}
    follow(visitor, visitor.post("/e-faktura/adres", data))
    make_visitor().post(confirmation_link(app, "obcy@example.com"))
    assert einvoice_state(app)["address"] == "obcy@example.com"
    subject = "Zmieniono adres do powiadomień o e-Fakturach"
    for told in (
        outbox(app, "email", "faktury.ewa@example.com")[-1],
        outbox(app, "email", "ewa.kaminska@example.com")[-1],
    ):
        assert told.subject == subject
        assert "obcy@example.com" in told.body_text and "22 123 45 67" in told.body_text
        assert "prosimy na nią nie odpowiadać" in told.body_text  # the operator's footer
    sms = outbox(app, "sms", "+48600700805")[-1].body_text
    assert "e-Faktur" in sms and "22 123 45 67" in sms


@pytest.mark.config(RATELIMIT_CURRENT_PASSWORD="2/15 minutes")
def test_the_current_password_is_limited_like_a_login_across_changes(app, visitor, auth, customers):
    """One limit for every change that asks for the current password (RATELIMIT_CURRENT_PASSWORD
    per account): tries at Zmień hasło, the e-Faktura address and the login add up."""
    activate_einvoice(app)
    auth.log_in()
    visitor.post(
        "/moje-konto/haslo",
        {
            "current_password": "Zle#Haslo1",
            "password": "Nowe#Haslo1",
            "password_repeat": "Nowe#Haslo1",
        },
    )
    data = {"email": "obcy@example.com", "current_password": "Zle#Haslo1"}
    assert visitor.post("/e-faktura/adres", data).status_code == 422
    data["current_password"] = TEST_PASSWORD  # even the right one, past the limit
    response = visitor.post("/e-faktura/adres", data)
    assert response.status_code == 429
    assert "Zbyt wiele prób z nieprawidłowym obecnym hasłem" in text_of(response)
    assert 'value="obcy@example.com"' in response.get_data(as_text=True)
    response = visitor.post(
        "/moje-konto/login", {"login_name": "ewa.k", "current_password": TEST_PASSWORD}
    )
    assert response.status_code == 429
    assert not outbox(app, "email", "obcy@example.com")
