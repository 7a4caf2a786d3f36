"""The operator's identity from configuration (SPEC §13), every page's own <title>
(SPEC §9, WCAG 2.4.2) and the error summary's structure, through HTTP."""

import html
import re

import pytest
from invoice_files import invoice_row, write_folder
from support import (
    TEST_PASSWORD,
    activate_einvoice,
    follow,
    found,
    last_code,
    last_link,
    outbox,
    text_of,
)

from ebok.operator import text_color_on

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10"/></svg>'


def title_of(response) -> str:
    return html.unescape(found(TITLE, response.get_data(as_text=True)).group(1)).strip()


@pytest.fixture
def operator_app(app, tmp_path):
    """The test app with an operator configured, as FLASK_OPERATOR_* variables would."""
    logo = tmp_path / "logo.svg"
    logo.write_text(LOGO)
    app.config.update(
        OPERATOR_NAME="Vectra",
        OPERATOR_NAME_LOCATIVE="Vectrze",
        OPERATOR_LOGO=str(logo),
        OPERATOR_PRIMARY_COLOR="#e30613",
        OPERATOR_EMAIL="bok@vectra.example",
        OPERATOR_ADDRESS="ul. Przykładowa 1, 81-000 Gdynia",
        OPERATOR_PORTAL_URL="https://ebok.vectra.example/",
        OPERATOR_PHISHING_REPORT="phishing@vectra.example",
    )
    return app


def test_the_neutral_default_names_no_operator(app, make_visitor, customers):
    visitor = make_visitor()
    page = visitor.get("/")
    assert title_of(page) == "Logowanie do Strefy Klienta – Strefa Klienta"
    assert "Vectr" not in page.get_data(as_text=True)
    visitor.post("/rejestracja/", {"number": "200001", "action": "next"})
    channel = text_of(visitor.get("/rejestracja/sposob"))
    assert "Podaj numer telefonu zgłoszony u nas jako kontaktowy" in channel
    # No portal address configured: no address is shown as the real one.
    assert "Strefa Klienta jest wyłącznie pod adresem" not in text_of(page)
    assert "Nigdy nie prosimy o hasło w e-mailu, SMS-ie ani przez telefon." in text_of(page)


def test_the_configured_operator_on_every_page(operator_app, make_visitor, customers):
    visitor = make_visitor()
    page = visitor.get("/")
    body = page.get_data(as_text=True)
    text = text_of(page)
    assert title_of(page) == "Logowanie do Strefy Klienta – Strefa Klienta Vectra"
    assert '<span class="site-header__operator">Vectra</span>' in body
    # The trust cues: the real address, what we never ask for, where to report.
    assert "Strefa Klienta jest wyłącznie pod adresem ebok.vectra.example." in text
    assert "Nigdy nie prosimy o hasło w e-mailu, SMS-ie ani przez telefon." in text
    assert '<a href="mailto:phishing@vectra.example">phishing@vectra.example</a>' in body
    assert "ul. Przykładowa 1, 81-000 Gdynia" in text
    assert 'href="mailto:bok@vectra.example"' in body
    assert '<meta name="theme-color" content="#e30613">' in body
    assert re.search(r'<meta name="description" content="Strefa Klienta Vectra: [^"]+">', body)
    # The hint names the operator in the locative.
    visitor.post("/rejestracja/", {"number": "200001", "action": "next"})
    channel = text_of(visitor.get("/rejestracja/sposob"))
    assert "Podaj numer telefonu zgłoszony w Vectrze jako kontaktowy" in channel
    assert "Podaj adres e-mail zgłoszony w Vectrze jako kontaktowy" in channel


def test_the_colour_and_logo_are_served_under_the_csp(operator_app, make_visitor):
    visitor = make_visitor()
    body = visitor.get("/").get_data(as_text=True)
    assert "style=" not in body  # no inline style: the colour comes in a stylesheet
    theme_url = found(r'<link rel="stylesheet" href="(/operator/theme-\w+\.css)">', body)[1]
    theme = visitor.client.get(theme_url)
    assert theme.mimetype == "text/css"
    assert "--brand: #e30613; --brand-text: #ffffff;" in theme.get_data(as_text=True)
    assert "immutable" in theme.headers["Cache-Control"]
    logo_url = found(r'<img class="site-header__logo" src="([^"]+)"', body)[1]
    logo = visitor.client.get(logo_url)
    assert (logo.mimetype, logo.get_data(as_text=True)) == ("image/svg+xml", LOGO)
    # Another colour is another URL, so a year's caching never shows an old colour.
    assert visitor.client.get("/operator/theme-0000000000000000.css").status_code == 404


