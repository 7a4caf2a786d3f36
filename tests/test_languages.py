"""Languages (SPEC §12): which one a page is shown in (the customer's choice in a cookie,
the account's stored one, Accept-Language, Polish), the switcher's POST /jezyk, the choice
kept across login and logout, Vary, the manifest and offline pages, the login page kept
per language, and messages written in the recipient's language.

Ukrainian text is compared with what the catalog says (force_locale + gettext) or checked
by its structure (lang="uk", Cyrillic letters), so the translators' wording may change."""

import html
import json
import re
import shutil
from decimal import Decimal

import pytest
from flask_babel import force_locale, gettext, pgettext
from invoice_files import invoice_row, write_folder
from sqlalchemy import inspect, select
from support import (
    DEFAULT_LANGUAGES,
    PRODUCTION_ENVIRONMENT,
    AuthActions,
    WizardActions,
    activate_einvoice,
    found,
    last_code,
    outbox,
    text_of,
)

import ebok
from ebok.extensions import db
from ebok.invoices.formatting import amount
from ebok.models import Account, Customer
from ebok.web.pdf_fonts import available as pdf_fonts_available

CYRILLIC = re.compile("[\u0400-\u04ff]")
HTML_LANG = re.compile(r'<html lang="([^"]+)">')
YEAR = 365 * 24 * 3600
WRONG_PASSWORD = "Zle#Haslo1"
# A language nobody will configure (ISO 639 reserves qaa-qtz for local use): the tests of
# what is not offered must not turn red when a translator adds a real one.
NOT_OFFERED = "qaa"


def page_language(response) -> str:
    """The page's <html lang>; an htmx fragment has none, only its Content-Language."""
    match = HTML_LANG.search(response.get_data(as_text=True))
    return match.group(1) if match else response.headers["Content-Language"]


def translated(app, language: str, msgid: str, **variables) -> str:
    """What the catalog says for msgid in the language."""
    with app.test_request_context(), force_locale(language):
        return gettext(msgid, **variables)


def subject_in(app, language: str, msgid: str, **variables) -> str:
    """What the catalog says for an e-mail's subject in the language."""
    with app.test_request_context(), force_locale(language):
        return pgettext("e-mail subject", msgid, **variables)


def speaking(visitor, accept_language: str):
    """The visitor's browser sends this Accept-Language with every request."""
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    return visitor


def set_account_language(app, number: str, language: str | None) -> None:
    with app.app_context():
        account = db.session.scalars(
            select(Account).join(Account.customer).where(Customer.number == number)
        ).one()
        account.language = language
        db.session.commit()


def account_language(app, number: str) -> str | None:
    with app.app_context():
        return db.session.scalars(
            select(Account.language).join(Account.customer).where(Customer.number == number)
        ).one()


def switch(visitor, language: str, next_path: str = "/", **kwargs):
    return visitor.post(
        "/jezyk", {"language": language, "next": next_path}, follow_redirects=False, **kwargs
    )


def language_cookie_header(response) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("language="):
            return header
    return None


def language_cookie(response) -> str:
    """The language cookie's Set-Cookie header, which the response must have."""
    header = language_cookie_header(response)
    assert header is not None, "no language cookie set"
    return header


# -- choosing the language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        (None, "pl"),
        ("uk-UA,uk;q=0.9,en;q=0.5", "uk"),
        ("en-GB,en;q=0.8", "en"),
        (f"{NOT_OFFERED},fr;q=0.9", "pl"),  # nothing configured: Polish
        (f"{NOT_OFFERED},en;q=0.3,pl;q=0.7", "pl"),  # the best configured match
        ("ru,uk;q=0.8", "uk"),
    ],
)
def test_accept_language_picks_the_best_configured_language(
    make_visitor, accept_language, expected
):
    visitor = make_visitor()
    if accept_language:
        speaking(visitor, accept_language)
    response = visitor.get("/logowanie")
    assert page_language(response) == expected
    assert response.headers["Content-Language"] == expected


def test_the_cookie_beats_accept_language(make_visitor):
    visitor = speaking(make_visitor(), "uk")
    visitor.client.set_cookie("language", "en")
    assert page_language(visitor.get("/")) == "en"
    visitor.client.set_cookie("language", "pl")
    assert page_language(visitor.get("/instrukcja")) == "pl"


