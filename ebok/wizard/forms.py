from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField, TelField

CHANNEL_LABELS = {"sms": _l("SMS"), "email": _l("E-mail")}


class NumberForm(FlaskForm):
    number = StringField()  # the label is the flow's


class ChannelForm(FlaskForm):
    channel = RadioField(choices=[], validate_choice=False)
    phone = TelField(_l("Enter your phone number"))
    email = EmailField(_l("Enter your e-mail address"))


class CodeForm(FlaskForm):
    code = StringField(_l("Enter the SMS code"))


class PasswordForm(FlaskForm):
    password = PasswordField(_l("Enter a password"))
    password_repeat = PasswordField(_l("Repeat the password"))
