"""Abuse resistance (issue 9): request limits, input no form can use, common Polish
passwords, landlines, key rotation and logs, tried from outside over HTTP as an attacker
would. The production start checks are in test_production_checks.py."""

import io
import json
import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from support import (
    TEST_CONFIG,
    TEST_PASSWORD,
    Visitor,
    account_of,
    app_on_database,
    assert_shape,
    ensure_database,
    follow,
    last_code,
    outbox,
    text_of,
)

from ebok.extensions import db
from ebok.models import Customer

TOO_LARGE = "Przesłane dane są zbyt duże"


class CountingBody(io.RawIOBase):
    """A request body of `size` bytes made as it is read, counting what the app reads."""

    def __init__(self, size: int, prefix: bytes = b""):
        self.size = size
        self.prefix = prefix
        self.read_so_far = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.size - self.read_so_far)
        if count <= 0:
            return 0
        chunk = (self.prefix + b"A" * count)[self.read_so_far : self.read_so_far + count]
        chunk = chunk.ljust(count, b"A")
        buffer[:count] = chunk
        self.read_so_far += count
        return count


def log_in(visitor, login="200005", password=TEST_PASSWORD):
    return follow(visitor, visitor.post("/", {"login": login, "password": password}))


def post_stream(visitor, url, body: CountingBody, *, with_length: bool, content_type=None):
    """A post whose body the test client never holds in memory; without a length it is
    sent as a chunked request (wsgi.input_terminated), as gunicorn passes those on."""
    if visitor.csrf_token is None:
        visitor.get("/")
    headers = {
        **visitor.headers,
        "Referer": "https://localhost/",
        "X-CSRFToken": visitor.csrf_token,
    }
    environ: dict[str, object] = {"wsgi.input": body}
    if with_length:
        environ["CONTENT_LENGTH"] = str(body.size)
    else:
        environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    return visitor.client.post(
        url,
        content_type=content_type or "application/x-www-form-urlencoded",
        headers=headers,
        environ_overrides=environ,
    )


# 9.1: one request must not stall a worker.


@pytest.mark.parametrize("with_length", [True, False], ids=["content-length", "chunked"])
def test_a_3_mb_password_is_refused_without_being_read(app, visitor, customers, with_length):
    log_in(visitor)
    body = CountingBody(3 * 1024 * 1024, prefix=b"current_password=x&password=")
    response = post_stream(visitor, "/moje-konto/haslo", body, with_length=with_length)
    assert response.status_code == 413
    assert TOO_LARGE in text_of(response)
    assert_shape(visitor, response)
    # Refused from the length alone, or after reading no more than the limit allows.
    assert body.read_so_far <= app.config["MAX_CONTENT_LENGTH"] + 64 * 1024


def test_a_20_mb_form_body_and_a_50_mb_upload_are_refused_unread(visitor):
    body = CountingBody(20 * 1024 * 1024, prefix=b"login=")
    response = post_stream(visitor, "/", body, with_length=True)
    assert response.status_code == 413 and body.read_so_far == 0
    assert TOO_LARGE in text_of(response)

    upload = CountingBody(50 * 1024 * 1024, prefix=b"--xyz\r\n")
    response = post_stream(
        visitor, "/", upload, with_length=True, content_type="multipart/form-data; boundary=xyz"
    )
    assert response.status_code == 413 and upload.read_so_far == 0


def test_too_many_fields_or_one_too_large_field_is_refused(visitor):
    """Multipart forms are parsed field by field, so these limits apply there; a
    urlencoded body is bounded as a whole by MAX_CONTENT_LENGTH."""
    many = {f"field{number}": "x" for number in range(100)}
    response = visitor.post("/", many, content_type="multipart/form-data")
    assert response.status_code == 413 and TOO_LARGE in text_of(response)

    response = visitor.post(
        "/", {"login": "x" * 20_000, "password": "y"}, content_type="multipart/form-data"
    )
    assert response.status_code == 413