@pytest.mark.parametrize("value", [NOT_OFFERED, "", "PL", "uk-UA", "../uk", "pl; en", "x" * 300])
def test_an_invalid_cookie_is_ignored(make_visitor, value):
    visitor = speaking(make_visitor(), "uk")
    visitor.client.set_cookie("language", value)
    response = visitor.get("/")
    assert response.status_code == 200
    assert page_language(response) == "uk"


def test_a_logged_in_customer_without_the_cookie_gets_the_accounts_language(
    app, make_visitor, customers
):
    set_account_language(app, customers["registered"].number, "uk")
    visitor = speaking(make_visitor(), "en")
    AuthActions(visitor).log_in()
    visitor.client.delete_cookie("language")  # cleared by the browser, say
    response = visitor.get("/moje-konto")
    assert page_language(response) == "uk"  # the account's, not Accept-Language's
    visitor.client.set_cookie("language", "pl")
    assert page_language(visitor.get("/moje-konto")) == "pl"  # the cookie first


def test_a_visitor_logged_out_gets_accept_language_not_an_accounts(app, make_visitor, customers):
    set_account_language(app, customers["registered"].number, "uk")
    visitor = speaking(make_visitor(), "en")
    assert page_language(visitor.get("/")) == "en"


# -- the switcher ---------------------------------------------------------------------------


def switchers(response) -> list[str]:
    return re.findall(
        r'<form method="post" action="/jezyk".*?</form>', response.get_data(as_text=True), re.S
    )


def test_the_switcher_is_in_the_header_and_footer_of_every_page(app, make_visitor, customers):
    visitor = make_visitor()
    pages = ["/", "/rejestracja/", "/zapomnialem-hasla/", "/instrukcja", "/nie-ma-takiej"]
    for url in pages:
        response = visitor.get(url)
        forms = switchers(response)
        assert len(forms) == 2, url
        body = response.get_data(as_text=True)
        header, footer = body.split("</header>")[0], body.split("<footer")[1]
        assert forms[0] in header and forms[1] in footer, url
    AuthActions(visitor).log_in()
    for url in ["/strona-glowna", "/moje-konto", "/faktury", "/moje-konto/haslo"]:
        assert len(switchers(visitor.get(url))) == 2, url


def test_the_switcher_names_each_language_in_itself(app, make_visitor):
    for accept_language in ("pl", "en", "uk"):
        response = speaking(make_visitor(), accept_language).get("/instrukcja?x=1")
        header = switchers(response)[0]
        # The current language is text marked current; the others are buttons.
        names = {"pl": "Polski", "en": "English", "uk": "Українська"}
        for code, name in names.items():
            if code == accept_language:
                assert f'lang="{code}" aria-current="true">{name}</span>' in header
                assert f'value="{code}"' not in header
            else:
                button = (
                    '<button type="submit" class="language-switcher__button" name="language" '
                    f'value="{code}" lang="{code}">{name}</button>'
                )
                assert button in header
        assert '<input type="hidden" name="next" value="/instrukcja?x=1">' in header
        assert 'name="csrf_token"' in header
        label = translated(app, accept_language, "Language")
        assert f"<span>{label}</span>" in header
        assert 'href="/static/icons/sprite.svg#globe"' in header
        # htmx leaves it alone: a full-page form post.
        assert "hx-" not in header
    assert translated(app, "pl", "Language") == "Język"
    assert CYRILLIC.search(translated(app, "uk", "Language"))


def test_switching_sets_the_cookie_and_goes_back(app, make_visitor):
    visitor = make_visitor()
    visitor.get("/instrukcja")
    response = switch(visitor, "uk", "/instrukcja?strona=2")
    assert response.status_code == 303
    assert response.headers["Location"] == "/instrukcja?strona=2"
    cookie = language_cookie(response)
    assert cookie.startswith("language=uk;")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"max-age", "httponly", "samesite", "path"} <= attributes
    assert f"Max-Age={YEAR}" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # tests run as development
    assert page_language(visitor.get("/instrukcja")) == "uk"


@pytest.mark.config(SESSION_COOKIE_SECURE=True)
def test_the_cookie_is_secure_wherever_the_session_cookie_is(app, make_visitor):
    visitor = make_visitor()
    visitor.get("/")
    assert "Secure" in language_cookie(switch(visitor, "en"))


