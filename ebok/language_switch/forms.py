from wtforms import StringField

from ebok.web.forms import Form


class LanguageForm(Form):
    """The switcher's post: the chosen language (the pressed button; the view checks it
    is one of the configured ones) and the page to go back to."""

    language = StringField()
    next = StringField()
