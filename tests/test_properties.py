"""Property-based abuse (issue 9, "Done when"): every form, posted with arbitrary text,
NUL characters, huge, repeated, missing and unknown fields and files, answers without a
500 and within a second. Each form is first reached as a customer would reach it (the
wizard's step, logged in, e-Faktura active), so the post meets the view's real checks.

Every route with a path or query parameter (issue 18.6), given ids and page numbers at and
past 2^31, 2^63 and 4 000 digits, and arbitrary text, answers without a 500, on SQLite and
on PostgreSQL (a private server, support.PostgresServer)."""

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invoice_files import invoice_row, write_folder
from support import TEST_PASSWORD, PostgresServer, Visitor, app_on_database, last_code
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

from ebok.extensions import db, limiter
from ebok.identity.passwords import hash_password
from ebok.models import Account, Customer

# The issue asks for this bound explicitly; it is a ceiling far above a normal answer. It
# is counted in CPU seconds of this process (the app runs in it), so other work on a busy
# machine does not count against the app.
SLOWEST_ANSWER_SECONDS = 1.0
EXAMPLES_PER_FORM = 10
# Limits out of the way, so every example reaches the form it is meant for.
GENEROUS_LIMITS = {
    name: "100000/minute"
    for name in (
        "RATELIMIT_LOGIN",
        "RATELIMIT_LOGIN_PER_ACCOUNT",
        "RATELIMIT_NUMBER_LOOKUP",
        "RATELIMIT_CONTACT_CHECK",
        "RATELIMIT_CODE_ATTEMPTS",
        "RATELIMIT_CODE_SENDS_PER_CUSTOMER",
        "RATELIMIT_CODE_SENDS",
        "RATELIMIT_NUMBER_REMINDERS_PER_CONTACT",
        "RATELIMIT_CURRENT_PASSWORD",
    )
}
NEW_CUSTOMER = ("200001", "+48512345678", "anna.nowak@example.com")
REGISTERED = ("200005", "+48600700805", "ewa.kaminska@example.com")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    path = tmp_path_factory.mktemp("properties") / "test.db"
    app = app_on_database(f"sqlite:///{path}", **GENEROUS_LIMITS)
    with app.app_context():
        db.create_all()
        limiter.reset()
        new = Customer(
            number=NEW_CUSTOMER[0],
            first_name="Anna",
            last_name="Nowak",
            phone=NEW_CUSTOMER[1],
            email=NEW_CUSTOMER[2],
        )
        registered = Customer(
            number=REGISTERED[0],
            first_name="Ewa",
            last_name="Kamińska",
            phone=REGISTERED[1],
            email=REGISTERED[2],
        )
        db.session.add_all([new, registered])
        db.session.add(Account(customer=registered, password_hash=hash_password(TEST_PASSWORD)))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


# How a customer reaches each form.


def nowhere(app, visitor):
    pass


def wizard_step(prefix: str, customer: tuple, step: str) -> Callable:
    number, phone, _ = customer

    def reach(app, visitor):
        visitor.post(f"{prefix}/", {"number": number, "action": "next"})
        if step == "channel":
            return
        visitor.post(f"{prefix}/sposob", {"channel": "sms", "phone": phone, "action": "next"})
        if step == "code":
            return
        visitor.post(f"{prefix}/kod", {"code": last_code(app, phone), "action": "next"})

    return reach


def logged_in(app, visitor):
    visitor.post("/", {"login": REGISTERED[0], "password": TEST_PASSWORD})


def einvoice_active(app, visitor):
    logged_in(app, visitor)
    visitor.post(
        "/e-faktura/aktywuj", {"email": REGISTERED[2], "accept_terms": "y", "source": "account"}
    )


def phone_change_asked(app, visitor):
    logged_in(app, visitor)
    visitor.post("/moje-konto/telefon", {"current_password": TEST_PASSWORD, "phone": "511222333"})


