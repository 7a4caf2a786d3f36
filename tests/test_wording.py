"""Issue 12, items 3-9: the wording as translators and customers meet it.

Translations are escaped like any text (only the links the code inserts are markup);
numbers a setting controls are placeholders, in the right plural form; long waits read
well; no stray space before punctuation; gender-neutral Polish; typography that keeps a
line from breaking in the wrong place; every SMS in one segment in every language."""

import html
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import render_template
from flask_babel import force_locale, format_time, to_user_timezone
from sms_segments import GSM_SINGLE, UCS2_SINGLE, gsm_septets, segments, ucs2_units
from support import (
    CUSTOMERS,
    TEST_CONFIG,
    AuthActions,
    Visitor,
    WizardActions,
    found,
    outbox,
    text_of,
)

from ebok import create_app
from ebok.config import SMS_LIMITS
from ebok.extensions import babel
from ebok.i18n import typography
from ebok.i18n.durations import duration, whole_minutes
from ebok.identity import throttle
from ebok.identity.passwords import SPECIAL_CHARACTERS

ROOT = Path(__file__).parent.parent
POLISH_PO = ROOT / "translations/pl/LC_MESSAGES/messages.po"
NBSP = "\u00a0"


def _polish_catalog():
    with POLISH_PO.open("rb") as po_file:
        return read_po(po_file)


def _translations_with(tmp_path: Path, changed: dict[str, str]) -> str:
    """A translations folder: the Polish catalog with some msgstrs replaced."""
    catalog = _polish_catalog()
    for msgid, msgstr in changed.items():
        assert catalog[msgid] is not None, msgid
        catalog[msgid].string = msgstr
    folder = tmp_path / "translations"
    (folder / "pl/LC_MESSAGES").mkdir(parents=True)
    with (folder / "pl/LC_MESSAGES/messages.mo").open("wb") as mo_file:
        write_mo(mo_file, catalog)
    return str(folder)


def _app_with_polish(make_app, tmp_path, changed: dict[str, str]):
    """An app whose Polish catalog has these msgstrs replaced. Flask-Babel keeps loaded
    catalogs per process, not per app: they are forgotten before and after, so no other
    test sees these."""
    app = make_app(BABEL_TRANSLATION_DIRECTORIES=_translations_with(tmp_path, changed))
    with app.app_context():
        translations_cache = babel.domain_instance.cache
    translations_cache.clear()
    yield app
    translations_cache.clear()


# -- item 6: translations are text, not HTML ---------------------------------------------

HOSTILE = {
    "Log in to Strefa Klienta": "<script>alert(1)</script>Logowanie",
    "Enter your password.": "<b>Podaj</b> hasło.",
    "You have been logged out.": "<b>Wylogowano</b> Cię.",
    "This customer number is already registered in the system – %(log_in)s or use the "
    "%(forgotten)s option": "<i>Podany</i> numer – %(log_in)s lub %(forgotten)s",
    "Check your spam folder. You can send a new link, or %(choose)s.": (
        "<i>Sprawdź</i> spam albo %(choose)s."
    ),
    "To change the password for your Strefa Klienta account, open this link:": (
        "<b>Aby</b> zmienić hasło, otwórz link:"
    ),
    # Lazy translations (_l), which Flask-Babel's own LazyString would mark as HTML:
    "Registration": "<s>Rejestracja</s>",
    "Set your password": "<u>Ustaw</u> hasło",
    "Your account has been created. Welcome to Strefa Klienta!": "<b>Konto</b> utworzone.",
}


@pytest.fixture
def hostile_app(make_app, tmp_path):
    """Polish translations with markup in them (a careless or hostile translator)."""
    yield from _app_with_polish(make_app, tmp_path, HOSTILE)


@pytest.fixture
def hostile(hostile_app):
    from support import add_customers

    add_customers(hostile_app)
    return Visitor(hostile_app.test_client(), htmx=False)


def test_a_translation_with_markup_is_shown_as_text_on_a_page(hostile):
    body = hostile.get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Logowanie" in body


def test_a_translation_with_markup_is_text_in_a_form_error(hostile):
    body = hostile.post("/", {"login": "200005", "password": ""}).get_data(as_text=True)
    assert "<b>Podaj</b>" not in body
    assert body.count("&lt;b&gt;Podaj&lt;/b&gt;") == 2  # the summary and the field


