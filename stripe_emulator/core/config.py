"""Emulator settings: one immutable-ish dataclass, parsed from the command line or built by tests."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

API_VERSION = "2026-10-28.endive"
DEFAULT_BUSINESS_NAME = "Stripe emulator"
DEFAULT_STATE_FILE = "var/stripe_emulator.sqlite3"
DEFAULT_RETRY_SCHEDULE = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 12111
    public_url: str | None = None
    webhook_url: str | None = None
    # Secrets are excluded from repr so they never end up in logs or tracebacks.
    webhook_secret: str = field(default="whsec_emulator", repr=False)
    api_key: str | None = field(default=None, repr=False)
    state_file: str = DEFAULT_STATE_FILE
    test_mode: bool = False
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    expiry_interval: float = 5.0
    webhook_timeout: float = 10.0
    api_version: str = API_VERSION
    # The merchant shown on hosted pages (the app passes its PLATFORM_NAME).
    business_name: str = DEFAULT_BUSINESS_NAME

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
    parser.add_argument("--webhook-secret", default="whsec_emulator", help="whsec_... signing secret")
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


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        webhook_url=args.webhook_url or None,
        webhook_secret=args.webhook_secret,
        api_key=args.api_key,
        state_file=args.state_file,
        test_mode=args.test_mode,
        retry_schedule=tuple(args.retry_schedule),
        expiry_interval=args.expiry_interval,
        webhook_timeout=args.webhook_timeout,
        business_name=args.business_name,
    )
