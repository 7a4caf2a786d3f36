"""The Faktury page's filter: a GET form (no state changes, so no CSRF token)."""

from typing import Any

from wtforms import Field, IntegerField, SelectField, ValidationError
from wtforms.validators import Optional

from ebok.i18n import _l
from ebok.models import LARGEST_ID
from ebok.web.forms import Form
from ebok.web.widgets import Select


class InvoiceFilterForm(Form):
    class Meta:
        csrf = False

    rok = SelectField(
        _l("Year"),
        coerce=str,
        # Blank is "all years": Optional() then skips validate_rok, so it must be empty.
        filters=[lambda value: value.strip() if value else value],
        validate_choice=False,  # validate_rok says it in the customer's words
        validators=[Optional()],
        description=_l("Show the invoices issued in one year."),
        widget=Select(),
    )
    # Never shown (the pages are links), but without a label of its own WTForms would make
    # one from the name through its own catalog, loaded afresh on every request.
    strona = IntegerField(_l("Page"), validators=[Optional()], default=1)

    def __init__(self, years: list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rok.choices = [("", _l("All years"))] + [(str(year), str(year)) for year in years]
        self.years = {str(year) for year in years}

    def validate_rok(self, field: Field) -> None:
        if field.data and field.data not in self.years:
            raise ValidationError(
                _l("You have no invoices from that year. Choose a year from the list.")
            )

    def validate_strona(self, field: Field) -> None:
        # Not NumberRange: it converts the number to a float first, which a number of 309
        # or more digits overflows. Past LARGEST_ID no query could take it.
        if field.data is not None and not 1 <= field.data <= LARGEST_ID:
            raise ValidationError(_l("There is no such page."))

    @property
    def year(self) -> int | None:
        return int(self.rok.data) if self.rok.data else None

    @property
    def page(self) -> int:
        return self.strona.data or 1
