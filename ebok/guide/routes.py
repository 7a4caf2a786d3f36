"""The printable guide to Strefa Klienta, linked from the login page, and its PDF."""

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _

from ebok.guide import pdf, pictures

bp = Blueprint("guide", __name__)


@bp.get("/instrukcja")
def guide():
    return render_template(
        "guide/guide.html",
        title=_("Guide to Strefa Klienta"),
        pdf_available=pdf.available(),
        **pictures.helpers(),
    )


@bp.get("/instrukcja.pdf")
def guide_pdf():
    if not pdf.available():
        return Response(status=404)
    response = Response(
        pdf.render_guide_pdf(_("Guide to Strefa Klienta")), mimetype="application/pdf"
    )
    # Translators: the file name of the guide's PDF, without spaces or Polish letters.
    filename = _("guide-strefa-klienta.pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.vary.add("Accept-Language")
    return response
