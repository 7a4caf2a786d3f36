"""Operators' commands (SPEC §8.1), on Flask's own CLI: flask --app app ..."""

import atexit
import csv
import gc
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo
from sqlalchemy.exc import SQLAlchemyError

from ebok.config import development_mode
from ebok.customers.csvfiles import ImportReport, ImportStopped, escaped_for_terminal
from ebok.customers.demo import seed_demo_customers
from ebok.customers.importing import ImportRefused, import_customers
from ebok.database import lift_time_bounds
from ebok.einvoice import billing_export
from ebok.identity.sessions import forget_expired_sessions
from ebok.invoices import backup, drop_folder
from ebok.invoices.importing import import_invoices
from ebok.messages import requeue, run_worker, summary
from ebok.models import utcnow
from ebok.mydata import consents, retention
from ebok.mydata import service as contact_changes
from ebok.normalising import (
    CUSTOMER_NUMBER_MAX_DIGITS,
    customer_number_problem,
    normalize_customer_number,
)
from ebok.payments import service as payments
from ebok.payments.providers import provider_for
from ebok.web.pdf_fonts import MissingFonts

customers_cli = AppGroup("customers", help="Customers from the billing system.")
demo_cli = AppGroup("demo", help="Demo data for development.")
invoices_cli = AppGroup("invoices", help="Invoices from the billing system.")
backup_cli = AppGroup("backup", help="Backups of the database and the invoice archive.")
billing_cli = AppGroup("billing", help="Billing's drop folder, imported on a schedule.")
einvoice_cli = AppGroup("einvoice", help="e-Faktura changes for the billing system.")
outbox_cli = AppGroup("outbox", help="E-mails and SMS messages waiting to be sent.")
payments_cli = AppGroup("payments", help="Online payments of invoices (SPEC §14).")
consents_cli = AppGroup("consents", help="Marketing consents customers gave in Strefa Klienta.")
contacts_cli = AppGroup("contacts", help="Contact details customers changed in Strefa Klienta.")


@customers_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
def import_command(csv_file: str) -> None:
    """Import or update customers from CSV_FILE
    (customer_number,first_name,last_name,email,phone).

    Commits every few thousand rows: stopped halfway, it keeps what it committed, and
    running it again finishes the job. Shows a progress line on a terminal."""
    _run_import("customers", import_customers, csv_file, "CUSTOMERS_IMPORT_BATCH_SIZE")


@customers_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Count who would go; change nothing.")
@click.option(
    "--customer",
    "numbers",
    multiple=True,
    metavar="NUMBER",
    help="A customer billing marked as gone: at once, whatever billing's files say (repeatable).",
)
def retention_command(dry_run: bool, numbers: tuple[str, ...]) -> None:
    """Remove the online account and the personal data of the customers billing's
    customers files have not carried for CUSTOMERS_RETENTION_DAYS (README, "Retention"),
    or of the customers named by --customer. Invoices, payments and consent records stay.
    Safe to run again: those already done are not counted. Prints counts, never who."""
    days = current_app.config["CUSTOMERS_RETENTION_DAYS"]
    if not days and not numbers:
        click.echo(
            "retention is off (CUSTOMERS_RETENTION_DAYS is 0, the default): nothing removed. "
            "Once billing's customers files are full (every current customer in each file), "
            'switch it on with FLASK_CUSTOMERS_RETENTION_DAYS=90 (README, "Retention")'
        )
        return
    wanted = [_customer_number(number) for number in numbers]
    lift_time_bounds()
    try:
        report = retention.apply_retention(days, numbers=wanted, dry_run=dry_run)
    except SQLAlchemyError as problem:
        raise click.ClickException(escaped_for_terminal(database_problem(problem))) from None
    why = "named by --customer" if numbers else f"absent from billing's files for over {days} days"
    if dry_run:
        click.echo(
            f"would remove ({why}): personal data of {report.customers} customers, "
            f"{report.accounts} online accounts"
        )
    else:
        click.echo(
            f"removed ({why}): personal data of {report.customers} customers, "
            f"{report.accounts} online accounts, {report.contact_changes} contact changes' "
            f"values, {report.messages} waiting messages"
        )


