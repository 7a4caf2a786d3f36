"""Billing learns of the contact changes made in Strefa Klienta (SPEC §15): `flask contacts
export --since`, and a customers import that keeps the portal's newer value until
billing's file carries it (then the change is settled), in both orders."""

import csv
import io
from datetime import datetime

from sqlalchemy import select
from support import TEST_PASSWORD, activate_einvoice, found, outbox

from ebok.extensions import db
from ebok.models import ContactChange, Customer

HEADER = "customer_number,first_name,last_name,email,phone\n"
OLD_ROW = "200005,Ewa,Kamińska,ewa.kaminska@example.com,600 700 805\n"
NEW_EMAIL = "ewa.nowa@example.com"
NEW_PHONE = "+48511222333"


def change_contacts_in_the_portal(app, make_visitor):
    """Ewa changes both her e-mail address and her phone number in Moje Konto."""
    visitor = make_visitor()
    visitor.post("/", {"login": "200005", "password": TEST_PASSWORD})
    visitor.post("/moje-konto/adres-email", {"current_password": TEST_PASSWORD, "email": NEW_EMAIL})
    link = found(
        r"/moje-konto/adres-email/potwierdz/\S+", outbox(app, "email", NEW_EMAIL)[-1].body_text
    )
    visitor.post(link.group(0))
    visitor.post("/moje-konto/telefon", {"current_password": TEST_PASSWORD, "phone": NEW_PHONE})
    code = found(r"\b(\d{6})\b", outbox(app, "sms", NEW_PHONE)[-1].body_text).group(1)
    visitor.post("/moje-konto/telefon/kod", {"code": code})


def import_file(runner, tmp_path, row):
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + row, encoding="utf-8")
    result = runner.invoke(args=["customers", "import", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def contacts(app):
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == "200005")).one()
        settled = [
            c.settled_at is not None
            for c in db.session.scalars(select(ContactChange).order_by(ContactChange.id))
        ]
        return customer.email, customer.phone, settled


def test_export_lists_the_changes_since(app, runner, make_visitor, customers):
    change_contacts_in_the_portal(app, make_visitor)
    result = runner.invoke(args=["contacts", "export", "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["customer_number", "field", "old_value", "new_value", "changed_at"]
    assert [row[:4] for row in rows[1:]] == [
        ["200005", "email", "ewa.kaminska@example.com", NEW_EMAIL],
        ["200005", "phone", "+48600700805", NEW_PHONE],
    ]
    changed_at = datetime.fromisoformat(rows[1][4].removesuffix("Z"))
    assert abs((datetime.utcnow() - changed_at).total_seconds()) < 3600

    later = runner.invoke(args=["contacts", "export", "--since", "2999-01-01"])
    assert later.output.splitlines() == [",".join(rows[0])]
    refused = runner.invoke(args=["contacts", "export", "--since", "yesterday"])
    assert refused.exit_code != 0


def test_an_import_before_billing_has_the_change_keeps_the_portals(
    app, runner, tmp_path, make_visitor, customers
):
    change_contacts_in_the_portal(app, make_visitor)
    output = import_file(runner, tmp_path, OLD_ROW)
    assert "kept the contact changed in Strefa Klienta (not in the file yet): 1" in output
    assert "unchanged: 1" in output
    assert contacts(app) == (NEW_EMAIL, NEW_PHONE, [False, False])

    # Billing's file carries the new e-mail, not yet the phone.
    output = import_file(runner, tmp_path, OLD_ROW.replace("ewa.kaminska@", "ewa.nowa@"))
    assert "kept the contact changed in Strefa Klienta (not in the file yet): 1" in output
    assert contacts(app) == (NEW_EMAIL, NEW_PHONE, [True, False])


def test_an_import_after_billing_took_the_export_settles_the_change(
    app, runner, tmp_path, make_visitor, customers
):
    change_contacts_in_the_portal(app, make_visitor)
    runner.invoke(args=["contacts", "export", "--since", "1d"])
    row = f"200005,Ewa,Kamińska,{NEW_EMAIL.upper()},511-222-333\n"
    output = import_file(runner, tmp_path, row)
    assert "kept the contact changed" not in output
    assert contacts(app) == (NEW_EMAIL, NEW_PHONE, [True, True])

    # Settled: billing is the source of truth again, a later change of its own goes in.
    output = import_file(runner, tmp_path, row.replace("511-222-333", "600 700 999"))
    assert "updated: 1" in output
    assert contacts(app)[1] == "+48600700999"


def test_the_login_and_the_einvoice_address_join_the_history_not_the_export(
    app, runner, make_visitor, customers
):
    activate_einvoice(app)
    visitor = make_visitor()
    visitor.post("/", {"login": "200005", "password": TEST_PASSWORD})
    visitor.post("/moje-konto/login", {"login_name": "ewa.k", "current_password": TEST_PASSWORD})
    # The contact address is confirmed without a link: the change is made at once.
    visitor.post(
        "/e-faktura/adres",
        {"email": "ewa.kaminska@example.com", "current_password": TEST_PASSWORD},
    )
    with app.app_context():
        rows = [
            (c.field, c.old_value, c.new_value, c.settled_at is not None)
            for c in db.session.scalars(select(ContactChange).order_by(ContactChange.id))
        ]
    assert rows == [
        ("login_name", None, "ewa.k", True),
        ("einvoice_address", "faktury.ewa@example.com", "ewa.kaminska@example.com", True),
    ]
    result = runner.invoke(args=["contacts", "export", "--since", "1d"])
    assert result.output.splitlines() == ["customer_number,field,old_value,new_value,changed_at"]
    visitor.post("/moje-konto/moje-dane", {"current_password": TEST_PASSWORD})
    data = visitor.client.get("/moje-konto/moje-dane/plik").get_json()
    assert [c["field"] for c in data["contact_changes"]] == ["login_name", "einvoice_address"]
    assert data["contact_changes"][0]["settled_with_billing_at"] is None
