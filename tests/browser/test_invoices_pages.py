"""Faktury in a real browser (SPEC §11, issue 11): axe-core on the list and on Strona
Główna with and without invoices, the htmx year filter and pages pushing the URL, and the
copy button used by keyboard, announced in the live region."""

import pytest
from invoice_files import invoice_row, tiny_pdf, write_folder
from steps import log_in, open_menu

from ebok.extensions import db
from ebok.invoices.importing import import_invoices
from ebok.models import Customer

NRB = "61109010140000071219812874"


@pytest.fixture
def invoices(live, tmp_path):
    """Fourteen invoices of two years for the registered customer, and a bank account."""
    live.app.config["INVOICE_STORAGE"] = str(tmp_path / "storage")
    live.app.config["INVOICES_PER_PAGE"] = 5
    rows = [
        invoice_row(
            "200005",
            f"FV/2026/{month:02d}/{month:06d}",
            issue=f"2026-{month:02d}-02",
            due="2020-01-20" if month == 10 else "2099-12-15",
            paid_on="" if month >= 10 else f"2026-{month:02d}-12",
        )
        for month in range(1, 12)
    ]
    rows += [
        invoice_row("200005", f"FV/2025/{month}/1", issue=f"2025-{month}-02", paid_on="2025-12-30")
        for month in (10, 11, 12)
    ]
    folder = write_folder(tmp_path / "in", rows, {"a.pdf": tiny_pdf("a")})
    with live.app.app_context():
        assert not import_invoices(str(folder)).rejected
        customer = db.session.scalars(db.select(Customer).where(Customer.number == "200005")).one()
        customer.bank_account = NRB
        db.session.commit()
    return live


def test_pages_without_invoices(page, live, axe, tmp_path):
    live.app.config["INVOICE_STORAGE"] = str(tmp_path / "storage")
    log_in(page, live)
    axe(page, "Strona Główna without invoices")
    open_menu(page)
    page.get_by_role("link", name="Faktury", exact=True).click()
    page.get_by_role("heading", name="Nie masz jeszcze faktur").wait_for()
    axe(page, "Faktury without invoices")


def test_pages_with_invoices_and_the_htmx_list(page, invoices, axe):
    log_in(page, invoices)
    axe(page, "Strona Główna with invoices")
    open_menu(page)
    page.get_by_role("link", name="Faktury", exact=True).click()
    page.wait_for_url(invoices.url + "/faktury")
    axe(page, "Faktury, first page")
    page.get_by_role("link", name="Następna strona").click()
    page.wait_for_url(invoices.url + "/faktury?strona=2")
    assert page.get_by_text("strona 2 z 3").is_visible()
    # htmx swapped the list only: focus went to its summary, not to the top of a new page.
    assert page.evaluate("() => document.activeElement.classList.contains('invoice-count')")
    page.get_by_label("Rok").select_option("2025")
    page.get_by_role("button", name="Pokaż").click()
    page.wait_for_url(invoices.url + "/faktury?rok=2025")
    page.get_by_text("3 faktury z 2025").wait_for()
    axe(page, "Faktury, filtered by year")
    page.go_back()
    page.wait_for_url(invoices.url + "/faktury?strona=2")


def test_the_copy_button_works_by_keyboard_and_is_announced(page, invoices):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, invoices)
    button = page.get_by_role("button", name="Kopiuj numer rachunku")
    assert page.get_by_text("61 1090 1014 0000 0712 1981 2874", exact=True).is_visible()
    button.focus()
    page.keyboard.press("Enter")
    page.locator("#status").get_by_text("Skopiowano numer rachunku.").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == NRB
    page.locator("#status").evaluate("region => { region.textContent = ''; }")
    page.keyboard.press("Space")
    page.locator("#status").get_by_text("Skopiowano numer rachunku.").wait_for()
    # The IBAN, for transfers from abroad, has its own button.
    assert page.get_by_text("PL61 1090 1014 0000 0712 1981 2874", exact=True).is_visible()
    page.get_by_role("button", name="Kopiuj IBAN").focus()
    page.keyboard.press("Enter")
    page.locator("#status").get_by_text("Skopiowano IBAN.").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == "PL" + NRB