def test_a_password_past_the_input_bound_gets_only_the_length_message(app, visitor, customers):
    log_in(visitor)
    # Under the request limits, far over the rule: distinct characters, each not allowed.
    long_password = "".join(chr(code) for code in range(0x100, 0x100 + 2000))
    response = visitor.post(
        "/moje-konto/haslo",
        {
            "current_password": TEST_PASSWORD,
            "password": long_password,
            "password_repeat": long_password,
        },
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "Hasło może mieć najwyżej 32 znaki." in page
    assert "niedozwolon" not in page  # the characters were never looked at


def test_a_long_password_at_login_is_simply_wrong(visitor, customers):
    response = log_in(visitor, password="A1a" + "x" * 30_000)
    assert response.status_code == 422
    assert "Nieprawidłowy numer klienta, login lub hasło." in text_of(response)


# 9.11: NUL characters and files never reach the views.


def test_nul_characters_never_reach_a_view(app, visitor, customers, caplog):
    """NUL becomes U+FFFD, so each field refuses the value with its own message."""
    caplog.set_level("INFO")
    response = log_in(visitor, login="2000\x0005")
    assert response.status_code == 422
    assert "Nieprawidłowy numer klienta, login lub hasło." in text_of(response)
    response = visitor.post("/", {"login\x00": "200005", "password": "x"})
    assert response.status_code == 422
    assert "Podaj numer klienta lub login." in text_of(response)
    response = visitor.post("/zapomnialem-hasla/", {"number": "ewa\x00kaminska", "action": "next"})
    assert response.status_code == 422
    assert "Nie znaleźliśmy klienta o takim numerze lub loginie." in text_of(response)

    registering = Visitor(app.test_client(), htmx=visitor.htmx)
    reach_password_step(app, registering, customers["both"])
    response = registering.post(
        "/rejestracja/haslo",
        {"password": "Abc\x00def12", "password_repeat": "Abc\x00def12", "action": "next"},
    )
    assert response.status_code == 422
    assert "Hasło zawiera niedozwolony znak: „\ufffd”." in text_of(response)
    assert "\x00" not in caplog.text


def test_a_file_in_a_text_field_is_no_value(app, visitor, customers):
    """Flask-WTF would hand the upload's FileStorage to the text field: it is dropped, so
    the field is empty and says so."""
    visitor.post("/rejestracja/", {"number": customers["both"].number, "action": "next"})
    response = visitor.post(
        "/rejestracja/sposob",
        {"channel": "sms", "phone": (io.BytesIO(b"512345678"), "phone.txt"), "action": "next"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Podaj swój numer telefonu." in text_of(response)
    assert_shape(visitor, response)
    assert outbox(app, "sms") == []


def test_a_part_without_a_readable_name_is_no_error(visitor, customers):
    """Found by test_properties.py: Werkzeug names such a part None."""
    response = visitor.post(
        "/", {"login": "200005", "\r": "x\x00", "password": "x"}, content_type="multipart/form-data"
    )
    assert response.status_code == 422


def test_nul_characters_on_postgresql(tmp_path):
    """PostgreSQL refuses NUL in text (a 500 before); where it runs, the forms go on."""
    uri = "postgresql+psycopg://postgres@127.0.0.1:5432/ebok_abuse"
    try:
        ensure_database(uri)
    except OperationalError as problem:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({problem.orig})")
    app = app_on_database(uri)
    with app.app_context():
        db.drop_all()
        db.create_all()
    try:
        visitor = Visitor(app.test_client(), htmx=False)
        for url, data in [
            ("/", {"login": "ewa\x00", "password": "x"}),
            ("/", {"login": "200\x00005", "password": "x"}),
            ("/zapomnialem-hasla/", {"number": "abc\x00def", "action": "next"}),
            ("/rejestracja/", {"number": "200\x00001", "action": "next"}),
        ]:
            response = visitor.post(url, data)
            assert response.status_code == 422, url
    finally:
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


# 9.13: Polish common passwords.


def reach_password_step(app, visitor, customer):
    visitor.post("/rejestracja/", {"number": customer.number, "action": "next"})
    visitor.post("/rejestracja/sposob", {"channel": "sms", "phone": "512345678", "action": "next"})
    visitor.post("/rejestracja/kod", {"code": last_code(app, customer.phone), "action": "next"})


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Haslo123", "zbyt popularne"),
        ("Kochamcie1", "popularne słowo lub hasło z dopisanymi cyframi"),
        ("Legia1916", "popularne słowo lub hasło z dopisanymi cyframi"),
        ("P@ssw0rd1!", "popularne słowo lub hasło z dopisanymi cyframi"),
    ],
)
def test_polish_common_passwords_are_refused(app, visitor, customers, password, message):
    customer = customers["both"]
    reach_password_step(app, visitor, customer)
    response = visitor.post(
        "/rejestracja/haslo",
        {"password": password, "password_repeat": password, "action": "next"},
    )
    assert response.status_code == 422
    assert message in text_of(response)
    assert account_of(app, customer) is None


# 9.14: a landline is no SMS channel.


@pytest.fixture
def landline_customers(app):
    with app.app_context():
        db.session.add_all(
            [
                Customer(
                    number="300001", first_name="Jan", last_name="Stacjonarny", phone="+48221234567"
                ),
                Customer(
                    number="300002",
                    first_name="Ola",
                    last_name="Stacjonarna",
                    phone="+48221234568",
                    email="ola@example.com",
                ),
            ]
        )
        db.session.commit()


def test_a_landline_only_customer_is_sent_to_the_centre(visitor, landline_customers):
    response = visitor.post("/rejestracja/", {"number": "300001", "action": "next"})
    assert response.status_code == 422
    page = text_of(response)
    assert "Centrum Obsługi Klienta" in page and "22 123 45 67" in page


def test_a_landline_is_not_offered_for_sms_and_gets_no_notice(app, visitor, landline_customers):
    response = visitor.post("/rejestracja/", {"number": "300002", "action": "next"})
    body = response.get_data(as_text=True)
    assert 'value="email"' in body and 'value="sms"' not in body
    assert "nie mamy Twojego numeru telefonu komórkowego" in text_of(response)
    response = visitor.post(
        "/rejestracja/sposob", {"channel": "sms", "phone": "22 123 45 68", "action": "next"}
    )
    assert response.status_code == 422
    assert outbox(app, "sms") == []


def test_the_import_still_stores_landlines(app, runner, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_number,first_name,last_name,email,phone\n300003,Jan,Nowak,,22 123 45 69\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["customers", "import", str(path)])
    assert result.exit_code == 0 and "added: 1" in result.output
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.number == "300003")).one()
        assert customer.phone == "+48221234569" and customer.sms_phone is None


