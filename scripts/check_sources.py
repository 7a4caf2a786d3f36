"""Rules about the source files themselves, which no request can show; `make check` runs
this beside ruff and mypy. Prints each breach and exits 1 if there is any.

- No Python code or template trusts a translation as markup (`Markup(_(...))`,
  `_(...) | safe`): a translation is text, escaped like any other (issue 12).
- The password checklist script has no rule numbers of its own (a length, the special
  characters): it reads them from the form, which reads the settings.
- No two test modules share a file name (tests/ and tests/browser/ have no __init__.py:
  pytest imports both as the same module and stops at collection).
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRUSTED_TRANSLATION = re.compile(r"Markup\(\s*_l?\(|_\([^)]*\)\s*\|\s*safe")
LENGTH_RULE = re.compile(r"length\s*[<>]=?\s*[1-9]")
SPECIAL_CHARACTERS = "!@#$%^&*"


def breaches() -> list[str]:
    found = []
    sources = [*ROOT.glob("ebok/**/*.py"), *ROOT.glob("templates/**/*.html")]
    for path in sorted(sources):
        if TRUSTED_TRANSLATION.search(path.read_text()):
            found.append(f"{path.relative_to(ROOT)}: a translation trusted as markup")
    script = ROOT / "static/js/app.js"
    text = script.read_text()
    if LENGTH_RULE.search(text) or SPECIAL_CHARACTERS in text:
        found.append(f"{script.relative_to(ROOT)}: a password rule of its own")
    seen: dict[str, Path] = {}
    for path in sorted(ROOT.glob("tests/**/test_*.py")):
        if path.name in seen:
            found.append(f"{path.relative_to(ROOT)}: the same file name as {seen[path.name]}")
        seen.setdefault(path.name, path.relative_to(ROOT))
    return found


def main() -> int:
    found = breaches()
    for breach in found:
        print(breach, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
