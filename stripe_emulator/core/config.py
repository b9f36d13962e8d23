"""Emulator settings: one immutable-ish dataclass, parsed from the command line or built by tests."""

from __future__ import annotations

import argparse
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from stripe_emulator.core import fees

API_VERSION = "2026-10-28.endive"
DEFAULT_BUSINESS_NAME = "Stripe emulator"
DEFAULT_STATE_FILE = "var/stripe_emulator.sqlite3"
DEFAULT_RETRY_SCHEDULE = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
DEFAULT_WEBHOOK_SECRET = "whsec_emulator"
# The webhook secret comes from this variable or from --webhook-secret-file, never the command line (`ps`).
WEBHOOK_SECRET_ENV = "STRIPE_WEBHOOK_SECRET"
DEFAULT_CONNECT_WEBHOOK_SECRET = "whsec_emulator_connect"
CONNECT_WEBHOOK_SECRET_ENV = "STRIPE_CONNECT_WEBHOOK_SECRET"


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 12111
    public_url: str | None = None
    webhook_url: str | None = None
    # Secrets are excluded from repr so they never end up in logs or tracebacks.
    webhook_secret: str = field(default=DEFAULT_WEBHOOK_SECRET, repr=False)
    # The Connect endpoint (optional): events of connected accounts go there instead, with its own secret.
    connect_webhook_url: str | None = None
    connect_webhook_secret: str = field(default=DEFAULT_CONNECT_WEBHOOK_SECRET, repr=False)
    api_key: str | None = field(default=None, repr=False)
    state_file: str = DEFAULT_STATE_FILE
    test_mode: bool = False
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    expiry_interval: float = 5.0
    webhook_timeout: float = 10.0
    api_version: str = API_VERSION
    # The merchant shown on hosted pages (the app passes its PLATFORM_NAME).
    business_name: str = DEFAULT_BUSINESS_NAME
    # Stripe's processing fee of each charge (core/fees.py): $STRIPE_EMULATOR_COUNTRY's standard pricing,
    # or the JSON schedule in $STRIPE_EMULATOR_FEES.
    fee_schedule: fees.FeeSchedule = field(default_factory=fees.from_environment)
    # Stripe's dispute fee by currency (minor units), over the defaults in `core/disputes.py`.
    dispute_fees: dict[str, int] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """Where the hosted pages live: --public-url, else the bound host and port."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


def parse_retry_schedule(text: str) -> tuple[float, ...]:
    """'1,2,4.5' -> (1.0, 2.0, 4.5); '' -> () meaning a single attempt, no retries."""
    text = text.strip()
    if not text:
        return ()
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid retry schedule {text!r}: {exc}") from exc
    if any(value < 0 for value in values):
        raise argparse.ArgumentTypeError("retry delays must be >= 0")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator",
        description="Local Stripe API emulator (checkout sessions, payments, refunds, Connect, "
        "payouts, webhooks).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=12111, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--public-url",
        default=None,
        help="base URL browsers use to reach the emulator (default http://HOST:PORT)",
    )
    parser.add_argument("--webhook-url", default=None, help="endpoint that receives events (optional)")
    parser.add_argument(
        "--webhook-secret-file",
        default=None,
        help=f"file holding the whsec_... signing secret (mode 0600); else ${WEBHOOK_SECRET_ENV}, "
        f"else {DEFAULT_WEBHOOK_SECRET}",
    )
    parser.add_argument(
        "--connect-webhook-url",
        default=None,
        help="Connect endpoint: receives the events of connected accounts (optional; needs --webhook-url)",
    )
    parser.add_argument(
        "--connect-webhook-secret-file",
        default=None,
        help=f"file holding the Connect endpoint's whsec_... secret (mode 0600); else "
        f"${CONNECT_WEBHOOK_SECRET_ENV}, else {DEFAULT_CONNECT_WEBHOOK_SECRET}",
    )
    # Gone: anyone on the machine reads a process's arguments (`ps`). Kept only to say so.
    parser.add_argument("--webhook-secret", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--api-key", default=None, help="only accept this secret key (default: any sk_test_ key)"
    )
    parser.add_argument(
        "--state-file",
        default=DEFAULT_STATE_FILE,
        help=f"SQLite file holding the state (default {DEFAULT_STATE_FILE}; ':memory:' for none)",
    )
    parser.add_argument(
        "--test-mode", action="store_true", help="enable the /_emulator/ control API"
    )
    parser.add_argument(
        "--retry-schedule",
        type=parse_retry_schedule,
        default=DEFAULT_RETRY_SCHEDULE,
        help="comma-separated seconds between webhook retries (default 1,2,4,8,16,32)",
    )
    parser.add_argument(
        "--expiry-interval",
        type=float,
        default=5.0,
        help="seconds between checks for expired checkout sessions (default 5)",
    )
    parser.add_argument(
        "--webhook-timeout", type=float, default=10.0, help="seconds per delivery attempt"
    )
    parser.add_argument(
        "--business-name",
        default=DEFAULT_BUSINESS_NAME,
        help=f"merchant name shown on hosted checkout and onboarding pages (default {DEFAULT_BUSINESS_NAME!r})",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--access-log", action="store_true", help="log every HTTP request")
    return parser


def webhook_secret_from(args: argparse.Namespace, environ: dict[str, str] | None = None) -> str:
    """--webhook-secret-file (readable by its owner only), else $STRIPE_WEBHOOK_SECRET, else the default."""
    if args.webhook_secret is not None:
        raise SystemExit(
            "stripe_emulator: --webhook-secret is no longer accepted (`ps` shows it to every user); "
            f"set {WEBHOOK_SECRET_ENV} or pass --webhook-secret-file"
        )
    if args.webhook_secret_file:
        return read_secret_file(Path(args.webhook_secret_file))
    environ = os.environ if environ is None else environ
    return environ.get(WEBHOOK_SECRET_ENV, "").split(",")[0].strip() or DEFAULT_WEBHOOK_SECRET


def connect_webhook_secret_from(args: argparse.Namespace, environ: dict[str, str] | None = None) -> str:
    """--connect-webhook-secret-file, else $STRIPE_CONNECT_WEBHOOK_SECRET, else the default."""
    if getattr(args, "connect_webhook_secret_file", None):
        return read_secret_file(Path(args.connect_webhook_secret_file))
    environ = os.environ if environ is None else environ
    value = environ.get(CONNECT_WEBHOOK_SECRET_ENV, "").split(",")[0].strip()
    return value or DEFAULT_CONNECT_WEBHOOK_SECRET


def read_secret_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as exc:
        raise SystemExit(f"stripe_emulator: cannot read the webhook secret file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SystemExit(f"stripe_emulator: {path} is readable by others; chmod 600 it")
    secret = text.strip()
    if not secret.startswith("whsec_"):
        raise SystemExit(f"stripe_emulator: {path} does not hold a whsec_... secret")
    return secret


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    try:
        schedule = fees.from_environment()
    except ValueError as exc:
        raise SystemExit(f"stripe_emulator: {exc}") from None
    return EmulatorConfig(
        fee_schedule=schedule,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        webhook_url=args.webhook_url or None,
        webhook_secret=webhook_secret_from(args),
        connect_webhook_url=getattr(args, "connect_webhook_url", None) or None,
        connect_webhook_secret=connect_webhook_secret_from(args),
        api_key=args.api_key,
        state_file=args.state_file,
        test_mode=args.test_mode,
        retry_schedule=tuple(args.retry_schedule),
        expiry_interval=args.expiry_interval,
        webhook_timeout=args.webhook_timeout,
        business_name=args.business_name,
    )
