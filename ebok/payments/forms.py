"""The payment buttons: each a form of its own with only its CSRF token (a POST for
every payment, never a GET); what it pays is in the URL."""

from flask_wtf import FlaskForm


class PayForm(FlaskForm):
    """ "Zapłać" (one invoice), "Zapłać wszystko", and the simulation page's buttons."""
