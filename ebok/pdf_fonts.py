"""The font PDFs made here embed: DejaVu Sans has every Polish letter, so "Wróblewska-Żak"
prints, copies and searches as typed (Debian: fonts-dejavu-core; PDF_FONT_DIR)."""

from pathlib import Path

from flask import current_app

FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FAMILY = "DejaVu"


def font_dir() -> Path:
    return Path(current_app.config["PDF_FONT_DIR"])


def missing_fonts() -> list[str]:
    return [
        str(font_dir() / name) for name in FONT_FILES.values() if not (font_dir() / name).is_file()
    ]


def add_fonts(pdf) -> None:
    """Registers the family on an fpdf2 FPDF document."""
    for style, name in FONT_FILES.items():
        pdf.add_font(FAMILY, style, str(font_dir() / name))
