"""Renders the app icons (PNG 192, 512 and maskable 512) from static/icons/icon.svg with
Debian's Chromium. Run after changing the SVG: .venv/bin/python scripts/make_icons.py"""

from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
SVG = (ICONS / "icon.svg").read_text()
# Maskable: full-bleed background, the mark inside the central safe zone (80 %).
MASKABLE = (
    SVG.replace('rx="12"', 'rx="0"')
    .replace('font-size="30"', 'font-size="22"')
    .replace('y="43"', 'y="40"')
)


def render(svg: str, size: int, name: str, page) -> None:
    page.set_viewport_size({"width": size, "height": size})
    page.set_content(
        f'<html><body style="margin:0">{svg.replace("<svg ", f"<svg width={size} height={size} ")}'
        "</body></html>"
    )
    page.screenshot(path=str(ICONS / name), omit_background=True)


with sync_playwright() as playwright:
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
    )
    page = browser.new_page()
    render(SVG, 192, "icon-192.png", page)
    render(SVG, 512, "icon-512.png", page)
    render(MASKABLE, 512, "icon-maskable-512.png", page)
    browser.close()
