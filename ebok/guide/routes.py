"""The printable guide to Strefa Klienta, linked from the login page, and its PDF."""

import io

from flask import Blueprint, Response, render_template, send_file
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ebok.guide import pdf, pictures

bp = Blueprint("guide", __name__)


@bp.get("/instrukcja")
def guide() -> ResponseReturnValue:
    return render_template(
        "guide/guide.html",
        title=_("Guide to Strefa Klienta"),
        pdf_available=pdf.available(),
        **pictures.helpers(),
    )


@bp.get("/instrukcja.pdf")
def guide_pdf() -> ResponseReturnValue:
    if not pdf.available():
        return Response(status=404)
    content = pdf.guide_pdf(_("Guide to Strefa Klienta"))
    # Translators: the file name of the guide's PDF, without spaces or Polish letters.
    filename = _("guide-strefa-klienta.pdf")
    # send_file writes a name that is not ASCII (a translation's) as RFC 6266 asks, with
    # an ASCII fallback: a raw one in the header would not get past the server.
    return send_file(
        io.BytesIO(content), mimetype="application/pdf", as_attachment=True, download_name=filename
    )
