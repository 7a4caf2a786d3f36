"""Backups of what the portal alone holds (issue 28, 12): the database and the invoice
archive (FLASK_INVOICE_STORAGE, the five years of PDFs customers are promised), as
`flask backup create DIR` and `flask backup restore BACKUP` (README, "Backups").

Consistent without stopping anything: the database is dumped first (one snapshot:
pg_dump's transaction, SQLite's backup API), then the archive is copied. The archive only
grows, and an invoice is committed after its PDF is stored, so every PDF the dump refers
to is already there when the copy starts; files stored later are harmless extras. Each
copied PDF is checked against its name (its SHA-256) on the way out and on the way back.
A backup is written under a dot-name and renamed when complete, with SHA256SUMS of every
file in it.
"""

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from ebok.extensions import db
from ebok.invoices.storage import CHUNK, DirectoryStorage, invoice_storage
from ebok.models import utcnow

SUMS = "SHA256SUMS"
POSTGRESQL_DUMP = "database.dump"  # pg_dump --format=custom
SQLITE_COPY = "database.sqlite3"
ARCHIVE = "invoices"
STORED_PDF = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})\.pdf")


class BackupFailed(Exception):
    """Said in one line, without the database's password."""


@dataclass(frozen=True)
class Summary:
    path: Path
    database: str  # the file of the database's copy
    pdfs: int


def create(destination: str | os.PathLike[str]) -> Summary:
    target = Path(destination) / f"strefa-klienta-{utcnow().strftime('%Y-%m-%dT%H-%M-%SZ')}"
    partial = target.with_name(f".{target.name}.part")
    partial.mkdir(parents=True)
    try:
        database = _dump_database(partial)  # first: see the module's docstring
        pdfs = _copy_pdfs(_archive_root(), partial / ARCHIVE)
        _write_sums(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(target)
    return Summary(target, database, pdfs)


def restore(source: str | os.PathLike[str]) -> Summary:
    """Puts the backup's database in place of the configured one (every table replaced)
    and copies its PDFs into the archive (those already there are kept)."""
    backup = Path(source)
    _check_sums(backup)
    pdfs = _copy_pdfs(backup / ARCHIVE, _archive_root())
    if (backup / POSTGRESQL_DUMP).exists():
        _restore_postgresql(backup / POSTGRESQL_DUMP)
        database = POSTGRESQL_DUMP
    elif (backup / SQLITE_COPY).exists():
        _restore_sqlite(backup / SQLITE_COPY)
        database = SQLITE_COPY
    else:
        raise BackupFailed(f"{backup} holds no database copy")
    return Summary(backup, database, pdfs)


def _archive_root() -> Path:
    storage = invoice_storage()
    if not isinstance(storage, DirectoryStorage):  # an object store keeps its own copies
        raise BackupFailed("the invoice storage is not a directory: back it up with its tools")
    return storage.root


def _url() -> URL:
    return db.engine.url


def _dump_database(folder: Path) -> str:
    url = _url()
    if url.get_backend_name() == "postgresql":
        _run_postgresql_tool(
            ["pg_dump", "--format=custom", "--no-owner", f"--file={folder / POSTGRESQL_DUMP}"],
            url,
        )
        return POSTGRESQL_DUMP
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(folder / SQLITE_COPY)) as copy, _sqlite() as live:
            live.backup(copy)
        return SQLITE_COPY
    raise BackupFailed(f"no backup for the {url.get_backend_name()} database")


def _restore_postgresql(dump: Path) -> None:
    db.session.remove()
    db.engine.dispose()  # no connection of ours holds a lock the restore waits for
    url = _url()
    _run_postgresql_tool(
        [
            *("pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction"),
            *("--exit-on-error", f"--dbname={url.database}", str(dump)),
        ],
        url,
    )


def _restore_sqlite(copy: Path) -> None:
    db.session.remove()
    with closing(sqlite3.connect(copy)) as source, _sqlite() as live:
        source.backup(live)
    db.engine.dispose()  # no pooled connection remembers the database before


@contextmanager
def _sqlite() -> Iterator[sqlite3.Connection]:
    """The configured SQLite database's own connection (the backup API needs it)."""
    pooled = db.engine.raw_connection()
    try:
        connection = pooled.driver_connection
        assert isinstance(connection, sqlite3.Connection)
        yield connection
    finally:
        pooled.close()


def _run_postgresql_tool(command: list[str], url: URL) -> None:
    """libpq's own variables carry the address and the password: never on the command
    line, where `ps` shows it."""
    environment = {
        **os.environ,
        "PGHOST": url.host or "",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password or "",
        "PGDATABASE": url.database or "",
    }
    environment = {name: value for name, value in environment.items() if value}
    done = subprocess.run(  # noqa: S603 (fixed programs, our arguments)
        [*command[:1], "--no-password", *command[1:]],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        first_line = next(iter(done.stderr.strip().splitlines()), "no message")
        raise BackupFailed(f"{command[0]} failed: {first_line}")


def _copy_pdfs(source: Path, target: Path) -> int:
    """Every stored PDF under `source` not yet in `target`, checked against its name;
    returns how many PDFs `source` holds."""
    count = 0
    if not source.exists():
        return 0
    for path in sorted(source.rglob("*.pdf")):
        key = path.relative_to(source).as_posix()
        match = STORED_PDF.fullmatch(key)
        if not match:
            continue  # not a stored PDF (a temporary file of a store under way)
        count += 1
        destination = target / key
        if destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(f".{destination.name}.part")
        if _copy_hashing(path, partial) != match[1]:
            partial.unlink()
            raise BackupFailed(f"{path} does not match its SHA-256: the archive is damaged")
        os.replace(partial, destination)
    return count


def _copy_hashing(source: Path, target: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as reading, target.open("wb") as writing:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
            writing.write(chunk)
        writing.flush()
        os.fsync(writing.fileno())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reading:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_sums(folder: Path) -> None:
    """As `sha256sum` writes them, so `sha256sum -c SHA256SUMS` checks a copy anywhere."""
    lines = [
        f"{_file_sha256(path)}  {path.relative_to(folder).as_posix()}\n"
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]
    (folder / SUMS).write_text("".join(lines))


def _check_sums(folder: Path) -> None:
    sums = folder / SUMS
    if not sums.exists():
        raise BackupFailed(f"{folder} is not a complete backup (no {SUMS})")
    for line in sums.read_text().splitlines():
        expected, _, name = line.partition("  ")
        path = folder / name
        if not path.is_file() or _file_sha256(path) != expected:
            raise BackupFailed(f"{path} is missing or damaged: this backup cannot be restored")