def test_a_translation_with_markup_is_text_in_a_flashed_message(hostile):
    hostile.post("/", {"login": "200005", "password": "Haslo#2026x"})
    body = hostile.post("/wyloguj").get_data(as_text=True)
    assert "<b>Wylogowano</b>" not in body
    assert "&lt;b&gt;Wylogowano&lt;/b&gt;" in body


def test_a_lazy_translation_is_text_in_a_title_a_heading_and_a_flashed_message(
    hostile_app, hostile
):
    """Translations made lazily (_l: flow titles, headings, the flashed message at the
    end of the wizard) are text too."""
    first = hostile.get("/rejestracja/").get_data(as_text=True)
    assert "<s>Rejestracja</s>" not in first and "&lt;s&gt;Rejestracja&lt;/s&gt;" in first
    wizard = WizardActions(hostile_app, hostile)
    wizard.to_password(SimpleNamespace(**CUSTOMERS["both"]))
    heading = hostile.get("/rejestracja/haslo").get_data(as_text=True)
    assert "<u>Ustaw</u>" not in heading and "&lt;u&gt;Ustaw&lt;/u&gt;" in heading
    done = wizard.set_password().get_data(as_text=True)
    assert "<b>Konto</b>" not in done and "&lt;b&gt;Konto&lt;/b&gt;" in done


def test_the_links_the_code_inserts_still_work_in_an_escaped_translation(hostile):
    body = hostile.post("/rejestracja/", {"number": "200005", "action": "next"}).get_data(
        as_text=True
    )
    assert "<i>Podany</i>" not in body and "&lt;i&gt;Podany&lt;/i&gt;" in body
    assert '<a href="/logowanie">zaloguj się</a>' in body or '<a href="/">zaloguj się</a>' in body
    assert '<a href="/zapomnialem-hasla/">Zapomniałem hasła</a>' in body


def test_a_link_put_in_by_a_template_still_works_in_an_escaped_translation(hostile):
    hostile.post("/rejestracja/", {"number": "200002", "action": "next"})
    body = hostile.post(
        "/rejestracja/sposob",
        {"channel": "email", "email": "jan.kowalski@example.com", "action": "next"},
    ).get_data(as_text=True)
    assert "&lt;i&gt;Sprawdź&lt;/i&gt; spam albo " in body
    assert re.search(r'spam albo <a href="/rejestracja/sposob"[^>]*>wybrać inny sposób</a>\.', body)


def test_a_translation_with_markup_is_text_in_an_html_email(hostile, hostile_app):
    hostile.post("/zapomnialem-hasla/", {"number": "200005", "action": "next"})
    hostile.post(
        "/zapomnialem-hasla/sposob",
        {"channel": "email", "email": "ewa.kaminska@example.com", "action": "next"},
    )
    (email,) = outbox(hostile_app, "email")
    assert "<b>Aby</b>" not in email.html
    assert "&lt;b&gt;Aby&lt;/b&gt; zmienić hasło" in email.html
    assert re.search(r'<a href="https?://[^"]+/link/[^"]+">', email.html)
    assert "<b>Aby</b> zmienić hasło" in email.body_text  # plain text: as written


# -- item 8: typography --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "Zaloguj się i przejdź w Moje Konto",
            "pl",
            f"Zaloguj się i{NBSP}przejdź w{NBSP}Moje Konto",
        ),
        ("Aktywuj e-Fakturę", "pl", 'Aktywuj <span class="nowrap">e-Fakturę</span>'),
        ("Call 22 123 45 67.", "en", f"Call 22{NBSP}123{NBSP}45{NBSP}67."),
        ("a word in English", "en", "a word in English"),
        ("Увійдіть у Зону клієнта", "uk", f"Увійдіть у{NBSP}Зону клієнта"),
        ("Z tobą & <b>ze mną</b>", "pl", f"Z{NBSP}tobą &amp; &lt;b&gt;ze mną&lt;/b&gt;"),
    ],
)
def test_typography(app, text, language, expected):
    assert str(typography.html(text, language)) == expected


def test_typography_leaves_the_inserted_links_markup_alone(app):
    from markupsafe import Markup

    text = Markup('Zadzwoń: <a href="tel:221234567">22 123 45 67</a> w dni robocze')
    assert str(typography.html(text, "pl")) == (
        f'Zadzwoń: <a href="tel:221234567">22{NBSP}123{NBSP}45{NBSP}67</a> w{NBSP}dni robocze'
    )


