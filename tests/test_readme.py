"""The README and the project's documents stand on their own in a clone: no path outside
it (the specification the team works from is not in the repository), no internal issue
numbers, and every file they link to is there."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", ROOT / "TRANSLATING.md", *sorted((ROOT / "docs").glob("*.md"))]


# The same on every database (no database): make test-postgres leaves it out.
pytestmark = pytest.mark.own_database


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_names_nothing_outside_the_clone(document):
    text = document.read_text(encoding="utf-8")
    assert not re.search(r"(?<![\w/])\.\./", text)  # a relative path out (not a/../b)
    assert "SPEC.md" not in text
    assert not re.search(r"\bissues? \d+\b", text, re.IGNORECASE)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_linked_file_is_there(document):
    text = document.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        if "://" not in target:
            assert (document.parent / target).exists(), target
