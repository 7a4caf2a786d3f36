"""Where invoice PDFs are kept (SPEC §11): content-addressed, under their SHA-256.

A file is written to a temporary name next to its place and renamed into it, so a reader
never sees half a file and two imports writing the same file at once both succeed; it is
checked against its hash whenever it is read. The app sees only `InvoiceStorage`: an
object-storage backend (S3 and the like) can replace the directory by implementing it.
"""

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

CHUNK = 1 << 16
PDF_SIGNATURE = b"%PDF-"


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int
    # True when this put wrote the file, False when it was stored already (deduplicated).
    written: bool = field(default=False, compare=False)


class CorruptFile(Exception):
    """A stored file is missing or its bytes no longer match its hash."""


class NotAPdf(Exception):
    """The file does not start as a PDF does."""


class TooLarge(Exception):
    """The file is larger than the limit."""


class InvoiceStorage(Protocol):
    def put(self, source: BinaryIO, max_size: int) -> StoredFile:
        """Store a PDF read from `source`; raises NotAPdf or TooLarge and stores nothing."""

    def read(self, key: str, sha256: str) -> bytes:
        """The stored bytes, after checking them against `sha256`; raises CorruptFile."""

    def stored(self, sha256: str, size: int) -> StoredFile | None:
        """The file already stored with this content (its SHA-256), or None."""

    def discard(self, key: str) -> None:
        """Remove a stored file no invoice refers to (an import's rolled back batch)."""

    def free_bytes(self) -> int | None:
        """Bytes still free for new files; None when the backend has no such limit."""


class DirectoryStorage:
    """A directory several app servers may share (a volume): files at ab/cd/abcd….pdf."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._root = os.fspath(root)  # strings for the per-file work: pathlib costs

    def __str__(self) -> str:
        return str(self.root)

    @staticmethod
    def key_for(sha256: str) -> str:
        return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.pdf"

    def put(self, source: BinaryIO, max_size: int) -> StoredFile:
        """Reads the file once, hashing it as it goes, into memory (at most `max_size`
        bytes): one already stored (the same PDF again, a rerun) costs that read, not a
        write. A new one is written to a temporary file, synced, and renamed."""
        chunks, sha256, size = _read_and_hash(source, max_size, keep=True)
        if stored := self.stored(sha256, size):
            return stored
        key = self.key_for(sha256)
        final = self._path(key)
        directory = os.path.dirname(final)
        os.makedirs(directory, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=directory, suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as target:
                target.writelines(chunks)
                target.flush()
                os.fsync(target.fileno())
            os.chmod(temporary, 0o644)  # other app servers may run as other users
            os.replace(temporary, final)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return StoredFile(key, sha256, size, written=True)

    def stored(self, sha256: str, size: int) -> StoredFile | None:
        key = self.key_for(sha256)
        return StoredFile(key, sha256, size) if os.path.exists(self._path(key)) else None

    def _path(self, key: str) -> str:
        return f"{self._root}{os.sep}{key}"  # os.path.join's checks cost, per row

    def read(self, key: str, sha256: str) -> bytes:
        try:
            content = (self.root / key).read_bytes()
        except OSError:
            raise CorruptFile(key) from None
        if hashlib.sha256(content).hexdigest() != sha256:
            raise CorruptFile(key)
        return content

    def discard(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def free_bytes(self) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free


def fingerprint(source: BinaryIO, max_size: int) -> tuple[str, int]:
    """The PDF's SHA-256 and size, read once and not kept (an import reads ahead what it
    may store later); raises NotAPdf or TooLarge as soon as it can tell."""
    _chunks, sha256, size = _read_and_hash(source, max_size, keep=False)
    return sha256, size


def _read_and_hash(source: BinaryIO, max_size: int, keep: bool) -> tuple[list[bytes], str, int]:
    """The file's bytes (in chunks, when `keep`), SHA-256 and size, read once; raises
    NotAPdf or TooLarge as soon as it can tell."""
    digest, size, chunks = hashlib.sha256(), 0, list[bytes]()
    while chunk := source.read(CHUNK):
        if not size and not chunk.startswith(PDF_SIGNATURE[: len(chunk)]):
            raise NotAPdf
        size += len(chunk)
        if size > max_size:
            raise TooLarge
        digest.update(chunk)
        if keep:
            chunks.append(chunk)
    if size < len(PDF_SIGNATURE):
        raise NotAPdf
    return chunks, digest.hexdigest(), size


def invoice_storage() -> InvoiceStorage:
    """The storage the configuration names (FLASK_INVOICE_STORAGE, by default the
    instance folder's invoices/)."""
    config = current_app.config
    return DirectoryStorage(
        config["INVOICE_STORAGE"] or os.path.join(current_app.instance_path, "invoices")
    )
