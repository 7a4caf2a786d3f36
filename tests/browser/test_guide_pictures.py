"""The guide's pictures are the portal's own pages: this takes them in each configured
language (at a phone's width, light mode) and checks the guide in that language shows its
own. With GUIDE_PICTURES_DIR set (`make guide-pictures`: static/guide) they replace the
committed ones in static/guide/<language>/."""

import os
from pathlib import Path

import pytest
from conftest import DEMO_OPERATOR
from support import DEFAULT_LANGUAGES, TEST_PASSWORD

# name: (path, or None for Strona Główna after logging in; height in CSS px)
PICTURES = {
    "login.png": ("/", 620),
    "registration-number.png": ("/rejestracja/", 560),
    "home.png": (None, 1000),
}


@pytest.mark.parametrize("language", DEFAULT_LANGUAGES)
def test_the_guide_shows_pictures_of_the_portal(browser, live, tmp_path, language):
    folder = Path(os.environ.get("GUIDE_PICTURES_DIR") or tmp_path) / language
    folder.mkdir(parents=True, exist_ok=True)
    # The guide serves every operator: its pictures show the neutral identity.
    for key in DEMO_OPERATOR:
        live.app.config[key] = None
    context = browser.new_context(
        viewport={"width": 400, "height": 560},
        locale=language,
        extra_http_headers={"Accept-Language": language},
        color_scheme="light",
    )
    # The language chosen, as the switcher does: logging in keeps it.
    context.add_cookies([{"name": "language", "value": language, "url": live.url}])
    page = context.new_page()
    for name, (path, height) in PICTURES.items():
        page.set_viewport_size({"width": 400, "height": height})
        if path is None:
            page.goto(live.url + "/")
            page.locator("#login").fill("200005")
            page.locator("#password").fill(TEST_PASSWORD)
            page.locator("#password").press("Enter")
            page.wait_for_url(live.url + "/strona-glowna")
        else:
            page.goto(live.url + path)
        page.screenshot(path=str(folder / name), caret="initial")
        assert (folder / name).stat().st_size > 5_000, name
    page.goto(live.url + "/instrukcja")
    loaded = page.evaluate(
        "() => [...document.querySelectorAll('.guide__figure img')]"
        ".filter(img => img.complete && img.naturalWidth > 0).map(img => img.src)"
    )
    context.close()
    assert sorted(src.rsplit("/", 1)[-1].split(".")[0] for src in loaded) == sorted(
        name.split(".")[0] for name in PICTURES
    )
    # The guide in this language shows the pictures of this language.
    assert all(f"/guide/{language}/" in src for src in loaded), loaded