def test_the_installed_app_carries_the_operators_name_and_colour(operator_app, make_visitor):
    """The manifest names the portal as the pages' titles do, in the operator's colour."""
    visitor = make_visitor()
    body = visitor.get("/").get_data(as_text=True)
    manifest_url = found(r'<link rel="manifest" href="([^"]+)">', body)[1]
    manifest = visitor.client.get(manifest_url).get_json(force=True)
    assert manifest["name"] == "Strefa Klienta Vectra"
    assert manifest["theme_color"] == "#e30613"


def test_the_header_text_keeps_its_contrast_on_any_colour():
    assert text_color_on("#00558c") == "#ffffff"
    assert text_color_on("#ffdd00") == "#0b0c0c"
    assert text_color_on("#e30613") == "#ffffff"


def test_the_operators_design_tokens_are_served_with_the_colour(
    operator_app, make_visitor, tmp_path
):
    """Accent, corner radius and a font of the portal's own (issue 22): one stylesheet,
    the font from the portal itself (no third-party fonts), both cached for a year."""
    font = tmp_path / "brand.woff2"
    font.write_bytes(b"wOF2 not really a font")
    operator_app.config.update(
        OPERATOR_ACCENT_COLOR="#00786f",
        OPERATOR_CORNER_RADIUS="0.5rem",
        OPERATOR_FONT=str(font),
        OPERATOR_FONT_NAME="Kablo Sans",
    )
    visitor = make_visitor()
    body = visitor.get("/").get_data(as_text=True)
    theme_url = found(r'<link rel="stylesheet" href="(/operator/theme-\w+\.css)">', body)[1]
    theme = visitor.client.get(theme_url).get_data(as_text=True)
    assert "--brand: #e30613; --brand-text: #ffffff;" in theme
    assert "--brand-accent: #00786f;" in theme
    assert "--radius: 0.5rem;" in theme
    assert '--font: "Kablo Sans", ' in theme
    font_url = found(r'url\("(/operator/font-\w+\.woff2)"\) format\("woff2"\)', theme)[1]
    served = visitor.client.get(font_url)
    assert (served.mimetype, served.data) == ("font/woff2", b"wOF2 not really a font")
    assert "immutable" in served.headers["Cache-Control"]
    assert visitor.client.get("/operator/font-0000000000000000.woff2").status_code == 404


def test_without_tokens_the_default_stays_neutral(app, make_visitor):
    body = make_visitor().get("/").get_data(as_text=True)
    assert "/operator/theme-" not in body


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("OPERATOR_PRIMARY_COLOR", "red; } body { display: none"),
        ("OPERATOR_LOGO", "/nope.svg"),
        # Icons and the edges that mark what is owed need 3:1 on the white panel.
        ("OPERATOR_ACCENT_COLOR", "#ffdd00"),
        ("OPERATOR_ACCENT_COLOR", "teal"),
        ("OPERATOR_CORNER_RADIUS", "4px; } body { display: none"),
        ("OPERATOR_CORNER_RADIUS", "3rem"),
        ("OPERATOR_FONT", "/nope.woff2"),
        ("OPERATOR_FONT_NAME", 'Sans"; } body { x: "'),
    ],
)
def test_a_bad_identity_setting_stops_the_start(make_app, key, value):
    with pytest.raises(RuntimeError, match=f"FLASK_{key}"):
        make_app(**{key: value})


def test_every_email_carries_the_identity_and_the_cues(operator_app, make_visitor, customers):
    visitor = make_visitor()
    visitor.post("/rejestracja/", {"number": "200002", "action": "next"})
    visitor.post(
        "/rejestracja/sposob",
        {"channel": "email", "email": "jan.kowalski@example.com", "action": "next"},
    )
    (message,) = outbox(operator_app, "email", "jan.kowalski@example.com")
    assert_identity_and_cues(message)


def test_the_new_invoice_email_carries_the_identity_and_the_cues(operator_app, customers, tmp_path):
    activate_einvoice(operator_app)
    folder = write_folder(tmp_path / "in", [invoice_row("200005", "FV/2026/11/9")])
    result = operator_app.test_cli_runner().invoke(args=["invoices", "import", str(folder)])
    assert result.exit_code == 0, result.output
    (message,) = outbox(operator_app, "email", "faktury.ewa@example.com")
    assert_identity_and_cues(message)


