"""What a browser really fetches on a first visit of the login page, in KB, against the
goal (issue 26: bodies, Brotli, at most 25 KB), and the icons it fetches to install the app.

Run: .venv/bin/python bench/first_visit.py
Headless Chromium (Debian's, through Playwright, as tests/browser) opens the login page
with a fresh profile under gunicorn (production settings, built assets) and waits until the
service worker is installed and holds its precache; gunicorn's access log says which
requests reached the server, so what came from the HTTP cache (the worker's precache of
what the page had just fetched) is not counted twice. Then `Page.getInstallabilityErrors`
makes Chromium fetch what it needs to offer installation (the manifest, its icons): those
requests are counted apart, with the manifest and the icon Chromium fetches on the first
visit already (a profile of its own, not incognito, where it offers no installing).

Sizes are the bodies as the server sends them to a browser asking over HTTPS (br, gzip):
each URL Chromium asked for is fetched again with that Accept-Encoding, since Chromium
offers Brotli only over HTTPS and the bench serves plain HTTP on loopback. Each line is
`name: app X, baseline Y, ratio Z` with the baseline the same bodies uncompressed.
"""

import sys
import tempfile
import time
from pathlib import Path

import pages
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
GOAL_KB = 25
# gunicorn's access log: the method, the path and the status of each request.
ACCESS_FORMAT = "%(m)s %(U)s %(s)s"


def served(log: Path) -> list[str]:
    """The paths of the GET requests gunicorn answered with 200, in order."""
    lines = log.read_text().splitlines()
    return [line.split()[1] for line in lines if line.startswith("GET ") and line.endswith(" 200")]


def wait_for_quiet(log: Path, seconds: float = 1.0) -> None:
    """Until no request has reached the server for `seconds`."""
    size, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < seconds:
        time.sleep(0.1)
        if log.stat().st_size != size:
            size, quiet_since = log.stat().st_size, time.monotonic()


def visit(url: str, log: Path) -> tuple[list[str], list[str]]:
    """The paths a first visit fetched, and those installing fetched after it."""
    before = len(served(log))  # the bench's own requests, seeing the server start
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        # A profile of its own, not an incognito context: Chromium offers no installing there.
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, locale="pl-PL"
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url + "/", wait_until="load")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        wait_for_quiet(log)
        first = served(log)[before:]
        session = context.new_cdp_session(page)
        errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
        wait_for_quiet(log)
        installing = served(log)[before + len(first) :]
        context.close()
    if errors:
        print(f"  installability errors: {errors}")
    return first, installing


def is_for_installing(path: str) -> bool:
    """Chromium fetches the manifest and an icon on the first visit already, to offer
    installing the app (not in an incognito window); the rest when the app is installed."""
    return ".webmanifest" in path or path.endswith(".png")


def sizes(base_url: str, paths: list[str], encoding: str) -> dict[str, int]:
    return {path: pages._fetch(base_url + path, encoding)[1] for path in dict.fromkeys(paths)}


def report(name: str, paths: list[str], base_url: str) -> None:
    compressed = sizes(base_url, paths, "br, gzip")
    plain = sizes(base_url, paths, "identity")
    pages.report(name, sum(compressed.values()) / 1000, sum(plain.values()) / 1000)
    for path in compressed:
        print(f"  {path:52} body {compressed[path]:6} (uncompressed {plain[path]})")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ebok-bench-") as name:
        folder = Path(name)
        env = pages.app_environment(folder)
        pages.prepare(folder, env)
        log = folder / "access.log"
        server = pages.Server(
            "app:app",
            env,
            pages.ROOT,
            workers=1,
            extra_args=("--access-logfile", str(log), "--access-logformat", ACCESS_FORMAT),
        )
        try:
            first, installing = visit(server.url, log)
            for_installing = [path for path in first if is_for_installing(path)]
            report("first visit KB, bodies of every response, br", first, server.url)
            report(
                f"first visit KB without the manifest and its icons, br (goal <= {GOAL_KB})",
                [path for path in first if path not in for_installing],
                server.url,
            )
            report(
                "installing KB: the manifest and its icons, on the first visit and when asked",
                for_installing + installing,
                server.url,
            )
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
