import re
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext as _
from flask_login import current_user
from wtforms import Field, StringField
from wtforms.validators import ValidationError

from ebok.i18n import _l
from ebok.identity import accounts
from ebok.normalising import LOGIN_NAME, normalize_login_name
from ebok.web.forms import (
    CurrentPasswordForm,
    NewPasswordFormMixin,
    add_errors,
    new_password_field,
    password_repeat_field,
)

LOGIN_NAME_TAKEN = _l("This login is already taken. Choose a different one.")


class ChangePasswordForm(NewPasswordFormMixin, CurrentPasswordForm):
    """For the logged-in customer: the current password, then a new one."""

    change = "password"
    password = new_password_field(_l("New password"))
    password_repeat = password_repeat_field(_l("Repeat the new password"))

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        checked = not self.current_password.errors and not self.password.errors
        if checked and self.password.data == self.current_password.data:
            add_errors(self.password, _("The new password must be different from the current one."))
            return False
        return valid


class LoginNameForm(CurrentPasswordForm):
    """Empty removes the login name."""

    change = "login_name"
    login_name = StringField(_l("Your login"))

    def validate_login_name(self, field: Field) -> None:
        login_name = normalize_login_name(field.data)
        if not login_name:
            return
        if not LOGIN_NAME.fullmatch(login_name):
            raise ValidationError(
                _(
                    "A login has from 3 to 40 characters: letters without Polish characters, "
                    "digits, dots, dashes and underscores."
                )
            )
        if not re.search(r"[a-z]", login_name):
            raise ValidationError(
                _(
                    "A login must contain at least one letter, so that it is not mistaken "
                    "for a customer number."
                )
            )
        if accounts.by_login_name(login_name, other_than=current_user):
            raise ValidationError(LOGIN_NAME_TAKEN)
