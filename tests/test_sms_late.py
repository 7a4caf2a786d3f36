"""Issue 19, item 5: the customer waiting on the code step is told when the SMS is late
(still unsent SMS_LATE_AFTER seconds after the code was made, or given up), on the page
itself and, with JavaScript, by a short poll of a status fragment. No worker runs here:
the SMS stays pending in the outbox, and moving its created_at back is the clock."""

from datetime import timedelta

from sqlalchemy import CursorResult, update
from support import WizardActions, found, outbox, text_of

from ebok.extensions import db
from ebok.models import OutboxMessage, utcnow

LATE = "SMS się opóźnia — możesz wysłać kod ponownie lub wybrać e-mail"


def set_sms(app, seconds_ago: int, status: str = "pending") -> None:
    """The code's SMS was written `seconds_ago` and is now in `status`."""
    with app.app_context():
        rows = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == "sms")
            .values(created_at=utcnow() - timedelta(seconds=seconds_ago), status=status)
        )
        assert isinstance(rows, CursorResult)  # an UPDATE's, which counts its rows
        assert rows.rowcount == 1
        db.session.commit()


def test_a_pending_sms_is_late_after_the_setting(app, visitor, wizard, customers):
    customer = customers["both"]
    page = wizard.to_code(customer)
    assert LATE not in text_of(page)
    assert [m.status for m in outbox(app, "sms")] == ["pending"]  # no worker
    set_sms(app, app.config["SMS_LATE_AFTER"] - 5)
    assert LATE not in text_of(visitor.get("/rejestracja/kod"))
    set_sms(app, app.config["SMS_LATE_AFTER"] + 1)
    page = visitor.get("/rejestracja/kod")
    assert page.status_code == 200 and LATE in text_of(page)
    assert ("<html" in page.get_data(as_text=True)) is (not visitor.htmx)
    # A wrong code keeps the notice beside the form's error, and what was typed.
    response = wizard.enter_code("000000")
    assert response.status_code == 422 and LATE in text_of(response)
    assert 'value="000000"' in response.get_data(as_text=True)


def test_an_sms_that_was_sent_is_not_late_and_a_given_up_one_is(app, visitor, wizard, customers):
    wizard.to_code(customers["both"])
    set_sms(app, 3600, status="sent")
    assert LATE not in text_of(visitor.get("/rejestracja/kod"))
    set_sms(app, 0, status="failed")  # given up: late at once
    assert LATE in text_of(visitor.get("/rejestracja/kod"))


def test_without_email_on_file_the_notice_offers_only_a_new_code(app, visitor, wizard, customers):
    wizard.to_code(customers["phone_only"])
    set_sms(app, app.config["SMS_LATE_AFTER"] + 1)
    text = text_of(visitor.get("/rejestracja/kod"))
    assert "SMS się opóźnia — możesz wysłać kod ponownie" in text and LATE not in text


def test_the_reset_flow_tells_it_too(app, visitor, reset_wizard, customers):
    reset_wizard.to_code(customers["registered"])
    set_sms(app, app.config["SMS_LATE_AFTER"] + 1)
    assert LATE in text_of(visitor.get("/zapomnialem-hasla/kod"))


def test_the_status_fragment_is_polled_until_the_sms_is_late(app, make_visitor, customers):
    """With JavaScript the code step asks its status fragment once the SMS would be late
    (hx-trigger "load delay"), and the answer that says so also fills the live region."""
    visitor = make_visitor(htmx=True)
    WizardActions(app, visitor).to_code(customers["both"])
    page = visitor.get("/rejestracja/kod").get_data(as_text=True)
    assert 'data-hx-get="/rejestracja/kod/stan' in page
    # Asked once the SMS would be late, not before.
    delay = int(found(r'data-hx-trigger="load delay:(\d+)s"', page).group(1))
    assert 0 < delay <= app.config["SMS_LATE_AFTER"]

    status = visitor.get("/rejestracja/kod/stan?poll=1")
    assert status.status_code == 200 and LATE not in text_of(status)
    assert 'data-hx-get="/rejestracja/kod/stan' in status.get_data(as_text=True)  # asks again
    set_sms(app, app.config["SMS_LATE_AFTER"] + 1)
    status = visitor.get("/rejestracja/kod/stan?poll=2")
    body = status.get_data(as_text=True)
    assert LATE in text_of(status)
    assert 'id="status" data-hx-swap-oob="innerHTML"' in body  # read out by the live region
    assert "data-hx-get" not in body  # and the polling stops

    # Without JavaScript the URL is no fragment: it leads to the code step.
    plain = make_visitor()
    WizardActions(app, plain).to_code(customers["both"])
    response = plain.client.get("/rejestracja/kod/stan")
    assert response.status_code == 303 and response.headers["Location"].endswith("/kod")
