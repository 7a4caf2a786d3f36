"""Typography for text shown in HTML: where a line must not break.

- Polish and Ukrainian: a one-letter word (a, i, o, u, w, z; а, в, з, і, й, о, у, я, and
  their capitals) stays with the word after it, by a no-break space.
- Every language: the groups of a number written with spaces ("600 700 800", a phone
  number) stay together, and "e-Faktura" in every form (e-Faktury, e-Fakturę…) never
  breaks after its hyphen. It is wrapped in a `nowrap` span rather than spelled with a
  non-breaking hyphen (U+2011), so find-in-page, screen readers and copied text still see
  an ordinary "e-Faktura".

Only for HTML text content: SMS and plain-text e-mails never get these characters (a
no-break space would push an SMS into UCS-2), and an attribute value must not get the
span (render such strings with |striptags).
"""

import re
from functools import lru_cache

from markupsafe import Markup, escape

NO_BREAK_SPACE = "\u00a0"
# One-letter words of the languages that keep them with the next word.
_ONE_LETTER_WORDS = {
    "pl": re.compile(r"(?<![\w&#;])([aiouwzAIOUWZ]) (?=\S|$)"),
    "uk": re.compile(r"(?<![\w&#;])([авзійоуяАВЗІЙОУЯ]) (?=\S|$)"),
}
_NUMBER_GROUPS = re.compile(r"(?<=\d) (?=\d)")
_EINVOICE = re.compile(r"\be-Faktur\w*")
_NOWRAP_OPEN = '<span class="nowrap">'
# A tag, or the text between tags: typography changes only text.
_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")


def html(value: object, language: str, *, nowrap_tag: str = _NOWRAP_OPEN) -> Markup:
    """The value as HTML text with its typography: a str is escaped first, Markup (the
    links the code inserts) keeps its tags, and only the text between them changes."""
    markup = value if isinstance(value, Markup) else escape(value)
    return Markup(_typeset(str(markup), language, nowrap_tag))  # noqa: S704 (escaped)


# A page repeats the same translations on every request: their typography is kept.
@lru_cache(maxsize=4096)
def _typeset(markup: str, language: str, nowrap_tag: str) -> str:
    one_letter = _ONE_LETTER_WORDS.get(language.split("_")[0])
    parts = _TAG_OR_TEXT.split(markup)
    for index in range(0, len(parts), 2):  # even indexes are text, odd ones tags
        text = _NUMBER_GROUPS.sub(NO_BREAK_SPACE, parts[index])
        if one_letter is not None:
            text = one_letter.sub(r"\1" + NO_BREAK_SPACE, text)
        already_wrapped = index > 0 and "nowrap" in parts[index - 1]
        if not already_wrapped:
            text = _EINVOICE.sub(lambda word: f"{nowrap_tag}{word.group(0)}</span>", text)
        parts[index] = text
    return "".join(parts)
