"""A page's heading is declared once, by the view or wizard step that renders it: the
template's <h1> shows the `heading` it is given (the `title`, when the page's heading is
its title), and the <title> begins with the same text (WCAG 2.4.2, 2.4.6)."""

import html
import re
from contextlib import contextmanager

import pytest
from flask import template_rendered
from support import (
    TEST_PASSWORD,
    AuthActions,
    WizardActions,
    activate_einvoice,
    found,
    last_link,
    outbox,
)

H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S)
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _text(markup: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", markup)).replace("\xa0", " ")
    return re.sub(r"\s+", " ", text).strip()


@contextmanager
def rendered_contexts(app):
    """The headings the views gave the pages and fragments rendered meanwhile, read while
    the request's language is on."""
    contexts: list[dict] = []

    def record(sender, template, context, **extra):
        if "title" in context:
            heading = context.get("heading") or context["title"]
            contexts.append({"heading": str(heading) if heading else None})

    with template_rendered.connected_to(record, app):
        yield contexts


def assert_heading_declared_once(response, contexts, *, error=False):
    """The view gave the template its heading; the <h1> shows it, the <title> starts
    with it ("Błąd: " first on a form with errors)."""
    assert contexts, f"no panel rendered for {response.request.path}"
    heading = contexts[-1].get("heading")
    assert heading, f"{response.request.path}: the view gave no heading"
    body = response.get_data(as_text=True)
    (h1,) = H1.findall(body)
    assert _text(h1) == _text(str(heading))
    title = _text(found(TITLE, body).group(1))
    prefix = "Błąd: " if error else ""
    assert title.startswith(prefix + _text(str(heading)).rstrip(":.")), title
    contexts.clear()


@pytest.mark.parametrize("prefix", ["/rejestracja", "/zapomnialem-hasla"])
def test_every_wizard_step_declares_its_heading(app, make_visitor, customers, prefix):
    walker = WizardActions(app, make_visitor(), prefix)
    visitor = walker.visitor
    customer = customers["both"] if prefix == "/rejestracja" else customers["registered"]
    with rendered_contexts(app) as contexts:
        assert_heading_declared_once(visitor.get(f"{prefix}/"), contexts)
        response = walker.start("")
        assert response.status_code == 422
        assert_heading_declared_once(response, contexts, error=True)
        if prefix == "/rejestracja":
            response = walker.start(customers["neither"].number)
            assert response.status_code == 422
            assert_heading_declared_once(response, contexts)
        response = walker.start(customer.number)
        assert response.request.path == f"{prefix}/sposob"
        assert_heading_declared_once(response, contexts)
        response = walker.choose("sms", "")
        assert response.status_code == 422
        assert_heading_declared_once(response, contexts, error=True)
        response = walker.choose("sms", customer.phone)
        assert response.request.path == f"{prefix}/kod"
        assert_heading_declared_once(response, contexts)
        response = walker.enter_code("")
        assert response.status_code == 422
        assert_heading_declared_once(response, contexts, error=True)
        response = walker.send_link(customer)
        assert response.request.path == f"{prefix}/sprawdz-poczte"
        assert_heading_declared_once(response, contexts)
        response = visitor.get(last_link(app, customer.email))
        assert response.request.path == f"{prefix}/haslo"
        assert_heading_declared_once(response, contexts)
        response = walker.set_password("short", "other")
        assert response.status_code == 422
        assert_heading_declared_once(response, contexts, error=True)
        response = visitor.get(f"{prefix}/link/not-a-token")
        assert response.status_code == 400
        assert_heading_declared_once(response, contexts)


@pytest.mark.parametrize(
    ("language", "check_inbox"),
    [("en", "Check your e-mail"), ("uk", "Перевірте електронну пошту")],
)
def test_the_heading_is_one_text_in_every_language(
    app, make_visitor, customers, language, check_inbox
):
    visitor = make_visitor(htmx=True)
    walker = WizardActions(app, visitor)
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    with rendered_contexts(app) as contexts:
        response = walker.send_link(customers["email_only"])
        assert response.request.path == "/rejestracja/sprawdz-poczte"
        assert contexts[-1]["heading"] == check_inbox
        assert_heading_declared_once(response, contexts)
        response = visitor.get("/rejestracja/link/not-a-token")
        assert_heading_declared_once(response, contexts)


def test_the_einvoice_confirmation_declares_its_headings(app, make_visitor, customers):
    visitor = make_visitor()
    AuthActions(visitor).log_in()
    visitor.post(
        "/e-faktura/aktywuj",
        {"email": "ewa.nowy@example.com", "zrodlo": "banner", "accept_terms": "y"},
    )
    body = outbox(app, "email", "ewa.nowy@example.com")[-1].body_text
    link = found(r"/e-faktura/potwierdz/\S+", body).group(0)
    mail_app = make_visitor()
    with rendered_contexts(app) as contexts:
        assert_heading_declared_once(mail_app.get(link), contexts)
        assert_heading_declared_once(mail_app.post(link), contexts)
        used = mail_app.post(link)
        assert used.status_code == 410
        assert_heading_declared_once(used, contexts)
        invalid = mail_app.get(link[:-4] + "AAAA")
        assert invalid.status_code == 400
        assert_heading_declared_once(invalid, contexts)


def test_pages_whose_heading_is_their_title(app, make_visitor, customers):
    activate_einvoice(app)
    visitor = make_visitor()
    with rendered_contexts(app) as contexts:
        assert_heading_declared_once(visitor.get("/"), contexts)
        response = AuthActions(visitor).post_login(password="wrong")
        assert response.status_code == 422
        assert_heading_declared_once(response, contexts, error=True)
        assert_heading_declared_once(visitor.get("/instrukcja"), contexts)
        AuthActions(visitor).log_in()
        contexts.clear()
        for path in (
            "/moje-konto",
            "/moje-konto/haslo",
            "/e-faktura/szczegoly",
            "/e-faktura/adres",
        ):
            response = visitor.get(path)
            assert response.status_code == 200, path
            assert_heading_declared_once(response, contexts)
        response = visitor.post("/moje-konto/haslo", {"current_password": TEST_PASSWORD})
        assert response.status_code == 422
        assert_heading_declared_once(response, contexts, error=True)


def _summary_after_the_h1(response) -> None:
    body = response.get_data(as_text=True)
    main = body[max(body.find("<main"), 0) :]  # the whole of a fragment
    assert 'id="error-summary"' in main, "no error state"
    assert main.index("<h1") < main.index('id="error-summary"') < main.index("<h2")


@pytest.mark.parametrize("prefix", ["/rejestracja", "/zapomnialem-hasla"])
def test_on_every_error_state_the_summary_comes_after_the_h1(app, make_visitor, customers, prefix):
    """Heading order (WCAG 1.3.1): "Wystąpił problem" (an <h2>) under the page's <h1>, on
    the steps whose <h1> is their field's label or legend too."""
    for htmx in (False, True):
        visitor = make_visitor(htmx=htmx)
        wizard = WizardActions(app, visitor, prefix=prefix)
        _summary_after_the_h1(wizard.start(""))
        customer = customers["both"] if prefix == "/rejestracja" else customers["registered"]
        wizard.start(customer.number)
        _summary_after_the_h1(visitor.post(f"{prefix}/sposob", {"action": "next"}))
        wizard.choose("sms", customer.phone)
        _summary_after_the_h1(wizard.enter_code(""))
        auth = AuthActions(make_visitor(htmx=htmx))
        auth.log_in()
        _summary_after_the_h1(
            auth.visitor.post("/moje-konto/login", {"login_name": "x", "current_password": ""})
        )
