"""Lazy translations that are text, not HTML.

Flask-Babel's LazyString says its value is HTML (`__html__` returns the translation as it
is), so Jinja, WTForms, MarkupSafe and the session's serializer of flashed messages would
all trust a translation containing markup. These escape it like any other text: only the
links the code inserts are markup (SPEC §12). Use them instead of flask_babel's lazy_*.
"""

from typing import Any

from flask_babel import LazyString, gettext, pgettext
from markupsafe import Markup, escape


class LazyText(LazyString):
    def __html__(self) -> Markup:
        return escape(str(self))


def _l(string: str, **variables: Any) -> LazyText:
    """lazy_gettext: translated when used, in the language of that moment."""
    return LazyText(gettext, string, **variables)


def lazy_pgettext(context: str, string: str, **variables: Any) -> LazyText:
    """lazy_pgettext: the same, with a context (e-mail subjects)."""
    return LazyText(pgettext, context, string, **variables)