def _customer_number(typed: str) -> str:
    """A --customer value as billing writes it; one that is no number stops the command
    before anything is removed."""
    number = normalize_customer_number(typed.strip())
    if customer_number_problem(number):
        raise click.BadParameter(
            f"{escaped_for_terminal(repr(typed))} is not a customer number "
            f"(1 to {CUSTOMER_NUMBER_MAX_DIGITS} digits)",
            param_hint="--customer",
        )
    return number


@invoices_cli.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
def import_invoices_command(folder: str) -> None:
    """Import new invoices from FOLDER/invoices.csv and its PDFs; update paid_on of known
    ones. Exits with 1 when any row was rejected.

    Columns: customer_number,invoice_number,issue_date,period_from,period_to,due_date,
    gross_amount,currency,paid_on,pdf_file. Running it twice changes nothing; stopped
    halfway, it keeps what it committed. New-invoice e-mails go into the outbox."""
    report = _run_import("invoices", import_invoices, folder, "INVOICES_IMPORT_BATCH_SIZE")
    if report.rejected:
        sys.exit(1)


@backup_cli.command("create")
@click.argument("destination", type=click.Path(file_okay=False))
def backup_create_command(destination: str) -> None:
    """Back up the database and the invoice archive into a new folder in DESTINATION
    (strefa-klienta-STAMP/, with SHA256SUMS), while the portal keeps running."""
    lift_time_bounds()  # a dump may take longer than a page's statement timeout
    try:
        summary = backup.create(destination)
    except backup.BackupFailed as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(f"backed up: {summary.database} and {summary.pdfs} invoice PDFs in {summary.path}")


@backup_cli.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.confirmation_option(
    prompt="Replace the whole database with the backup's? Stop the web app and the workers first"
)
def backup_restore_command(source: str) -> None:
    """Restore the backup in SOURCE: the database replaced by its copy, its invoice PDFs
    put back into the archive. Checks every file against SHA256SUMS first."""
    lift_time_bounds()
    try:
        summary = backup.restore(source)
    except backup.BackupFailed as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(f"restored: {summary.database} and {summary.pdfs} invoice PDFs from {summary.path}")


@billing_cli.command("import-folder")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
def import_folder_command(folder: str) -> None:
    """Import what billing dropped in FOLDER: customers/*.csv, then invoices/*/ (each an
    invoices folder), in name order; move each aside to done/ (or failed/, with rejected
    lines or refused) beside its report. Names starting with "." are still being written.

    Never two runs at once (FOLDER/.lock): a run that finds the lock taken does nothing.
    Exits with 1 when anything went to failed/ or an import stopped partway (it resumes
    next run)."""
    lift_time_bounds()  # a batch may take longer than a page's statement timeout
    result = drop_folder.run(folder)
    if result.locked_out:
        click.echo(f"skipped: another import is running (it holds {folder}/.lock)")
        return
    for item in result.processed:
        click.echo(f"{item.kind} {escaped_for_terminal(item.name)}: {item.outcome.value}")
        click.echo(f"  {escaped_for_terminal(item.report_path.read_text().splitlines()[1])}")
    if not result.processed:
        click.echo("nothing to import")
    if result.failed:
        sys.exit(1)


