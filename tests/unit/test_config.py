"""Settings: what an operator sees when the environment (or `.env`) is right, and when it is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from booking.core.config import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Every variable Settings reads (aliases included): none may leak in from the developer's shell.
SETTING_NAMES = frozenset(
    {
        "DATABASE_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "PUBLIC_URL",
        "NEXT_PUBLIC_URL",
        "REDIS_URL",
        "SMTP_URL",
        "MAIL_DIR",
        "MAIL_FROM",
        "HOLD_MINUTES",
        "SWEEP_INTERVAL_SECONDS",
    }
    # populate_by_name: the field names are read too (pydantic-settings ignores case).
    | {name.upper() for name in Settings.model_fields}
)


def _is_setting(name: str) -> bool:
    return name.upper() in SETTING_NAMES


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting from the shell, and a working directory without a `.env`."""
    for name in list(os.environ):
        if _is_setting(name):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(**environment: str) -> str:
    """Load settings with `environment` set; return the SettingsError message (fail if none)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        with pytest.raises(SettingsError) as excinfo:
            load_settings()
    return str(excinfo.value)


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()

    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///booking.db"
    assert settings.is_sqlite
    assert settings.hold_minutes == 30
    assert settings.public_url == "http://localhost:3000"
    assert settings.stripe_secret_key is None
    assert settings.stripe_webhook_secret is None


# --- public URL -------------------------------------------------------------------------------


def test_public_url_is_read_and_trailing_slash_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://book.example.com/")

    assert load_settings().public_url == "https://book.example.com"


def test_next_public_url_is_accepted_as_an_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXT_PUBLIC_URL", "https://alias.example.com/")

    assert load_settings().public_url == "https://alias.example.com"


def test_public_url_wins_over_its_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://primary.example.com")
    monkeypatch.setenv("NEXT_PUBLIC_URL", "https://alias.example.com")

    assert load_settings().public_url == "https://primary.example.com"


def test_public_url_that_is_not_http_is_refused_by_name() -> None:
    assert "PUBLIC_URL" in refused(PUBLIC_URL="book.example.com")


def test_empty_public_url_never_leaves_the_app_without_a_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "")  # e.g. `PUBLIC_URL=` copied from a .env template

    try:
        settings = load_settings()
    except SettingsError as exc:  # refusing it by name is also acceptable
        assert "PUBLIC_URL" in str(exc)
        return
    assert isinstance(settings.public_url, str)
    assert settings.public_url.startswith(("http://", "https://"))


# --- hold minutes -----------------------------------------------------------------------------


def test_hold_minutes_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOLD_MINUTES", "45")

    assert load_settings().hold_minutes == 45


def test_hold_shorter_than_stripes_minimum_is_refused_by_name() -> None:
    message = refused(HOLD_MINUTES="29")

    assert "HOLD_MINUTES" in message
    assert "30" in message  # the operator learns the minimum


def test_non_integer_hold_minutes_is_refused_by_name() -> None:
    assert "HOLD_MINUTES" in refused(HOLD_MINUTES="half an hour")


# --- database URL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["mysql://user@localhost/booking", "booking.db", "sqlite://", "postgresql+asyncpg://u@h/db"],
)
def test_unsupported_database_url_is_refused_by_name(url: str) -> None:
    assert "DATABASE_URL" in refused(DATABASE_URL=url)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://user:secret@db.example.com:5432/booking", "postgresql+psycopg://user:secret@db.example.com:5432/booking"),
        ("postgresql://user@localhost/booking", "postgresql+psycopg://user@localhost/booking"),
        ("postgresql+psycopg://user@localhost/booking", "postgresql+psycopg://user@localhost/booking"),
        ("sqlite:////var/lib/booking/booking.db", "sqlite:////var/lib/booking/booking.db"),
    ],
)
def test_hosting_provider_database_urls_use_the_shipped_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)

    settings = load_settings()

    assert settings.database_url == expected
    assert settings.is_sqlite == expected.startswith("sqlite")


# --- Stripe -----------------------------------------------------------------------------------


def test_stripe_publishable_key_is_refused_as_secret_key_by_name() -> None:
    message = refused(STRIPE_SECRET_KEY="pk_test_51Habc")

    assert "STRIPE_SECRET_KEY" in message
    assert "pk_test_51Habc" not in message  # the key itself is not echoed to logs


@pytest.mark.parametrize("key", ["sk_test_123", "sk_live_123", "rk_test_123"])
def test_stripe_secret_and_restricted_keys_are_accepted(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", key)

    assert load_settings().stripe_secret_key == key


def test_malformed_webhook_secret_is_refused_by_name() -> None:
    assert "STRIPE_WEBHOOK_SECRET" in refused(STRIPE_WEBHOOK_SECRET="sk_test_not_a_webhook_secret")


def test_webhook_secret_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_abc")

    assert load_settings().stripe_webhook_secret == "whsec_abc"


def test_every_bad_setting_is_named_at_once() -> None:
    message = refused(HOLD_MINUTES="5", STRIPE_SECRET_KEY="pk_live_1", DATABASE_URL="mysql://x")

    for name in ("HOLD_MINUTES", "STRIPE_SECRET_KEY", "DATABASE_URL"):
        assert name in message


# --- .env -------------------------------------------------------------------------------------


def test_dotenv_file_is_read(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text(
        "HOLD_MINUTES=45\nPUBLIC_URL=https://from-dotenv.example/\nDATABASE_URL=postgres://u@h/db\n"
    )

    settings = load_settings()

    assert settings.hold_minutes == 45
    assert settings.public_url == "https://from-dotenv.example"
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_environment_beats_dotenv(clean_environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_environment / ".env").write_text("HOLD_MINUTES=45\nPUBLIC_URL=https://from-dotenv.example\n")
    monkeypatch.setenv("HOLD_MINUTES", "60")

    settings = load_settings()

    assert settings.hold_minutes == 60
    assert settings.public_url == "https://from-dotenv.example"  # what the environment lacks still comes from .env


def test_bad_value_in_dotenv_is_refused_by_name(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("HOLD_MINUTES=10\n")

    assert "HOLD_MINUTES" in refused()


# --- the operator command ---------------------------------------------------------------------


def _run_check_settings(directory: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not _is_setting(name)}
    environment.update(settings, PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "booking", "check-settings"],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_settings_command_fails_naming_the_setting(clean_environment: Path) -> None:
    result = _run_check_settings(clean_environment, HOLD_MINUTES="10")

    assert result.returncode == 1
    assert "HOLD_MINUTES" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr  # a message, not a crash


def test_check_settings_command_succeeds_with_good_settings(clean_environment: Path) -> None:
    result = _run_check_settings(clean_environment, HOLD_MINUTES="30")

    assert result.returncode == 0, result.stderr
    assert "settings ok" in result.stdout


# --- where the run command listens, and when demo sign-ins may exist ----------------------------


def test_the_run_command_listens_on_loopback_unless_host_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().host == "127.0.0.1"
    monkeypatch.setenv("HOST", "0.0.0.0")
    assert load_settings().host == "0.0.0.0"
    assert "HOST" in refused(HOST="127.0.0.1; rm -rf /")


def _run_script_host(environment: dict[str, str]) -> str:
    """The bind address scripts/run.sh computes and hands to `reflex run --backend-host`."""
    script = (PROJECT_ROOT / "scripts" / "run.sh").read_text()
    host_lines = [line for line in script.splitlines() if line.startswith("host=")]
    serve_lines = [line for line in script.splitlines() if line.startswith("reflex run")]
    assert len(host_lines) == 1 and len(serve_lines) == 1 and '--backend-host "$host"' in serve_lines[0]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(PROJECT_ROOT), **environment}
    done = subprocess.run(["bash", "-c", host_lines[0] + '\necho "$host"'], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def test_the_run_script_binds_what_the_settings_say() -> None:
    assert _run_script_host({}) == "127.0.0.1"
    assert _run_script_host({"HOST": "0.0.0.0"}) == "0.0.0.0"


@pytest.mark.parametrize("base", [
    "https://API.Stripe.com", "https://api.stripe.com:443/", "https://api.stripe.com.", "https://api.stripe.com/v1",
    "https://files.stripe.com", "https://stripe-proxy.example.com", "http://10.0.0.5:12111",
    "http://localhost.example.com:12111", "http://127.0.0.1.nip.io:12111", "http://[::ffff:8.8.8.8]:12111",
])
def test_demo_sign_ins_count_any_real_looking_stripe_as_live(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_emulator")
    monkeypatch.setenv("STRIPE_API_BASE", base)
    assert load_settings().uses_emulator is False


@pytest.mark.parametrize("key", ["sk_test_emulator", "sk_test_51Habc"])
def test_demo_sign_ins_need_a_test_key_against_stripe_itself_to_be_live(
        monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", key)
    assert load_settings().uses_emulator is False


@pytest.mark.parametrize("base", ["http://127.0.0.1:12111", "http://localhost:12111", "http://[::1]:12111",
                                  "http://127.0.0.2:4000/"])
def test_the_emulator_on_this_machine_is_the_emulator(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    assert load_settings().uses_emulator is True  # no key at all: nothing real to reach
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_emulator")
    monkeypatch.setenv("STRIPE_API_BASE", base)
    assert load_settings().uses_emulator is True
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_51Habc")  # a live key is never the emulator
    assert load_settings().uses_emulator is False
