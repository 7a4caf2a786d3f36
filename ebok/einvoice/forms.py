from flask_login import current_user
from wtforms import BooleanField, EmailField, Field, HiddenField
from wtforms.validators import ValidationError

from ebok.i18n import _l
from ebok.normalising import normalize_email
from ebok.web.forms import CurrentPasswordForm, EmailAddress, Form, Given


class ActivationForm(Form):
    email = EmailField(
        _l("E-mail address for invoice notices"),
        validators=[
            Given(_l("Enter the e-mail address we should send invoice notices to.")),
            EmailAddress(),
        ],
    )
    accept_terms = BooleanField(_l("I accept the e-Faktura terms and conditions"))
    # Where the customer opened the window: the page to go back to, and the consent record.
    source = HiddenField(name="zrodlo")

    def validate_accept_terms(self, field: Field) -> None:
        if not field.data:
            raise ValidationError(_l("To activate e-Faktura, accept its terms and conditions."))


class AddressForm(CurrentPasswordForm):
    change = "einvoice_address"
    email = EmailField(
        _l("New e-mail address for invoice notices"),
        validators=[Given(_l("Enter the new e-mail address.")), EmailAddress()],
    )

    def validate_email(self, field: Field) -> None:
        # Inline validators run before the field's own: a malformed address is EmailAddress's.
        if normalize_email(field.data) == current_user.einvoice_address:
            raise ValidationError(_l("Invoice notices already go to this address."))


class WithdrawForm(Form):
    pass