def test_pages_keep_one_letter_words_and_phone_numbers_together(app, auth, customers):
    body = auth.visitor.get("/").get_data(as_text=True)
    assert f"W{NBSP}Strefie Klienta możesz" in body
    assert f">22{NBSP}123{NBSP}45{NBSP}67</a>" in body  # the footer
    home = auth.log_in().get_data(as_text=True)
    assert '<span class="nowrap">e-Faktura</span>' in home


@pytest.fixture
def einvoice_everywhere(make_app, tmp_path):
    """Every Polish translation starting with "e-Faktura", the word typography wraps in
    a span: wherever a translation goes, the span goes too."""
    changed = {}
    for message in _polish_catalog():
        if message.id and isinstance(message.id, str) and message.context is None:
            changed[message.id] = "e-Faktura " + message.string
    yield from _app_with_polish(make_app, tmp_path, changed)


def test_no_typography_markup_inside_an_attribute_or_a_title(einvoice_everywhere):
    """The span that keeps e-Faktura whole would break an attribute's value, and show as
    text in a <title>: translations there are written with |striptags."""
    from support import add_customers

    add_customers(einvoice_everywhere)
    visitor = Visitor(einvoice_everywhere.test_client(), htmx=False)
    auth = AuthActions(visitor)
    pages = [visitor.get("/"), visitor.get("/rejestracja/"), visitor.get("/offline/pl")]
    pages += [visitor.get("/instrukcja"), visitor.get("/nie-ma-takiej")]
    pages += [auth.log_in(), visitor.get("/moje-konto"), visitor.get("/moje-konto/haslo")]
    pages += [visitor.get("/faktury"), visitor.get("/e-faktura/aktywuj")]
    for response in pages:
        expected = 404 if response.request.path == "/nie-ma-takiej" else 200
        assert response.status_code == expected, response.request.path
        body = response.get_data(as_text=True)
        assert '<span class="nowrap">e-Faktura</span>' in body, response.request.path
        for value in re.findall(r'="([^"]*)"', body):
            assert "<" not in value, (response.request.path, value)
        for title in re.findall(r"<title>(.*?)</title>", body, re.S):
            assert "<" not in title, (response.request.path, title)
        # And every translation shown as text got its typography, the Python-side ones
        # (flow titles, headings, form labels and errors) as well as the templates'.
        text = re.sub(r'="[^"]*"|<title>.*?</title>', "", body, flags=re.S)
        bare = re.findall(r'(?<!<span class="nowrap">)e-Faktura [^<]{0,40}', text)
        assert not bare, (response.request.path, bare)


def test_sms_and_plain_text_emails_get_no_typography_characters(app, wizard, customers):
    wizard.to_code(customers["both"])
    wizard.start(customers["email_only"].number)
    wizard.choose("email", customers["email_only"].email)
    for message in outbox(app):
        assert NBSP not in message.body_text and "\u2011" not in message.body_text
        assert "<span" not in message.body_text


# -- item 4: numbers that settings control -------------------------------------------------


unusual_settings = pytest.mark.config(
    SMS_CODE_LIFETIME=timedelta(minutes=15),
    SMS_CODE_LENGTH=8,
    PASSWORD_MIN_LENGTH=10,
    PASSWORD_MAX_LENGTH=40,
    REGISTRATION_LINK_LIFETIME=timedelta(days=2),
    RESET_LINK_LIFETIME=timedelta(hours=2),
    EINVOICE_LINK_LIFETIME=timedelta(days=1),
)


@pytest.fixture
def unusual(app):
    from support import add_customers

    add_customers(app)
    return Visitor(app.test_client(), htmx=False)


