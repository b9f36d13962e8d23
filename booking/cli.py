"""Operator commands: python -m booking.cli --help"""

from __future__ import annotations

import sys

import typer

from booking.config import SettingsError, get_settings

cli = typer.Typer(no_args_is_help=True, add_completion=False)


@cli.command("check-settings")
def check_settings() -> None:
    """Fail with a message naming the setting when one is missing or malformed."""
    try:
        settings = get_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    mode = "Stripe at " + (settings.stripe_api_base or "api.stripe.com") if settings.stripe_secret_key else "no Stripe key"
    typer.echo(f"settings ok ({'SQLite' if settings.is_sqlite else 'PostgreSQL'}; {mode})")


@cli.command()
def migrate() -> None:
    """Apply every Alembic migration (alembic upgrade head)."""
    from booking import migrations

    migrations.upgrade(get_settings().database_url)


@cli.command("seed-demo")
def seed_demo() -> None:
    """Insert demo builders, session types and availability when the database has none."""
    from booking.db import session_scope
    from booking.demo import seed_demo as seed

    with session_scope() as session:
        seeded = seed(session=session)
    typer.echo("demo data seeded" if seeded else "database already has builders; demo data skipped")


def main() -> None:
    try:
        cli()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
