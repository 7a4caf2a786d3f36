"""Real-browser tests: the app served on loopback by a thread, Debian's Chromium driven by
Playwright (its own browser download does not work here), at a phone and a desktop size."""

import json
import os
import re
import shutil
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from support import DEFAULT_LANGUAGES, add_customers, app_on_database, last_code, last_link
from werkzeug.serving import make_server

from ebok.extensions import db, limiter
from ebok.web.assets import build

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# As the machine's probe starts it: no sandbox as root, nothing reaching the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}
# A made-up operator, so the pages (and `make screenshots`) show a configured identity.
DEMO_OPERATOR = {
    "OPERATOR_NAME": "Kablonet",
    "OPERATOR_NAME_LOCATIVE": "Kablonecie",
    "OPERATOR_LOGO": str(Path(__file__).parent / "operator-logo.svg"),
    "OPERATOR_PRIMARY_COLOR": "#5b2a86",
    "OPERATOR_ACCENT_COLOR": "#00786f",
    "OPERATOR_CORNER_RADIUS": "6px",
    "OPERATOR_EMAIL": "bok@kablonet.example",
    "OPERATOR_ADDRESS": "ul. Przykładowa 1, 00-001 Warszawa",
    "OPERATOR_PORTAL_URL": "https://ebok.kablonet.example",
    "OPERATOR_PHISHING_REPORT": "phishing@kablonet.example",
}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="session")
def playwright():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make browsers`")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class LiveApp:
    """The served app, its address, and the codes and links it sent (support's readers)."""

    def __init__(self, app, url):
        self.app = app
        self.url = url

    def last_code(self, phone: str) -> str:
        return last_code(self.app, phone)

    def last_link(self, email: str) -> str:
        return self.url + last_link(self.app, email)


@pytest.fixture(scope="session")
def static_build(tmp_path_factory):
    """Static files as production serves them: fingerprinted and compressed."""
    folder = tmp_path_factory.mktemp("static")
    build(ROOT / "static", folder)
    return folder


@pytest.fixture
def live_config() -> dict:
    """Settings a test module adds to the served app's (override the fixture there)."""
    return {}


@pytest.fixture
def live(tmp_path, static_build, live_config):
    app = app_on_database(
        f"sqlite:///{tmp_path}/browser.db",
        PREFERRED_URL_SCHEME="http",
        STATIC_BUILD_FOLDER=str(static_build),
        **DEMO_OPERATOR,
        **live_config,
    )
    with app.app_context():
        db.create_all()
        limiter.reset()
    add_customers(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    app.config["SERVER_NAME"] = None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveApp(app, f"http://127.0.0.1:{port}")
    server.shutdown()
    thread.join()
    with app.app_context():
        db.engine.dispose()


@contextmanager
def browser_tab(browser, live, viewport: str, language: str | None = None):
    """A fresh browser tab at a size from VIEWPORTS; fails on any console error, Content-
    Security-Policy violation included. `language`: the browser asks for it (Accept-
    Language) and carries the switcher's cookie, as a customer who chose it would."""
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale=language or "pl-PL")
    if language:
        context.add_cookies([{"name": "language", "value": language, "url": live.url}])
    tab = context.new_page()
    tab.viewport_name = viewport
    errors = []
    tab.allowed_console_errors = []  # a test that provokes an error names it here
    tab.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
    # Chromium logs every 4xx answer; validation errors (422) and the like are by design.
    expected = ["the server responded with a status of 4", *tab.allowed_console_errors]
    unexpected = [error for error in errors if not any(allowed in error for allowed in expected)]
    assert not unexpected, f"errors in the browser console: {unexpected}"


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, live):
    """A fresh browser tab in Polish at a phone and at a desktop size."""
    with browser_tab(browser, live, request.param) as tab:
        yield tab


_AXE_SOURCE = None
# `make screenshots` sets this: every audited state is also saved as a PNG for reviewers.
SCREENSHOTS = os.environ.get("SCREENSHOTS_DIR")
# test_every_language.py's tour: every configured language; at both sizes for the screenshots,
# else at the phone size only (the narrowest, where long translations break first).
TOUR = [
    (language, size)
    for language in DEFAULT_LANGUAGES
    for size in (VIEWPORTS if SCREENSHOTS else ["phone"])
]


@pytest.fixture(params=TOUR, ids=["-".join(language_and_size) for language_and_size in TOUR])
def language_tab(request, browser, live):
    """A fresh browser tab in one of the configured languages; `tab.language` names it."""
    language, size = request.param
    with browser_tab(browser, live, size, language) as tab:
        tab.language = language
        yield tab


# The W3C Nu HTML checker (npm vnu-jar, run by Java) on every audited state: audit()
# writes each state's markup here, and one run of the checker reads them all when the
# session ends (a Java start per state would cost minutes).
_NU_CHECKER = ROOT / "node_modules/vnu-jar/build/dist/vnu.jar"
_NU_STATES: dict[str, str] = {}  # the file's name: the state it holds
_NU_FOLDER: Path | None = None


@pytest.fixture(scope="session", autouse=True)
def nu_checker(tmp_path_factory):
    """Every audited state's HTML is valid (no error from the Nu checker)."""
    global _NU_FOLDER
    _NU_FOLDER = tmp_path_factory.mktemp("nu")
    yield
    if not _NU_STATES:
        return
    java = shutil.which("java")
    assert java, "Java is needed for the Nu HTML checker: make browsers installs it"
    done = subprocess.run(  # noqa: S603 (the pinned checker on our own pages)
        [java, "-jar", str(_NU_CHECKER), "--errors-only", "--format", "json", str(_NU_FOLDER)],
        capture_output=True,
        text=True,
        check=False,
    )
    messages = json.loads(done.stderr)["messages"]
    problems = sorted({f"{_NU_STATES[Path(m['url']).name]}: {m['message']}" for m in messages})
    assert not problems, "invalid HTML:\n" + "\n".join(problems)


def _keep_for_the_nu_checker(page, state: str) -> None:
    if _NU_FOLDER is None:
        return
    name = f"{len(_NU_STATES):05d}.html"
    (_NU_FOLDER / name).write_text(page.content(), encoding="utf-8")
    _NU_STATES[name] = f"{state} ({getattr(page, 'viewport_name', 'custom')}, {page.url})"


def audit(page, state: str, forced_colors: bool = True) -> None:
    """Runs axe-core in the page; any violation at WCAG 2.0/2.1/2.2 A and AA or best
    practice fails the test, naming the state. Then, unless `forced_colors` is False, tabs
    through the page to see focus in forced colours. The state's HTML goes to the Nu
    checker (nu_checker)."""
    _keep_for_the_nu_checker(page, state)
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        _AXE_SOURCE = (ROOT / "node_modules/axe-core/axe.min.js").read_text()
    # Evaluated through DevTools, so the page's CSP (rightly) does not block it.
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(_AXE_SOURCE + "\n;undefined")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => ({violations: r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.failureSummary)})),"
        " passes: r.passes.length}))",
        AXE_TAGS,
    )
    if SCREENSHOTS:
        save_screenshot(page, state)
    violations = result["violations"]
    assert not violations, f"axe violations in {state}: " + json.dumps(
        violations, indent=1, ensure_ascii=False
    )
    if forced_colors:
        assert_focus_visible_in_forced_colors(page, state)


def save_screenshot(page, state: str) -> None:
    """SCREENSHOTS_DIR/<the page's language>/<viewport>-<state>.png, for reviewers and
    translators."""
    language = page.evaluate("() => document.documentElement.lang") or "unknown"
    assert SCREENSHOTS is not None
    folder = Path(SCREENSHOTS) / re.sub(r"[^a-zA-Z-]", "", language)
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", state.lower()).strip("-")
    viewport = getattr(page, "viewport_name", "custom")
    # caret="initial": hiding the caret would inject a style the CSP rightly blocks.
    page.screenshot(path=f"{folder}/{viewport}-{name}.png", full_page=True, caret="initial")


# What the focused element shows in forced colours (Windows High Contrast), which drops
# backgrounds and box shadows: only an outline (or a border) is left to see focus by.
_FOCUS_INDICATOR = r"""() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 &&
    !/rgba\(.*, 0\)$|transparent/.test(style.outlineColor);
  const name = element.tagName + " " + (element.id || element.textContent.trim().slice(0, 40));
  return {name, visible: outline};
}"""


def assert_focus_visible_in_forced_colors(page, state: str, limit: int = 80) -> None:
    """Tabs through every focusable element with `forced-colors: active` and checks each
    shows a focus indicator (WCAG 2.4.7); then puts media and focus back as they were."""
    before = page.evaluate_handle("() => document.activeElement")
    page.emulate_media(forced_colors="active")
    try:
        seen, hidden = [], []
        for _ in range(limit):
            page.keyboard.press("Tab")
            focused = page.evaluate(_FOCUS_INDICATOR)
            if focused is None or focused["name"] in seen:
                break  # back at the start, or round a modal dialog once
            seen.append(focused["name"])
            if not focused["visible"]:
                hidden.append(focused["name"])
        assert seen, f"nothing focusable by Tab in {state}"
        assert not hidden, f"no visible focus in forced colours in {state}: {hidden}"
    finally:
        page.emulate_media(forced_colors="none")
        page.evaluate("element => element && element.focus && element.focus()", before)


@pytest.fixture
def axe():
    return audit
