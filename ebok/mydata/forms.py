"""The forms of Moje dane: a new contact datum, each guarded by the current password and
validated as registration validates what the customer types (a mobile number only)."""

from flask_babel import gettext as _
from flask_login import current_user
from wtforms import BooleanField, EmailField, Field, StringField, TelField
from wtforms.validators import StopValidation, ValidationError

from ebok.i18n import _l
from ebok.mydata.reminders import contact_of
from ebok.normalising import normalize_email, normalize_phone, sms_number
from ebok.web.forms import CurrentPasswordForm, EmailAddress, Form, Given, email_address


class NewEmailForm(CurrentPasswordForm):
    change = "contact_email"
    email = EmailField(
        _l("New e-mail address"),
        validators=[Given(_l("Enter the new e-mail address.")), EmailAddress()],
    )

    def validate_email(self, field: Field) -> None:
        current = current_user.customer.email
        if current and normalize_email(field.data) == normalize_email(current):
            raise ValidationError(_("This is already your contact e-mail address."))

    def new_value(self) -> str:
        return email_address(self.email)


class NewPhoneForm(CurrentPasswordForm):
    change = "contact_phone"
    phone = TelField(
        _l("New mobile phone number"),
        validators=[Given(_l("Enter the new mobile phone number."))],
    )

    def validate_phone(self, field: Field) -> None:
        phone = normalize_phone(field.data)
        if phone is None:
            raise StopValidation(
                _("Enter a phone number in a correct format, for example 600 700 800.")
            )
        if sms_number(phone) is None:
            raise ValidationError(
                _("This is not a mobile number. Enter a mobile number we can send an SMS to.")
            )
        if phone == current_user.customer.phone:
            raise ValidationError(_("This is already your contact phone number."))

    def new_value(self) -> str:
        phone = normalize_phone(self.phone.data or "")
        if phone is None:
            raise ValueError("the form has not been validated")
        return phone


class ConsentsForm(Form):
    """Each channel on or off; nothing is ticked until the customer ticks it."""

    email = BooleanField(_l("I agree to receive marketing information by e-mail"))
    sms = BooleanField(_l("I agree to receive marketing information by SMS"))
    phone = BooleanField(_l("I agree to be called with marketing information"))

    def chosen(self) -> dict[str, bool]:
        return {"email": self.email.data, "sms": self.sms.data, "phone": self.phone.data}


class ForgottenNumberForm(Form):
    contact = StringField(
        _l("Your e-mail address or mobile phone number"),
        validators=[Given(_l("Enter your e-mail address or mobile phone number."))],
        render_kw={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "none"},
    )

    def validate_contact(self, field: Field) -> None:
        if contact_of(field.data or "") is None:
            raise ValidationError(
                _(
                    "Enter an e-mail address (for example jan.kowalski@example.com) or a "
                    "mobile number (for example 600 700 800)."
                )
            )

    def channel_and_contact(self) -> tuple[str, str]:
        found = contact_of(self.contact.data or "")
        if found is None:
            raise ValueError("the form has not been validated")
        return found


class DataPasswordForm(CurrentPasswordForm):
    """The password typed again before the customer's data is shown or downloaded."""

    change = "data_export"


class DeleteAccountForm(CurrentPasswordForm):
    change = "account_deletion"
