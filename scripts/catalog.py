"""The translation catalogs' one definition: how strings are extracted, how the catalogs
are updated and written, and how a language is added. `make catalog-update`,
`make catalog-add LANG=xx` and the catalog tests all run this script, so they cannot
drift apart. TRANSLATING.md explains the workflow.

    python scripts/catalog.py update [--translations DIR]
    python scripts/catalog.py add LANGUAGE [--translations DIR]
    python scripts/catalog.py pseudo [--output DIR]
"""

import argparse
import io
import os
import re
import sys
from datetime import datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.util import LOCALTZ

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
PROJECT = "Strefa Klienta"
TEAM = "Strefa Klienta team"
BUGS_ADDRESS = "tlumaczenia@strefa-klienta.example"
# No wrapping: a message is one line, broken only after a "\n" in it. Babel, GNU gettext
# (`--no-wrap`), Poedit and Weblate write that the same way (TRANSLATING.md), whereas a
# width is counted differently by each; diffs show one line per changed message.
NO_WRAP = 0
# Per language: the words its plural forms show next to 0, 1, 2, 5, 12, 22, 25 and 101,
# written by the translator; the catalog tests check the translations against them.
PLURAL_WORDS_FILE = "plural_words.toml"
REFERENCE = "pl"
# The pseudo-localised catalog (`make catalog-pseudo`): every string wrapped in brackets and
# lengthened, in a language no customer uses (Esperanto: Babel knows it, two plural forms
# like English), kept out of translations/ so no test or build takes it for a real one.
PSEUDO_LANGUAGE = "eo"
PSEUDO_OUTPUT = ROOT / "build" / "pseudo"
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"
_PSEUDO_LETTERS = str.maketrans(
    "AaCcDdEeGgHhIiJjKkLlNnOoRrSsTtUuWwYyZz", "ÅáÇçĐđÉéĜĝĤĥÍíĴĵĶķĹĺÑñÓóŔŕŠšŢţÚúŴŵÝýŽž"
)
_PLACEHOLDERS = re.compile(r"(%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%%|\n)")
KEYWORDS = [
    "_l",
    "lazy_gettext",
    "ngettext:1,2",
    "lazy_ngettext:1,2",
    "pgettext:1c,2",
    "lazy_pgettext:1c,2",
    "npgettext:1c,2,3",
]


def project_version() -> str:
    match = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match, "no version in pyproject.toml"
    return match.group(1)


def extract(template: Path) -> Path:
    """The strings of the code and templates (babel.cfg says where), with the comments
    that start with "Translators:"; locations name the file only, so moving code does not
    touch the catalogs. Runs in ROOT: the locations are relative to it."""
    keywords = [option for keyword in KEYWORDS for option in ("-k", keyword)]
    CommandLineInterface().run(
        [
            "pybabel",
            "--quiet",
            "extract",
            *("-F", str(ROOT / "babel.cfg")),
            *keywords,
            "--add-comments=Translators:",
            "--sort-by-file",
            "--add-location=file",
            "--no-wrap",
            f"--project={PROJECT}",
            f"--version={project_version()}",
            f"--copyright-holder={PROJECT}",
            f"--msgid-bugs-address={BUGS_ADDRESS}",
            *("-o", str(template)),
            ".",
        ]
    )
    return template


def read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file, locale=language)


def catalog_path(translations: Path, language: str) -> Path:
    return translations / language / "LC_MESSAGES" / "messages.po"


def languages(translations: Path) -> list[str]:
    return sorted(path.parent.parent.name for path in translations.glob("*/LC_MESSAGES/*.po"))


def write(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=NO_WRAP, ignore_obsolete=True)
    # Babel ends the file with a blank line, GNU gettext (so Poedit and Weblate) does not.
    path.write_bytes(buffer.getvalue().rstrip(b"\n") + b"\n")


def update(translations: Path) -> None:
    """Merges the extracted strings into every language's catalog: new strings untranslated,
    slightly changed ones fuzzy with their old translation (the tests fail until a translator
    checks them), removed ones dropped. The header follows the project (version, address for
    reports); the POT creation date is left alone, so an unchanged tree changes nothing.
    Says what changed in each catalog, and nothing about one that did not change."""
    template = read(extract(translations / "messages.pot"))
    for language in languages(translations):
        path = catalog_path(translations, language)
        before = path.read_bytes()
        catalog = read(path, language)
        known = {message.id for message in catalog if message.id}
        fuzzy = {message.id for message in catalog if message.id and message.fuzzy}
        catalog.update(template, update_creation_date=False)
        catalog.version = template.version
        catalog.msgid_bugs_address = template.msgid_bugs_address
        write(catalog, path)
        if path.read_bytes() != before:
            current = [message for message in catalog if message.id]
            changes = {
                "new": sum(message.id not in known and not message.fuzzy for message in current),
                "fuzzy": sum(message.fuzzy and message.id not in fuzzy for message in current),
                "removed": len(catalog.obsolete),
            }
            summary = ", ".join(f"{count} {what}" for what, count in changes.items() if count)
            print(f"{path.relative_to(translations.parent)}: {summary or 'comments or header'}")


