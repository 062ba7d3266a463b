#!/usr/bin/env bash
# `npm run setup`: installs npm dependencies, a working mediasoup worker (prebuilt, cached or built offline) and the widget bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

# mediasoup's own install step downloads a prebuilt worker or builds one with tools fetched from the
# internet; both fail offline. Skip it here: ensure.sh below does the same job and also works offline.
log "installing npm dependencies"
MEDIASOUP_WORKER_BIN=skip npm install --no-audit --no-fund --loglevel=error
bash scripts/mediasoup-worker/ensure.sh
# The built-in AI agent speaks with espeak-ng and listens with pocketsphinx (its US English model): Debian packages.
if ! command -v espeak-ng >/dev/null || ! command -v pocketsphinx_continuous >/dev/null || [ ! -d /usr/share/pocketsphinx/model/en-us ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing the built-in agent's speech engines (espeak-ng, pocketsphinx)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends espeak-ng pocketsphinx pocketsphinx-en-us) >&2
  else
    log "the built-in agent needs espeak-ng and pocketsphinx: sudo apt-get install -y espeak-ng pocketsphinx pocketsphinx-en-us"
  fi
fi
# The store's tests also run on PostgreSQL: Debian's server package (its tests start throwaway clusters, no service).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    log "installing PostgreSQL for the store's tests (postgresql-15)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15) >&2
  else
    log "the store's PostgreSQL tests need the server binaries: sudo apt-get install -y postgresql-15 (or set ASTRAL_TEST_DATABASE_URL)"
  fi
fi
# The multi-node tests run Debian's redis-server (each test starts its own on a free port; no service).
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    log "installing Redis for the multi-node tests (redis-server)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server) >&2
  else
    log "the multi-node tests need redis-server: sudo apt-get install -y redis-server"
  fi
fi
log "building the widget"
npm run --silent build:widget
log "done: npm start serves http://localhost:${PORT:-8000}/"
