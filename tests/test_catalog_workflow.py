"""Every language's catalog under translations/ (SPEC §12, TRANSLATING.md): up to date with
the code and stable under `make catalog-update`, complete, accepted by GNU msgfmt's
checks, placeholders kept, plural forms right, the header filled.

EBOK_TEST_LANGUAGES=uk,en limits the run to those languages (`make catalog-check LANG=uk`).
"""

import difflib
import gettext
import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po
from babel.support import Translations
from support import DEFAULT_LANGUAGES

from scripts.catalog import (
    BUGS_ADDRESS,
    PLURAL_WORDS_FILE,
    PROJECT,
    ROOT,
    TRANSLATIONS,
    catalog_path,
    languages,
    project_version,
)

SCRIPT = ROOT / "scripts" / "catalog.py"
ALL_LANGUAGES = languages(TRANSLATIONS)
LANGUAGES = [
    language
    for language in ALL_LANGUAGES
    if not os.environ.get("EBOK_TEST_LANGUAGES")
    or language in os.environ["EBOK_TEST_LANGUAGES"].split(",")
]
REFERENCE = "pl"
# Python's named placeholders with any conversion: %(num)d, %(name)s, %(amount).2f.
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")
# The numbers each language's plural rule sorts differently (CLDR: one, few, many, other).
NUMBERS = (0, 1, 2, 5, 12, 22, 25, 101)


# The same on every database (no database): make test-postgres leaves it out.
pytestmark = pytest.mark.own_database


def plural_words(language: str) -> dict[str, dict[int, str]]:
    """The words a translator wrote into translations/<language>/plural_words.toml: for
    each plural message, the word shown next to each of NUMBERS. Empty if the file is
    missing."""
    path = TRANSLATIONS / language / PLURAL_WORDS_FILE
    if not path.exists():
        return {}
    with path.open("rb") as data:
        return {
            msgid: dict(zip(NUMBERS, forms, strict=True))
            for msgid, forms in tomllib.load(data).items()
        }


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file, locale=language)


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    return {
        language: read_catalog(catalog_path(TRANSLATIONS, language), language)
        for language in ALL_LANGUAGES
    }


@pytest.fixture(scope="module")
def updated(tmp_path_factory) -> Path:
    """A copy of translations/ after `make catalog-update`'s own command ran on it."""
    copy = tmp_path_factory.mktemp("catalogs") / "translations"
    shutil.copytree(TRANSLATIONS, copy, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(SCRIPT), "update", "--translations", str(copy)],
        check=True,
        capture_output=True,
    )
    return copy


