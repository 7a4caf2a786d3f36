"""The guide's pictures: PNGs of the portal's own pages in static/guide/<language>/, taken
by the browser suite in each language. The page links them as static files; the PDF
embeds them from disk. A language without its own pictures shows the Polish ones."""

import struct
from pathlib import Path

from flask import current_app, url_for

from ebok.i18n import languages

WIDTH = 400  # CSS px on the page
PDF_WIDTH = 240  # px as fpdf2 counts them (96 per inch): about 6 cm on A4


def _relative(name: str) -> str:
    """guide/<language>/<name>: the current language's picture, else the default's."""
    folder = Path(current_app.static_folder or "static")
    for language in (languages.current(), languages.default_language()):
        if (folder / "guide" / language / name).is_file():
            return f"guide/{language}/{name}"
    return f"guide/{languages.default_language()}/{name}"


def _path(name: str) -> Path:
    return Path(current_app.static_folder or "static") / _relative(name)


def _size(name: str) -> tuple[int, int] | None:
    try:
        with _path(name).open("rb") as picture:
            header = picture.read(24)  # the PNG signature and the IHDR's width and height
    except OSError:
        return None
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", header[16:24])


def helpers(for_pdf: bool = False) -> dict:
    """The template functions guide/_content.html uses; None for a missing picture."""

    def src(name: str) -> str | None:
        if _size(name) is None:
            return None
        return str(_path(name)) if for_pdf else url_for("static", filename=_relative(name))

    shown_width = PDF_WIDTH if for_pdf else WIDTH

    def height(name: str) -> int:
        width, height = _size(name) or (shown_width, 0)
        return round(height * shown_width / width)

    return {
        "guide_picture_src": src,
        "guide_picture_width": shown_width,
        "guide_picture_height": height,
    }
