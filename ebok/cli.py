"""Operators' commands (SPEC §8.1), on Flask's own CLI: flask --app app ..."""

import click
from flask import Flask
from flask.cli import AppGroup

from ebok.customers import import_customers, seed_demo_customers
from ebok.messages import run_worker

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
    "--interval", default=5.0, show_default=True, help="Seconds between rounds with --loop."
)
def deliver_command(loop, interval):
    """Deliver pending messages, retrying failures with backoff."""
    totals = run_worker(loop=loop, interval=interval, report=lambda counts: click.echo(counts))
    click.echo(f"total: {totals}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(customers_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(outbox_cli)
