"""Polish bank account numbers (NRB): 26 digits, the first two a checksum (IBAN's, mod 97)."""

import re

_SEPARATORS = re.compile(r"[\s-]+")
_NRB = re.compile(r"[0-9]{26}")
# "PL" in IBAN's letters-to-numbers code: P = 25, L = 21.
_COUNTRY_CODE = "2521"


def normalize_bank_account(typed: str) -> str | None:
    """The 26 digits of a valid NRB (written with spaces, dashes or a PL prefix), or None."""
    compact = _SEPARATORS.sub("", typed).upper().removeprefix("PL")
    if not _NRB.fullmatch(compact):
        return None
    if int(compact[2:] + _COUNTRY_CODE + compact[:2]) % 97 != 1:
        return None
    return compact


def group_in_fours(nrb: str) -> str:
    """12 3456 7890 … as banks print it: the checksum, then groups of four."""
    return " ".join([nrb[:2], *(nrb[i : i + 4] for i in range(2, len(nrb), 4))])


def iban_in_fours(nrb: str) -> str:
    """PL12 3456 7890 …: the NRB with its country prefix, for transfers from abroad."""
    iban = "PL" + nrb
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
