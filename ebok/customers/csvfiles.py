"""What the billing system's CSV imports share (customers, SPEC §8; invoices, SPEC §11):
a file checked to be UTF-8 before anything is written, read one line at a time, in
batches, with every rejected line reported by its number and reason."""

import codecs
import csv
import gc
import queue
import re
import threading
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar, cast

T = TypeVar("T")

# One line of the file: its number, its fields and why it is rejected (None when it can be
# imported as far as parsing goes). A line that could not be read has only its first field
# (see first_field), or None.
Record = tuple[int, list[str] | None, str | None]


class ImportRefused(Exception):
    """The file as a whole cannot be imported; the message says what to do. Nothing was
    written."""


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    # Customers: rows whose e-mail or phone was left as the customer changed it in Strefa
    # Klienta, the file not carrying the change yet (SPEC §15).
    kept_portal_contact: int = 0

    def add(self, other: "ImportReport") -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.kept_portal_contact += other.kept_portal_contact
        self.rejected.extend(other.rejected)


class ImportStopped(Exception):
    """The import stopped partway; the message says where and what to do. `report`
    counts what was committed before, which stays."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


# C0 and C1 control characters (ESC starts the sequences that move a terminal's cursor,
# erase lines or set its title) and the Unicode bidi controls that reorder what is shown
# (Trojan Source, CVE-2021-42574).
_UNSAFE_ON_A_TERMINAL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def escaped_for_terminal(text: str) -> str:
    """`text` with every control character written as an escape (\\x1b, \\u202e): what a
    report echoes from a file is shown, never obeyed by the operator's terminal."""
    return _UNSAFE_ON_A_TERMINAL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def count_lines_of_utf8_file(path: str) -> int:
    """Reads the file once, in chunks, to be sure all of it is UTF-8 before anything is
    written (Excel saves Polish CSV files as Windows-1250 unless told otherwise)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, chunk = 0, b""
    with open(path, "rb") as raw_file:
        while next_chunk := raw_file.read(1 << 20):
            chunk = next_chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as problem:
                line = lines + chunk.count(b"\n", 0, problem.start) + 1
                raise ImportRefused(
                    f"line {line} is not UTF-8 text: save the file as UTF-8 (in Excel: "
                    '"CSV UTF-8 (Comma delimited)") and import it again; nothing was imported'
                ) from None
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportRefused(
                "the file ends in the middle of a character: save it as UTF-8 and import "
                "it again; nothing was imported"
            ) from None
    return lines if chunk.endswith(b"\n") or not chunk else lines + 1


def read_header(first_line: str, *accepted: list[str]) -> list[str]:
    """The header's column names, if they are one of the `accepted` lists."""
    header = [name.strip() for name in next(csv.reader([first_line]), [])]
    if header not in accepted:
        expected = " or ".join(",".join(names) for names in accepted)
        raise ImportRefused(f"the first line must be: {expected}")
    return header


def records(csv_file: Iterable[str]) -> Iterator[Record]:
    """Each line after the header, parsed on its own: no field of these files may hold a
    line break, so an unbalanced quote spoils its own line only, not the rows after it."""
    size_limit = csv.field_size_limit()
    for line_number, line in enumerate(csv_file, start=2):
        if not line.strip():
            continue
        if "\x00" in line:
            yield line_number, first_field(line), "the line contains a NUL character"
        elif len(line) > size_limit:
            yield line_number, first_field(line), "field too long"
        elif '"' not in line:
            # Most lines: without quotes, the csv module's fields are the text between
            # the commas (a line break can only end the line: see the file's newline="").
            yield line_number, line.rstrip("\r\n").split(","), None
        else:
            try:
                yield line_number, next(csv.reader([line], strict=True)), None
            except csv.Error:
                yield line_number, first_field(line), 'unbalanced or misplaced quote (")'


def first_field(line: str) -> list[str] | None:
    """The first field of a line that could not be read as a whole, when the text before
    its first comma reads as one field: an import can still tell whose line it was."""
    head = line.split(",", 1)[0].rstrip("\r\n")
    try:
        fields = next(csv.reader([head], strict=True))
    except csv.Error:
        return None
    return fields if len(fields) == 1 else None


def chunks(lines: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while batch := list(islice(lines, size)):
        yield batch


@contextmanager
def long_lived_objects_frozen() -> Iterator[None]:
    """While an import runs, the garbage collector leaves alone the objects that were there
    before it (the app, its modules, SQLAlchemy's caches: they live as long as the process).
    An import makes and drops millions of small objects, and each of the collector's full
    passes would walk every one of those older objects again (0.45 s of the 6.5 s of a
    100 000-row customers import)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def ahead(items: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """What `items` yields, each next one made in a thread while the caller works on the
    one before: an import validates batch N+1 (CPU) while it writes batch N (waiting on the
    database, which releases the GIL). At most `depth` made items wait, so memory stays
    bounded: one item with the caller, `depth` waiting, one being made. An exception in
    the thread is raised here; when the caller stops early (an error, Ctrl-C) the thread
    stops too, `items` is closed in it, and nothing the thread read is lost: it writes
    nothing, so a stopped import resumes as before."""
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(more: bool, item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put((more, item), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(True, item):
                    return
            offer(False, None)
        except BaseException as error:  # handed to the caller, who raises it
            offer(False, error)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="import-ahead", daemon=True)
    thread.start()
    try:
        while True:
            more, item = handoff.get()
            if not more:
                if isinstance(item, BaseException):
                    raise item
                return
            yield cast(T, item)  # the thread put a T
    finally:
        stop.set()
        thread.join()


def after_the_next(items: Iterable[T]) -> Iterator[T]:
    """What `items` yields, each item handed on only once the next one is made (or the
    items end): making item N+1 may start work elsewhere that goes on while the caller
    finishes item N. An error making item N+1 is raised after item N is handed on."""
    held: list[T] = []
    try:
        for item in items:
            if held:
                yield held.pop()
            held.append(item)
    except Exception:
        if held:
            yield held.pop()
        raise
    if held:
        yield held.pop()