def _run_import(
    what: str, importer: Callable[..., ImportReport], source: str, batch_size_key: str
) -> ImportReport:
    """Runs an import with its progress line; a refused file or a database error is one
    line, never a traceback with the rows' personal data. Prints and returns the report;
    an import that stopped partway prints the report of what it committed, then why it
    stopped, and exits with 1."""
    lift_time_bounds()  # a batch may take longer than a page's statement timeout
    _exit_without_collecting()
    try:
        with ProgressLine(what) as progress:
            report = importer(source, current_app.config[batch_size_key], on_progress=progress.show)
    except ImportRefused as problem:
        raise click.ClickException(escaped_for_terminal(str(problem))) from None
    except ImportStopped as stopped:
        _print_report(stopped.report, customers=what == "customers")
        raise click.ClickException(escaped_for_terminal(str(stopped))) from None
    except SQLAlchemyError as problem:
        raise click.ClickException(escaped_for_terminal(database_problem(problem))) from None
    _print_report(report, customers=what == "customers")
    return report


def _exit_without_collecting() -> None:
    """The command's process ends with the command. As Python exits, its collector would
    walk every object of the app and the import again, several times over (0.3 s, a fifth
    of a 20 000-row import); frozen at exit, they are left for the operating system to
    free with the rest of the process. Freezing only stops the collector: every exit
    handler still runs, and files and connections are still closed. Registered once,
    however many imports a process runs."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def _print_report(report: ImportReport, *, customers: bool = False) -> None:
    """The counts (a customers import: with the rows whose contact changed in Strefa Klienta
    it kept, when there are any), then each rejected line; a reason may quote the file, so control
    characters are shown escaped."""
    click.echo(
        f"added: {report.added}, updated: {report.updated}, "
        f"unchanged: {report.unchanged}, rejected: {len(report.rejected)}"
    )
    if customers and report.kept_portal_contact:
        click.echo(
            f"kept the contact changed in Strefa Klienta (not in the file yet): "
            f"{report.kept_portal_contact}"
        )
    for line, reason in report.rejected:
        click.echo(f"  line {line}: {escaped_for_terminal(reason)}")


@demo_cli.command("seed")
def seed_command() -> None:
    """Add the demo customers and print them with their contact data."""
    if not development_mode(current_app):
        raise click.ClickException(
            "demo seed adds an account with a published password: it runs only in "
            "development (FLASK_DEBUG=1 flask --app app demo seed), never in production."
        )
    click.echo("Demo customers (log in or register with the customer number):")
    customers = seed_demo_customers()
    for number, first, last, email, phone, _, shows in customers:
        click.echo(
            f"  {number}  {first + ' ' + last:<18} e-mail: {email or '-':<26} "
            f"phone: {phone or '-':<13} {shows}"
        )
    from ebok.invoices.demo import seed_demo_invoices  # fpdf2, loaded only here

    names = [(number, f"{first} {last}") for number, first, last, *_ in customers]
    try:
        report = seed_demo_invoices(names)
    except MissingFonts as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(
        f"Demo invoices with PDFs: {report.added} added, {report.unchanged} already there "
        "(the latest of each customer due, the one before overdue, the rest paid)"
    )


@outbox_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running as a worker.")
@click.option(
    "--interval",
    type=float,
    default=None,
    help="Seconds between looks for new messages with --loop [OUTBOX_POLL_INTERVAL].",
)
@click.option(
    "--batch", default=100, show_default=True, help="Messages of each channel claimed at a time."
)
def deliver_command(loop: bool, interval: float | None, batch: int) -> None:
    """Deliver pending messages, retrying failures with backoff."""
    if interval is None:
        interval = float(current_app.config["OUTBOX_POLL_INTERVAL"])
    totals = run_worker(
        loop=loop,
        interval=interval,
        limit=batch,
        report=lambda counts: click.echo(counts),
        chores=(forget_expired_sessions,),
    )
    click.echo(f"total: {totals}")


@outbox_cli.command("status")
def status_command() -> None:
    """Count messages by state, show how long the oldest pending one has waited, and the
    latest given-up messages with why (refused for good, or attempts used up)."""
    report = summary()
    click.echo(", ".join(f"{status} {count}" for status, count in report.counts.items()))
    if report.oldest_pending is None:
        click.echo("oldest pending: none")
    else:
        waited = int((utcnow() - report.oldest_pending).total_seconds())
        click.echo(f"oldest pending: {waited} s")
    if report.failed_because:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(report.failed_because.items()))
        click.echo(f"failed because: {reasons}")
    for message in report.latest_failed:
        click.echo(
            f"  failed #{message.id} {message.channel} to {message.masked_recipient}, "
            f"{message.failed_because or 'attempts'}: {message.last_error or '-'}"
        )


class SinceType(click.ParamType):
    """A UTC time (2026-11-30T06:00) or an age back from now (90m, 6h, 2d)."""

    name = "since"
    units = {"m": "minutes", "h": "hours", "d": "days"}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        amount, unit = value[:-1], value[-1:]
        if unit in self.units and amount.isdigit():
            return utcnow() - timedelta(**{self.units[unit]: int(amount)})
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is neither a time (2026-11-30T06:00) nor an age (90m, 6h, 2d)")
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.replace(tzinfo=None)  # the outbox keeps naive UTC times


@outbox_cli.command("retry")
@click.option("--failed", "include_failed", is_flag=True, help="Also messages given up on.")
@click.option("--since", type=SinceType(), help="Only messages written since (UTC) or age.")
def retry_command(include_failed: bool, since: datetime | None) -> None:
    """Make waiting messages due now; with --failed, also those given up on.

    Links and notices are sent again; codes and links that were superseded, used or
    have expired are marked stale instead.
    """
    result = requeue(include_failed, since)
    click.echo(f"retrying: {result.retrying}, stale (not sent): {result.stale}")


@payments_cli.command("export")
@click.option("--since", type=SinceType(), required=True, help="Paid since (UTC) or age.")
def payments_export_command(since: datetime) -> None:
    """Write billing's CSV of the payments made since (to standard output)."""
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        (
            "payment_id",
            "order_id",
            "customer_number",
            "invoice_numbers",
            "amount",
            "currency",
            "paid_at",
        )
    )
    for row in payments.paid_since(since):
        writer.writerow(
            (
                row.payment_id,
                row.order_id or "",
                row.customer_number,
                row.invoice_numbers,
                row.amount,
                row.currency,
                row.paid_at,
            )
        )


