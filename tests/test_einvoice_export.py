"""`flask einvoice export --since DATE`: billing's CSV of e-Faktura activations, address
changes and withdrawals, from the consent records (issue 28, 15a)."""

import csv
import io
from datetime import datetime

from sqlalchemy import select
from support import CUSTOMERS, activate_einvoice

from ebok.einvoice import service
from ebok.extensions import db
from ebok.models import Account, Customer, EInvoiceConsent

REGISTERED = CUSTOMERS["registered"]["number"]
HEADER = "consent_id,customer_number,event,delivery,email,terms_version,source,recorded_at"


def export(runner, since: str) -> list[dict[str, str]]:
    result = runner.invoke(args=["einvoice", "export", "--since", since])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == HEADER
    return list(csv.DictReader(io.StringIO(result.output)))


def record(app, event: str, address: str, at: datetime) -> None:
    with app.app_context():
        account = db.session.scalars(
            select(Account).join(Account.customer).where(Customer.number == REGISTERED)
        ).one()
        db.session.add(
            EInvoiceConsent(
                account_id=account.id,
                event=event,
                address=address,
                source="account",
                recorded_at=at,
            )
        )
        db.session.commit()


def test_every_change_since_the_date_oldest_first_with_the_delivery_it_leaves(
    app, runner, customers
):
    activate_einvoice(app, REGISTERED, since=datetime(2026, 11, 2, 9, 30))
    record(app, "address_changed", "nowy@example.com", datetime(2026, 11, 20, 8, 0))
    # The real withdrawal writes its own record (and tells the customer).
    with app.test_request_context():
        account = db.session.scalars(
            select(Account).join(Account.customer).where(Customer.number == REGISTERED)
        ).one()
        account.einvoice_address = "nowy@example.com"
        db.session.commit()
        assert service.withdraw(account)

    rows = export(runner, "2026-11-01")
    assert [(r["customer_number"], r["event"], r["delivery"], r["email"]) for r in rows] == [
        (REGISTERED, "activated", "electronic", "faktury.ewa@example.com"),
        (REGISTERED, "address_changed", "electronic", "nowy@example.com"),
        (REGISTERED, "withdrawn", "paper", "nowy@example.com"),
    ]
    assert rows[1]["recorded_at"] == "2026-11-20T08:00:00Z"
    assert len({row["consent_id"] for row in rows}) == 3

    # --since leaves out what billing already has.
    later = export(runner, "2026-11-20T08:00")
    assert [row["event"] for row in later] == ["address_changed", "withdrawn"]


def test_nothing_since_gives_the_header_only(app, runner, customers):
    activate_einvoice(app, REGISTERED, since=datetime(2026, 1, 1))
    record(app, "activated", "faktury.ewa@example.com", datetime(2026, 1, 1))
    assert export(runner, "2099-01-01") == []


def test_a_since_that_is_no_date_is_refused(runner):
    result = runner.invoke(args=["einvoice", "export", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "neither a time" in result.output
    result = runner.invoke(args=["einvoice", "export"])
    assert result.exit_code == 2 and "--since" in result.output


def test_output_to_a_file_is_complete_or_absent(app, runner, customers, tmp_path):
    activate_einvoice(app, REGISTERED, since=datetime(2026, 11, 2))
    target = tmp_path / "einvoice.csv"
    result = runner.invoke(
        args=["einvoice", "export", "--since", "2026-11-01", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"exported: 1 to {target}\n"
    assert target.read_text().splitlines()[0] == HEADER
    assert not (tmp_path / "einvoice.csv.part").exists()
