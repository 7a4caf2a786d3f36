"""The Faktury page's filter: a GET form (no state changes, so no CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import NumberRange, Optional


class InvoiceFilterForm(FlaskForm):
    class Meta:
        csrf = False

    rok = SelectField(
        _l("Year"),
        coerce=str,
        validators=[Optional()],
        description=_l("Show the invoices issued in one year."),
    )
    strona = IntegerField(validators=[Optional(), NumberRange(min=1)], default=1)

    def __init__(self, years: list[int], **kwargs):
        super().__init__(**kwargs)
        self.rok.choices = [("", _l("All years"))] + [(str(year), str(year)) for year in years]

    @property
    def year(self) -> int | None:
        return int(self.rok.data) if self.rok.data else None

    @property
    def page(self) -> int:
        return self.strona.data or 1
