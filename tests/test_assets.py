"""Static files: fingerprinted names through the manifest, served precompressed with
immutable caching; the service worker precaches those names; the login page is rendered
once but every visitor gets their own CSRF token."""

import gzip
import json
import re
from pathlib import Path

import brotli
import pytest
from support import found

from ebok.web.assets import build

STATIC = Path(__file__).resolve().parent.parent / "static"
FINGERPRINTED_CSS = re.compile(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"')


def fetch(client, path, **kwargs):
    """GET, read and close: a file WhiteNoise sends stays open until the response closes."""
    response = client.get(path, **kwargs)
    response.get_data()
    response.close()
    return response


@pytest.fixture
def built_app(make_app, tmp_path):
    """The app as production runs it after `flask assets build`."""
    app = make_app(STATIC_BUILD_FOLDER=str(tmp_path / "static"))
    result = app.test_cli_runner().invoke(args=["assets", "build"])
    assert result.exit_code == 0, result.output
    # The manifest is read when the app starts, as a worker does after the deploy step.
    return make_app(**app.config)


def test_pages_link_fingerprinted_assets_cached_as_immutable(built_app):
    client = built_app.test_client()
    page = client.get("/").get_data(as_text=True)
    css = found(FINGERPRINTED_CSS, page).group(1)
    # The icon sprite is linked with the symbol's #fragment after the file name.
    for path in re.findall(r'(?:href|src)="(/static/[^"#]+)', page):
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", path), path
    response = fetch(client, css)
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=315360000" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == built_css(built_app)


def built_css(app) -> bytes:
    """app.css as the build wrote it (without its comments)."""
    return (Path(app.config["STATIC_BUILD_FOLDER"]) / "css/app.css").read_bytes()


@pytest.mark.parametrize(
    ("accept", "encoding", "decode"),
    [("br, gzip", "br", brotli.decompress), ("gzip", "gzip", gzip.decompress)],
)
def test_assets_are_served_precompressed(built_app, accept, encoding, decode):
    client = built_app.test_client()
    css = found(FINGERPRINTED_CSS, client.get("/").get_data(as_text=True)).group(1)
    response = fetch(client, css, headers={"Accept-Encoding": accept})
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert decode(response.get_data()) == built_css(built_app)


def test_unfingerprinted_names_still_work_with_a_short_cache(built_app):
    response = fetch(built_app.test_client(), "/static/css/app.css")
    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]


def test_manifest_and_service_worker_use_fingerprinted_names(built_app):
    client = built_app.test_client()
    icons = [icon["src"] for icon in client.get("/manifest.webmanifest").get_json()["icons"]]
    worker = client.get("/sw.js").get_data(as_text=True)
    precache = json.loads(found(r"PRECACHE = (\[.*?\]);", worker).group(1))
    for path in icons + precache:
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", path), path
        assert fetch(client, path).status_code == 200


def test_a_stale_build_is_not_served(tmp_path):
    """After static/ changes, an old build would serve old files under new pages: the app
    serves static/ itself until the build is run again."""
    source, target = tmp_path / "source", tmp_path / "build"
    (source / "css").mkdir(parents=True)
    (source / "css/app.css").write_text("body { color: black }")
    first = build(source, target)
    (source / "css/app.css").write_text("body { color: navy }")
    from ebok.web.assets import current_manifest

    assert current_manifest(source, target) is None
    second = build(source, target)
    assert first["css/app.css"] != second["css/app.css"]
    assert current_manifest(source, target) == second
    assert not (target / first["css/app.css"]).exists()


def test_without_a_build_static_files_are_served_as_they_are(app):
    page = app.test_client().get("/").get_data(as_text=True)
    assert 'href="/static/css/app.css"' in page
    assert fetch(app.test_client(), "/static/css/app.css").status_code == 200


def test_each_visitor_gets_their_own_csrf_token_on_the_rendered_once_page(make_visitor):
    first, second = make_visitor(), make_visitor(htmx=False)
    first.get("/")
    second.get("/")
    assert first.csrf_token and second.csrf_token and first.csrf_token != second.csrf_token
    # Each token works in its own session only.
    other = first.post("/", {"login": "1", "password": "x", "csrf_token": second.csrf_token})
    assert other.status_code == 400
    own = first.post("/", {"login": "1", "password": "x"})
    assert own.status_code == 422


def test_a_waiting_message_is_shown_on_the_rendered_once_page(app, make_visitor):
    plain = make_visitor()
    plain.get("/")  # the page is now kept
    with plain.client.session_transaction() as session:
        session["_flashes"] = [("status", "Wylogowano.")]
    assert "Wylogowano." in plain.get("/").get_data(as_text=True)
    assert "Wylogowano." not in plain.get("/").get_data(as_text=True)


def test_the_build_minifies_our_css_and_javascript(tmp_path):
    source, target = tmp_path / "source", tmp_path / "build"
    for folder in ("css", "js", "vendor"):
        (source / folder).mkdir(parents=True)
    (source / "css/app.css").write_text(
        "/* why */\n.a {\n  color: red;\n} /* more\n  lines */\n\n"
        '.b::before { content: "/* kept */"; }\n'
    )
    (source / "js/app.js").write_text(
        "// why\n(function () {\n  // more\n"
        '  var u = "http://example.pl"; // after code\n  f(u);\n})();\n'
    )
    (source / "vendor/lib.js").write_text("// a vendored file stays as it is\nx();\n")
    manifest = build(source, target)
    css = (target / manifest["css/app.css"]).read_text()
    assert css == '.a{color:red}.b::before{content:"/* kept */"}'
    assert (target / "css/app.css").read_text() == css
    javascript = (target / manifest["js/app.js"]).read_text()
    assert javascript == '(function(){var u="http://example.pl";f(u);})();'
    assert (target / "vendor/lib.js").read_text() == (source / "vendor/lib.js").read_text()


def test_the_built_css_and_javascript_keep_every_rule_and_string(tmp_path):
    """Against the real files: every CSS selector and every JavaScript string literal is
    still there, and the files are much smaller."""
    manifest = build(STATIC, tmp_path / "build")
    css_source = (STATIC / "css/app.css").read_text()
    css = (tmp_path / "build" / manifest["css/app.css"]).read_text()
    without_comments = re.sub(r"/\*.*?\*/", "", css_source, flags=re.DOTALL)
    selectors = {s.strip() for s in re.findall(r"([^{};]+)\{", without_comments)}
    assert len(selectors) > 100
    squeezed = re.sub(r"\s+", "", css)
    missing = [s for s in selectors if re.sub(r"\s+", "", s) not in squeezed]
    assert not missing, missing[:5]
    js_source = (STATIC / "js/app.js").read_text()
    javascript = (tmp_path / "build" / manifest["js/app.js"]).read_text()
    code = "\n".join(line for line in js_source.splitlines() if not line.lstrip().startswith("//"))
    strings = set(re.findall(r'"(?:\\.|[^"\\\n])*"', code))
    assert len(strings) > 50
    # (A double quote inside a single-quoted string would make a false one: left out.)
    missing = [text for text in strings if "'" not in text and text not in javascript]
    assert missing == []
    for built, source in ((css, css_source), (javascript, js_source)):
        assert len(built) < 0.8 * len(source)
