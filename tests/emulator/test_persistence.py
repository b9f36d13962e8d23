"""State survives restarts (same SQLite file), in-process and as `python -m stripe_emulator`."""

from __future__ import annotations

from pathlib import Path

import stripe

from stripe_emulator.testing import EmulatorProcess, EmulatorServer
from tests.emulator.helpers import WEBHOOK_SECRET, WebhookReceiver

LINE_ITEMS = [{"quantity": 1, "price_data": {"currency": "gbp", "unit_amount": 5000, "product_data": {"name": "Room"}}}]


def test_restart_keeps_sessions_payments_events_and_clock(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite3")
    with EmulatorServer(state_file=state) as first:
        assert first.emulator is not None
        client = first.client()
        open_session = client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": "http://127.0.0.1/s", "line_items": LINE_ITEMS}
        )
        paid_session = client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": "http://127.0.0.1/s", "line_items": LINE_ITEMS},
            options={"idempotency_key": "persist-me"},
        )
        result = first.emulator.pay(
            paid_session.id, email="a@b.co", name="A B", number="4242424242424242", expiry="12/40", cvc="123"
        )
        assert result.status == "succeeded"
        first.emulator.advance_clock(120)
        event_count = len(client.v1.events.list().data)
    with EmulatorServer(state_file=state) as second:
        assert second.emulator is not None
        client = second.client()
        assert client.v1.checkout.sessions.retrieve(open_session.id).status == "open"
        restored = client.v1.checkout.sessions.retrieve(paid_session.id, params={"expand": ["payment_intent"]})
        assert restored.status == "complete" and restored.payment_intent.status == "succeeded"
        assert len(client.v1.events.list().data) == event_count
        assert second.emulator.clock.offset == 120
        replay = client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": "http://127.0.0.1/s", "line_items": LINE_ITEMS},
            options={"idempotency_key": "persist-me"},
        )
        assert replay.id == paid_session.id


def test_undelivered_events_are_delivered_after_a_restart(tmp_path: Path, receiver: WebhookReceiver) -> None:
    state = str(tmp_path / "state.sqlite3")
    with EmulatorServer(
        state_file=state, webhook_url="http://127.0.0.1:9/down", webhook_secret=WEBHOOK_SECRET, retry_schedule=(60,)
    ) as first:
        assert first.emulator is not None
        first.emulator.create_product({"name": "Kept for later"})
        from tests.emulator.helpers import wait_until

        wait_until(lambda: first.emulator is not None and first.emulator.deliveries(), message="first attempt")
    with EmulatorServer(state_file=state, webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET):
        event = receiver.wait_for("product.created")[0]
        assert event["data"]["object"]["name"] == "Kept for later"


def test_cli_process_announces_port_persists_and_exits_cleanly_on_sigterm(tmp_path: Path, receiver: WebhookReceiver) -> None:
    state = str(tmp_path / "cli.sqlite3")
    common = {
        "state_file": state,
        "webhook_url": receiver.url,
        "webhook_secret": WEBHOOK_SECRET,
        "retry_schedule": "0.05,0.05",
        "public_url": "http://localhost:1234",
    }
    process = EmulatorProcess(**common).start()
    try:
        assert process.output[0].startswith("Stripe emulator listening on http://127.0.0.1:")
        assert process.url is not None
        client = stripe.StripeClient("sk_test_cli", base_addresses={"api": process.url}, max_network_retries=0)
        session = client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": receiver.base_url + "/s", "line_items": LINE_ITEMS}
        )
        assert session.url == f"http://localhost:1234/c/pay/{session.id}"
        result = process.control("POST", f"/_emulator/checkout/sessions/{session.id}/complete", {"card": "4242424242424242"})
        assert result["ok"] is True
        receiver.wait_for("checkout.session.completed")
    finally:
        returncode = process.stop()
    assert returncode == 0
    with EmulatorProcess(**common) as again:
        client = stripe.StripeClient("sk_test_cli", base_addresses={"api": again.url}, max_network_retries=0)
        assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"
    assert again.process is not None and again.process.returncode == 0
