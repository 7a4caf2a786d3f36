from flask_wtf import FlaskForm
from wtforms import StringField


class LanguageForm(FlaskForm):
    """The switcher's post: the chosen language (the pressed button; the view checks it
    is one of the configured ones) and the page to go back to."""

    language = StringField()
    next = StringField()