@unusual_settings
def test_the_code_step_and_sms_state_the_configured_code(unusual, app):
    unusual.post("/rejestracja/", {"number": "200003", "action": "next"})
    response = unusual.post(
        "/rejestracja/sposob", {"channel": "sms", "phone": "600 700 803", "action": "next"}
    )
    assert "Kod ma 8 cyfr. Jest ważny przez 15 minut." in text_of(response)
    (sms,) = outbox(app, "sms")
    assert re.fullmatch(
        r"Kod rejestracji: \d{8}\. Ważny 15 min\. Nie podawaj nikomu\.", sms.body_text
    )
    wrong = unusual.post("/rejestracja/kod", {"code": "123456", "action": "next"})
    assert "Kod ma 8 cyfr. Sprawdź SMS-a i wpisz wszystkie cyfry." in text_of(wrong)
    letters = unusual.post("/rejestracja/kod", {"code": "12ab", "action": "next"})
    assert "Wpisz 8 cyfr z SMS-a." in text_of(letters)
    code = found(r"\d{8}", sms.body_text).group(0)
    password_step = unusual.post("/rejestracja/kod", {"code": code, "action": "next"})
    page = text_of(password_step)
    assert "Hasło musi zawierać od 10 do 40 znaków, co najmniej jedną" in page
    assert "od 10 do 40 znaków" in page  # the checklist
    body = password_step.get_data(as_text=True)
    assert 'data-min-length="10" data-max-length="40"' in body
    short = unusual.post(
        "/rejestracja/haslo", {"password": "Abc#12345", "password_repeat": "Abc#12345"}
    )
    assert "Hasło musi mieć co najmniej 10 znaków." in text_of(short)


@unusual_settings
def test_links_state_their_configured_lifetimes(unusual, app):
    unusual.post("/rejestracja/", {"number": "200002", "action": "next"})
    response = unusual.post(
        "/rejestracja/sposob",
        {"channel": "email", "email": "jan.kowalski@example.com", "action": "next"},
    )
    assert "Link będzie aktywny przez 2 dni." in text_of(response)
    unusual.post("/zapomnialem-hasla/", {"number": "200005", "action": "next"})
    response = unusual.post(
        "/zapomnialem-hasla/sposob",
        {"channel": "email", "email": "ewa.kaminska@example.com", "action": "next"},
    )
    assert "Link będzie aktywny przez 2 godziny." in text_of(response)
    registration, reset = outbox(app, "email")
    for body in (registration.body_text, html.unescape(registration.html)):
        assert "Link będzie aktywny przez 2 dni i działa tylko raz." in body.replace(NBSP, " ")
    assert "Link będzie aktywny przez 2 godziny i działa tylko raz." in reset.body_text


@unusual_settings
def test_the_guide_states_the_configured_lifetimes(unusual):
    page = text_of(unusual.get("/instrukcja"))
    assert "jest ważny przez 15 minut" in page and "jest aktywny przez 2 dni" in page


@pytest.mark.parametrize(
    ("lifetime", "polish"),
    [
        (timedelta(days=1), "1 dzień"),
        (timedelta(days=3), "3 dni"),
        (timedelta(hours=1), "1 godzinę"),
        (timedelta(hours=2), "2 godziny"),
        (timedelta(hours=5), "5 godzin"),
        (timedelta(hours=22), "22 godziny"),
        (timedelta(minutes=10), "10 minut"),
        (timedelta(minutes=1), "1 minutę"),
        (timedelta(minutes=22), "22 minuty"),
        (timedelta(minutes=90), "90 minut"),
        (timedelta(seconds=30), "1 minutę"),
    ],
)
def test_a_lifetime_in_polish(app, lifetime, polish):
    with app.test_request_context():
        assert duration(lifetime) == polish


# -- item 5: long waits --------------------------------------------------------------------


def _local_clock(app, moment: float) -> str:
    with app.test_request_context():
        return format_time(datetime.fromtimestamp(moment, UTC), "HH:mm")


@pytest.mark.config(RATELIMIT_CODE_SENDS_PER_CUSTOMER="6/day", RATELIMIT_CODE_SENDS="100/hour")
def test_the_daily_send_limit_says_tomorrow_and_the_time(app):
    from support import add_customers

    add_customers(app)
    visitor = Visitor(app.test_client(), htmx=False)
    visitor.post("/rejestracja/", {"number": "200003", "action": "next"})
    started = time.time()
    visitor.post("/rejestracja/sposob", {"channel": "sms", "phone": "600700803", "action": "next"})
    for _ in range(5):
        assert "Wysłaliśmy nowy kod." in text_of(visitor.post("/rejestracja/wyslij-ponownie"))
    page = text_of(visitor.post("/rejestracja/wyslij-ponownie"))
    match = re.search(r"Nowego kodu ani linku nie można jeszcze wysłać\. (.+?\.) ", page)
    assert match, page
    assert "minut" not in match.group(1) and "godzin" not in match.group(1)
    expected = {_local_clock(app, started + 86400 + delay) for delay in (0, 60)}
    assert match.group(1) in {f"Spróbuj ponownie jutro o {clock}." for clock in expected}


