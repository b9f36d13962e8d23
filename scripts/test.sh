#!/usr/bin/env bash
# The README's test command: set up (venv, bun, Chromium) and run the whole suite.
# PostgreSQL leg: TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make test
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --tests
source scripts/env.sh
# The house rules on imports (layers, public faces, app and emulator apart): .importlinter
lint-imports --no-cache
# Three workers (TEST_WORKERS=0 runs in one process; the machine is half idle on two: tests wait on
# browsers, servers and fsync): the tiers run in order on each, and each
# database's browser tests stay together on one worker (tests/conftest.py).
python -m pytest -n "${TEST_WORKERS:-3}" --dist loadgroup --no-loadscope-reorder "$@"
