"""The invoice storage's `put` (issue 26): each PDF is read once, hashed as it is read,
and its checks (a PDF, not too large) hold without reading it again."""

import hashlib
import io
from typing import BinaryIO, cast

import pytest
from invoice_files import tiny_pdf

from ebok.invoices.storage import DirectoryStorage, NotAPdf, TooLarge


class ReadOnce(io.RawIOBase):
    """A source that can be read front to back once, and never rewound."""

    def __init__(self, content: bytes) -> None:
        self.content, self.position = content, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.content[self.position : self.position + len(buffer)]
        buffer[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)

    def seek(self, *_arguments) -> int:
        raise AssertionError("the source was read a second time")


def once(content: bytes) -> BinaryIO:
    return cast(BinaryIO, ReadOnce(content))


def test_put_reads_the_source_once_and_stores_it_under_its_hash(tmp_path):
    pdf = tiny_pdf("once") + b"x" * 200_000  # several chunks
    storage = DirectoryStorage(tmp_path)
    stored = storage.put(once(pdf), max_size=1 << 20)
    assert stored.sha256 == hashlib.sha256(pdf).hexdigest()
    assert (stored.size, stored.written) == (len(pdf), True)
    assert storage.read(stored.key, stored.sha256) == pdf
    again = storage.put(once(pdf), max_size=1 << 20)
    assert (again, again.written) == (stored, False)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"not a pdf at all", NotAPdf), (b"%PD", NotAPdf), (tiny_pdf("big") + b"x" * 100, TooLarge)],
)
def test_put_refuses_without_storing(tmp_path, content, problem):
    with pytest.raises(problem):
        DirectoryStorage(tmp_path).put(once(content), max_size=100)
    assert not any(tmp_path.rglob("*.pdf")) and not any(tmp_path.rglob("*.part"))
