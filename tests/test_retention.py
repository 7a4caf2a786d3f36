"""Retention (issue 28 item 15, README "Retention"): a customer billing's customers files
have stopped carrying loses the online account and the personal data the portal keeps,
past CUSTOMERS_RETENTION_DAYS; invoices, payments and consent records stay. Through the
CLI (`flask customers retention`) on the suite's database, SQLite or PostgreSQL."""

from datetime import date, timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from support import (
    TEST_PASSWORD,
    WizardActions,
    account_of,
    activate_einvoice,
    last_code,
    outbox,
)

from ebok.customers.importing import ImportReport, import_customers
from ebok.extensions import db
from ebok.messages.outbox import send_email
from ebok.models import (
    ContactChange,
    Customer,
    EInvoiceConsent,
    Invoice,
    LoginEvent,
    MarketingConsent,
    OutboxMessage,
    utcnow,
)
from ebok.mydata.retention import apply_retention

# Retention is off by default (billing may send changes only); these tests switch it on,
# as an operator whose billing sends full files does.
pytestmark = pytest.mark.config(CUSTOMERS_RETENTION_DAYS=90)

HEADER = "customer_number,first_name,last_name,email,phone\n"
# Every customer of support.CUSTOMERS as billing's file carries them.
ROWS = {
    "200001": "200001,Anna,Nowak,anna.nowak@example.com,+48512345678\n",
    "200002": "200002,Jan,Kowalski,jan.kowalski@example.com,\n",
    "200003": "200003,Maria,Wiśniewska,,+48600700803\n",
    "200004": "200004,Piotr,Wójcik,,\n",
    "200005": "200005,Ewa,Kamińska,ewa.kaminska@example.com,+48600700805\n",
}


def import_file(runner, tmp_path, numbers, name="customers.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(ROWS[number] for number in numbers), encoding="utf-8")
    result = runner.invoke(args=["customers", "import", str(path)])
    assert result.exit_code == 0, result.output
    return result


def retention(runner, *options):
    result = runner.invoke(args=["customers", "retention", *options])
    assert result.exit_code == 0, result.output
    return result.output


def age(app, days, numbers=None):
    """Moves when billing's files last carried the customers `days` into the past (all of
    them, or `numbers`), as if that much time had gone by since."""
    with app.app_context():
        statement = update(Customer).values(last_in_billing_at=utcnow() - timedelta(days=days))
        if numbers:
            statement = statement.where(Customer.number.in_(numbers))
        db.session.execute(statement)
        db.session.commit()


def customer(app, number):
    with app.app_context():
        found = db.session.scalars(select(Customer).where(Customer.number == number)).one()
        db.session.expunge(found)
        return found


def add_invoice(app, number):
    with app.app_context():
        owner = db.session.scalars(select(Customer).where(Customer.number == number)).one()
        db.session.add(
            Invoice(
                customer_id=owner.id,
                number=f"FV/2026/11/{number}",
                issue_date=date(2026, 11, 2),
                period_from=date(2026, 11, 1),
                period_to=date(2026, 11, 30),
                due_date=date(2026, 12, 15),
                gross_amount="99.00",
                currency="PLN",
                delivery="paper",
                pdf_sha256="0" * 64,
                pdf_size=10,
                pdf_storage_key="00/" + "0" * 64,
            )
        )
        db.session.commit()


def test_an_import_records_when_billing_carried_each_customer(app, runner, customers, tmp_path):
    age(app, 10)
    import_file(runner, tmp_path, ["200001", "200002"])
    carried = {n: customer(app, n).last_in_billing_at for n in ROWS}
    fresh = utcnow() - timedelta(minutes=5)
    assert carried["200001"] > fresh and carried["200002"] > fresh  # unchanged rows too
    assert all(carried[n] < fresh for n in ("200003", "200004", "200005"))
    # A row rejected for its content still says billing has the customer.
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "200003,Maria,Wiśniewska,,not a phone\n", encoding="utf-8")
    assert "rejected: 1" in runner.invoke(args=["customers", "import", str(path)]).output
    assert customer(app, "200003").last_in_billing_at > fresh