@dataclass(frozen=True)
class Form:
    url: str
    fields: tuple[str, ...]
    reach: Callable = nowhere


WIZARD_FIELDS = {
    "": ("number", "action"),
    "/sposob": ("channel", "phone", "email", "action"),
    "/kod": ("code", "action"),
    "/wyslij-ponownie": ("action",),
    "/haslo": ("password", "password_repeat", "action"),
}
STEP_OF = {"": None, "/sposob": "channel", "/kod": "code", "/wyslij-ponownie": "code"}
STEP_OF["/haslo"] = "password"


def wizard_forms(prefix: str, customer: tuple) -> dict[str, Form]:
    forms = {}
    for path, fields in WIZARD_FIELDS.items():
        step = STEP_OF[path]
        reach = wizard_step(prefix, customer, step) if step else nowhere
        forms[f"{prefix}{path or '/'}"] = Form(f"{prefix}{path or '/'}", fields, reach)
    return forms


FORMS = {
    "/": Form("/", ("login", "password")),
    **wizard_forms("/rejestracja", NEW_CUSTOMER),
    **wizard_forms("/zapomnialem-hasla", REGISTERED),
    "/moje-konto/haslo": Form(
        "/moje-konto/haslo", ("current_password", "password", "password_repeat"), logged_in
    ),
    "/moje-konto/login": Form("/moje-konto/login", ("login_name", "current_password"), logged_in),
    "/e-faktura/aktywuj": Form(
        "/e-faktura/aktywuj", ("email", "accept_terms", "source", "zrodlo"), logged_in
    ),
    "/e-faktura/adres": Form("/e-faktura/adres", ("email", "current_password"), einvoice_active),
    "/e-faktura/wylacz": Form("/e-faktura/wylacz", (), einvoice_active),
    "einvoice.confirm": Form("/e-faktura/potwierdz/", ()),
    "/wyloguj": Form("/wyloguj", (), logged_in),
    # Moje dane (issue 24).
    "/moje-konto/adres-email": Form(
        "/moje-konto/adres-email", ("current_password", "email"), logged_in
    ),
    "mydata.confirm_email": Form("/moje-konto/adres-email/potwierdz/", ()),
    "/moje-konto/telefon": Form("/moje-konto/telefon", ("current_password", "phone"), logged_in),
    "/moje-konto/telefon/kod": Form("/moje-konto/telefon/kod", ("code",), phone_change_asked),
    "/moje-konto/telefon/wyslij-ponownie": Form(
        "/moje-konto/telefon/wyslij-ponownie", (), phone_change_asked
    ),
    "/moje-konto/zgody": Form("/moje-konto/zgody", ("email", "sms", "phone"), logged_in),
    "/nie-pamietam-numeru": Form("/nie-pamietam-numeru", ("contact",)),
    "/moje-konto/moje-dane": Form("/moje-konto/moje-dane", ("current_password",), logged_in),
    "/moje-konto/usun-konto": Form("/moje-konto/usun-konto", ("current_password",), logged_in),
    "/moje-konto/bezpieczenstwo/wyloguj-inne": Form(
        "/moje-konto/bezpieczenstwo/wyloguj-inne", (), logged_in
    ),
    "/moje-konto/bezpieczenstwo/dwuetapowe/wlacz": Form(
        "/moje-konto/bezpieczenstwo/dwuetapowe/wlacz", ("current_password", "method"), logged_in
    ),
    "/moje-konto/bezpieczenstwo/dwuetapowe/aplikacja": Form(
        "/moje-konto/bezpieczenstwo/dwuetapowe/aplikacja", ("code",), logged_in
    ),
    "/logowanie/kod": Form("/logowanie/kod", ("code", "remember")),
}


# What an attacker sends.

