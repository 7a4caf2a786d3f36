import enum
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from markupsafe import Markup

from ebok.models import Customer, Verification
from ebok.web.templating import in_polish, with_links


def _where_to_find_the_number() -> Markup:
    # Translators: %(contract)s and %(bill)s are the names of the fields on the contract and
    # on the bill, which stay in Polish ("Numer ewidencyjny Abonenta", "Nr ewidencyjny").
    sentence = gettext(
        "The customer number is on your contract, under %(contract)s, "
        "or on your bill, under %(bill)s"
    )
    return with_links(
        sentence, contract=in_polish("Numer ewidencyjny Abonenta"), bill=in_polish("Nr ewidencyjny")
    )


# The hint of every customer-number field, in the language of the request that shows it.
WHERE_TO_FIND_THE_NUMBER = LazyString(_where_to_find_the_number)


class Completion(enum.Enum):
    """What the last step's logic did with the new password."""

    DONE = "done"
    REFUSED = "refused"  # the flow's refusal applies now (finished in another tab, say)


@dataclass(frozen=True)
class Flow:
    """What makes the wizard one flow: its names, texts and ending. The views take it as
    a parameter (`as_view(name, flow=...)`)."""

    name: str  # the blueprint's name: "registration" or "password_reset"
    purpose: str  # the Verification and signed-link purpose, and message prefix
    number_form: type[FlaskForm]  # the first step's form: customer number (or login)
    accepts_login_name: bool
    title: str  # lazy strings from here on
    email_subject: str  # the link's e-mail: a subject of its own, not the page's title
    intro: str | None
    channel_question: str
    code_sent: str
    link_sent: str
    password_heading: str
    # Why this customer cannot use the flow (already registered, no account yet), or None.
    refusal: Callable[[Customer], Markup | str | None]
    # Sets the password; commits.
    complete: Callable[[Customer, Verification, str], Completion]
    done_message: str
    done_endpoint: str
    signs_in: bool  # whether the customer ends the flow logged in
