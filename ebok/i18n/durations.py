"""How long something lasts, as a customer reads it: the lifetimes of codes and links
come from configuration, so the words that state them are made here, never written into
a translatable sentence."""

from datetime import timedelta

from flask import current_app
from flask_babel import npgettext

_DAY = 86400
_HOUR = 3600


def whole_minutes(lifetime: timedelta) -> int:
    """A lifetime in minutes, rounded up: a code said to live 10 minutes lives that long."""
    return max(1, -(-int(lifetime.total_seconds()) // 60))


def sms_code_minutes() -> int:
    """How many minutes an SMS code is valid (SMS_CODE_LIFETIME), as the SMS, the code
    field's hint and its expiry error say it."""
    return whole_minutes(current_app.config["SMS_CODE_LIFETIME"])


def duration(lifetime: timedelta) -> str:
    """'3 dni', '1 godzinę', '10 minut': in the largest unit that states it exactly, in the
    form that follows "for" ("przez" in Polish)."""
    seconds = int(lifetime.total_seconds())
    if seconds >= _DAY and seconds % _DAY == 0:
        days = seconds // _DAY
        # Translators: how long a link or code stays valid, put into sentences such as
        # "The link will be active for %(duration)s." (Polish: "przez 3 dni", the
        # accusative). %(num)d is a number of days.
        return npgettext("how long, after 'for'", "%(num)d day", "%(num)d days", days)
    if seconds >= _HOUR and seconds % _HOUR == 0:
        hours = seconds // _HOUR
        # Translators: as "%(num)d day" above, in hours ("przez 1 godzinę").
        return npgettext("how long, after 'for'", "%(num)d hour", "%(num)d hours", hours)
    minutes = whole_minutes(lifetime)
    # Translators: as "%(num)d day" above, in minutes ("przez 10 minut").
    return npgettext("how long, after 'for'", "%(num)d minute", "%(num)d minutes", minutes)
