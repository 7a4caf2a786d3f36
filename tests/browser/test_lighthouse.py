"""Lighthouse 12.8 (pinned in package.json; 13.x needs a newer Node) on the login page and
on Strona Główna: accessibility, best practices and SEO each score 100 (issue 13)."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import CHROMIUM, ROOT
from steps import log_in

LIGHTHOUSE = ROOT / "node_modules/.bin/lighthouse"
CATEGORIES = ("accessibility", "best-practices", "seo")


def lighthouse(url: str, out: Path, cookie: str | None = None) -> dict:
    if not LIGHTHOUSE.exists():
        pytest.fail("Lighthouse is not installed: run `npm ci` (make browsers)")
    command = [
        str(LIGHTHOUSE),
        url,
        f"--only-categories={','.join(CATEGORIES)}",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    subprocess.run(  # noqa: S603 (our own command line)
        command,
        check=True,
        timeout=180,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        capture_output=True,
    )
    report = json.loads(out.read_text())
    return {
        name: (
            round(category["score"] * 100),
            [
                audit_id
                for audit_id in (ref["id"] for ref in category["auditRefs"])
                if report["audits"][audit_id]["score"] not in (None, 1)
                and report["audits"][audit_id]["scoreDisplayMode"] in ("binary", "numeric")
            ],
        )
        for name, category in report["categories"].items()
    }


def assert_all_100(scores: dict, page_name: str) -> None:
    below = {name: score for name, score in scores.items() if score[0] != 100}
    assert not below, f"Lighthouse below 100 on {page_name}: {below}"
    assert set(scores) == set(CATEGORIES)


def test_login_page_and_home_score_100(browser, live, tmp_path):
    assert_all_100(lighthouse(live.url + "/", tmp_path / "login.json"), "the login page")
    context = browser.new_context(locale="pl-PL")
    page = context.new_page()
    log_in(page, live)
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
    context.close()
    scores = lighthouse(live.url + "/strona-glowna", tmp_path / "home.json", cookie)
    assert_all_100(scores, "Strona Główna")
