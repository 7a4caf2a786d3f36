"""The guide as a PDF, made from the same template as the page (guide/_content.html), with
a font that has the Polish letters embedded, so "Zapomniałem hasła" prints as typed."""

from pathlib import Path

from flask import current_app, render_template
from flask_babel import get_locale
from fpdf import FPDF
from fpdf.fonts import FontFace

from ebok import operator
from ebok.guide import pictures

FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


def font_dir() -> Path:
    return Path(current_app.config["GUIDE_PDF_FONT_DIR"])


def available() -> bool:
    """Without the font the PDF could not show Polish letters: the page then offers
    printing only."""
    return all((font_dir() / name).is_file() for name in FONT_FILES.values())


def render_guide_pdf(title: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_lang(str(get_locale() or "pl"))
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    for style, name in FONT_FILES.items():
        pdf.add_font("DejaVu", style, str(font_dir() / name))
    pdf.set_font("DejaVu", size=11)
    pdf.add_page()
    pdf.write_html(
        f"<h1>{_escape(title)}</h1>"
        + render_template("guide/_content.html", **pictures.helpers(for_pdf=True)),
        font_family="DejaVu",
        tag_styles=_heading_styles(operator.current().theme_color),
    )
    return bytes(pdf.output())


def _heading_styles(color: str) -> dict:
    return {
        "h1": FontFace(family="DejaVu", emphasis="BOLD", color=color, size_pt=20),
        "h2": FontFace(family="DejaVu", emphasis="BOLD", color="#0b0c0c", size_pt=14),
        "a": FontFace(family="DejaVu", color="#1a5a96"),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