HUGE_SIZES = [0, 32, 33, 256, 257, 16 * 1024 + 1, 70_000, 3 * 1024 * 1024]
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("\x00\x01\u200b\ufeffaZ9 #@.+-żł🙂"), max_size=40),
    st.builds(
        lambda size, character: character * size,
        st.sampled_from(HUGE_SIZES),
        st.characters(codec="utf-8"),  # a browser cannot send a lone surrogate
    ),
    st.sampled_from(
        ["200005", "+48600700805", "ewa.kaminska@example.com", "sms", "email", "next", "y"]
    ),
)
files = st.builds(
    lambda content, name: (io.BytesIO(content), name),
    st.binary(max_size=200),
    st.sampled_from(["a.txt", "faktura.pdf", ""]),
)
values = st.one_of(texts, texts, files, st.lists(texts, min_size=2, max_size=3))


@st.composite
def form_posts(draw, form: Form):
    data = draw(st.fixed_dictionaries({}, optional={field: values for field in form.fields}))
    data.update(draw(st.dictionaries(st.text(min_size=1, max_size=12), texts, max_size=2)))
    token = draw(st.text(max_size=60)) if form.url.endswith("/potwierdz/") else ""
    return data, token


def is_multipart(data: dict) -> bool:
    return any(isinstance(value, tuple) for value in data.values())


def timed_post(visitor: Visitor, url: str, data: dict):
    """Posts as Visitor.post does, timing the app alone in CPU seconds: the body is encoded
    before the clock starts (encoding 3 MB of Polish letters takes the test client seconds)."""
    builder = EnvironBuilder(
        url,
        method="POST",
        data={"csrf_token": visitor.csrf_token, **data},
        headers=Headers({**visitor.headers, "Referer": "https://localhost/"}),
        content_type="multipart/form-data" if is_multipart(data) else None,
    )
    try:
        request = builder.get_request()
    finally:
        builder.close()
    body = request.environ["wsgi.input"]  # a temporary file past 500 KB of multipart
    try:
        started = time.process_time()
        response = visitor.client.open(request)
        response.get_data()
        elapsed = time.process_time() - started
        response.close()
    finally:
        body.close()  # the app may have refused it unread
    return response, elapsed


@pytest.mark.parametrize("name", list(FORMS))
def test_no_form_answers_500_or_slowly(app, name):
    form = FORMS[name]

    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,  # timed below, for the app alone
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(post=form_posts(form), htmx=st.booleans())
    def check(post, htmx):
        data, token = post
        visitor = Visitor(app.test_client(), htmx=htmx)
        form.reach(app, visitor)
        visitor.get("/")  # a fresh CSRF token
        url = form.url + quote(token, safe="")
        response, elapsed = timed_post(visitor, url, data)
        assert response.status_code < 500, (response.status_code, data)
        assert elapsed < SLOWEST_ANSWER_SECONDS, (elapsed, data)

    check()


# Every route with a path or query parameter (issue 18.6).

# Where databases and Python stop: PostgreSQL's integer and bigint, and 4 000 digits (past
# which Python refuses to read an int from text at all: 4 300).
EDGE_NUMBERS = [
    2**31 - 1,
    2**31,
    2**63 - 1,
    2**63,
    2**64,
    10**4000 - 1,
    0,
    -1,
    -(2**63) - 1,
]
numbers = st.one_of(
    st.sampled_from(EDGE_NUMBERS), st.integers(min_value=-(2**80), max_value=2**80)
).map(str)
parameters = st.one_of(
    numbers, numbers, st.text(max_size=40), st.sampled_from(["9" * 5000, "1e9", "٣", "+5", " 7"])
)


@dataclass(frozen=True)
class Route:
    endpoint: str
    url: str  # with {} where the generated value goes (quoted for a path or a query)
    signed_in: bool = False