def test_a_line_rejected_for_its_shape_still_carries_its_customer(app, runner, customers, tmp_path):
    """Billing sent the customer's row, if wrongly: whenever the first field is a valid
    customer number, the customer counts as carried, whatever else is wrong."""
    age(app, 10)
    path = tmp_path / "broken.csv"
    path.write_text(
        HEADER
        + "200001,Anna,Nowak\n"  # wrong number of columns
        + '200002,Jan,"Kowalski,jan.kowalski@example.com,\n'  # unbalanced quote
        + "200 003,Maria,Wi\x00śniewska,,\n"  # a NUL; the number as typed, with a space
        + f"200004,Piotr,{'x' * 200_000},,\n"  # a field too long for the csv module
        + '"200005",Ewa,"Kamińska"x,,\n'  # quoted number, a misplaced quote after it
        + '"200001,Anna",Nowak",,\n'  # no first field to be read alone: nobody's
        + "abc,Piotr,Wójcik,,\n",
        encoding="utf-8",
    )
    output = runner.invoke(args=["customers", "import", str(path)]).output
    assert "rejected: 7" in output, output
    fresh = utcnow() - timedelta(minutes=5)
    for number in ROWS:
        assert customer(app, number).last_in_billing_at > fresh, number
    assert customer(app, "200004").first_name == "Piotr"  # nothing else changed


def test_a_line_without_a_readable_number_carries_nobody(app, runner, customers, tmp_path):
    age(app, 10)
    path = tmp_path / "broken.csv"
    path.write_text(
        HEADER + '"200001,Anna,Nowak,,\n' + "200\x00002,Jan,Kowalski,,\n", encoding="utf-8"
    )
    assert "rejected: 2" in runner.invoke(args=["customers", "import", str(path)]).output
    fresh = utcnow() - timedelta(minutes=5)
    assert all(customer(app, number).last_in_billing_at < fresh for number in ROWS)


def test_an_import_during_retention_keeps_the_customer_it_carries(app, runner, customers, tmp_path):
    """Retention reads who is absent, then removes them one by one: a file that carries
    one of them again in between wins."""
    age(app, 91)
    import_file(runner, tmp_path, ["200001"])
    again = tmp_path / "again.csv"
    again.write_text(HEADER + ROWS["200005"], encoding="utf-8")
    imported: list[ImportReport] = []

    def import_once_the_list_is_read(state):
        # Right after the first query that picks absent customers, billing's file comes.
        if imported or "last_in_billing_at <" not in str(state.statement):
            return None
        result = state.invoke_statement().freeze()
        imported.append(import_customers(str(again)))
        return result()

    event.listen(Session, "do_orm_execute", import_once_the_list_is_read)
    try:
        output = retention(runner)
    finally:
        event.remove(Session, "do_orm_execute", import_once_the_list_is_read)
    assert imported and imported[0].unchanged == 1
    assert "personal data of 3 customers, 0 online accounts" in output
    assert customer(app, "200005").first_name == "Ewa"
    assert account_of(app, customers["registered"]) is not None
    assert customer(app, "200004").personal_data_removed_at is not None


@pytest.mark.parametrize("days", [0, -1])
def test_the_function_itself_removes_nobody_when_off(app, customers, days):
    age(app, 400)
    with app.app_context():
        db.session.execute(
            update(Customer).where(Customer.number == "200001").values(last_in_billing_at=utcnow())
        )
        db.session.commit()
        assert apply_retention(days).customers == 0
        assert apply_retention(days, dry_run=True).customers == 0
    assert customer(app, "200005").first_name == "Ewa"
    assert account_of(app, customers["registered"]) is not None


def test_a_customer_number_that_is_not_one_fails_loudly(app, runner, customers):
    for wrong in ("abc", "", "1" * 21):
        result = runner.invoke(
            args=["customers", "retention", "--customer", "200005", "--customer", wrong]
        )
        assert result.exit_code != 0, result.output
        assert f"'{wrong}'" in result.output and "not a customer number" in result.output
    assert account_of(app, customers["registered"]) is not None
    assert customer(app, "200005").first_name == "Ewa"


