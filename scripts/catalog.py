"""The translation catalogs' one definition: how strings are extracted, how the catalogs
are updated and written, and how a language is added. `make catalog-update`,
`make catalog-add LANG=xx` and the catalog tests all run this script, so they cannot
drift apart. TRANSLATING.md explains the workflow.

    python scripts/catalog.py update [--translations DIR]
    python scripts/catalog.py add LANGUAGE [--translations DIR]
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
KEYWORDS = [
    "_l",
    "lazy_gettext",
    "ngettext:1,2",
    "lazy_ngettext:1,2",
    "pgettext:1c,2",
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
    reports); the POT creation date is left alone, so an unchanged tree changes nothing."""
    template = read(extract(translations / "messages.pot"))
    for language in languages(translations):
        path = catalog_path(translations, language)
        catalog = read(path, language)
        catalog.update(template, update_creation_date=False)
        catalog.version = template.version
        catalog.msgid_bugs_address = template.msgid_bugs_address
        write(catalog, path)
        print(f"updated {path.relative_to(translations.parent)}")


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
    print(
        f"Created {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
        f"{locale.english_name}, {len(catalog)} strings, "
        f"plural forms: {catalog.plural_forms}\n"
        "Next:\n"
        f"  1. Translate it (Poedit or Weblate: see TRANSLATING.md); the Polish catalog\n"
        "     (translations/pl) is the reference for what each string means.\n"
        f"  2. Add {language!r} to LANGUAGES in ebok/config.py (and to FLASK_LANGUAGES where\n"
        "     a deployment sets it), and its name in itself to NAMES in ebok/i18n/languages.py.\n"
        f"  3. Add the expected plural words for {language!r} to tests/test_catalog_workflow.py\n"
        "     (PLURAL_WORDS).\n"
        f"  4. make catalog-check LANG={language}   (until it passes)\n"
        "  5. make setup (compiles it), make screenshots, and commit the .po file."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--translations", type=Path, default=TRANSLATIONS)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", parents=[where], help="extract, and update every catalog")
    add_command = commands.add_parser("add", parents=[where], help="a new language's catalog")
    add_command.add_argument("language")
    arguments = parser.parse_args()
    os.chdir(ROOT)  # extraction names files relative to the working directory
    if arguments.command == "update":
        update(arguments.translations.resolve())
    else:
        add(arguments.translations.resolve(), arguments.language)


if __name__ == "__main__":
    main()
