"""The guide's pictures are the portal's own pages: this takes them (at a phone's width,
in Polish, light mode) and checks the guide shows each one. With GUIDE_PICTURES_DIR set
(`make guide-pictures`: static/guide) they replace the committed ones."""

import os
from pathlib import Path

from conftest import DEMO_OPERATOR
from steps import log_in

# name: (path, or None for Strona Główna after logging in; height in CSS px)
PICTURES = {
    "login.png": ("/", 620),
    "registration-number.png": ("/rejestracja/", 560),
    "home.png": (None, 860),
}


def test_the_guide_shows_pictures_of_the_portal(browser, live, tmp_path):
    folder = Path(os.environ.get("GUIDE_PICTURES_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    # The guide serves every operator: its pictures show the neutral identity.
    for key in DEMO_OPERATOR:
        live.app.config[key] = None
    context = browser.new_context(
        viewport={"width": 400, "height": 560}, locale="pl-PL", color_scheme="light"
    )
    page = context.new_page()
    for name, (path, height) in PICTURES.items():
        page.set_viewport_size({"width": 400, "height": height})
        if path is None:
            log_in(page, live)
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
