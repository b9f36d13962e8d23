"""Operator commands: python -m booking --help"""

from __future__ import annotations

import sys

import typer

from booking.core.config import SettingsError, get_settings

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
    from booking.core import migrations

    migrations.upgrade(get_settings().database_url)


@cli.command("seed-demo")
def seed_demo() -> None:
    """Insert demo builders, session types and availability when the database has none; on the Stripe
    emulator (no real key) also the demo sign-ins."""
    from booking.core.db import session_scope
    from booking.ops.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo_accounts
    from booking.ops.demo import seed_demo as seed

    with session_scope() as session:
        seeded = seed(session=session)
    typer.echo("demo data seeded" if seeded else "database already has builders; demo data skipped")
    if not get_settings().uses_emulator:
        from booking.ops.demo import retire_demo_accounts

        with session_scope() as session:
            retired = retire_demo_accounts(session=session)
        typer.echo("real Stripe key set: no demo sign-ins" + (f" ({retired} switched off)" if retired else ""))
        return
    with session_scope() as session:
        seed_demo_accounts(session=session)
    typer.echo(f"demo sign-ins (password {DEMO_PASSWORD}): " + ", ".join(email for email, _ in DEMO_ACCOUNTS))


def _read_password() -> str:
    """From a hidden prompt on a terminal, else the first line of stdin: never from an argument."""
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")


@cli.command("create-builder")
def create_builder(
    email: str = typer.Option(..., help="Sign-in email (also where booking emails go)."),
    name: str = typer.Option(..., help="Public name."),
    slug: str = typer.Option(..., help="Public page /b/<slug>."),
    time_zone: str = typer.Option("UTC", help="IANA zone of the builder's hours, e.g. Europe/London."),
) -> None:
    """Create a builder and their sign-in. The password is read from a prompt or stdin."""
    from booking.accounts.users import AccountError, create_user
    from booking.core.db import session_scope
    from booking.core.models import Builder, UserRole
    from booking.scheduling.availability import load_zone

    try:
        load_zone(time_zone)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    password = _read_password()
    try:
        with session_scope() as session:
            builder = Builder(name=name.strip(), slug=slug.strip().lower(), email=email.strip().lower(),
                              time_zone=time_zone)
            session.add(builder)
            session.flush()
            create_user(session=session, email=email, password=password, role=UserRole.BUILDER,
                        builder_id=builder.id)
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # e.g. the slug is taken (unique constraint)
        typer.echo(f"error: could not create the builder ({type(exc).__name__}); is the slug taken?", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"builder {slug} created; sign in at /admin/login as {email.strip().lower()}")


@cli.command("create-admin")
def create_admin(email: str = typer.Option(..., help="Sign-in email.")) -> None:
    """Create a platform admin. The password is read from a prompt or stdin."""
    from booking.accounts.users import AccountError, create_user
    from booking.core.db import session_scope
    from booking.core.models import UserRole

    password = _read_password()
    try:
        with session_scope() as session:
            create_user(session=session, email=email, password=password, role=UserRole.ADMIN)
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"admin {email.strip().lower()} created")


@cli.command("replay-event")
def replay_event(event_id: str) -> None:
    """Run a stored webhook event's handler again (after fixing what made it fail)."""
    from booking.core.db import get_engine
    from booking.events.webhooks import replay_event as replay
    from booking.payments.gateway import gateway_from_settings

    typer.echo(replay(engine=get_engine(), gateway=gateway_from_settings(get_settings()), event_id=event_id))


@cli.command()
def reconcile(since: str = typer.Option("7d", help="How far back to look: Nd, Nh or Nm (e.g. 7d, 12h, 30m).")) -> None:
    """Compare Stripe with the database over a recent window: apply every event never processed here
    (through the webhook handlers), settle pending bookings, and print the counts and the mismatches.
    Exits 3 when something still disagrees or an event failed (for cron), 0 when all agrees."""
    from booking.core.db import get_engine
    from booking.events.reconcile import format_report, parse_since
    from booking.events.reconcile import reconcile as run
    from booking.payments.gateway import PaymentProviderError, gateway_from_settings

    try:
        window = parse_since(since)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        report = run(engine=get_engine(), gateway=gateway_from_settings(get_settings()), since=window)
    except PaymentProviderError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(format_report(report))
    if report.mismatches or report.events_failed:
        raise typer.Exit(3)


@cli.command("send-mail")
def send_mail() -> None:
    """Send every due email in the outbox once (the app's worker does this every few seconds)."""
    from booking.core.db import get_engine
    from booking.notifications.mailer import mailer_from_settings
    from booking.notifications.outbox import send_due_notifications

    report = send_due_notifications(engine=get_engine(), mailer=mailer_from_settings(get_settings()))
    typer.echo(str(report))


@cli.command("sync-stripe-catalog")
def sync_stripe_catalog() -> None:
    """Make every session type a Stripe Product with one active Price, and every promotion code a Coupon with its
    Promotion Code (creates what is missing; idempotent)."""
    from booking.core.db import get_engine
    from booking.payments.gateway import PaymentProviderError, gateway_from_settings
    from booking.workspace.session_types import sync_catalog

    try:
        report = sync_catalog(engine=get_engine(), gateway=gateway_from_settings(get_settings()))
    except PaymentProviderError as exc:  # no key, or Stripe unreachable before the first type
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(report.summary())
    from booking.payments.promotions import sync_pending_codes  # promotion codes: a Coupon + Promotion Code each

    synced, failed = sync_pending_codes(engine=get_engine(), gateway=gateway_from_settings(get_settings()))
    typer.echo(f"{synced} promotion codes synced; {len(failed)} failed" + (f" ({failed[0]})" if failed else ""))
    from booking.payments.memberships import sync_plans

    try:
        typer.echo(f"membership plans synced: {sync_plans(engine=get_engine(), gateway=gateway_from_settings(get_settings()))}")
    except PaymentProviderError as exc:
        typer.echo(f"error: membership plans: {exc}", err=True)
        raise typer.Exit(1) from None
    if report.failed or failed:
        raise typer.Exit(1)


def main() -> None:
    try:
        cli()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
