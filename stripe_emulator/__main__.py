"""`python -m stripe_emulator --port 12111 --webhook-url URL --test-mode` (the webhook secret:
$STRIPE_WEBHOOK_SECRET or --webhook-secret-file, never an argument: `ps` shows those)."""

from __future__ import annotations

import logging
import sys

from stripe_emulator.app import create_app
from stripe_emulator.core.config import build_parser, config_from_args
from stripe_emulator.server import bind_socket, uvicorn_server


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    config = config_from_args(args)
    try:
        sock = bind_socket(config.host, config.port)
    except OSError as exc:
        print(f"stripe_emulator: cannot bind {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    config.port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    logging.getLogger("stripe_emulator").info(
        "state=%s webhook_url=%s connect_webhook_url=%s test_mode=%s retry_schedule=%s public_url=%s",
        config.state_file,
        config.webhook_url or "(none: events are recorded, not delivered)",
        config.connect_webhook_url or "(none: connected accounts' events go to webhook_url)",
        config.test_mode,
        ",".join(f"{delay:g}" for delay in config.retry_schedule) or "(no retries)",
        config.base_url,
    )
    app = create_app(config)
    server = uvicorn_server(
        app,
        log_level=args.log_level,
        access_log=args.access_log,
        announce=f"Stripe emulator listening on http://{host}:{config.port}",
    )
    server.run(sockets=[sock])
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
