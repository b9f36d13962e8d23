#!/usr/bin/env bash
# The README's run command: set up, migrate, seed demo data, start the Stripe emulator when no
# Stripe key is set, and serve the production build on http://localhost:$PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
source scripts/env.sh

export PORT=${PORT:-3000}
export PUBLIC_URL=${PUBLIC_URL:-${NEXT_PUBLIC_URL:-http://localhost:$PORT}}
mkdir -p var

python -m booking check-settings
python -m booking migrate

# The emulator and the job workers run in sessions of their own (setsid), so Ctrl-C reaches only this script
# and the web server: the script then stops them itself (the web server and the job workers, then the emulator
# last, once no job worker is waiting on it), and waits for each.
# (No setsid, as on macOS: they get the Ctrl-C too, and a job worker taking a second signal exits at once.)
detached() { if command -v setsid >/dev/null; then exec setsid "$@"; else exec "$@"; fi; }
emulator_pid=""
stop_emulator() {
  [[ -n $emulator_pid ]] || return 0
  kill "$emulator_pid" 2>/dev/null || true
  wait "$emulator_pid" 2>/dev/null || true
  emulator_pid=""
}
trap stop_emulator EXIT INT TERM

has_key=$(python -c 'from booking.core import get_settings; print("yes" if get_settings().stripe_secret_key else "")')
# The interface the web server binds: 127.0.0.1 unless HOST says otherwise (HOST=0.0.0.0: every interface).
host=$(python -c 'from booking.core import get_settings; print(get_settings().host)')
if [[ -z $has_key ]]; then
  emulator_port=${STRIPE_EMULATOR_PORT:-12111}
  export STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-whsec_$(python -c 'import secrets; print(secrets.token_hex(24))')}
  # Two endpoints, as a Connect platform has at Stripe: connected accounts' events (payouts, account
  # updates) go to the Connect endpoint, signed with its own secret.
  export STRIPE_CONNECT_WEBHOOK_SECRET=${STRIPE_CONNECT_WEBHOOK_SECRET:-whsec_$(python -c 'import secrets; print(secrets.token_hex(24))')}
  export STRIPE_SECRET_KEY=sk_test_emulator
  export STRIPE_API_BASE=http://127.0.0.1:$emulator_port
  # The emulator reads the webhook secrets from STRIPE_WEBHOOK_SECRET and STRIPE_CONNECT_WEBHOOK_SECRET
  # (exported above), not its arguments.
  detached python -m stripe_emulator --port "$emulator_port" \
    --public-url "http://localhost:$emulator_port" \
    --webhook-url "http://127.0.0.1:$PORT/api/payments/webhook" \
    --connect-webhook-url "http://127.0.0.1:$PORT/api/payments/webhook" \
    --business-name "$(python -c 'from booking.core import get_settings; print(get_settings().platform_name)')" \
    --state-file var/stripe_emulator.sqlite3 &
  emulator_pid=$!
  python - "$STRIPE_API_BASE" <<'PY'
import sys, time, httpx
for _ in range(200):
    try:
        httpx.get(sys.argv[1] + "/", timeout=1)
        break
    except httpx.HTTPError:
        time.sleep(0.1)
PY
  echo "==> No STRIPE_SECRET_KEY set: using the local Stripe emulator at http://localhost:$emulator_port"
  echo "    (payments, hosted checkout and webhooks; its dashboard lists what happened)."
fi

# Demo builders when the database is empty; demo sign-ins only on the emulator (no real key).
python -m booking seed-demo
if [[ -z $has_key ]]; then
  # Every session type becomes a Stripe Product with a Price (idempotent).
  python -m booking sync-stripe-catalog
fi

# WORKERS=N web (backend) processes (2 or more need REDIS_URL; check-settings above says so). Unset:
# Reflex picks (1 without Redis; with it, min(2 x cores + 1, 8)).
if [[ -n ${WORKERS:-} ]]; then
  export GRANIAN_WORKERS=$WORKERS
fi
# Webhooks are answered once stored and applied by the job worker (README: Benchmarks).
export WEBHOOK_PROCESSING=${WEBHOOK_PROCESSING:-worker}
# JOB_WORKERS=N job worker processes (default 1): the hold sweeper, the outbox, stored webhooks, late
# refunds. Leader locks keep each job to one runner, so more only stand by to take over.
job_workers=${JOB_WORKERS:-1}
job_pids=()
for ((n = 0; n < job_workers; n++)); do
  detached python -m booking.worker &
  job_pids+=($!)
done
app_pid=""
stop_all() {
  trap - EXIT INT TERM  # once: Ctrl-C and then the script's exit both land here
  # A job worker finishes its ticks in progress and is gone within seconds (booking/ops/worker.py).
  for pid in $app_pid "${job_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${job_pids[@]}" $app_pid; do wait "$pid" 2>/dev/null || true; done
  stop_emulator
}
trap stop_all EXIT INT TERM
echo "==> Serving the app on http://localhost:$PORT (listening on $host; HOST changes it)${WORKERS:+ with $WORKERS web workers}, and $job_workers job worker(s)"
if [[ -z $has_key ]]; then
  echo "    Builder workspace: http://localhost:$PORT/admin/login"
  echo "    Demo sign-ins (password: demo-password): ada@demo.test, grace@demo.test, kenji@demo.test (builders),"
  echo "    admin@demo.test (platform admin)."
fi
reflex run --env prod --frontend-port "$PORT" --backend-port "$PORT" --backend-host "$host" &
app_pid=$!
wait $app_pid