@pytest.fixture
def noon_today(app):
    """Today's 12:00 in the app's time zone, as epoch seconds."""
    with app.test_request_context():
        local = to_user_timezone(datetime.now(UTC)).replace(hour=12, minute=0, second=0)
        return local.timestamp()


@pytest.mark.parametrize(
    ("wait", "expected"),
    [
        (timedelta(minutes=5), "Spróbuj ponownie za 5 minut (o 12:05)."),
        (timedelta(minutes=59, seconds=30), "Spróbuj ponownie za 60 minut (o 12:59)."),
        (timedelta(minutes=61), "Spróbuj ponownie za 2 godziny (o 13:01)."),
        (timedelta(hours=5), "Spróbuj ponownie za 5 godzin (o 17:00)."),
        (timedelta(hours=23), "Spróbuj ponownie jutro o 11:00."),
        (timedelta(hours=14, minutes=36), "Spróbuj ponownie jutro o 02:36."),
    ],
)
def test_a_wait_reads_well_however_long(app, noon_today, wait, expected):
    with app.test_request_context():
        message = throttle.wait_message(noon_today + wait.total_seconds(), now=noon_today)
    assert message == expected


def test_a_wait_of_days_names_the_date(app, noon_today):
    with app.test_request_context():
        message = throttle.wait_message(noon_today + 3 * 86400, now=noon_today)
        day = to_user_timezone(datetime.fromtimestamp(noon_today + 3 * 86400, UTC))
    assert re.fullmatch(rf"Spróbuj ponownie {day.day} \w+ o 12:00\.", message), message


# -- item 7: no stray space before punctuation ---------------------------------------------

_INLINE = r"a|span|strong|b|em|i|abbr|label|code"


