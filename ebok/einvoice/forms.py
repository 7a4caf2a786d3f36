from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField


class ActivationForm(FlaskForm):
    email = EmailField(_l("E-mail address for invoice notices"))
    accept_terms = BooleanField(_l("I accept the e-Faktura terms and conditions"))
    source = HiddenField()


class AddressForm(FlaskForm):
    email = EmailField(_l("New e-mail address for invoice notices"))


class WithdrawForm(FlaskForm):
    pass
