from collections.abc import Callable
from dataclasses import dataclass

from flask import Response
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ebok.models import Customer, Verification

WHERE_TO_FIND_THE_NUMBER = _l(
    "The customer number is on your contract, under Numer ewidencyjny Abonenta, "
    "or on your bill, under Nr ewidencyjny"
)


@dataclass(frozen=True)
class Flow:
    name: str  # the blueprint's name: "registration" or "password_reset"
    purpose: str  # the Verification purpose and message prefix: "registration" or "reset"
    url_prefix: str
    title: str  # lazy strings from here on
    number_label: str
    number_hint: str
    intro: str | None
    channel_question: str
    code_sent: str
    link_sent: str
    password_heading: str
    accepts_login_name: bool
    # Why this customer cannot use the flow (already registered, no account yet), or None.
    refusal: Callable[[Customer], Markup | str | None]
    # Sets the password and answers the last step's post.
    complete: Callable[[Customer, Verification, str], Response]