def add(translations: Path, language: str) -> None:
    """A new, empty catalog for `language` from a fresh extract, its header filled."""
    try:
        locale = Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        sys.exit(f"{language!r} is not a language code Babel knows (e.g. de, cs, uk)")
    path = catalog_path(translations, language)
    if path.exists():
        sys.exit(f"{path} already exists: `make catalog-update` updates it")
    # As `pybabel init` does it: the template read as the language's catalog.
    catalog = read(extract(translations / "messages.pot"), language)
    catalog.locale = locale  # Language, and CLDR's plural forms
    catalog.revision_date = datetime.now(LOCALTZ)
    catalog.fuzzy = False
    catalog.last_translator = TEAM
    catalog.language_team = locale.english_name or language
    catalog.header_comment = catalog.header_comment.replace(
        "FIRST AUTHOR <EMAIL@ADDRESS>", f"{TEAM} <{BUGS_ADDRESS}>"
    )
    path.parent.mkdir(parents=True)
    write(catalog, path)
    write_plural_words_template(translations, language)
    print(
        f"Created {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
        f"{locale.english_name}, {len(catalog)} strings, "
        f"plural forms: {catalog.plural_forms}\n"
        "Next:\n"
        f"  1. Translate it (Poedit or Weblate: see TRANSLATING.md); the Polish catalog\n"
        "     (translations/pl) is the reference for what each string means.\n"
        f"  2. Add {language!r} to LANGUAGES in ebok/config.py (and to FLASK_LANGUAGES where\n"
        "     a deployment sets it), and its name in itself to NAMES in ebok/i18n/languages.py.\n"
        f"  3. Write the words your plural forms show into translations/{language}/\n"
        f"     {PLURAL_WORDS_FILE} (the file says how).\n"
        f"  4. make catalog-check LANG={language}   (until it passes)\n"
        "  5. make setup (compiles it), make screenshots to see every page, make guide-pictures\n"
        f"     for the guide's pictures (static/guide/{language}/); commit the .po and the\n"
        "     pictures."
    )


def write_plural_words_template(translations: Path, language: str) -> None:
    """The new language's plural words file: the reference language's messages, each with
    eight empty words for the translator to fill in."""
    reference = (translations / REFERENCE / PLURAL_WORDS_FILE).read_text(encoding="utf-8")
    empty = "[" + ", ".join(['""'] * 8) + "]"
    template = re.sub(r"= \[.*\]$", f"= {empty}", reference, flags=re.M)
    (translations / language / PLURAL_WORDS_FILE).write_text(template, encoding="utf-8")


def pseudo_text(text: str) -> str:
    """⟦Ŝéñđđ ţĥé çóđéé⟧: accented, each longer word stretched by about 40 % (as German's
    compounds are), placeholders and line breaks kept as they are."""
    parts = _PLACEHOLDERS.split(text)
    for index in range(0, len(parts), 2):  # the text between placeholders
        parts[index] = re.sub(
            r"[A-Za-z]{4,}",
            lambda word: word.group() + word.group()[1 : 1 + len(word.group()) * 2 // 5],
            parts[index],
        ).translate(_PSEUDO_LETTERS)
    return PSEUDO_OPEN + "".join(parts) + PSEUDO_CLOSE


def pseudo(output: Path) -> Path:
    """The pseudo-localised catalog, .po and compiled .mo, under output/eo/LC_MESSAGES."""
    output.mkdir(parents=True, exist_ok=True)
    catalog = read(extract(output / "messages.pot"), PSEUDO_LANGUAGE)
    catalog.locale = Locale.parse(PSEUDO_LANGUAGE)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, str):
            message.string = pseudo_text(message.id)
        else:
            message.string = tuple(pseudo_text(form) for form in message.id)
    path = catalog_path(output, PSEUDO_LANGUAGE)
    path.parent.mkdir(parents=True, exist_ok=True)
    write(catalog, path)
    with path.with_suffix(".mo").open("wb") as mo_file:
        write_mo(mo_file, catalog)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--translations", type=Path, default=TRANSLATIONS)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", parents=[where], help="extract, and update every catalog")
    add_command = commands.add_parser("add", parents=[where], help="a new language's catalog")
    add_command.add_argument("language")
    pseudo_command = commands.add_parser("pseudo", help="the pseudo-localised catalog")
    pseudo_command.add_argument("--output", type=Path, default=PSEUDO_OUTPUT)
    arguments = parser.parse_args()
    os.chdir(ROOT)  # extraction names files relative to the working directory
    if arguments.command == "update":
        update(arguments.translations.resolve())
    elif arguments.command == "pseudo":
        path = pseudo(arguments.output.resolve())
        print(f"Pseudo-localised catalog ({PSEUDO_LANGUAGE}): {path} and its .mo")
    else:
        add(arguments.translations.resolve(), arguments.language)


if __name__ == "__main__":
    main()
