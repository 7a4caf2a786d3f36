from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"))
    password = PasswordField(_l("New password"))
    password_repeat = PasswordField(_l("Repeat the new password"))


class LoginNameForm(FlaskForm):
    login_name = StringField(_l("Your login"))
