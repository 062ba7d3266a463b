#!/usr/bin/env bash
# Builds mediasoup-worker offline from the installed mediasoup package's C++ source against
# Debian 12 system libraries (shims in ./shims replace the meson wraps that need the internet).
# Usage: build.sh <node_modules/mediasoup> <output binary path>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MS_DIR=$(cd "$1" && pwd)
OUT=$2
log() { printf '[mediasoup-worker] %s\n' "$*" >&2; }

DEB_PKGS=(g++ make pkg-config ninja-build meson python3 libssl-dev libuv1-dev libsrtp2-dev
	libusrsctp-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler liburing-dev)
missing=()
for p in "${DEB_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing build dependencies: ${missing[*]}"
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq >&2
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

WORK=$(mktemp -d /tmp/astral-worker-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
SRC=$WORK/src
mkdir -p "$SRC"
(cd "$MS_DIR/worker" && tar --exclude=./out --exclude='./subprojects/*' -cf - .) | (cd "$SRC" && tar -xf -)
mkdir -p "$SRC/subprojects" && cp -r "$HERE/shims/." "$SRC/subprojects/"
for d in "$SRC"/subprojects/*/; do echo '/* empty: the real library comes from the system */' > "$d/empty.c"; done

# Debian 12's meson is 1.0.1; mediasoup asks for 1.1 but builds fine with 1.0.
if ! dpkg --compare-versions "$(meson --version)" ge 1.1.0; then
	sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" "$SRC/meson.build"
fi

# With a KTLS-enabled OpenSSL (Debian's libssl3) onSslBioOut() answers BIO_CB_CTRL|BIO_CB_RETURN
# with 1, OpenSSL then believes KTLS is on, never allocates its DTLS write buffer and the worker
# crashes on the first DTLS ClientHello of any WebRtcTransport. Test the flag bit instead.
DTLS_CPP=$SRC/src/RTC/DtlsTransport.cpp
grep -q '(operationType == BIO_CB_RETURN)' "$DTLS_CPP" || { log "DTLS patch target not found in $DTLS_CPP"; exit 1; }
sed -i 's/(operationType == BIO_CB_RETURN)/((operationType \& BIO_CB_RETURN) != 0)/' "$DTLS_CPP"

log "configuring"
(cd "$SRC" && meson setup --buildtype release -Db_ndebug=true "$WORK/build") >"$WORK/setup.log" 2>&1 \
	|| { tail -30 "$WORK/setup.log" >&2; exit 1; }
log "compiling with $(nproc) jobs"
SECONDS=0
{ ninja -C "$WORK/build" fbs/FBS && ninja -C "$WORK/build" -j "$(nproc)" mediasoup-worker; } >"$WORK/build.log" 2>&1 \
	|| { grep -E 'error|FAILED' "$WORK/build.log" | head -30 >&2; exit 1; }
log "compiled in ${SECONDS}s"
mkdir -p "$(dirname "$OUT")"
install -m 0755 "$WORK/build/mediasoup-worker" "$OUT"
