"""The font the PDFs made here embed (the guide, the demo invoices): DejaVu Sans has every
Polish letter, so "Wróblewska-Żak" prints, copies and searches as typed (Debian:
fonts-dejavu-core; PDF_FONT_DIR)."""

from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FAMILY = "DejaVu"


class MissingFonts(Exception):
    """The font files are not installed; the message says how to get them."""


def font_dir() -> Path:
    return Path(current_app.config["PDF_FONT_DIR"])


def missing_fonts() -> list[str]:
    return [
        str(font_dir() / name) for name in FONT_FILES.values() if not (font_dir() / name).is_file()
    ]


def available() -> bool:
    return not missing_fonts()


def add_fonts(pdf: "FPDF") -> None:
    """Registers the family on an fpdf2 FPDF document."""
    if missing := missing_fonts():
        raise MissingFonts(
            "PDFs need DejaVu Sans (Debian: apt-get install fonts-dejavu-core, or set "
            f"FLASK_PDF_FONT_DIR); missing: {', '.join(missing)}"
        )
    for style, name in FONT_FILES.items():
        pdf.add_font(FAMILY, style, str(font_dir() / name))
