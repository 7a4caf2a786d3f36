from wtforms import StringField

from ebok.i18n import _l
from ebok.web.forms import Form, Given
from ebok.wizard.flow import WHERE_TO_FIND_THE_NUMBER
from ebok.wizard.forms import NumberLength


class NumberOrLoginForm(Form):
    """The wizard's first step: a forgotten password is found by number or login."""

    number = StringField(
        _l("Customer number or login"),
        description=WHERE_TO_FIND_THE_NUMBER,
        validators=[Given(_l("Enter your customer number or login.")), NumberLength()],
        render_kw={"autocomplete": "username"},
    )