def test_retention_is_off_by_default(make_app, tmp_path):
    app = make_app()
    assert app.config["CUSTOMERS_RETENTION_DAYS"] == 0
    output = app.test_cli_runner().invoke(args=["customers", "retention"]).output
    assert "retention is off" in output
    assert "FLASK_CUSTOMERS_RETENTION_DAYS=90" in output and "full" in output


def test_the_same_file_again_within_the_day_writes_nothing(app, runner, customers, tmp_path):
    import_file(runner, tmp_path, list(ROWS))
    first = {n: customer(app, n).last_in_billing_at for n in ROWS}
    output = import_file(runner, tmp_path, list(ROWS)).output
    assert "unchanged: 5" in output
    assert {n: customer(app, n).last_in_billing_at for n in ROWS} == first


@pytest.mark.config(CUSTOMERS_RETENTION_DAYS=90)
def test_retention_removes_the_account_and_personal_data_and_keeps_invoices(
    app, runner, customers, tmp_path, make_visitor
):
    activate_einvoice(app)
    add_invoice(app, "200005")
    visitor = make_visitor()
    visitor.post("/", {"login": "200005", "password": TEST_PASSWORD})
    visitor.post("/moje-konto/zgody", {"email": "y"})
    with app.app_context():
        kamińska = db.session.scalars(select(Customer).where(Customer.number == "200005")).one()
        db.session.add(
            ContactChange(
                customer_id=kamińska.id,
                field="email",
                old_value="ewa.old@example.com",
                new_value="ewa.kaminska@example.com",
                changed_at=utcnow(),
            )
        )
        # A notice still waiting for her, and one for a customer who stays.
        send_email("ewa.kaminska@example.com", "Notice", "account_deleted")
        send_email("anna.nowak@example.com", "Notice", "account_deleted")
        db.session.commit()
    assert len(outbox(app, "email", "ewa.kaminska@example.com")) == 1

    # Billing's files stopped carrying 200005 (and 200004) 91 days ago; the others are
    # carried by today's file.
    age(app, 91)
    import_file(runner, tmp_path, ["200001", "200002", "200003"])

    dry = retention(runner, "--dry-run")
    assert "personal data of 2 customers, 1 online accounts" in dry
    assert account_of(app, customers["registered"]) is not None  # a dry run changes nothing

    output = retention(runner)
    assert "personal data of 2 customers, 1 online accounts" in output
    assert "1 contact changes' values, 1 waiting messages" in output
    assert "Kamińska" not in output and "200005" not in output

    assert account_of(app, customers["registered"]) is None
    gone = customer(app, "200005")
    assert (gone.first_name, gone.last_name, gone.email, gone.phone, gone.bank_account) == (
        "",
        "",
        None,
        None,
        None,
    )
    assert gone.personal_data_removed_at is not None
    assert customer(app, "200004").personal_data_removed_at is not None
    assert customer(app, "200001").first_name == "Anna"
    with app.app_context():
        assert db.session.scalars(select(LoginEvent)).all() == []
        change = db.session.scalars(select(ContactChange)).one()
        assert (change.old_value, change.new_value) == (None, "")
        assert change.settled_at is not None
        # The waiting notice is not sent; the other customer's is.
        messages = {m.recipient: m for m in db.session.scalars(select(OutboxMessage))}
        assert "ewa.kaminska@example.com" not in messages
        withdrawn = messages["e***@example.com"]
        assert (withdrawn.status, withdrawn.body_text) == ("stale", "")
        assert messages["anna.nowak@example.com"].status == "pending"
        # What the law keeps stays: the invoice, the consents, the e-Faktura record.
        assert db.session.scalars(select(Invoice)).one().customer_id == gone.id
        assert db.session.scalars(select(MarketingConsent)).one().customer_id == gone.id
        records = db.session.scalars(select(EInvoiceConsent).order_by(EInvoiceConsent.id))
        assert [(r.event, r.customer_id, r.source) for r in records] == [
            ("activated", gone.id, "banner"),
            ("withdrawn", gone.id, "retention"),
        ]

    # Billing is not sent the emptied change.
    exported = runner.invoke(args=["contacts", "export", "--since", "2000-01-01"])
    assert exported.exit_code == 0 and "200005" not in exported.output

    # Signed out everywhere: the session the customer had is over.
    response = visitor.client.get("/moje-konto", follow_redirects=False)
    assert response.status_code in (302, 303)

    # Idempotent: nobody is counted twice.
    assert "personal data of 0 customers, 0 online accounts" in retention(runner)


