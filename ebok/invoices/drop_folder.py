"""Billing's drop folder, imported on a schedule (issue 28, 14; deploy/ has the systemd
timer and the README the cron line): `flask billing import-folder FOLDER`.

    FOLDER/customers/*.csv     customers files, imported in name order
    FOLDER/invoices/NAME/      invoice folders (invoices.csv and the PDFs), in name order
    FOLDER/done/               what was imported, each beside its report (STAMP_NAME.report.txt)
    FOLDER/failed/             what had rejected lines or was refused, with its report
    FOLDER/.lock               held while a run works: never two at once

Billing writes each file or folder under a name starting with "." (or, for a file, one
not ending in .csv) and renames it when complete, so a run never takes half a file.
Customers go first: invoices need their customers. A run that stops partway (a full
disk, the database away) leaves that item where it is, to resume next time, and stops.
"""

import enum
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ebok.customers.csvfiles import ImportReport, ImportStopped, escaped_for_terminal
from ebok.customers.importing import ImportRefused, import_customers
from ebok.invoices.importing import import_invoices
from ebok.models import utcnow

LOCK_NAME = ".lock"


class Outcome(enum.Enum):
    IMPORTED = "done"  # every line imported (or unchanged)
    REJECTED = "failed"  # imported, but some lines rejected: see the report
    REFUSED = "refused"  # nothing imported (not UTF-8, no invoices.csv, ...)
    STOPPED = "stopped"  # stopped partway: left in place, resumed next run


@dataclass
class Processed:
    kind: str
    name: str
    outcome: Outcome
    report_path: Path


@dataclass
class Run:
    locked_out: bool = False  # another run holds the lock: this one did nothing
    processed: list[Processed] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(item.outcome is not Outcome.IMPORTED for item in self.processed)


@dataclass(frozen=True)
class _Kind:
    name: str
    importer: Callable[..., ImportReport]
    batch_size_key: str
    is_item: Callable[[Path], bool]


KINDS = (
    _Kind(
        "customers",
        import_customers,
        "CUSTOMERS_IMPORT_BATCH_SIZE",
        lambda path: path.is_file() and path.suffix == ".csv",
    ),
    _Kind("invoices", import_invoices, "INVOICES_IMPORT_BATCH_SIZE", Path.is_dir),
)


def run(folder: str | os.PathLike[str]) -> Run:
    drop = Path(folder)
    for part in ("customers", "invoices", "done", "failed"):
        (drop / part).mkdir(exist_ok=True)
    with _locked(drop / LOCK_NAME) as held:
        if not held:
            return Run(locked_out=True)
        result = Run()
        for kind in KINDS:
            for item in _waiting(drop / kind.name, kind):
                processed = _import(drop, kind, item)
                result.processed.append(processed)
                if processed.outcome is Outcome.STOPPED:
                    return result  # the next run resumes it, and what comes after
        return result


@contextmanager
def _locked(path: Path) -> Iterator[bool]:
    """An advisory lock (flock) the kernel drops when the process ends, however it ends:
    no stale lock file to clean up after a crash."""
    with open(path, "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _waiting(folder: Path, kind: _Kind) -> list[Path]:
    return sorted(
        path for path in folder.iterdir() if not path.name.startswith(".") and kind.is_item(path)
    )


def _import(drop: Path, kind: _Kind, item: Path) -> Processed:
    stamp = utcnow().strftime("%Y-%m-%dT%H-%M-%SZ")
    batch_size = current_app.config[kind.batch_size_key]
    try:
        report = kind.importer(str(item), batch_size)
    except ImportRefused as problem:
        outcome, lines = Outcome.REFUSED, [f"refused: {problem}"]
    except ImportStopped as stopped:
        outcome, lines = Outcome.STOPPED, [*_report_lines(stopped.report), f"stopped: {stopped}"]
    except SQLAlchemyError as problem:
        outcome = Outcome.STOPPED
        lines = [f"stopped: the database failed ({type(problem).__name__}); run again to resume"]
    else:
        outcome = Outcome.REJECTED if report.rejected else Outcome.IMPORTED
        lines = _report_lines(report)
    aside = drop / ("done" if outcome is Outcome.IMPORTED else "failed")
    target = aside / f"{stamp}_{item.name}"
    report_path = aside / f"{target.name}.report.txt"
    header = f"{kind.name} {item.name}: {outcome.value} at {stamp}"
    report_path.write_text("\n".join([header, *map(escaped_for_terminal, lines)]) + "\n")
    if outcome is not Outcome.STOPPED:
        item.rename(target)  # the same file system: atomic, never half moved
    return Processed(kind.name, item.name, outcome, report_path)


def _report_lines(report: ImportReport) -> list[str]:
    return [
        f"added: {report.added}, updated: {report.updated}, "
        f"unchanged: {report.unchanged}, rejected: {len(report.rejected)}",
        *(f"line {line}: {reason}" for line, reason in report.rejected),
    ]