def test_switching_needs_the_csrf_token(make_visitor):
    visitor = make_visitor()
    response = visitor.post(
        "/jezyk", {"language": "uk", "next": "/"}, csrf=False, follow_redirects=False
    )
    assert response.status_code == 400
    assert language_cookie_header(response) is None


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_a_post_switches(make_visitor, method):
    visitor = make_visitor()
    response = getattr(visitor.client, method)("/jezyk?language=uk&next=/")
    assert response.status_code == 404  # as any address the app does not serve
    assert language_cookie_header(response) is None


@pytest.mark.parametrize("language", [NOT_OFFERED, "", "PL", "uk-UA"])
def test_a_language_not_offered_is_refused(make_visitor, language):
    visitor = make_visitor()
    visitor.get("/")
    response = switch(visitor, language)
    assert response.status_code == 400
    assert language_cookie_header(response) is None


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example/",
        "https://evil.example/",
        "http:/evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
        "/x\r\nSet-Cookie: a=b",
    ],
)
def test_the_way_back_never_leaves_the_site(make_visitor, next_path):
    visitor = make_visitor()
    visitor.get("/")
    response = switch(visitor, "en", next_path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert language_cookie(response).startswith("language=en;")


def test_the_way_back_keeps_a_local_path_and_query(make_visitor):
    visitor = make_visitor()
    visitor.get("/")
    for next_path in ("/rejestracja/sposob", "/faktury?strona=2&rok=2026", "/%2F%2Fevil"):
        assert switch(visitor, "en", next_path).headers["Location"] == next_path


def test_under_a_script_root_the_switcher_goes_back_under_it(make_visitor):
    visitor = make_visitor()
    page = visitor.get("/instrukcja", base_url="https://localhost/ebok")
    next_field = '<input type="hidden" name="next" value="/ebok/instrukcja">'
    assert page.get_data(as_text=True).count(next_field) == 2
    assert 'action="/ebok/jezyk"' in page.get_data(as_text=True)
    response = switch(visitor, "uk", "/ebok/instrukcja", base_url="https://localhost/ebok")
    assert response.headers["Location"] == "/ebok/instrukcja"


def switchers_way_back(response) -> str:
    """The page the switchers on the page go back to (both say the same)."""
    found = set(re.findall(r'name="next" value="([^"]*)"', response.get_data(as_text=True)))
    assert len(found) == 1, found
    return html.unescape(found.pop())


@pytest.mark.parametrize("post_only", ["/wyloguj", "/jezyk", "/rejestracja/wyslij-ponownie"])
def test_from_a_page_shown_for_a_post_only_url_the_switch_lands_on_a_page(make_visitor, post_only):
    """An error page shown for a post (the form expired, too many attempts) is at a URL
    that only takes posts: going back to it would find no page."""
    visitor = make_visitor()
    visitor.get("/")
    error_page = visitor.post(post_only, csrf=False)
    assert error_page.status_code == 400 and page_language(error_page) == "pl"
    assert visitor.client.get(post_only).status_code == 404  # no page to come back to
    response = switch(visitor, "uk", switchers_way_back(error_page))
    assert response.status_code == 303 and response.headers["Location"] == "/"
    landed = visitor.get(response.headers["Location"])
    assert landed.status_code == 200 and page_language(landed) == "uk"


def test_from_a_wizard_step_shown_again_after_a_post_the_switch_comes_back_to_it(
    make_visitor, customers
):
    visitor = make_visitor()
    wizard = WizardActions(visitor.client.application, visitor)
    wizard.start(customers["both"].number)
    refused = wizard.choose("sms", "+48 999 999 999")  # not the phone on file
    assert refused.status_code == 422 and refused.request.path == "/rejestracja/sposob"
    back = switchers_way_back(refused)
    assert back == "/rejestracja/sposob"
    response = switch(visitor, "en", back)
    assert response.headers["Location"] == "/rejestracja/sposob"
    landed = visitor.get("/rejestracja/sposob")
    assert landed.status_code == 200 and page_language(landed) == "en"
    assert 'name="channel"' in landed.get_data(as_text=True)  # still the same step


def test_a_logged_in_customers_choice_is_stored_on_the_account(app, make_visitor, customers):
    number = customers["registered"].number
    visitor = make_visitor()
    AuthActions(visitor).log_in()
    assert account_language(app, number) == "pl"  # the language it logged in with
    response = switch(visitor, "en", "/moje-konto")
    assert response.headers["Location"] == "/moje-konto"
    assert account_language(app, number) == "en"
    assert page_language(visitor.get("/moje-konto")) == "en"


# -- the choice across login and logout -----------------------------------------------------


def test_login_gives_the_browser_the_accounts_language(app, visitor, auth, customers):
    set_account_language(app, customers["registered"].number, "uk")
    speaking(visitor, "pl")
    assert page_language(visitor.get("/")) == "pl"
    home = auth.log_in()
    assert page_language(home) == "uk"
    assert visitor.client.get_cookie("language").value == "uk"


def test_an_account_without_a_language_takes_the_one_it_logs_in_with(app, make_visitor, customers):
    """Accounts made before languages were stored: a customer reading Ukrainian pages
    (Accept-Language only, no switcher) gets the later notices in Ukrainian too."""
    number = customers["registered"].number
    set_account_language(app, number, None)
    visitor = speaking(make_visitor(), "uk-UA,uk;q=0.9")
    AuthActions(visitor).log_in()
    assert account_language(app, number) == "uk"
    AuthActions(visitor).log_out()
    speaking(visitor, "en")
    AuthActions(visitor).log_in()
    assert account_language(app, number) == "uk"  # a language once stored stays


def test_a_choice_made_before_login_goes_to_the_account(app, make_visitor, customers):
    number = customers["registered"].number
    set_account_language(app, number, "uk")
    visitor = make_visitor()
    visitor.get("/")
    switch(visitor, "en")
    home = AuthActions(visitor).log_in()
    assert page_language(home) == "en"
    assert account_language(app, number) == "en"


def test_switching_to_polish_sticks_across_logout_and_login(app, make_visitor, customers):
    number = customers["registered"].number
    set_account_language(app, number, "uk")
    visitor = speaking(make_visitor(), "uk")
    auth = AuthActions(visitor)
    assert page_language(auth.log_in()) == "uk"
    switch(visitor, "pl", "/strona-glowna")
    assert page_language(visitor.get("/strona-glowna")) == "pl"
    login_page = auth.log_out()
    assert page_language(login_page) == "pl"
    assert page_language(auth.log_in()) == "pl"
    assert account_language(app, number) == "pl"
    # Another browser, Ukrainian and without the cookie, gets the account's Polish.
    elsewhere = speaking(make_visitor(), "uk")
    assert page_language(AuthActions(elsewhere).log_in()) == "pl"


# -- headers, the manifest, the offline pages -----------------------------------------------


def test_pages_say_they_vary_by_language(visitor):
    for url in ("/", "/instrukcja", "/manifest.webmanifest", "/sw.js", "/nie-ma-takiej"):
        vary = {value.strip() for value in visitor.get(url).headers["Vary"].split(",")}
        assert {"Accept-Language", "Cookie"} <= vary, url
    # What the htmx views said stays.
    vary = visitor.get("/").headers["Vary"]
    assert "HX-Request" in vary and "Accept-Language" in vary


def test_static_files_do_not_vary_by_language(make_visitor):
    response = make_visitor().client.get("/static/css/app.css")
    response.close()
    assert response.status_code == 200
    assert "Accept-Language" not in response.headers.get("Vary", "")
    assert "Content-Language" not in response.headers


def manifest_link(response) -> str:
    return found(r'<link rel="manifest" href="([^"]+)">', response.get_data(as_text=True))[1]


def assert_manifest_in(app, response, language: str) -> None:
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["lang"] == language and manifest["dir"] == "ltr"
    assert manifest["description"] == translated(
        app, language, "Your customer account: invoices, e-Faktura, password."
    )
    assert manifest["name"] == translated(app, language, "Strefa Klienta")
    # One app whatever the language: the same id, started at the login page.
    assert manifest["id"] == "/" and manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert response.headers["Content-Language"] == language


@pytest.mark.parametrize("language", ["pl", "en", "uk"])
def test_the_manifest_follows_the_language(app, make_visitor, language):
    visitor = speaking(make_visitor(), language)
    link = manifest_link(visitor.get("/"))
    assert link == f"/manifest.{language}.webmanifest"
    assert_manifest_in(app, visitor.get(link), language)
    # The old address, for pages rendered before it changed: by Accept-Language.
    assert_manifest_in(app, visitor.get("/manifest.webmanifest"), language)


def test_the_manifest_is_in_the_language_chosen_though_fetched_without_cookies(app, make_visitor):
    visitor = speaking(make_visitor(), "uk")
    visitor.get("/instrukcja")
    switch(visitor, "pl", "/instrukcja")
    page = visitor.get("/instrukcja")
    assert page_language(page) == "pl"
    # Browsers fetch <link rel="manifest"> without cookies: only its URL and the browser's
    # Accept-Language (Ukrainian here) reach the server.
    without_cookies = speaking(make_visitor(), "uk").client.get(manifest_link(page))
    assert without_cookies.status_code == 200
    assert_manifest_in(app, without_cookies, "pl")


@pytest.mark.parametrize("language", [NOT_OFFERED, "PL", "x"])
def test_no_manifest_in_a_language_not_offered(make_visitor, language):
    assert make_visitor().get(f"/manifest.{language}.webmanifest").status_code == 404


def test_an_offline_page_per_language(app, make_visitor):
    visitor = speaking(make_visitor(), "pl")
    for language in DEFAULT_LANGUAGES:
        response = visitor.get(f"/offline/{language}")
        assert page_language(response) == language
        assert response.headers["Content-Language"] == language
        heading = translated(app, language, "No internet connection")
        # As written, but for the no-break spaces typography puts after one-letter words.
        page = html.unescape(response.get_data(as_text=True)).replace("\u00a0", " ")
        assert f"<h1>{heading}</h1>" in page
    assert CYRILLIC.search(translated(app, "uk", "No internet connection"))
    assert visitor.get(f"/offline/{NOT_OFFERED}").status_code == 404


def test_the_offline_page_without_a_language_is_in_the_visitors(make_visitor):
    """The one the worker keeps when it is installed: the language chosen, else the
    browser's, as for any page."""
    for language in DEFAULT_LANGUAGES:
        by_browser = speaking(make_visitor(), language).get("/offline")
        chosen = speaking(make_visitor(), "uk")
        chosen.client.set_cookie("language", language)
        for response in (by_browser, chosen.get("/offline")):
            assert response.headers["Content-Language"] == language
            assert page_language(response) == language
            assert {"Accept-Language", "Cookie"} <= set(response.vary)


def test_the_service_worker_keeps_only_the_visitors_offline_page(make_visitor):
    """Not one per language: only the visitor's is downloaded, and another language's
    replaces it when a page comes in that language."""
    script = speaking(make_visitor(), "uk").get("/sw.js").get_data(as_text=True)
    assert 'const OFFLINE_URL = "/offline";' in script
    assert 'const OFFLINE_URL_IN = "/offline/LANGUAGE";' in script
    precache = json.loads(found(r"const PRECACHE = (\[.*?\]);", script).group(1))
    assert not [url for url in precache if "offline" in url]
    assert "cache.addAll([...PRECACHE, OFFLINE_URL])" in script
    assert 'page.headers.get("Content-Language")' in script
    # Nor the icons for installing: the browser fetches them when it installs.
    assert not [url for url in precache if url.endswith(".png")]


def test_the_service_worker_is_the_same_in_every_language(make_visitor):
    """A worker whose bytes differed by language would be reinstalled, its precache
    downloaded again, on every switch."""
    scripts = set()
    for language in ("uk", "en", "pl"):
        by_browser = speaking(make_visitor(), language).get("/sw.js")
        chosen = speaking(make_visitor(), "uk")
        chosen.client.set_cookie("language", language)
        for response in (by_browser, chosen.get("/sw.js")):
            assert response.status_code == 200
            scripts.add(response.get_data())
    assert len(scripts) == 1


# -- the login page kept per language -------------------------------------------------------


def test_the_kept_login_page_is_each_visitors_in_language_token_and_path(app, make_visitor):
    title = {
        language: translated(app, language, "Log in to Strefa Klienta")
        for language in "pl uk".split()
    }
    assert CYRILLIC.search(title["uk"])
    visitors = {"pl": speaking(make_visitor(), "pl"), "uk": speaking(make_visitor(), "uk")}
    for _ in range(2):  # the second round is served from what was kept
        for language, visitor in visitors.items():
            for url in ("/", "/logowanie"):
                response = visitor.get(url)
                body = response.get_data(as_text=True)
                assert page_language(response) == language
                assert f'<h1 tabindex="-1" data-focus-after-swap>{title[language]}</h1>' in body
                tokens = re.findall(
                    r'(?:name="csrf_token"[^>]*value|name="csrf-token" content)="([^"]+)"', body
                )
                # The meta tag, the login form and both switchers: all the visitor's own.
                assert len(tokens) == 4 and len(set(tokens)) == 1, tokens
                assert tokens[0] == visitor.csrf_token
                assert body.count(f'name="next" value="{url}"') == 2
    assert visitors["pl"].csrf_token != visitors["uk"].csrf_token
    kept = app.extensions["ebok.public_pages"]
    assert len(kept) == 4  # two paths in two languages
    # A query string (the switcher would carry it back) gets a page of its own, not kept.
    response = visitors["pl"].get("/?from=somewhere")
    assert response.get_data(as_text=True).count('name="next" value="/?from=somewhere"') == 2
    assert len(kept) == 4


def test_the_kept_login_page_switches_with_the_visitors_token(make_visitor):
    first, second = make_visitor(), make_visitor()
    first.get("/")
    second.get("/")  # served from what the first one's visit kept
    response = switch(second, "uk", "/")
    assert response.status_code == 303
    assert page_language(second.get("/")) == "uk"
    assert page_language(first.get("/")) == "pl"


# -- messages in the recipient's language ---------------------------------------------------


def registered_as_ukrainian(app, visitor, wizard, customer):
    speaking(visitor, "uk-UA,uk;q=0.9")
    wizard.to_password(customer)
    wizard.set_password()


def test_a_ukrainian_registration_writes_ukrainian_messages(
    app, visitor, wizard, customers, runner
):
    customer = customers["both"]
    speaking(visitor, "uk-UA,uk;q=0.9")
    wizard.to_code(customer)
    # The worker sends it later, with no request in any language: as it was written.
    assert runner.invoke(args=["outbox", "deliver"]).exit_code == 0
    [code] = outbox(app, "sms", customer.phone)
    assert code.status == "sent"
    assert CYRILLIC.search(code.body_text), code.body_text
    assert wizard.enter_code(last_code(app, customer.phone)).request.path == "/rejestracja/haslo"
    wizard.set_password()
    assert account_language(app, customer.number) == "uk"
    assert runner.invoke(args=["outbox", "deliver"]).exit_code == 0
    [created] = outbox(app, "email", customer.email)
    assert created.status == "sent"
    assert created.subject == subject_in(app, "uk", "Your Strefa Klienta account has been created")
    assert '<html lang="uk">' in created.html
    assert CYRILLIC.search(created.body_text)


def test_the_worker_delivers_the_ukrainian_email_over_smtp(
    app, make_visitor, customers, runner, smtp_server
):
    server = smtp_server()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    visitor = make_visitor()
    customer = customers["both"]
    registered_as_ukrainian(app, visitor, WizardActions(app, visitor), customer)
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    [mail] = server.messages
    assert mail["Subject"] == subject_in(app, "uk", "Your Strefa Klienta account has been created")
    html = mail.get_body(("html",)).get_content()
    assert '<html lang="uk">' in html


def test_the_attack_notice_is_in_the_accounts_language_not_the_attackers(
    app, make_visitor, customers
):
    customer = customers["registered"]
    set_account_language(app, customer.number, "uk")
    for _ in range(8):
        attacker = speaking(make_visitor(), "en")
        response = AuthActions(attacker).post_login(customer.number, WRONG_PASSWORD)
        assert page_language(response) == "en"
    subject = subject_in(app, "uk", "Attempts to log in to your Strefa Klienta account")
    assert CYRILLIC.search(subject)
    notices = outbox(app)
    assert sorted(message.channel for message in notices) == ["email", "sms"]
    for message in notices:
        assert CYRILLIC.search(message.body_text), message.body_text
        if message.channel == "email":
            assert message.subject == subject
            assert '<html lang="uk">' in message.html


def test_the_attack_notice_of_an_account_without_a_language_is_polish(app, make_visitor, customers):
    customer = customers["registered"]
    for _ in range(8):
        AuthActions(speaking(make_visitor(), "uk")).post_login(customer.number, WRONG_PASSWORD)
    [email] = outbox(app, "email")
    assert email.subject == subject_in(
        app, "pl", "Attempts to log in to your Strefa Klienta account"
    )
    assert '<html lang="pl">' in email.html


def test_the_new_invoice_notice_is_in_the_accounts_language(app, runner, customers, tmp_path):
    customer = customers["registered"]
    set_account_language(app, customer.number, "uk")
    activate_einvoice(app, customer.number)
    folder = write_folder(tmp_path / "in", [invoice_row(customer.number, "FV/2026/11/8")])
    result = runner.invoke(args=["invoices", "import", str(folder)])
    assert result.exit_code == 0, result.output
    [notice] = outbox(app, "email")
    assert notice.subject == subject_in(
        app, "uk", "New invoice %(number)s in Strefa Klienta", number="FV/2026/11/8"
    )
    assert CYRILLIC.search(notice.subject)
    assert '<html lang="uk">' in notice.html


def test_the_password_changed_notice_uses_the_accounts_language(app, customers, reset_wizard):
    customer = customers["registered"]
    set_account_language(app, customer.number, "uk")
    speaking(reset_wizard.visitor, "en")
    reset_wizard.to_password(customer)
    reset_wizard.set_password()
    code = outbox(app, "sms", customer.phone)[0]
    assert not CYRILLIC.search(code.body_text)  # asked for in English, in English
    [notice] = outbox(app, "email", customer.email)
    assert '<html lang="uk">' in notice.html


# -- the account's column and the catalogs --------------------------------------------------


def test_the_migration_adds_and_removes_the_language_column(make_app, empty_database):
    app = make_app(**empty_database)
    cli = app.test_cli_runner()

    def columns():
        with app.app_context():
            names = {column["name"] for column in inspect(db.engine).get_columns("accounts")}
            db.engine.dispose()
            return names

    assert cli.invoke(args=["db", "upgrade"]).exit_code == 0
    assert "language" in columns()
    result = cli.invoke(args=["db", "downgrade", "b5e1c0a7d913"])
    assert result.exit_code == 0, result.output
    assert "language" not in columns()
    assert cli.invoke(args=["db", "upgrade"]).exit_code == 0
    assert "language" in columns()


def test_production_needs_the_english_catalog_too(
    monkeypatch, tmp_path, environment, production_app
):
    translations = tmp_path / "translations"
    for language in set(DEFAULT_LANGUAGES) - {"en"}:
        shutil.copytree(ebok.TRANSLATIONS / language, translations / language)
    monkeypatch.setattr(ebok, "TRANSLATIONS", translations)
    environment(**PRODUCTION_ENVIRONMENT)
    with pytest.raises(RuntimeError, match=r"language\(s\) en in"):
        production_app()


# -- every page, PDFs and formats in every language -------------------------------------------


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def sentences(language: str) -> set[str]:
    """Every run of three or more words between placeholders in a catalog's strings (the
    msgids for English, the source): what a page shown in another language must not
    contain, or it fell back to that language somewhere."""
    from babel.messages.pofile import read_po

    path = ebok.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file)
    found = set()
    for message in catalog:
        if not message.id:
            continue
        texts = message.id if language == "en" else message.string
        assert texts is not None
        for text in (texts,) if isinstance(texts, str) else texts:
            for part in PLACEHOLDER.split(text):
                part = " ".join(part.split()).strip(" .,:;")
                if len(part.split()) >= 3:
                    found.add(part)
    return found


