"""The payment buttons: each a form of its own with only its CSRF token (a POST for
every payment, never a GET); what it pays is in the URL."""

from ebok.web.forms import Form


class PayForm(Form):
    """ "Zapłać" (one invoice), "Zapłać wszystko", and the simulation page's buttons."""
