"""Every page's <title>: the step's own heading first, then the section, then the portal
("Podaj kod SMS – Rejestracja – Strefa Klienta"), so each wizard step and each result has
a title of its own in the tab and in the history (WCAG 2.4.2).

A heading is declared once, by the view or wizard step that renders it, and passed to the
template as `heading` (only `title` when the page's heading is its title): the template's
<h1> shows it and page_title() puts it first.
"""

from flask_babel import gettext as _
from jinja2 import pass_context
from jinja2.runtime import Context

from ebok import operator


def link_problem_heading(problem: str) -> str:
    """The heading of a signed link that does not work (layouts/_link_problem.html), for
    both flows' links and e-Faktura's; `problem` is an Outcome's value."""
    return {
        "expired": _("This link has expired"),
        "superseded": _("This link is no longer active"),
        "used": _("This link has already been used"),
    }.get(problem, _("This link is not valid"))


def compose(title: str, heading: str | None = None, has_errors: bool = False) -> str:
    # A heading ending in a colon or full stop ("Wybierz sposób rejestracji:") drops it here.
    parts = [str(heading).rstrip(":.")] if heading and heading != title else []
    if title:
        parts.append(str(title))
    parts.append(operator.current().portal_name)
    text = " – ".join(parts)
    return f"{_('Error:')} {text}" if has_errors else text


@pass_context
def page_title(context: Context) -> str:
    """For the layouts: the title of the page or fragment being rendered."""
    return compose(
        context.get("title") or "", context.get("heading"), bool(context.get("has_errors"))
    )
