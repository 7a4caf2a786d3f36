"""The Polish catalog is complete: every string in the code and templates is translated,
nothing is fuzzy, and every placeholder survives translation."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture(scope="module")
def polish():
    with (ROOT / "translations/pl/LC_MESSAGES/messages.po").open("rb") as po_file:
        return read_po(po_file)


def extracted_ids() -> set[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    ids = set()
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={**KEYWORDS}
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_every_string_in_the_code_is_in_the_polish_catalog(polish):
    missing = sorted(
        extracted_ids()
        - {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in polish
            if message.id
        }
    )
    assert not missing, f"run `make catalog-update` and translate: {missing}"


def test_nothing_is_untranslated_or_fuzzy(polish):
    problems = []
    for message in polish:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(message.id)
    assert not problems


def test_placeholders_survive_translation(polish):
    for message in polish:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for translated in strings:
            assert set(PLACEHOLDER.findall(source)) == set(PLACEHOLDER.findall(translated)), source


def test_polish_plural_forms(polish):
    assert polish.num_plurals == 3
    plurals = [message for message in polish if isinstance(message.id, tuple)]
    assert plurals and all(len(message.string) == 3 for message in plurals)
