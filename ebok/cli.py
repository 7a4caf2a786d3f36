"""Operators' commands (SPEC §8.1), on Flask's own CLI: flask --app app ..."""

from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ebok.customers import import_customers, seed_demo_customers
from ebok.messages import requeue, run_worker, summary
from ebok.models import utcnow

customers_cli = AppGroup("customers", help="Customers from the billing system.")
demo_cli = AppGroup("demo", help="Demo data for development.")
outbox_cli = AppGroup("outbox", help="E-mails and SMS messages waiting to be sent.")


@customers_cli.command("import")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
def import_command(csv_file):
    """Import or update customers from CSV_FILE
    (customer_number,first_name,last_name,email,phone)."""
    try:
        report = import_customers(csv_file)
    except ValueError as problem:
        raise click.ClickException(str(problem)) from problem
    click.echo(
        f"added: {report.added}, updated: {report.updated}, "
        f"unchanged: {report.unchanged}, rejected: {len(report.rejected)}"
    )
    for line, reason in report.rejected:
        click.echo(f"  line {line}: {reason}")


@demo_cli.command("seed")
def seed_command():
    """Add the demo customers and print them with their contact data."""
    click.echo("Demo customers (log in or register with the customer number):")
    for number, first, last, email, phone, _, shows in seed_demo_customers():
        click.echo(
            f"  {number}  {first + ' ' + last:<18} e-mail: {email or '-':<26} "
            f"phone: {phone or '-':<13} {shows}"
        )


@outbox_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running as a worker.")
@click.option(
    "--interval",
    type=float,
    default=None,
    help="Seconds between looks for new messages with --loop [OUTBOX_POLL_INTERVAL].",
)
@click.option("--batch", default=100, show_default=True, help="Messages claimed at a time.")
def deliver_command(loop, interval, batch):
    """Deliver pending messages, retrying failures with backoff."""
    if interval is None:
        interval = float(current_app.config["OUTBOX_POLL_INTERVAL"])
    totals = run_worker(
        loop=loop, interval=interval, limit=batch, report=lambda counts: click.echo(counts)
    )
    click.echo(f"total: {totals}")


@outbox_cli.command("status")
def status_command():
    """Count messages by state and show how long the oldest pending one has waited."""
    report = summary()
    click.echo(", ".join(f"{status} {count}" for status, count in report.counts.items()))
    if report.oldest_pending is None:
        click.echo("oldest pending: none")
    else:
        waited = int((utcnow() - report.oldest_pending).total_seconds())
        click.echo(f"oldest pending: {waited} s")


class SinceType(click.ParamType):
    """A UTC time (2026-11-30T06:00) or an age back from now (90m, 6h, 2d)."""

    name = "since"
    units = {"m": "minutes", "h": "hours", "d": "days"}

    def convert(self, value, param, ctx):
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
def retry_command(include_failed, since):
    """Make waiting messages due now; with --failed, also those given up on.

    Links and notices are sent again; codes and links that were superseded, used or
    have expired are marked stale instead.
    """
    result = requeue(include_failed, since)
    click.echo(f"retrying: {result.retrying}, stale (not sent): {result.stale}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(customers_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(outbox_cli)