def test_without_javascript_there_is_no_copy_button(browser, invoices):
    context = browser.new_context(java_script_enabled=False, locale="pl-PL")
    tab = context.new_page()
    log_in(tab, invoices)
    assert tab.get_by_text("61 1090 1014 0000 0712 1981 2874", exact=True).is_visible()
    assert not tab.get_by_role("button", name="Kopiuj numer rachunku").is_visible()
    tab.goto(invoices.url + "/faktury?strona=2")
    assert tab.get_by_text("strona 2 z 3").is_visible()
    context.close()


@pytest.fixture
def a_year_of_invoices(live, tmp_path):
    """Twelve invoices, one page at the default INVOICES_PER_PAGE: paid, due and overdue."""
    live.app.config["INVOICE_STORAGE"] = str(tmp_path / "storage")
    rows = [
        invoice_row(
            "200005",
            f"FV/2026/{month:02d}/{month:06d}",
            issue=f"2026-{month:02d}-02",
            period=(f"2026-{month:02d}-01", f"2026-{month:02d}-28"),
            due="2020-01-20" if month == 11 else "2099-12-15",
            amount=f"{1000 + month}.99",
            paid_on="" if month >= 11 else f"2026-{month:02d}-12",
        )
        for month in range(1, 13)
    ]
    folder = write_folder(tmp_path / "in", rows, {"a.pdf": tiny_pdf("a")})
    with live.app.app_context():
        assert not import_invoices(str(folder)).rejected
    return live


# Where the parts of the page end, in the document's pixels.
LAYOUT = """() => {
  const bottom = selector => document.querySelector(selector).getBoundingClientRect().bottom
    + window.scrollY;
  const cards = [...document.querySelectorAll('.invoice-table__row')].map(row => {
    const top = row.getBoundingClientRect().top;
    const parts = ['.invoice-table__number', '.invoice-table__amount', '.invoice-table__status',
      '.invoice-table__pdf a'].map(part => row.querySelector(part).getBoundingClientRect().bottom);
    return Math.max(...parts) - top;
  });
  return {header: bottom('.site-header'), lastRow: bottom('.invoice-table tbody tr:last-child'),
    rows: cards.length, essentials: Math.max(...cards),
    overflow: document.documentElement.scrollWidth - window.innerWidth};
}"""


def test_twelve_invoices_at_a_glance(page, a_year_of_invoices, axe):
    """A desktop shows the twelve rows of the table in one screen under the header; a phone
    shows each as a card whose number, amount, status and PDF link come first, together;
    neither scrolls sideways."""
    log_in(page, a_year_of_invoices)
    page.goto(a_year_of_invoices.url + "/faktury")
    layout = page.evaluate(LAYOUT)
    assert layout["rows"] == 12
    assert layout["overflow"] <= 0
    if page.viewport_name == "desktop":
        assert page.locator(".invoice-table thead").is_visible()
        assert layout["lastRow"] <= layout["header"] + page.viewport_size["height"], layout
        # Narrower desktops, where rows may wrap: the table still fits the page.
        for width in (961, 1100):
            page.set_viewport_size({"width": width, "height": 800})
            assert page.locator(".invoice-table").evaluate(
                "table => table.scrollWidth <= table.parentElement.clientWidth"
            ), width
        page.set_viewport_size({"width": 1280, "height": 800})
    else:
        assert page.locator(".invoice-table thead").bounding_box()["height"] <= 1
        assert page.locator(".invoice-table__period .invoice-table__label").first.is_visible()
        assert layout["essentials"] <= 120, layout
    assert page.get_by_text("Po terminie").is_visible()
    axe(page, "Faktury, twelve invoices")
