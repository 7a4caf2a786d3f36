from flask_wtf import FlaskForm
from wtforms import StringField, ValidationError

from ebok import languages


class LanguageForm(FlaskForm):
    """The switcher's post: the chosen language (the pressed button) and the page to go
    back to."""

    language = StringField()
    next = StringField()

    def validate_language(self, field) -> None:
        if languages.valid(field.data) is None:
            raise ValidationError("not a configured language")
