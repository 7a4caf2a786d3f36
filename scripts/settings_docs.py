"""Renders the settings table of ebok/config.py (SETTINGS) into the README's
"Configuration" section (between its markers) and into deploy/strefa-klienta.env.example,
so the documentation, the environment example and production's placeholder check never
drift apart.

    python scripts/settings_docs.py          # rewrite both files
    python scripts/settings_docs.py --check  # exit 1 when either is not current (the tests)
"""

import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ebok.config import LISTED, OPTIONAL, REQUIRED, SETTINGS, Setting  # noqa: E402

README = ROOT / "README.md"
ENV_EXAMPLE = ROOT / "deploy" / "strefa-klienta.env.example"
START = "<!-- settings: rendered from ebok/config.py by scripts/settings_docs.py -->"
END = "<!-- settings end -->"

ENV_HEADER = """\
# A template: copy it to /etc/strefa-klienta/env and replace every change-me (production
# refuses to start while a setting still carries it, or while a required one keeps its
# placeholder, naming the setting).
# The production environment of both services and of the operators' commands:
# /etc/strefa-klienta/env, owned by root, readable by the group strefa-klienta only
# (chmod 640). Quote values with spaces: the file is read by systemd and by the shell
# (set -a; . /etc/strefa-klienta/env).
# Rendered from ebok/config.py by scripts/settings_docs.py: every setting is explained in
# the README's "Configuration"; the commented ones are optional.
"""
ENV_FOOTER = """
# gunicorn workers; without it, 2 per core + 1.
#WEB_CONCURRENCY=5
"""


def _variables(setting: Setting) -> str:
    return ", ".join(f"`FLASK_{name}`" for name in setting.names)


def readme_section() -> str:
    lines = [START, ""]
    for group in SETTINGS:
        lines += [
            f"**{group.title}**",
            "",
            "| variable | default | meaning |",
            "| --- | --- | --- |",
        ]
        for setting in group.settings:
            meaning = setting.meaning
            if setting.required:
                meaning = f"**required in production**: {meaning}"
            lines.append(f"| {_variables(setting)} | {setting.default} | {meaning} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def environment_example() -> str:
    parts = [ENV_HEADER]
    for group in SETTINGS:
        listed = [setting for setting in group.settings if setting.env]
        if not listed:
            continue
        parts.append(f"\n# --- {group.title}\n")
        for setting in listed:
            assert setting.env is not None and len(setting.names) == 1, setting
            value, kind = setting.env
            assert kind in (REQUIRED, LISTED, OPTIONAL), setting
            comment = ("required: " if kind == REQUIRED else "") + setting.meaning.replace("`", "")
            parts.extend(
                f"# {line}\n" for line in textwrap.wrap(comment, 88, break_on_hyphens=False)
            )
            commented = "#" if kind == OPTIONAL else ""
            parts.append(f"{commented}FLASK_{setting.names[0]}={value}\n")
    parts.append(ENV_FOOTER)
    return "".join(parts)


def readme_with_section(readme: str) -> str:
    before, start, rest = readme.partition(START)
    _, end, after = rest.partition(END)
    if not (start and end):
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    return before + readme_section() + after


def main(argv: list[str]) -> int:
    wanted = {
        README: readme_with_section(README.read_text()),
        ENV_EXAMPLE: environment_example(),
    }
    stale = [path for path, text in wanted.items() if path.read_text() != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is not current: run scripts/settings_docs.py")
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
