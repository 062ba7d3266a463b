#!/usr/bin/env bash
# Makes sure node_modules/mediasoup has a working mediasoup-worker binary:
# cached build -> mediasoup's own prebuilt download -> offline build from the package's C++ source.
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '[mediasoup-worker] %s\n' "$*" >&2; }

MS_DIR=node_modules/mediasoup
[ -f "$MS_DIR/package.json" ] || { log "mediasoup is not installed (run npm install first)"; exit 1; }
MS_VERSION=$(node -p "require('./$MS_DIR/package.json').version")
BIN="$MS_DIR/worker/out/Release/mediasoup-worker"
CACHE_DIR=${ASTRAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/astral}
CACHED="$CACHE_DIR/mediasoup-worker-$MS_VERSION-$(uname -m)-$(. /etc/os-release 2>/dev/null && echo "${ID:-linux}${VERSION_ID:-}")"

# The worker exits with status 41 when started without MEDIASOUP_VERSION: proof that it links and runs here.
runs_here() { [ -x "$1" ] && { env -i "$1" >/dev/null 2>&1; [ $? -eq 41 ]; }; }

if runs_here "$BIN"; then log "worker present: $BIN"; exit 0; fi
mkdir -p "$(dirname "$BIN")"
if runs_here "$CACHED"; then
	install -m 0755 "$CACHED" "$BIN"; log "worker restored from cache $CACHED"; exit 0
fi
if [ "${ASTRAL_SKIP_PREBUILT:-0}" != 1 ]; then
	log "trying mediasoup's prebuilt worker download"
	# PYTHON=/bin/false turns off mediasoup's meson-wrap build fallback, which needs the internet.
	(cd "$MS_DIR" && env -u MEDIASOUP_WORKER_BIN PYTHON=/bin/false timeout 120 node npm-scripts.mjs postinstall) >/dev/null 2>&1 || true
fi
if ! runs_here "$BIN"; then
	log "no prebuilt worker; building mediasoup $MS_VERSION from source against system libraries (about 5 minutes)"
	bash scripts/mediasoup-worker/build.sh "$MS_DIR" "$BIN"
fi
runs_here "$BIN" || { log "worker binary does not run: $BIN"; exit 1; }
mkdir -p "$CACHE_DIR" && install -m 0755 "$BIN" "$CACHED.tmp" && mv "$CACHED.tmp" "$CACHED"
log "worker ready and cached at $CACHED"
