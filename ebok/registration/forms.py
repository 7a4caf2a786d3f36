from wtforms import StringField

from ebok.i18n import _l
from ebok.web.forms import Form, Given
from ebok.wizard.flow import WHERE_TO_FIND_THE_NUMBER
from ebok.wizard.forms import DigitsOnly, NumberLength


class CustomerNumberForm(Form):
    """The wizard's first step: registration takes the customer number only. It is the
    username a password manager saves with the new password (as Zapomniałem hasła's field)."""

    number = StringField(
        _l("Your customer number"),
        description=WHERE_TO_FIND_THE_NUMBER,
        validators=[Given(_l("Enter your customer number.")), DigitsOnly(), NumberLength()],
        render_kw={"autocomplete": "username", "inputmode": "numeric"},
    )