def _reading_text(response) -> str:
    """The page's text as it is read: inline tags join their neighbours, others part."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style|title)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(rf"</?(?:{_INLINE})\b[^>]*>", "", body)
    body = re.sub(r"<[^>]+>", "\n", body)
    return html.unescape(body)


def test_no_space_before_punctuation_on_the_main_pages(app, visitor, auth, wizard, customers):
    pages = {"login": visitor.get("/"), "guide": visitor.get("/instrukcja")}
    pages["registered number"] = wizard.start(customers["registered"].number)
    wizard.start(customers["email_only"].number)
    pages["check inbox"] = wizard.choose("email", customers["email_only"].email)
    pages["no contact"] = wizard.start(customers["neither"].number)
    pages["code"] = wizard.to_code(customers["phone_only"])
    pages["home"] = auth.log_in()
    pages["my account"] = visitor.get("/moje-konto")
    pages["invoices"] = visitor.get("/faktury")
    for name, response in pages.items():
        # The password rule's list of special characters is punctuation by design.
        text = _reading_text(response).replace(SPECIAL_CHARACTERS, "")
        for line in text.splitlines():
            assert not re.search(r"\S\s+[.,;:!?]", line), f"{name}: {line.strip()!r}"


# -- item 8: gender-neutral Polish ---------------------------------------------------------

# The seed's own words (SPEC §2-§5), which stay as the operator's guide has them.
SEED_WORDS = ("Nie otrzymałeś SMS-a?", "będziesz mógł otrzymywać", "Zapomniałem hasła")
# Second-person forms that say the customer is a man (or a woman): past tense (-łeś,
# -łaś) and adjectives or participles after "you are / you stay / you will be".
_GENDERED = re.compile(
    r"\w+(łeś|łaś)\b|\bmógł\b|\bmogła\b"
    r"|\b(jesteś|byłeś|byłaś|będziesz|pozostaniesz|zostaniesz|zostałeś|zostałaś)"
    r"\s+(\w+(ny|na|ty|ta|wy|wa)|pewien|pewna|sam|sama)\b",
    re.IGNORECASE,
)


def test_polish_addresses_every_customer_the_same_way():
    problems = []
    for message in _polish_catalog():
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            for seed in SEED_WORDS:
                text = text.replace(seed, "")
            if _GENDERED.search(text):
                problems.append(text)
    assert not problems


# Officialese: the impersonal "nastąpiło wylogowanie" and the stiff "Jeśli to nie Ty o niego
# prosisz"; the rest of the catalog speaks plainly ("wylogowaliśmy Cię", "Jeśli ta prośba nie
# pochodzi od Ciebie").
_OFFICIALESE = re.compile(r"\bnastąpi(ło|ła|ł|)\b|\bdokonan\w*|\buprzejmie\b|nie Ty o ")


def test_polish_speaks_plainly():
    problems = [
        text
        for message in _polish_catalog()
        if message.id
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        if _OFFICIALESE.search(text)
    ]
    assert not problems


def test_the_gender_check_finds_what_it_should():
    for text in ("Jeśli nie prosiłeś o link", "pozostaniesz zalogowany", "Czy jesteś pewna?"):
        assert _GENDERED.search(text), text
    for text in ("Jeśli to nie Ty", "To urządzenie pozostanie zalogowane", "Link jest aktywny"):
        assert not _GENDERED.search(text), text


def test_no_greeting_puts_the_name_in_the_nominative(app, auth, wizard, customers):
    home = text_of(auth.log_in())
    assert "Witamy w Strefie Klienta." in home
    assert "Ewa." not in home and ", Ewa" not in home
    auth.log_out()
    wizard.start(customers["email_only"].number)
    wizard.choose("email", customers["email_only"].email)
    (email,) = outbox(app, "email")
    assert email.body_text.startswith("Dzień dobry,\n")
    assert "Jan" not in email.body_text and "Jan" not in email.html


# -- item 3: translator context ------------------------------------------------------------


# The check that every string with a placeholder has a Translators: comment is
# tests/test_catalog_workflow.py's, on the catalog scripts/catalog.py extracts.


# -- item 9: every SMS in one segment, in every language -------------------------------------


def test_the_segment_counter():
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2 and segments("a" * 307) == 3
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # the extension table: 2 each
    assert segments("{" * 80 + "a") == 2
    assert segments("ą" * 70) == 1 and segments("ą" * 71) == 2  # UCS-2
    assert segments("ą" * 134) == 2 and segments("ą" * 135) == 3
    assert segments("\U0001f600" * 35) == 1 and segments("\U0001f600" * 36) == 2  # surrogates
    assert segments("Zażółć" + "a" * 64) == 1 and segments("Zażółć" + "a" * 65) == 2


def _languages() -> list[str]:
    """Every language with a catalog, and the source language English."""
    present = {path.parent.parent.name for path in ROOT.glob("translations/*/LC_MESSAGES/*.po")}
    return sorted(present | {"en"})


SMS_TEMPLATES = sorted(path.name for path in (ROOT / "templates/messages").glob("*.sms.txt"))


# Characters every SMS keeps free with the longest values the settings allow (issue 21):
# room for a translation's rewording, without a second segment.
SMS_MARGIN = 8


def spare_characters(text: str) -> int:
    """How many more characters one segment would hold."""
    septets = gsm_septets(text)
    return GSM_SINGLE - septets if septets is not None else UCS2_SINGLE - ucs2_units(text)


@pytest.mark.parametrize("language", _languages())
@pytest.mark.parametrize("template", SMS_TEMPLATES)
def test_every_sms_fits_one_segment(app, language, template):
    """With the longest code, lifetime and Customer Service Centre number the settings
    allow (ebok/config.py's SMS_LIMITS), every plural form, SMS_MARGIN characters to spare."""
    longest_minutes = whole_minutes(SMS_LIMITS["SMS_CODE_LIFETIME"])
    minute_counts = {longest_minutes, *(n for n in (1, 2, 5, 21, 22, 25) if n <= longest_minutes)}
    longest = {
        "code": "9" * SMS_LIMITS["SMS_CODE_LENGTH"],
        "operator": SimpleNamespace(phone="9" * SMS_LIMITS["CUSTOMER_SERVICE_PHONE"]),
    }
    with app.test_request_context(), force_locale(language):
        for minutes in sorted(minute_counts):
            text = render_template(f"messages/{template}", minutes=minutes, **longest).strip()
            assert text and spare_characters(text) >= SMS_MARGIN, (
                f"{language} {template}: {text!r} has {spare_characters(text)} to spare"
            )


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("SMS_CODE_LENGTH", 9),
        ("SMS_CODE_LIFETIME", timedelta(minutes=61)),
        ("CUSTOMER_SERVICE_PHONE", "+48 22 123 45 67 89"),
    ],
)
def test_settings_longer_than_the_sms_texts_allow_are_refused(setting, value):
    with pytest.raises(RuntimeError, match=setting):
        create_app({**TEST_CONFIG, setting: value})


