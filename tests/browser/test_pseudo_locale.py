"""The main pages in the pseudo-localised catalog (`make catalog-pseudo`): every string of
the catalog wrapped in ⟦ ⟧ and about 40 % longer, its words stretched as German compounds
are. At 320 px nothing scrolls sideways (the error summary's links wrap too), and no text
on a page comes from anywhere but the catalog, the customer's data and CLDR's formats."""

import contextlib
import re

import pytest
from babel import Locale
from invoice_files import invoice_row, tiny_pdf, write_folder
from support import DEFAULT_LANGUAGES, TEST_PASSWORD

from ebok.extensions import db
from ebok.i18n.languages import NAMES
from ebok.invoices.importing import import_invoices
from ebok.models import Customer
from scripts.catalog import (
    PSEUDO_CLOSE,
    PSEUDO_LANGUAGE,
    PSEUDO_OPEN,
    ROOT,
    TRANSLATIONS,
    pseudo,
)

SMALLEST = {"width": 320, "height": 740}


@pytest.fixture(scope="module")
def pseudo_catalogs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pseudo")
    with contextlib.chdir(ROOT):  # extraction names files relative to the project
        pseudo(folder)
    return folder


@pytest.fixture
def live_config(pseudo_catalogs):
    return {
        "LANGUAGES": [*DEFAULT_LANGUAGES, PSEUDO_LANGUAGE],
        "BABEL_TRANSLATION_DIRECTORIES": f"{TRANSLATIONS};{pseudo_catalogs}",
    }


@pytest.fixture
def tab(browser, live, tmp_path):
    live.app.config["INVOICE_STORAGE"] = str(tmp_path / "storage")
    rows = [
        invoice_row("200005", f"FV/2026/{month:02d}/{month:06d}", issue=f"2026-{month:02d}-02")
        for month in (10, 11)
    ]
    with live.app.app_context():
        assert not import_invoices(
            str(write_folder(tmp_path / "in", rows, {"a.pdf": tiny_pdf("a")}))
        ).rejected
        customer = db.session.scalars(db.select(Customer).where(Customer.number == "200005")).one()
        customer.bank_account = "61109010140000071219812874"
        db.session.commit()
    context = browser.new_context(viewport=SMALLEST, locale="pl-PL")
    context.add_cookies([{"name": "language", "value": PSEUDO_LANGUAGE, "url": live.url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


# What may stand outside the catalog's brackets: each language's name in itself (the
# switcher), the operator's identity, the customer's own data, and what CLDR and the data
# write (dates, amounts, numbers, invoice numbers, file sizes).
def allowed_words(live) -> set[str]:
    config = live.app.config
    words = {*NAMES.values(), PSEUDO_LANGUAGE, "PL", "FV", "zł", "PLN"}
    with live.app.app_context():
        customer = db.session.scalars(db.select(Customer).where(Customer.number == "200005")).one()
        words.update(
            re.findall(r"\w+", f"{customer.first_name} {customer.last_name} {customer.email}")
        )
    for key in ("OPERATOR_NAME", "OPERATOR_ADDRESS", "OPERATOR_EMAIL", "OPERATOR_PORTAL_URL"):
        words.update(re.findall(r"\w+", str(config.get(key) or "")))
    months = Locale.parse(PSEUDO_LANGUAGE).months
    for width in ("wide", "abbreviated"):
        words.update(re.findall(r"\w+", " ".join(months["format"][width].values())))
    return {word.lower() for word in words}


def outside_the_catalog(page, allowed: set[str]) -> list[str]:
    text = page.evaluate("() => document.body.innerText")
    inner = re.compile(
        re.escape(PSEUDO_OPEN)
        + r"[^"
        + PSEUDO_OPEN
        + PSEUDO_CLOSE
        + r"]*"
        + re.escape(PSEUDO_CLOSE)
    )
    while True:
        shorter = inner.sub(" ", text)
        if shorter == text:
            break
        text = shorter
    words = re.findall(r"[^\W\d_]{2,}", text)
    return sorted({word for word in words if word.lower() not in allowed})


def check(page, live, state: str) -> None:
    assert page.evaluate("() => document.documentElement.lang") == PSEUDO_LANGUAGE, state
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{state}: {overflow} px wider than the screen"
    stray = outside_the_catalog(page, allowed_words(live))
    assert not stray, f"{state}: text outside the catalog: {stray}"


def test_the_main_pages_in_the_pseudo_catalog(tab, live):
    tab.goto(live.url + "/")
    check(tab, live, "login page")
    tab.locator("#panel form button[type=submit]").first.click()
    summary = tab.locator("#error-summary")
    summary.wait_for()
    check(tab, live, "login page with errors")
    # Its links wrap anywhere: a German compound or a long e-mail address would not fit.
    assert summary.evaluate("box => box.scrollWidth <= box.clientWidth")
    assert summary.locator("a").first.evaluate("link => getComputedStyle(link).overflowWrap") == (
        "anywhere"
    )

    tab.goto(live.url + "/rejestracja/")
    check(tab, live, "registration")
    tab.locator("#panel form button[type=submit]").first.click()
    tab.locator("#error-summary").wait_for()
    check(tab, live, "registration with errors")

    tab.goto(live.url + "/")
    tab.locator("#login").fill("200005")
    tab.locator("#password").fill(TEST_PASSWORD)
    tab.locator("#panel form button[type=submit]").first.click()
    tab.wait_for_url(live.url + "/strona-glowna")
    check(tab, live, "Strona Główna")
    for path in ("/faktury", "/moje-konto", "/moje-konto/haslo"):
        tab.goto(live.url + path)
        check(tab, live, path)


def test_faktury_at_a_desktop_size_in_the_pseudo_catalog(tab, live):
    """The table's one-line rows hold the longer words too."""
    tab.set_viewport_size({"width": 1280, "height": 800})
    tab.goto(live.url + "/")
    tab.locator("#login").fill("200005")
    tab.locator("#password").fill(TEST_PASSWORD)
    tab.locator("#panel form button[type=submit]").first.click()
    tab.wait_for_url(live.url + "/strona-glowna")
    tab.goto(live.url + "/faktury")
    check(tab, live, "Faktury at 1280 px")
    assert tab.locator(".invoice-table").evaluate(
        "table => table.scrollWidth <= table.parentElement.clientWidth"
    )
