#!/usr/bin/env bash
# Sets up everything the app and the tests need, on a fresh machine or an old checkout.
# Idempotent and quick when nothing changed. Usage: scripts/bootstrap.sh [--tests]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
BUN_VERSION=1.4.4

# 1. A virtualenv with the pinned requirements (reinstalled only when they change).
if [[ ! -x .venv/bin/python ]]; then
  echo "==> Creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "==> Installing Python requirements"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

# 2. bun from the npm registry into a project-local folder (Reflex 0.10 needs bun >= 1.4.4;
#    Node 20 is too old for Reflex's npm path, and a downloaded installer is not an option).
if [[ ! -x .tools/bun/node_modules/.bin/bun ]] || [[ $(.tools/bun/node_modules/.bin/bun --version) != "$BUN_VERSION" ]]; then
  echo "==> Installing bun $BUN_VERSION into .tools/bun"
  npm install --silent --no-fund --no-audit --prefix .tools/bun "bun@$BUN_VERSION"
fi

# 3. axe-core (the accessibility engine the end-to-end tests inject into every public page), from the
#    npm registry into a project-local folder, for the tests only.
AXE_VERSION=4.14.1
if [[ ${1:-} == "--tests" ]] && { [[ ! -f .tools/axe/node_modules/axe-core/axe.min.js ]] ||
    [[ $(node -p "require('./.tools/axe/node_modules/axe-core/package.json').version" 2>/dev/null) != "$AXE_VERSION" ]]; }; then
  echo "==> Installing axe-core $AXE_VERSION into .tools/axe"
  npm install --silent --no-fund --no-audit --prefix .tools/axe "axe-core@$AXE_VERSION"
fi

# 4. Chromium for the browser tests, from Debian's packages, when missing.
if [[ ${1:-} == "--tests" && ! -x /usr/bin/chromium ]]; then
  echo "==> Installing Chromium (apt)"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