def assert_identity_and_cues(message) -> None:
    """The operator's name and colour, and the anti-phishing cues, in both parts."""
    for body in (message.body_text, re.sub(r"<[^>]+>", " ", message.body_html)):
        flat = re.sub(r"\s+", " ", html.unescape(body))
        assert "Vectra" in flat
        assert "Nigdy nie prosimy o hasło w e-mailu, SMS-ie ani przez telefon." in flat
        assert "Loguj się tylko pod adresem ebok.vectra.example" in flat
        assert "phishing@vectra.example" in flat
    assert "background: #e30613" in message.body_html


def test_each_registration_step_has_a_title_of_its_own(app, visitor, customers):
    titles = [title_of(visitor.get("/rejestracja/"))]
    titles.append(title_of(visitor.post("/rejestracja/", {"number": "200001", "action": "next"})))
    code_step = visitor.post(
        "/rejestracja/sposob", {"channel": "sms", "phone": "512345678", "action": "next"}
    )
    titles.append(title_of(code_step))
    password_step = visitor.post(
        "/rejestracja/kod", {"code": last_code(app, "+48512345678"), "action": "next"}
    )
    titles.append(title_of(password_step))
    assert titles == [
        "Twój Numer Ewidencyjny Klienta – Rejestracja – Strefa Klienta",
        "Wybierz sposób rejestracji – Rejestracja – Strefa Klienta",
        "Podaj kod SMS – Rejestracja – Strefa Klienta",
        "Ustaw hasło – Rejestracja – Strefa Klienta",
    ]
    wrong = visitor.post("/rejestracja/haslo", {"password": "x", "password_repeat": "y"})
    assert title_of(wrong) == "Błąd: Ustaw hasło – Rejestracja – Strefa Klienta"


def test_the_inbox_and_link_pages_have_titles_of_their_own(app, visitor, customers):
    visitor.post("/rejestracja/", {"number": "200002", "action": "next"})
    inbox = visitor.post(
        "/rejestracja/sposob",
        {"channel": "email", "email": "jan.kowalski@example.com", "action": "next"},
    )
    assert title_of(inbox) == "Sprawdź pocztę – Rejestracja – Strefa Klienta"
    broken = visitor.get("/rejestracja/link/zepsuty")
    assert title_of(broken).startswith("Ten link jest nieprawidłowy – Rejestracja")
    assert last_link(app, "jan.kowalski@example.com")


def test_the_einvoice_confirmation_title_follows_the_result(app, make_visitor, customers):
    visitor = make_visitor()
    follow(visitor, visitor.post("/", {"login": "200005", "password": TEST_PASSWORD}))
    visitor.post(
        "/e-faktura/aktywuj",
        {"email": "inny@example.com", "source": "banner", "accept_terms": "y"},
    )
    (message,) = outbox(app, "email", "inny@example.com")
    link = found(r"https?://[^/\s]+(/e-faktura/potwierdz/\S+)", message.body_text)[1]
    before = visitor.get(link)
    assert title_of(before) == "Potwierdź adres do e-Faktury – Strefa Klienta"
    after = visitor.post(link, {})
    assert title_of(after).startswith("e-Faktura została aktywowana – ")
    assert title_of(visitor.post(link, {})).startswith("Ten link został już wykorzystany – ")


def test_the_error_summary_reads_its_errors_when_focused(visitor, customers):
    body = visitor.post("/rejestracja/", {"number": "", "action": "next"}).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary"[^>]*>\s*<div role="alert">', body)
    assert summary, "the GOV.UK structure: a focusable container around role=alert"
    assert 'tabindex="-1"' in summary[0]
    assert "aria-labelledby" not in summary[0]  # prohibited on a generic div


def test_the_activation_page_without_javascript_has_an_h1(app, make_visitor, customers):
    visitor = make_visitor()
    follow(visitor, visitor.post("/", {"login": "200005", "password": TEST_PASSWORD}))
    body = visitor.get("/e-faktura/aktywuj").get_data(as_text=True)
    assert re.search(
        r'<h1 class="dialog__title" id="dialog-title"[^>]*>'
        r'Aktywuj <span class="nowrap">e-Fakturę</span></h1>',
        body,
    )
    in_window = make_visitor(htmx=True)
    in_window.client = visitor.client
    fragment = in_window.get("/e-faktura/aktywuj").get_data(as_text=True)
    assert '<h2 class="dialog__title" id="dialog-title"' in fragment