ROUTES = [
    Route("invoices.download", "/faktury/{}.pdf", signed_in=True),
    Route("invoices.download_by_number", "/faktury/numer/{}", signed_in=True),
    Route("invoices.invoice_list", "/faktury?strona={}", signed_in=True),
    Route("invoices.invoice_list", "/faktury?rok={}", signed_in=True),
    Route("invoices.invoice_list", "/faktury?rok=2026&strona={}", signed_in=True),
    Route("payments.pay_invoice", "/faktury/{}/zaplac", signed_in=True),
    Route("payments.return_page", "/platnosci/{}", signed_in=True),
    Route("payments.dev_page", "/dev/platnosc/{}", signed_in=True),
    Route("einvoice.activate", "/e-faktura/aktywuj?zrodlo={}", signed_in=True),
    # POST only: a GET is a 405 whatever the parameter; the posts are in test_security_page.
    Route("security.end_session", "/moje-konto/bezpieczenstwo/sesje/{}/wyloguj", True),
    Route("security.forget_device", "/moje-konto/bezpieczenstwo/urzadzenia/{}/zapomnij", True),
    Route("registration.open_link", "/rejestracja/link/{}"),
    Route("password_reset.open_link", "/zapomnialem-hasla/link/{}"),
    Route("einvoice.confirm", "/e-faktura/potwierdz/{}", signed_in=True),
    Route("einvoice.confirm", "/e-faktura/potwierdz/{}"),
    Route("mydata.confirm_email", "/moje-konto/adres-email/potwierdz/{}"),
    Route("pwa.manifest", "/manifest.{}.webmanifest"),
    Route("pwa.offline", "/offline/{}"),
    Route("operator_theme", "/operator/theme-{}.css"),
    Route("operator_logo", "/operator/logo-{}.svg"),
    Route("operator_font", "/operator/font-{}.woff2"),
    Route("static", "/static/{}"),
]
EXAMPLES_PER_ROUTE = 25


def test_the_routes_cover_every_parameter(app):
    """A new route with a path parameter must be added to ROUTES."""
    with_parameters = {rule.endpoint for rule in app.url_map.iter_rules() if rule.arguments}
    assert with_parameters <= {route.endpoint for route in ROUTES}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def routes_app(request, tmp_path_factory):
    """The app with the registered customer and one real invoice, on each database."""
    directory = tmp_path_factory.mktemp(f"routes-{request.param}")
    if request.param == "sqlite":
        server, uri = None, f"sqlite:///{directory}/test.db"
    else:
        server = PostgresServer()
        uri = server.uri
    app = app_on_database(uri, **GENEROUS_LIMITS, INVOICE_STORAGE=str(directory / "storage"))
    try:
        with app.app_context():
            db.create_all()
            limiter.reset()
            customer = Customer(
                number=REGISTERED[0], first_name="Ewa", last_name="Kamińska", email=REGISTERED[2]
            )
            db.session.add(customer)
            db.session.add(Account(customer=customer, password_hash=hash_password(TEST_PASSWORD)))
            db.session.commit()
        folder = write_folder(directory / "billing", [invoice_row(REGISTERED[0], "FV/2026/11/1")])
        result = app.test_cli_runner().invoke(args=["invoices", "import", str(folder)])
        assert result.exit_code == 0, result.output
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        if server is not None:
            server.remove()


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.url)
def test_no_route_parameter_answers_500(routes_app, route):
    visitor = Visitor(routes_app.test_client(), htmx=False)
    if route.signed_in:
        logged_in(routes_app, visitor)
        assert visitor.get("/faktury/1.pdf").status_code == 200  # signed in, the PDF there

    def check_one(value, htmx):
        visitor.htmx = htmx
        url = route.url.format(quote(value, safe=""))
        response = visitor.get(url)
        assert response.status_code < 500, (response.status_code, url[:200])
        only_invoice = value.lstrip("0") == "1"
        if route.endpoint == "invoices.download" and value.isdigit() and not only_invoice:
            assert response.status_code == 404

    # Every edge, whatever Hypothesis draws, and a NUL byte (PostgreSQL refuses it as text).
    for edge in [*map(str, EDGE_NUMBERS), "\x00"]:
        check_one(value=edge, htmx=False)
    check = given(value=parameters, htmx=st.booleans())(check_one)
    settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None)(check)()
