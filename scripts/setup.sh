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
log "building the widget"
npm run --silent build:widget
log "done: npm start serves http://localhost:${PORT:-8000}/"
