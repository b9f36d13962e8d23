.PHONY: run test lint

# Set everything up, then serve the app (SQLite + the Stripe emulator + demo data) on :3000.
run:
	@scripts/run.sh

# Set everything up, then run every test: unit, integration (SQLite, and PostgreSQL when
# TEST_POSTGRES_URL is set), emulator and end-to-end in Chromium.
test:
	@scripts/test.sh

lint:
	@scripts/bootstrap.sh && .venv/bin/ruff check .
