"""How many segments an SMS takes (3GPP TS 23.038 / GSM 03.38): a text the GSM 7-bit
alphabet can carry counts in septets (the extension table's characters, such as "€" or
"{", take two), 160 in one SMS and 153 in each part of a longer one; any other text goes
as UCS-2, counted in UTF-16 code units, 70 in one SMS and 67 in each part."""

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def gsm_septets(text: str) -> int | None:
    """The text's length in septets, or None when the GSM alphabet cannot carry it."""
    try:
        return len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def ucs2_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    septets = gsm_septets(text)
    if septets is not None:
        return 1 if septets <= GSM_SINGLE else -(-septets // GSM_PART)
    units = ucs2_units(text)
    return 1 if units <= UCS2_SINGLE else -(-units // UCS2_PART)
