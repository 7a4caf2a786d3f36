"""Every page's <title>: the step's own heading first, then the section, then the portal
("Podaj kod SMS – Rejestracja – Strefa Klienta"), so each wizard step and each result has
a title of its own in the tab and in the history (WCAG 2.4.2).

The heading of a fragment that shows one of several headings is looked up here from the
fragment's name and the values it is rendered with; the views pass only the section's
title, as before.
"""

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from jinja2 import pass_context

from ebok import operator


def _link_problem(context: Mapping) -> str:
    """The heading of layouts/_link_problem.html, for both flows' links and e-Faktura's."""
    return {
        "expired": _("This link has expired"),
        "superseded": _("This link is no longer active"),
        "used": _("This link has already been used"),
    }.get(str(context.get("link_problem")), _("This link is not valid"))


def _einvoice_confirm(context: Mapping) -> str | None:
    if context.get("link_problem"):
        return _link_problem(context)
    if context.get("done"):
        if context.get("result") == "activated":
            return _("e-Faktura has been activated")
        return _("The address for e-Faktura has been changed.").rstrip(".")
    return None  # the page's own title is the heading


HEADINGS: dict[str, Callable[[Mapping], str | None]] = {
    "wizard/_number.html": lambda context: str(context["form"].number.label.text),
    "wizard/_channel.html": lambda context: str(context["flow"].channel_question).rstrip(":"),
    "wizard/_code.html": lambda context: _("Enter the SMS code"),
    "wizard/_check_inbox.html": lambda context: _("Check your e-mail"),
    "wizard/_password.html": lambda context: str(context["flow"].password_heading),
    "wizard/_link_problem.html": _link_problem,
    "wizard/_no_contact.html": lambda context: _("Contact the Customer Service Centre"),
    "einvoice/_confirm.html": _einvoice_confirm,
}


def compose(title: str, heading: str | None = None, has_errors: bool = False) -> str:
    parts = [heading] if heading and heading != title else []
    if title:
        parts.append(str(title))
    parts.append(operator.current().portal_name)
    text = " – ".join(parts)
    return f"{_('Error:')} {text}" if has_errors else text


@pass_context
def page_title(context: Any) -> str:
    """For the layouts: the title of the page or fragment being rendered."""
    fragment = context.get("fragment")
    heading = HEADINGS[fragment](context) if fragment in HEADINGS else None
    return compose(context.get("title") or "", heading, bool(context.get("has_errors")))