def fallen_back(text: str, language: str) -> set[str]:
    """The sentences of the other languages' catalogs in a page shown in `language`
    (those the language's own catalog says too, such as names, do not count)."""
    own = sentences(language)
    foreign = set().union(*(sentences(other) for other in ("pl", "en") if other != language))
    return {sentence for sentence in foreign - own if sentence in text}


@pytest.mark.parametrize("language", ["en", "uk"])
def test_every_page_renders_in_every_language(
    app, make_visitor, customers, runner, tmp_path, language
):
    """Every page is in the language, its <html lang> says so, and no sentence of another
    language's catalog is in it (no untranslated string, nothing written into a template
    outside gettext)."""
    folder = write_folder(tmp_path / "in", [invoice_row(customers["registered"].number, "FV/1")])
    assert runner.invoke(args=["invoices", "import", str(folder)]).exit_code == 0
    visitor = make_visitor()
    visitor.client.set_cookie("language", language)

    def assert_in_language(url: str, status: int = 200):
        response = visitor.get(url)
        assert response.status_code == status and page_language(response) == language, url
        assert not fallen_back(text_of(response), language), url
        if language == "uk":
            assert CYRILLIC.search(text_of(response)), url

    for url in ("/", "/rejestracja/", "/zapomnialem-hasla/", "/instrukcja", f"/offline/{language}"):
        assert_in_language(url)
    assert_in_language("/nie-ma-takiej", 404)
    AuthActions(visitor).log_in()
    for url in (
        "/strona-glowna",
        "/moje-konto",
        "/moje-konto/haslo",
        "/moje-konto/login",
        "/faktury",
        "/e-faktura/szczegoly",
        "/e-faktura/aktywuj",
    ):
        assert_in_language(url)
    invoices = visitor.get("/faktury").get_data(as_text=True)
    # Amounts in the language's format (the English interface's is British).
    with app.test_request_context(), force_locale(language):
        assert amount(Decimal("1234.56"), "PLN").replace("\xa0", " ") in invoices.replace(
            "\xa0", " "
        ).replace("&nbsp;", " ")


