"""Build steps setuptools runs (pyproject.toml, [tool.setuptools.cmdclass]).

The templates, static files, catalogs and migrations stay in the repository's top-level
folders. A wheel carries them inside the package (ebok/templates, ebok/static, ...), where
the app looks first, with the catalogs compiled from the .po files, since compiled catalogs
are never committed. An editable install (make setup) uses the folders where they are and
compiles the catalogs in place."""

import shutil
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PACKAGE = "ebok"
COPIED_FOLDERS = ("templates", "static", "migrations")
TRANSLATIONS = "translations"


class BuildPy(build_py):
    """setuptools' build_py, then the app's folders and compiled catalogs."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            self._compile_catalogs(ROOT / TRANSLATIONS)
            return
        target = Path(self.build_lib) / PACKAGE
        for folder in COPIED_FOLDERS:
            self._copy_folder(ROOT / folder, target / folder)
        shutil.rmtree(target / TRANSLATIONS, ignore_errors=True)
        self._compile_catalogs(target / TRANSLATIONS)

    def _copy_folder(self, source: Path, target: Path) -> None:
        # build/ outlives a build: a file deleted from the repository must not stay in it.
        shutil.rmtree(target, ignore_errors=True)
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                destination = target / path.relative_to(source)
                self.mkpath(str(destination.parent))
                self.copy_file(str(path), str(destination))

    def _compile_catalogs(self, target: Path) -> None:
        for po_path in sorted((ROOT / TRANSLATIONS).glob("*/LC_MESSAGES/*.po")):
            mo_path = target / po_path.relative_to(ROOT / TRANSLATIONS).with_suffix(".mo")
            self.announce(f"compiling {po_path.relative_to(ROOT)} to {mo_path}", level=2)
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            self.mkpath(str(mo_path.parent))
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
