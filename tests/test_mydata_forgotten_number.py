"""Nie pamiętasz numeru klienta? (SPEC §15): the numbers of the customers with a contact
go to that contact, in one message; the page answers the same whatever matched; limited
per client and per contact."""

import pytest
from sqlalchemy import select
from support import assert_shape, follow, outbox, text_of

from ebok.extensions import db
from ebok.models import Customer

SENT = "Jeśli ten adres lub numer jest w naszych danych, wysłaliśmy na niego numer klienta."


def test_the_login_page_and_the_registration_number_step_link_to_it(visitor, customers):
    for path in ("/", "/rejestracja/"):
        response = visitor.get(path)
        assert "Nie pamiętasz numeru klienta?" in text_of(response), path
        assert 'href="/nie-pamietam-numeru"' in response.get_data(as_text=True)
    assert "Nie pamiętasz numeru klienta?" not in text_of(visitor.get("/zapomnialem-hasla/"))


def test_numbers_go_to_the_contact(app, visitor, customers):
    # A second customer with Anna's e-mail address: both numbers in one message.
    with app.app_context():
        db.session.add(
            Customer(
                number="200099",
                first_name="Adam",
                last_name="Nowak",
                email="anna.nowak@example.com",
                phone=None,
            )
        )
        db.session.commit()
    response = visitor.get("/nie-pamietam-numeru")
    assert response.status_code == 200
    assert_shape(visitor, response)
    response = follow(
        visitor, visitor.post("/nie-pamietam-numeru", {"contact": " Anna.Nowak@Example.com "})
    )
    assert response.request.path == "/nie-pamietam-numeru/wyslane"
    assert SENT in text_of(response)
    [message] = outbox(app, "email", "anna.nowak@example.com")
    assert "200001" in message.body_text and "200099" in message.body_text
    assert "Numery klienta z tymi danymi kontaktowymi" in message.body_text

    visitor.post("/nie-pamietam-numeru", {"contact": "+48 600 700 803"})
    [sms] = outbox(app, "sms", "+48600700803")
    assert sms.body_text == "Numer klienta w Strefie Klienta: 200003"


def test_the_answer_is_the_same_whatever_matched(app, make_visitor, customers):
    bodies = []
    for contact in ("anna.nowak@example.com", "nikt@example.com", "512 345 678", "512 000 000"):
        visitor = make_visitor()
        visitor.get("/nie-pamietam-numeru")
        response = visitor.post(
            "/nie-pamietam-numeru", {"contact": contact}, follow_redirects=False
        )
        assert response.status_code == 303
        assert response.headers["Location"] == "/nie-pamietam-numeru/wyslane"
        page = visitor.client.get("/nie-pamietam-numeru/wyslane")
        # As read (tags and so each session's CSRF token and the page's nonce aside).
        bodies.append((page.status_code, text_of(page)))
    assert len(set(bodies)) == 1
    assert [m.recipient for m in outbox(app)] == ["anna.nowak@example.com", "+48512345678"]


def test_what_is_typed_must_be_an_address_or_a_mobile(visitor, customers):
    for typed, problem in (
        ("", "Podaj swój adres e-mail lub numer telefonu komórkowego."),
        ("22 123 45 67", "Podaj adres e-mail (np. jan.kowalski@example.com) lub numer komórkowy"),
        ("nie@adres", "Podaj adres e-mail (np. jan.kowalski@example.com) lub numer komórkowy"),
    ):
        response = visitor.post("/nie-pamietam-numeru", {"contact": typed})
        assert response.status_code == 422
        assert problem in text_of(response)


@pytest.mark.config(RATELIMIT_NUMBER_REMINDERS_PER_CONTACT="2/hour")
def test_limited_per_contact(app, make_visitor, customers):
    for status in (303, 303, 429):
        visitor = make_visitor()  # a new client each time: the contact's own limit
        response = visitor.post(
            "/nie-pamietam-numeru", {"contact": "anna.nowak@example.com"}, follow_redirects=False
        )
        assert response.status_code == status
    assert "Wysłaliśmy już zbyt wiele kodów lub linków." in text_of(response)
    assert len(outbox(app)) == 2


@pytest.mark.config(RATELIMIT_CODE_SENDS="2/hour")
def test_limited_per_client(app, make_visitor, customers):
    visitor = make_visitor()
    for contact, status in (("a@example.com", 303), ("b@example.com", 303), ("c@example.com", 429)):
        response = visitor.post(
            "/nie-pamietam-numeru", {"contact": contact}, follow_redirects=False
        )
        assert response.status_code == status
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Customer.id))) == 5