def test_a_ukrainian_visitor_registers_in_ukrainian_from_start_to_end(app, make_visitor, customers):
    """Accept-Language: uk and nothing else: every wizard step, the SMS code, the link
    e-mail and the e-mail that the account exists are Ukrainian, with no sentence of
    another language's catalog in them."""
    visitor = speaking(make_visitor(), "uk-UA,uk;q=0.9,en;q=0.5")
    wizard = WizardActions(app, visitor)
    customer = customers["both"]
    steps = [visitor.get("/rejestracja/"), wizard.start(customer.number), wizard.to_code(customer)]
    steps.append(wizard.enter_code(last_code(app, customer.phone)))
    steps.append(wizard.set_password())
    email_customer = customers["email_only"]
    other = speaking(make_visitor(), "uk")
    steps.append(WizardActions(app, other).send_link(email_customer))
    for step in steps:
        assert page_language(step) == "uk", step.request.path
        assert not fallen_back(text_of(step), "uk"), step.request.path
    messages = outbox(app)
    assert {(m.channel, m.recipient) for m in messages} >= {
        ("sms", customer.phone),
        ("email", customer.email),
        ("email", email_customer.email),
    }
    for message in messages:
        for body in (message.subject or "", message.body_text, message.body_html or ""):
            assert CYRILLIC.search(body) or not body, (message.recipient, body)
            assert not fallen_back(" ".join(html.unescape(body).split()), "uk"), body