@pytest.mark.parametrize("htmx", [False, True])
def test_after_retention_the_login_fails_and_registration_waits_for_billing(
    app, runner, customers, tmp_path, make_visitor, htmx
):
    age(app, 91)
    import_file(runner, tmp_path, ["200001"])
    retention(runner)

    visitor = make_visitor(htmx=htmx)
    refused = visitor.post("/", {"login": "200005", "password": TEST_PASSWORD})
    assert refused.status_code == 422
    assert "HX-Redirect" not in refused.headers
    assert visitor.client.get("/strona-glowna", follow_redirects=False).status_code in (302, 303)

    # No contact data left: the wizard cannot send a code to anyone.
    wizard = WizardActions(app, make_visitor(htmx=htmx))
    wizard.start("200005")
    refused = wizard.choose("sms", "600 700 805")
    assert refused.request.path != "/rejestracja/kod"
    assert outbox(app, "sms", "+48600700805") == []

    # Billing carries the customer again: the data is back, and registration works.
    import_file(runner, tmp_path, ["200005"], name="again.csv")
    back = customer(app, "200005")
    assert (back.last_name, back.phone, back.personal_data_removed_at) == (
        "Kamińska",
        "+48600700805",
        None,
    )
    wizard = WizardActions(app, make_visitor(htmx=htmx))
    wizard.start("200005")
    wizard.choose("sms", "600 700 805")
    wizard.enter_code(last_code(app, "+48600700805"))
    assert wizard.set_password().status_code == 200
    assert account_of(app, customers["registered"]) is not None


def test_an_import_before_the_deadline_resets_the_clock(app, runner, customers, tmp_path):
    age(app, 89)
    import_file(runner, tmp_path, ["200001"])  # a file came, without 200005
    assert "of 0 customers" in retention(runner, "--dry-run")
    import_file(runner, tmp_path, ["200005"], name="later.csv")  # carried again in time
    age(app, 2, ["200001"])  # two days on: 200005's last file is 2 days old, not 91
    age(app, 2, ["200005"])
    assert "of 0 customers" in retention(runner)
    assert account_of(app, customers["registered"]) is not None


def test_no_files_from_billing_at_all_removes_nobody(app, runner, customers):
    # Billing stopped sending: every customer is "old" alike, no file came without them.
    age(app, 400)
    assert "of 0 customers" in retention(runner)
    assert customer(app, "200005").first_name == "Ewa"


@pytest.mark.config(CUSTOMERS_RETENTION_DAYS=0)
def test_retention_switched_off(app, runner, customers, tmp_path):
    age(app, 400)
    import_file(runner, tmp_path, ["200001"])
    assert "retention is off" in retention(runner)
    assert account_of(app, customers["registered"]) is not None


def test_the_audit_line_has_counts_and_no_personal_data(app, runner, customers, tmp_path, caplog):
    age(app, 91)
    import_file(runner, tmp_path, ["200001"])
    with caplog.at_level("INFO"):
        retention(runner)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "retention_applied" in logged and "customers=4" in logged
    for personal in ("Kamińska", "ewa.kaminska", "600700805", "200005"):
        assert personal not in logged


@pytest.mark.config(CUSTOMERS_RETENTION_DAYS=0)
def test_a_customer_billing_marked_as_gone_goes_at_once(app, runner, customers, tmp_path):
    import_file(runner, tmp_path, list(ROWS))  # billing's file still carries everyone
    dry = retention(runner, "--dry-run", "--customer", "200 005", "--customer", "999999")
    assert "(named by --customer): personal data of 1 customers, 1 online accounts" in dry
    assert account_of(app, customers["registered"]) is not None
    assert "personal data of 1 customers, 1 online accounts" in retention(
        runner, "--customer", "200005"
    )
    assert account_of(app, customers["registered"]) is None
    assert customer(app, "200005").email is None
    assert customer(app, "200001").email == "anna.nowak@example.com"
    assert "personal data of 0 customers" in retention(runner, "--customer", "200005")
