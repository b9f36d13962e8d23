"""The emulator's dashboard and control API answer loopback clients only, and its webhook secret never sits
on its command line (anyone on the machine reads a process's arguments with `ps`)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from stripe_emulator.app import create_app
from stripe_emulator.core.config import EmulatorConfig, build_parser, webhook_secret_from
from stripe_emulator.testing import EmulatorProcess
from tests.emulator.helpers import WEBHOOK_SECRET, WebhookReceiver

LOCAL_ONLY = [("GET", "/"), ("GET", "/objects/prod_123"), ("GET", "/_emulator/clock"),
              ("GET", "/_emulator/deliveries"), ("POST", "/_emulator/reset"), ("POST", "/_emulator/clock/advance")]


def _answers(client_address: str, requests: list[tuple[str, str]]) -> list[int]:
    app = create_app(EmulatorConfig(state_file=":memory:", test_mode=True))
    try:
        http = TestClient(app, base_url="http://emulator.test", client=(client_address, 50123))
        return [http.request(method, path, auth=("sk_test_x", "")).status_code for method, path in requests]
    finally:
        app.state.emulator.close()


@pytest.mark.parametrize("address", ["192.0.2.10", "10.0.0.7", "::ffff:198.51.100.3", "2001:db8::1", "testclient"])
def test_dashboard_and_control_api_refuse_other_machines(address: str) -> None:
    assert _answers(address, LOCAL_ONLY) == [404] * len(LOCAL_ONLY)


def test_the_api_still_answers_other_machines() -> None:
    assert _answers("192.0.2.10", [("GET", "/v1/balance"), ("GET", "/healthz")]) == [200, 200]


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.9", "::1", "::ffff:127.0.0.1"])
def test_dashboard_and_control_api_answer_this_machine(address: str) -> None:
    assert _answers(address, [("GET", "/"), ("GET", "/_emulator/clock")]) == [200, 200]


def test_the_webhook_secret_is_not_on_the_command_line(receiver: WebhookReceiver) -> None:
    with EmulatorProcess(webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET) as process:
        assert process.process is not None
        command_line = Path(f"/proc/{process.process.pid}/cmdline").read_bytes()
        assert WEBHOOK_SECRET.encode() not in command_line
        process.control("POST", "/_emulator/reset")  # the control API from this machine
        assert process.url is not None
        with httpx.Client(base_url=process.url, auth=("sk_test_x", "")) as http:
            http.post("/v1/products", data={"name": "Signed"}).raise_for_status()
        event = receiver.wait_for("product.created")[0]  # the receiver verified WEBHOOK_SECRET's signature
        assert event["data"]["object"]["name"] == "Signed"


def test_the_secret_comes_from_a_private_file_or_the_environment(tmp_path: Path) -> None:
    parser = build_parser()
    secret_file = tmp_path / "webhook_secret"
    secret_file.write_text("whsec_from_file\n")
    os.chmod(secret_file, 0o600)
    from_file = parser.parse_args(["--webhook-secret-file", str(secret_file)])
    assert webhook_secret_from(from_file, {"STRIPE_WEBHOOK_SECRET": "whsec_env"}) == "whsec_from_file"
    assert webhook_secret_from(parser.parse_args([]), {"STRIPE_WEBHOOK_SECRET": "whsec_env,whsec_old"}) == "whsec_env"
    assert webhook_secret_from(parser.parse_args([]), {}) == "whsec_emulator"
    os.chmod(secret_file, 0o644)
    with pytest.raises(SystemExit, match="readable by others"):
        webhook_secret_from(from_file, {})


def test_the_old_flag_is_refused_with_a_reason() -> None:
    with pytest.raises(SystemExit, match="STRIPE_WEBHOOK_SECRET"):
        webhook_secret_from(build_parser().parse_args(["--webhook-secret", "whsec_visible"]), {})