def test_a_page_that_fell_back_to_english_is_caught():
    """The check above can fail: an English source sentence in a Ukrainian page."""
    page = "Вхід. The customer number, login or password is incorrect."
    assert fallen_back(page, "uk") == {"The customer number, login or password is incorrect"}


def pdf_text(content: bytes) -> str:
    import io

    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_guide_pdf_in_every_language(app, make_visitor, monkeypatch):
    from ebok.guide import routes as guide_routes

    with app.app_context():
        if not pdf_fonts_available():
            pytest.skip("DejaVu Sans is not installed (make fonts)")

    for language in ("en", "uk"):
        response = speaking(make_visitor(), language).client.get(
            "/instrukcja.pdf", headers={"Accept-Language": language}
        )
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert "Accept-Language" in response.headers["Vary"]
    # A Ukrainian title prints in Cyrillic, and a file name a translator wrote in
    # Cyrillic gets past the server (RFC 6266's filename*).
    names = {"Guide to Strefa Klienta": "Посібник", "guide-strefa-klienta.pdf": "посібник.pdf"}
    monkeypatch.setattr(guide_routes, "_", lambda msgid, **values: names[msgid])
    response = speaking(make_visitor(), "uk").client.get("/instrukcja.pdf")
    assert "Посібник" in pdf_text(response.data)
    disposition = response.headers["Content-Disposition"]
    assert disposition.encode("latin-1")  # a header the server can send
    assert "filename*=UTF-8''%D0%BF%D0%BE%D1%81%D1%96%D0%B1%D0%BD%D0%B8%D0%BA.pdf" in disposition


@pytest.mark.parametrize("language", [code for code in DEFAULT_LANGUAGES if code != "pl"])
def test_polish_field_names_are_marked_polish_in_other_languages(make_visitor, language):
    """The contract's and the bill's field names stay in Polish in every language, marked
    lang="pl" for screen readers (WCAG 3.1.2): the hint, the error and the guide."""
    visitor = speaking(make_visitor(), language)
    marked = [
        f'<span lang="pl">{name}</span>'
        for name in ("Numer ewidencyjny Abonenta", "Nr ewidencyjny")
    ]
    for response in (
        visitor.get("/rejestracja/"),
        visitor.post("/rejestracja/", {"number": "12ab", "action": "next"}),
        visitor.get("/instrukcja"),
    ):
        body = response.get_data(as_text=True)
        for phrase in marked:
            assert phrase in body, response.request.path
        assert "&lt;span" not in body
