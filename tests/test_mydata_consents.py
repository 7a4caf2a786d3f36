"""Zgody (SPEC §15): marketing by e-mail, SMS and phone, off until ticked, every change
kept with its date, wording version and page, shown as a history beside the e-Faktura
consent; `flask consents export --since` for billing."""

import csv
import io
import re

from sqlalchemy import select
from support import TEST_PASSWORD, activate_einvoice, assert_shape, follow, found, text_of

from ebok.extensions import db
from ebok.models import MarketingConsent


def records(app):
    with app.app_context():
        return [
            (r.channel, r.granted, r.wording_version, r.source)
            for r in db.session.scalars(select(MarketingConsent).order_by(MarketingConsent.id))
        ]


def ticked(response) -> set[str]:
    body = response.get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', body)
    assert len(boxes) == 3
    return {found(r"name=\"(\w+)\"", box).group(1) for box in boxes if "checked" in box}


def test_consents_page(app, runner, visitor, auth, customers):
    activate_einvoice(app)
    auth.log_in()
    assert "Zgody" in text_of(visitor.client.get("/moje-konto"))
    response = visitor.get("/moje-konto/zgody")
    assert response.status_code == 200
    assert_shape(visitor, response)
    assert ticked(response) == set()  # nothing pre-ticked
    page = text_of(response)
    assert "Nie udzielono żadnej zgody marketingowej." in page
    assert "e-Faktura włączona, zaakceptowano regulamin w wersji 2026-11" in page

    response = follow(visitor, visitor.post("/moje-konto/zgody", {"email": "y", "phone": "y"}))
    assert response.request.path == "/moje-konto/zgody"
    assert ticked(response) == {"email", "phone"}
    assert "Zapisaliśmy Twoje zgody." in text_of(response)
    assert records(app) == [
        ("email", True, "2026-12", "consents_page"),
        ("phone", True, "2026-12", "consents_page"),
    ]

    response = follow(visitor, visitor.post("/moje-konto/zgody", {"phone": "y"}))
    assert ticked(response) == {"phone"}
    assert records(app)[-1] == ("email", False, "2026-12", "consents_page")
    page = text_of(response)
    assert "Marketing e-mailem – zgoda wycofana" in page
    assert "Marketing telefoniczny – zgoda udzielona" in page

    same = follow(visitor, visitor.post("/moje-konto/zgody", {"phone": "y"}))
    assert "Nic się nie zmieniło." in text_of(same) and len(records(app)) == 3

    result = runner.invoke(args=["consents", "export", "--since", "1d"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == [
        "customer_number",
        "channel",
        "granted",
        "wording_version",
        "source",
        "recorded_at",
    ]
    assert [row[:5] for row in rows[1:]] == [
        ["200005", "email", "yes", "2026-12", "consents_page"],
        ["200005", "phone", "yes", "2026-12", "consents_page"],
        ["200005", "email", "no", "2026-12", "consents_page"],
    ]


def test_consents_need_csrf_and_a_login(app, make_visitor, customers):
    stranger = make_visitor()
    assert stranger.get("/moje-konto/zgody", follow_redirects=False).status_code in (302, 303)
    owner = make_visitor()
    owner.post("/", {"login": "200005", "password": TEST_PASSWORD})
    owner.get("/moje-konto/zgody")
    response = owner.post("/moje-konto/zgody", {"email": "y"}, csrf=False)
    assert response.status_code == 400
    assert records(app) == []