def test_the_guide_pdf_is_built_once_per_language(app, make_visitor, monkeypatch):
    from ebok.guide import pdf
    from ebok.web import pdf_fonts

    with app.app_context():
        if not pdf_fonts.available():
            pytest.skip("DejaVu Sans is not installed (make fonts)")
    built = []
    render = pdf.render_guide_pdf

    def counted_render(title):
        built.append(title)
        return render(title)

    monkeypatch.setattr(pdf, "render_guide_pdf", counted_render)
    visitor = make_visitor()
    first, again = (visitor.client.get("/instrukcja.pdf") for _ in range(2))
    ukrainian = visitor.client.get("/instrukcja.pdf", headers={"Accept-Language": "uk"})
    assert first.status_code == again.status_code == ukrainian.status_code == 200
    assert first.data == again.data != ukrainian.data
    assert len(built) == 2  # Polish once, Ukrainian once


def test_the_guide_downloads_as_a_pdf_of_the_same_text(app, make_visitor):
    import io

    from pypdf import PdfReader

    visitor = make_visitor()
    page = visitor.get("/instrukcja")
    assert 'href="/instrukcja.pdf" download' in page.get_data(as_text=True)
    response = visitor.client.get("/instrukcja.pdf")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    text = re.sub(r"\s+", " ", text)
    # The same sentences as the page, Polish letters included.
    for sentence in (
        "Instrukcja do Strefy Klienta",
        "Na stronie logowania wpisz numer klienta lub login oraz hasło",
        "Klienta: 22 123 45 67.",
    ):
        assert sentence in text
        assert sentence in text_of(page)
    # The steps carry their own numbers: no list number before "Krok 1." (nor a bullet).
    assert "Krok 1. Na stronie logowania" in text
    assert not re.search(r"(?:^|\s)(\d\.|•)\s*Krok \d", text)


@pytest.mark.config(PDF_FONT_DIR="/nonexistent")
def test_without_the_font_the_guide_offers_printing_only(app, make_visitor):
    visitor = make_visitor()
    assert "/instrukcja.pdf" not in visitor.get("/instrukcja").get_data(as_text=True)
    assert visitor.client.get("/instrukcja.pdf").status_code == 404


def _log_in_and_ask_for_another_address(app, make_visitor):
    visitor = make_visitor()
    follow(visitor, visitor.post("/", {"login": "200005", "password": TEST_PASSWORD}))
    visitor.post(
        "/e-faktura/aktywuj",
        {"email": "inny@example.com", "source": "banner", "accept_terms": "y"},
    )
    return visitor


def _confirmation_links(app) -> list[str]:
    return [
        found(r"https?://[^/\s]+(/e-faktura/potwierdz/\S+)", message.body_text)[1]
        for message in outbox(app, "email", "inny@example.com")
    ]


def test_a_pending_address_is_shown_with_resend_and_cancel(app, make_visitor, customers):
    visitor = _log_in_and_ask_for_another_address(app, make_visitor)
    home = text_of(visitor.get("/strona-glowna"))
    assert "Czekamy na potwierdzenie adresu inny@example.com" in home
    assert "Aktywuj" not in home
    account_page = text_of(visitor.get("/moje-konto"))
    assert "czeka na potwierdzenie" in account_page
    assert "nieaktywna" not in account_page

    page = visitor.post("/e-faktura/oczekujacy/wyslij-ponownie", {"source": "banner"})
    assert "Wysłaliśmy nowy link potwierdzający na adres inny@example.com." in text_of(page)
    first, second = _confirmation_links(app)
    assert visitor.get(first).status_code == 410  # superseded by the newer link
    assert visitor.get(second).status_code == 200


def test_cancelling_a_pending_address_kills_its_link(app, make_visitor, customers):
    visitor = _log_in_and_ask_for_another_address(app, make_visitor)
    page = visitor.post("/e-faktura/oczekujacy/anuluj", {"source": "banner"})
    assert "Zmiana adresu została anulowana" in text_of(page)
    assert "Czekamy na potwierdzenie" not in text_of(visitor.get("/strona-glowna"))
    (link,) = _confirmation_links(app)
    assert visitor.post(link, {}).status_code == 410
    assert "nieaktywna" in text_of(visitor.get("/moje-konto"))
