"""The guide as a PDF, made from the same template as the page (guide/_content.html), with
a font that has the Polish letters embedded, so "Zapomniałem hasła" prints as typed."""

from flask import current_app, render_template

from ebok import operator
from ebok.guide import pictures
from ebok.i18n import languages
from ebok.web import pdf_fonts


def available() -> bool:
    """Without the font the PDF could not show Polish letters: the page then offers
    printing only."""
    return pdf_fonts.available()


def guide_pdf(title: str) -> bytes:
    """The guide's PDF in the current language, built once per language and kept with the
    app: it changes only with the configuration, and building it (fonts, pictures, the
    layout) costs a fifth of a second on a public, unthrottled URL."""
    kept = current_app.extensions.setdefault("ebok.guide_pdfs", {})
    key = (languages.current(), title)
    if key not in kept:
        kept[key] = render_guide_pdf(title)
    return kept[key]


def render_guide_pdf(title: str) -> bytes:
    # fpdf2 (20 MB in a worker) is loaded by the workers that make a PDF, not by all.
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_lang(languages.current())
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf_fonts.add_fonts(pdf)
    pdf.set_font(pdf_fonts.FAMILY, size=11)
    pdf.add_page()
    pdf.write_html(
        f"<h1>{_escape(title)}</h1>"
        + render_template("guide/_content.html", **pictures.helpers(for_pdf=True)),
        font_family="DejaVu",
        ul_bullet_char="\u00a0",  # no bullet: the guide's one list, its steps, numbers itself
        tag_styles=_heading_styles(operator.current().theme_color),
    )
    return bytes(pdf.output())


def _heading_styles(color: str) -> dict:
    from fpdf.fonts import FontFace

    return {
        "h1": FontFace(family="DejaVu", emphasis="BOLD", color=color, size_pt=20),
        "h2": FontFace(family="DejaVu", emphasis="BOLD", color="#0b0c0c", size_pt=14),
        "a": FontFace(family="DejaVu", color="#1a5a96"),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