# -- issue 21 item 7: e-mail subjects are subjects ----------------------------------------


def subjects_in_the_catalog() -> dict[str, list[str]]:
    """Every e-mail subject of the Polish catalog (context "e-mail subject"), with the
    comments its translator sees."""
    with POLISH_PO.open("rb") as po_file:
        catalog = read_po(po_file)
    subjects = {}
    for message in catalog:
        if message.context == "e-mail subject":
            assert isinstance(message.string, str), message.id  # a subject has no plural
            subjects[message.string] = message.auto_comments
    return subjects


def test_every_email_has_a_subject_of_its_own_with_a_comment():
    """One subject string per e-mail template, in its own context (not a page's title),
    each with a comment saying which e-mail it heads."""
    emails = {path.stem for path in (ROOT / "templates/messages").glob("*.txt")}
    emails -= {"_footer"} | {name for name in emails if name.endswith(".sms")}
    subjects = subjects_in_the_catalog()
    assert len(subjects) == len(emails), (sorted(emails), sorted(subjects))
    for subject, comments in subjects.items():
        assert any(
            "subject of the e-mail" in comment
            for comment in " ".join(comments).split("Translators:")
        ), subject


@pytest.mark.parametrize(
    ("language", "prefix", "expected"),
    [
        ("pl", "/zapomnialem-hasla", "Zmiana hasła do Strefy Klienta"),
        ("uk", "/zapomnialem-hasla", "Зміна пароля до Strefa Klienta"),
        ("pl", "/rejestracja", "Rejestracja w Strefie Klienta"),
    ],
)
def test_the_links_emails_are_not_titled_as_their_pages(
    app, make_visitor, customers, language, prefix, expected
):
    visitor = make_visitor()
    visitor.client.set_cookie("language", language)
    customer = customers["registered" if prefix == "/zapomnialem-hasla" else "both"]
    WizardActions(app, visitor, prefix).send_link(customer)
    [email] = outbox(app, "email", customer.email)
    assert email.subject == expected
    assert not email.title.endswith("?")


# -- issue 21 items 6 and 8: Ukrainian terms, English source strings ----------------------


def _catalog(language: str):
    with (ROOT / f"translations/{language}/LC_MESSAGES/messages.po").open("rb") as po_file:
        catalog = read_po(po_file)
    for message in catalog:
        if message.id:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            yield ids[0], strings


def test_ukrainian_keeps_the_invoice_and_the_bank_account_apart():
    """ "рахунок" is the invoice; the account money goes to is "банківський рахунок"; invoice
    notices are "сповіщення про рахунки" everywhere; the operator is given the details."""
    problems = []
    for msgid, strings in _catalog("uk"):
        for text in strings:
            if "account number" in msgid.lower() and "банківськ" not in text:
                problems.append(("bank account", text))
            if "notice" in msgid.lower() and "сповіщен" not in text.lower():
                problems.append(("notice", text))
            if re.search(r"повідомлен\w* про рахун", text, re.IGNORECASE):
                problems.append(("повідомлення про рахунки", text))
            if "вказали в %(operator)s" in text:
                problems.append(("вказали в", text))
            if text.endswith("«Забули пароль?»"):
                problems.append(("full stop", text))
    assert not problems


def test_english_source_strings_as_a_writer_would_have_them():
    source = [msgid for msgid, _strings in _catalog("en")]
    assert not [msgid for msgid in source if re.search(r"\w'\w", msgid)]  # typographic ’
    assert not [msgid for msgid in source if "Customer Record Number" in msgid]
    assert not [msgid for msgid in source if "has only digits" in msgid]
    assert "Your customer number" in source
    assert not [msgid for msgid in source if msgid.startswith("The password must have from")]


def test_the_english_login_page_asks_what_its_answer_answers(app, make_visitor):
    visitor = make_visitor()
    visitor.client.set_cookie("language", "en")
    text = text_of(visitor.get("/"))
    assert "How do I get electronic invoices?" in text
    assert "Where is the Electronic Invoice?" not in text
    polish = text_of(make_visitor().get("/"))
    assert "Gdzie jest Elektroniczna Faktura?" in polish  # SPEC's words
