from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired

from ebok.i18n import _l


class LoginForm(FlaskForm):
    login = StringField(
        _l("Customer number or login"),
        validators=[InputRequired(_l("Enter your customer number or login."))],
    )
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password."))])