# 9.12: key rotation keeps open forms working.


@pytest.mark.parametrize(
    ("fallbacks", "accepted"), [([TEST_CONFIG["SECRET_KEY"]], True), ([], False)]
)
def test_a_form_rendered_before_a_key_rotation_submits_after_it(
    app, make_app, customers, fallbacks, accepted
):
    before = Visitor(app.test_client(), htmx=False)
    before.get("/")  # the login form, with its CSRF token, signed with the old key
    # The same database, a new key.
    rotated = make_app(SECRET_KEY="the-new-secret-key", SECRET_KEY_FALLBACKS=fallbacks)
    after = Visitor(rotated.test_client(), htmx=False)
    after.client.set_cookie("session", before.client.get_cookie("session").value)
    after.csrf_token = before.csrf_token
    response = log_in(after)
    if accepted:
        assert "Strona Główna" in text_of(response)
    else:  # without the old key among the fallbacks the form has expired, as before
        assert response.status_code == 400 and "Formularz wygasł" in text_of(response)


# 9.5: logs without secrets, one event per line.


def test_a_password_typed_as_the_login_never_reaches_the_logs(visitor, customers, caplog, capsys):
    caplog.set_level("INFO")
    typed_login = "Tajne#Haslo99"
    response = log_in(visitor, login=typed_login, password="whatever")
    assert response.status_code == 422
    assert "login_failed" in caplog.text
    assert typed_login not in caplog.text
    assert typed_login.casefold() not in caplog.text
    assert typed_login.casefold() not in capsys.readouterr().err


def test_logs_are_json_lines_with_tokens_cut(app, capsys):
    import logging

    logging.getLogger("werkzeug").setLevel("INFO")  # as its development server does
    with app.test_request_context():
        logging.getLogger("ebok.test").error(
            "failed at %s", "/rejestracja/link/eyJ2IjoxfQ.aBcD.secretsecretsecret"
        )
        try:
            raise ValueError("boom\non two lines")
        except ValueError:
            logging.getLogger("ebok.test").exception("Exception on /e-faktura/potwierdz/abc.def")
        logging.getLogger("werkzeug").info('"GET /zapomnialem-hasla/link/tok3n HTTP/1.1" 302 -')
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    events = [json.loads(line) for line in lines]
    assert [event["event"] for event in events] == [
        "failed at /rejestracja/link/[token]",
        "Exception on /e-faktura/potwierdz/[token]",
        '"GET /zapomnialem-hasla/link/[token] HTTP/1.1" 302 -',
    ]
    assert "boom\non two lines" in events[1]["exception"]
    assert not re.search(r"secretsecret|abc\.def|tok3n", "".join(lines))


def test_the_log_level_comes_from_configuration(make_app):
    import logging

    make_app(LOG_LEVEL="warning")
    assert logging.getLogger("ebok").level == logging.WARNING
    make_app()
    assert logging.getLogger("ebok").level == logging.INFO


def test_sql_parameters_are_hidden_from_errors(app, customers):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        db.session.add(Customer(number="200001", first_name="Sekretna", last_name="Dana"))
        with pytest.raises(IntegrityError) as raised:
            db.session.commit()
        db.session.rollback()
    assert "Sekretna" not in str(raised.value)
    assert "hide_parameters" in str(raised.value)
