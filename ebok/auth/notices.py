"""What the customer is told when something about their login changes."""

from flask_babel import gettext as _

from ebok import messages
from ebok.models import Customer


def tell_password_changed(customer: Customer) -> None:
    """On every contact channel, so a customer whose password someone else changed
    finds out. The caller commits."""
    if customer.email:
        messages.send_email(customer.email, _("Your Strefa Klienta password has been changed"),
                            "password_changed", customer=customer)
    if customer.phone:
        messages.send_sms(customer.phone, "password_changed", customer=customer)