@payments_cli.command("reconcile")
def payments_reconcile_command() -> None:
    """Ask the provider about payments left waiting past its time limit: a lost
    notification is verified (paid), a payment nobody made is marked abandoned."""
    provider = provider_for(current_app.config)
    if provider is None:
        raise click.ClickException("FLASK_PAYMENTS_PROVIDER is not set: no payments online.")
    result = payments.reconcile(provider)
    click.echo(
        f"{result.paid} paid, {result.abandoned} abandoned, "
        f"{result.unavailable} not answered (tried again next run)"
    )
    if result.unavailable:
        sys.exit(1)


@payments_cli.command("status")
def payments_status_command() -> None:
    """Count payments by state, and those waiting past the provider's time limit (run
    `payments reconcile` for them)."""
    counts = payments.counts()
    click.echo(", ".join(f"{state} {count}" for state, count in counts.items()))
    click.echo(f"waiting past the time limit: {payments.overdue_count()}")


@einvoice_cli.command("export")
@click.option(
    "--since",
    type=SinceType(),
    required=True,
    help="Changes recorded since (UTC: 2026-11-30 or 2026-11-30T06:00) or an age (2d).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (complete or not at all: written aside, then renamed).",
)
def einvoice_export_command(since: datetime, output: str | None) -> None:
    """Write billing's CSV of e-Faktura activations, address changes and withdrawals
    recorded since, oldest first, to standard output:
    consent_id,customer_number,event,delivery,email,terms_version,source,recorded_at.

    `delivery` is what the customer has from then on: electronic (to `email`) or paper.
    Exporting an overlapping period repeats rows; billing keeps the last per customer
    (or skips consent_ids it has seen)."""
    if output is None:
        billing_export.write_csv(since, sys.stdout)
        return
    partial = f"{output}.part"
    with open(partial, "w", encoding="utf-8", newline="") as file:
        count = billing_export.write_csv(since, file)
    os.replace(partial, output)
    click.echo(f"exported: {count} to {output}")


