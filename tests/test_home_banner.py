"""Strona Główna's design (issue 22), through HTTP: the e-Faktura banner in full the first
time a sign-in shows it, then a compact card with the same words and actions."""

import re

from support import found

DESCRIPTION = "zawierającej te same dane"


def banner_of(response) -> str:
    body = response.get_data(as_text=True)
    return found(r'<section id="einvoice-banner".*?</section>', body, re.S)[0]


def test_the_banner_is_full_once_then_a_compact_card(visitor, auth, customers):
    first = banner_of(auth.log_in())  # the login lands on Strona Główna
    assert "banner--compact" not in first and "<details" not in first
    second = banner_of(visitor.get("/strona-glowna"))
    assert "banner--compact" in second
    # The same words, behind "Co daje e-Faktura?", and the same actions.
    summary = found(r"<summary[^>]*>(.*?)</summary>", second, re.S)[1]
    assert re.sub(r"<[^>]+>", "", summary).strip() == "Co daje e-Faktura?"
    assert DESCRIPTION in second
    for action in ('id="einvoice-activate-banner"', ">Aktywuj</a>", ">Szczegóły</a>"):
        assert action in second
    # A new sign-in shows it in full again.
    auth.log_out()
    assert "banner--compact" not in banner_of(auth.log_in())
