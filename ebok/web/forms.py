"""What the features' forms share: validators that add no HTML attributes of their own
(the fields keep their rendered markup), the new-password pair, and the problems the logic
finds after a form validated, told next to the field they concern."""

from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_wtf import FlaskForm
from wtforms import Field, PasswordField
from wtforms.validators import EqualTo, StopValidation, ValidationError

from ebok.i18n import LazyText, _l
from ebok.identity import accounts, throttle
from ebok.identity.hashing_gate import HashingBusy
from ebok.identity.passwords import password_problems
from ebok.models import Account
from ebok.normalising import (
    EMAIL_FORMAT_PROBLEM,
    EMAIL_LOCAL_PART_PROBLEM,
    needs_smtputf8,
    normalize_email,
)
from ebok.web.csrf import MaskedFormCSRF


class Form(FlaskForm):
    """Every form of the portal: its CSRF token masked afresh in each response."""

    class Meta:
        csrf_class = MaskedFormCSRF


class Given:
    """Like InputRequired, without the `required` attribute: the forms are `novalidate`
    and say what is missing in words."""

    def __init__(self, message: Any, *, strip: bool = True) -> None:
        self.message = message
        self.strip = strip

    def __call__(self, form: FlaskForm, field: Field) -> None:
        typed = field.data or ""
        if not (typed.strip() if self.strip else typed):
            raise StopValidation(self.message)


class EmailAddress:
    """A well-formed e-mail address (checked by email-validator, as everywhere else) that
    our mail relay can deliver to: for an address typed to receive messages."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        address = normalize_email(field.data)
        if address is None:
            raise ValidationError(EMAIL_FORMAT_PROBLEM)
        if needs_smtputf8(address):
            raise ValidationError(EMAIL_LOCAL_PART_PROBLEM)


def email_address(field: Field) -> str:
    """The address of a field EmailAddress has passed, normalized for comparing."""
    address = normalize_email(field.data)
    if address is None:
        raise ValueError(f"{field.name} has not been validated")
    return address


class PasswordRule:
    """The operator's password rule: every part the password breaks is told at once."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        problems = password_problems(field.data or "", getattr(form, "customer_number", None))
        if problems:
            add_errors(field, *problems)
            raise StopValidation()


class SamePassword(EqualTo):
    """EqualTo, quiet while the password itself is missing: that has its own message."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if form[self.fieldname].data:
            super().__call__(form, field)


def new_password_field(label: Any) -> PasswordField:
    return PasswordField(label, validators=[PasswordRule()])


def password_repeat_field(label: Any) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            Given(_l("Repeat the password."), strip=False),
            SamePassword(
                "password",
                _l("The passwords are not the same. Enter the same password in both fields."),
            ),
        ],
    )


class NewPasswordFormMixin:
    """A new password and its repeat (Flask-Security-Too's NewPasswordFormMixin); a form
    with other labels redefines the fields with the two functions above. Set
    `customer_number` before validating: the password must not contain it."""

    customer_number: str | None = None

    password = new_password_field(_l("Enter a password"))
    password_repeat = password_repeat_field(_l("Repeat the password"))


class CurrentPasswordForm(Form):
    """A change in Moje Konto that the current password guards (the password, the login
    name, the e-Faktura address), so that whoever finds a session open cannot make it.
    Set `change` (the audit's name for it) in the subclass."""

    change: str
    current_password = PasswordField(
        _l("Current password"), validators=[Given(_l("Enter your current password."), strip=False)]
    )
    # 429 once the form has found the current-password limits used up, for render_form.
    status: int | None = None

    def validate_with_current_password(self, account: Account) -> bool:
        """validate_on_submit, then the current password, limited like a login. It is
        checked only once the rest is valid, so its result never comes with other
        problems; a used-up limit refuses even the right one. False with the problem on
        the form."""
        try:
            if self.is_submitted():
                accounts.check_current_password_limits(account)
            if not self.validate_on_submit():
                return False
            typed = self.current_password.data or ""
            if accounts.confirm_current_password(account, typed, self.change):
                return True
            add_errors(self.current_password, _("The current password is incorrect."))
        except RateLimitExceeded:
            self.status = refuse_throttled(
                self,
                # Translators: a form error where the current password is asked for; %(wait)s
                # is a sentence saying when to try again ("Try again in 5 minutes (at 16:45).").
                _l("Too many attempts with a wrong current password. %(wait)s"),
            )
        except HashingBusy as busy:
            self.status = refuse_busy(self, busy)
        return False


def refuse_throttled(form: FlaskForm, message: LazyText) -> int:
    """A rate limit the request ran into, told on the form: `message` with its %(wait)s,
    when the customer may try again (the limit's window, which Flask-Limiter also sends as
    Retry-After). The status to answer with."""
    form.form_errors.append(message % {"wait": throttle.retry_message()})
    return 429


def busy_message(retry_after: int) -> str:
    """Passwords are being checked for so many customers that this one would wait too long."""
    # Translators: a form error on the login page (and wherever a password is checked) when
    # too many customers log in at once; %(num)d is the number of seconds to wait (5).
    return ngettext(
        "Many customers are logging in right now. Try again in %(num)d second.",
        "Many customers are logging in right now. Try again in %(num)d seconds.",
        retry_after,
    )


def refuse_busy(form: FlaskForm, busy: HashingBusy) -> int:
    """The password could not be checked now (hashing_gate): told on the form, which keeps
    what was typed. The status to answer with; hashing_gate adds Retry-After."""
    form.form_errors.append(busy_message(busy.retry_after))
    return 503


class Problem(Exception):
    """A problem the customer can fix that the logic found after the form validated (a
    number nobody has, a contact datum that does not match), told next to its field, or
    above the form when `field` is None."""

    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field

    def put_on(self, form: FlaskForm) -> None:
        if self.field:
            add_errors(form[self.field], self.message)
        else:
            form.form_errors.append(self.message)


def add_errors(field: Field, *messages: Any) -> None:
    """Problems found beside a field's own validators, told with them."""
    field.errors = [*field.errors, *messages]