def forms(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A message's id or string as its forms: itself, or its plural forms."""
    assert text is not None
    return (text,) if isinstance(text, str) else tuple(text)


def strings(message: Message) -> tuple[str, ...]:
    return forms(message.string)


def sources(message: Message) -> tuple[str, ...]:
    return forms(message.id)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_every_configured_language_has_a_catalog():
    """`en` too: the English interface has its own catalog, reviewed like the others."""
    assert set(DEFAULT_LANGUAGES) <= set(ALL_LANGUAGES)
    assert REFERENCE in ALL_LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_is_up_to_date_and_the_update_is_a_round_trip(language, updated):
    """Extracting the strings again and updating leaves the committed file byte for byte
    as it is: nothing in the code is missing, nothing is obsolete, the wrapping holds."""
    committed = catalog_path(TRANSLATIONS, language).read_text()
    after_update = catalog_path(updated, language).read_text()
    if committed != after_update:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(True),
                    after_update.splitlines(True),
                    "committed",
                    "after make catalog-update",
                )
            )[:60]
        )
        pytest.fail(f"run `make catalog-update` and translate what it adds:\n{diff}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_nothing_is_untranslated_or_fuzzy(language, catalogs):
    problems = [
        ("fuzzy" if message.fuzzy else "untranslated", sources(message)[0])
        for message in catalogs[language]
        if message.id and (message.fuzzy or not all(strings(message)))
    ]
    assert not problems, f"{language}: {len(problems)} to translate or check: {problems[:20]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive_translation(language, catalogs):
    """Same names as the source (a name the code does not pass raises KeyError on the
    page); a plural form may leave the number out (Ukrainian "one" can say "рахунок")."""
    problems = []
    for message in catalogs[language]:
        if not message.id or not all(strings(message)):
            continue
        expected = set().union(*map(placeholders, sources(message)))
        forms = [placeholders(translated) for translated in strings(message)]
        if message.pluralizable:
            wrong = any(not form <= expected for form in forms) or set().union(*forms) != expected
        else:
            wrong = forms[0] != expected
        if wrong:
            problems.append((sources(message)[0], strings(message)))
    assert not problems, f"{language}: placeholders differ from the source: {problems}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_checks_pass(language):
    """GNU msgfmt -c: format strings (python-format) match the source, plural forms are
    complete, the header is filled in. Its warnings fail too."""
    msgfmt = shutil.which("msgfmt")
    if not msgfmt:
        pytest.fail("GNU gettext's msgfmt is not installed: run `make gettext`")
    done = subprocess.run(  # noqa: S603 (our own command line)
        [
            msgfmt,
            "--check",
            "--check-format",
            "-o",
            os.devnull,
            str(catalog_path(TRANSLATIONS, language)),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_gnu_gettext_writes_the_catalog_as_we_do(language):
    """Poedit and Weblate write PO files as GNU gettext does; set to no wrapping
    (TRANSLATING.md) they leave every line of our catalogs where it is, which
    `msgcat --no-wrap` shows: its output is the committed file byte for byte."""
    msgcat = shutil.which("msgcat")
    if not msgcat:
        pytest.fail("GNU gettext's msgcat is not installed: run `make gettext`")
    path = catalog_path(TRANSLATIONS, language)
    done = subprocess.run(  # noqa: S603 (our own command line)
        [msgcat, "--no-wrap", str(path)],
        capture_output=True,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == path.read_bytes(), f"{language}: GNU gettext would rewrap it"


def plural_forms_header(catalog: Catalog) -> str:
    return dict(catalog.mime_headers)["Plural-Forms"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_header_names_the_project_and_the_language(language, catalogs):
    catalog = catalogs[language]
    headers = dict(catalog.mime_headers)
    assert headers["Project-Id-Version"] == f"{PROJECT} {project_version()}"
    assert headers["Report-Msgid-Bugs-To"] == BUGS_ADDRESS
    assert headers["Language"] == language
    # Written any way (Poedit has its own spelling), the rule must be CLDR's: the same
    # number of forms and the same form for every number.
    cldr = get_plural(language)
    match = re.fullmatch(r"\s*nplurals=(\d+);\s*plural=(.+?);?\s*", plural_forms_header(catalog))
    assert match, plural_forms_header(catalog)
    assert int(match.group(1)) == cldr.num_plurals
    ours, theirs = gettext.c2py(match.group(2)), gettext.c2py(cldr.plural_expr)
    assert [ours(n) for n in range(1001)] == [theirs(n) for n in range(1001)], (
        f"{language}: Plural-Forms is not CLDR's {cldr.plural_forms}"
    )
    plurals = [message for message in catalog if message.pluralizable]
    assert all(len(strings(message)) == cldr.num_plurals for message in plurals)


def compiled(catalog: Catalog) -> Translations:
    """The catalog as the app loads it: compiled to .mo, plural rule from its header."""
    mo_file = io.BytesIO()
    write_mo(mo_file, catalog)
    mo_file.seek(0)
    return Translations(mo_file)


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_for_0_1_2_5_12_22_25_101(language, catalogs):
    catalog = catalogs[language]
    expected_words = plural_words(language)
    assert expected_words, (
        f"write {language}'s plural words into translations/{language}/{PLURAL_WORDS_FILE}"
    )
    assert all(all(words.values()) for words in expected_words.values()), (
        f"{language}: a word is missing in {PLURAL_WORDS_FILE}"
    )
    entries = {msgid: words for msgid, words in expected_words.items() if msgid in catalog}
    if not entries:
        assert language != REFERENCE, "the Polish catalog must have a plural entry to check"
        pytest.skip(f"{language}'s catalog has none of {list(expected_words)} yet")
    translations = compiled(catalog)
    wrong = []
    for msgid, words in entries.items():
        plural = catalog[msgid].id[1]
        for number, word in words.items():
            text = translations.ngettext(msgid, plural, number) % {"num": number}
            # The number, a space (non-breaking too), the word: the whole word.
            if not re.search(rf"(?<!\d){number}\s+{word}(?!\w)", text):
                wrong.append(f"{number}: {text!r}, expected {word!r}")
    assert not wrong, f"{language}: {wrong}"


def test_every_placeholder_has_a_translators_comment(updated):
    """What fills each placeholder, and where the string is shown: the translator sees it
    as a comment (`# Translators:` in Python, `{# Translators: #}` in templates). Only
    comments with that tag are extracted; Jinja's extractor drops the tag itself."""
    template = read_catalog(updated / "messages.pot")
    missing = [
        sources(message)[0]
        for message in template
        if message.id
        and any(placeholders(source) for source in sources(message))
        and not any(comment.strip() for comment in message.auto_comments)
    ]
    assert not missing, f"{len(missing)} strings with placeholders and no comment: {missing}"


def run_catalog_script(*arguments: str) -> str:
    done = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(SCRIPT), *arguments], check=True, capture_output=True, text=True
    )
    return done.stdout


def test_the_update_says_what_changed_or_nothing(updated):
    """`make catalog-update` on catalogs it already wrote prints nothing; a string missing
    from one catalog is reported for that catalog only."""
    assert run_catalog_script("update", "--translations", str(updated)) == ""
    path = catalog_path(updated, REFERENCE)
    catalog = read_catalog(path, REFERENCE)
    del catalog["Invoice number"]
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0)
    path.write_bytes(buffer.getvalue())
    output = run_catalog_script("update", "--translations", str(updated))
    # New, or fuzzy when Babel finds a similar string ("Invoice number:") to start from.
    [line] = output.splitlines()
    assert re.fullmatch(rf"translations/{REFERENCE}/LC_MESSAGES/messages.po: 1 (new|fuzzy)", line)


def test_a_new_language_gets_a_plural_words_file_to_fill_in(updated):
    """`make catalog-add LANG=xx` writes translations/xx/plural_words.toml with the plural
    messages and empty words; the plural test reads it (no test to edit)."""
    output = run_catalog_script("add", "de", "--translations", str(updated))
    assert PLURAL_WORDS_FILE in output
    assert "test_catalog_workflow" not in output
    # Its "Next:" list is TRANSLATING.md's, the guide's pictures included.
    for step in ("make catalog-check LANG=de", "make screenshots", "make guide-pictures"):
        assert step in output
    with (updated / "de" / PLURAL_WORDS_FILE).open("rb") as data:
        words = tomllib.load(data)
    assert set(words) == set(plural_words(REFERENCE))
    assert all(forms == [""] * len(NUMBERS) for forms in words.values())


TRANSLATORS_COMMENT = re.compile(r"\{#-?\s*Translators:.*?#\}", re.S)
GETTEXT_CALL = re.compile(r"\b(?:_|gettext|ngettext|pgettext|npgettext)\(")


def test_a_translators_comment_stands_before_the_one_call_it_is_for():
    """Jinja's extractor gives a template's comment to the first gettext call after it,
    on its line or the next: what follows a comment there holds exactly one call, so no
    comment lands on another string ("Contact e-mail" once carried the comment meant for
    "none") and no string carries two."""
    problems = []
    templates = ROOT / "templates"
    for path in sorted([*templates.rglob("*.html"), *templates.rglob("*.txt")]):
        text = path.read_text(encoding="utf-8")
        for comment in TRANSLATORS_COMMENT.finditer(text):
            line_start = text.rfind("\n", 0, comment.start()) + 1
            end_of_next_line = text.find("\n", text.find("\n", comment.end()) + 1)
            after = text[comment.end() : end_of_next_line if end_of_next_line > 0 else None]
            before = GETTEXT_CALL.findall(text[line_start : comment.start()])  # took it
            calls = 0 if before else len(GETTEXT_CALL.findall(after))
            if calls != 1:
                line = text.count("\n", 0, comment.start()) + 1
                problems.append(f"{path.relative_to(templates)}:{line}: {calls} calls")
    assert not problems