class ProgressLine:
    """Lines done, rate and time left, redrawn in place on a terminal (click's progress
    bar); nothing at all when the output is a file or a pipe."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.bar: Any = None  # a click progress bar, made when first shown on a terminal
        self.done = 0
        self.started = time.monotonic()

    def __enter__(self) -> "ProgressLine":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.render_finish()

    def show(self, done: int, total: int) -> None:
        if not sys.stdout.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=total,
                label=f"Importing {self.what}",
                show_eta=True,
                show_pos=True,
                item_show_func=lambda rate: rate and f"{rate:,.0f} lines/s",
            )
        rate = done / max(time.monotonic() - self.started, 1e-6)
        self.bar.update(done - self.done, current_item=rate)
        self.done = done


def database_problem(error: SQLAlchemyError) -> str:
    """The database's own first line, without SQLAlchemy's dump of the statement and its
    parameters (they would print customers' personal data)."""
    cause = getattr(error, "orig", None) or error
    first_line = next(iter(str(cause).strip().splitlines()), "")
    return (
        f"the database failed ({type(cause).__name__}: {first_line}); what was committed "
        "before stays, and running the command again resumes"
    )


@contacts_cli.command("export")
@click.option(
    "--since",
    type=SinceType(),
    required=True,
    help="Changes made since (UTC: 2026-12-01, 2026-12-01T06:00) or an age (90m, 6h, 2d).",
)
def contacts_export_command(since: datetime) -> None:
    """Write the contact changes made since SINCE as CSV for billing, to standard output:
    customer_number,field,old_value,new_value,changed_at (field is email or phone,
    changed_at UTC in ISO 8601). A later customers import keeps each new value until
    billing's file carries it."""
    write_csv(contact_changes.EXPORT_HEADER, contact_changes.export_rows(since))


@consents_cli.command("export")
@click.option(
    "--since",
    type=SinceType(),
    required=True,
    help="Changes recorded since (UTC: 2026-12-01, 2026-12-01T06:00) or an age (90m, 6h, 2d).",
)
def consents_export_command(since: datetime) -> None:
    """Write the marketing consents given or withdrawn since SINCE as CSV for billing, to
    standard output: customer_number,channel,granted,wording_version,source,recorded_at
    (channel is email, sms or phone; granted yes or no; recorded_at UTC in ISO 8601)."""
    write_csv(consents.EXPORT_HEADER, consents.export_rows(since))


def write_csv(header: list[str], rows: Iterable[Sequence[object]]) -> None:
    """CSV to standard output, streamed, with the header first."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


class _Migrations(click.Group):
    """`flask db`: Flask-Migrate's commands, bound to the app when one of them is looked
    up. Flask-Migrate loads Alembic (11 MB in each web worker, which never migrates), so
    only the command line loads it."""

    def _commands(self, ctx: click.Context) -> click.Group:
        from flask_migrate import Migrate
        from flask_migrate.cli import db as commands

        app = ctx.ensure_object(ScriptInfo).load_app()
        if "migrate" not in app.extensions:
            from ebok import RESOURCES
            from ebok.extensions import db

            Migrate(app, db, directory=str(RESOURCES / "migrations"))
        return commands

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        commands = self._commands(ctx)  # its options (--directory, --x-arg), what sets them
        self.params, self.callback = commands.params, commands.callback
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._commands(ctx).list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._commands(ctx).get_command(ctx, name)


def register_commands(app: Flask) -> None:
    app.cli.add_command(_Migrations("db", help="Database migrations (Flask-Migrate)."))
    app.cli.add_command(consents_cli)
    app.cli.add_command(contacts_cli)
    app.cli.add_command(customers_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(invoices_cli)
    app.cli.add_command(einvoice_cli)
    app.cli.add_command(billing_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(payments_cli)
