#!/usr/bin/env bash
# `npm test`: typecheck, server tests, the widget README reference check, widget component tests (Chromium), end-to-end calls (Chromium + real server).
# Prints one closing line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v "${CHROMIUM_PATH:-chromium}" >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "[test] installing Debian's chromium" >&2
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) >&2
	else
		echo "[test] chromium is missing: sudo apt-get install -y chromium" >&2
		exit 1
	fi
fi
[ -f packages/widget/dist/astral-phone.js ] && [ -f packages/widget/dist/astral-phone-sip.mjs ] && [ -f packages/widget/dist/astral-phone-preflight.mjs ] || npm run --silent build:widget

# A test file whose tests are over exits even if a failed test left a socket open, and no single test runs past 10 minutes:
# a stuck file fails its step instead of holding CI.
NODE_TEST_FLAGS="--test-force-exit --test-timeout=600000"
passed=0
failed=0
logdir=$(mktemp -d /tmp/astral-test.XXXXXX)

count_node() { # node:test spec reporter summary lines: "ℹ pass N" / "ℹ fail N" / "ℹ cancelled N" (a file that timed out counts as failed)
	local p f c
	p=$(grep -aE '^ℹ pass [0-9]+' "$1" | tail -1 | grep -oE '[0-9]+$')
	f=$(grep -aE '^ℹ fail [0-9]+' "$1" | tail -1 | grep -oE '[0-9]+$')
	c=$(grep -aE '^ℹ cancelled [0-9]+' "$1" | tail -1 | grep -oE '[0-9]+$')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${c:-0}))
	[ -n "$p" ] || failed=$((failed + 1)) # the runner itself broke
}

run_step() { # name, command...
	local name=$1
	shift
	echo "=== $name" >&2
	"$@" 2>&1 | tee "$logdir/$name.log"
	return "${PIPESTATUS[0]}"
}

if run_step typecheck npx tsc -p tsconfig.json --noEmit; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

run_step server node --import tsx --test $NODE_TEST_FLAGS --test-reporter=spec --test-concurrency=1 packages/server/test/*.test.ts
count_node "$logdir/server.log"

# API tests of calls, channels, agents, instances, keys, trunks, the voice channel, webhooks and concurrent writes again
# with every test server on a fresh PostgreSQL database (store.test.ts and call-history.test.ts above already run each
# case on both dialects; secrets at rest are checked in the rows there, see test/at-rest.ts).
run_step server-postgres env ASTRAL_TEST_DIALECT=postgres node --import tsx --test $NODE_TEST_FLAGS --test-reporter=spec --test-concurrency=1 \
	packages/server/test/{agents-api,channels-api,live-calls,service-calls,dial-races,ringing,call-state,concurrent-writes}.test.ts \
	packages/server/test/{instances-api,tokens-api,trunks-api,voice-channel-api,webhooks}.test.ts
count_node "$logdir/server-postgres.log"

run_step widget-reference node --import tsx --test $NODE_TEST_FLAGS --test-reporter=spec packages/widget/test/node/*.test.ts
count_node "$logdir/widget-reference.log"

run_step widget npx web-test-runner --config packages/widget/web-test-runner.config.mjs
summary=$(grep -aoE '[0-9]+ passed, [0-9]+ failed' "$logdir/widget.log" | tail -1)
if [ -n "$summary" ]; then
	passed=$((passed + $(echo "$summary" | cut -d' ' -f1)))
	failed=$((failed + $(echo "$summary" | cut -d' ' -f3)))
else
	failed=$((failed + 1))
fi

run_step e2e node --import tsx --test $NODE_TEST_FLAGS --test-reporter=spec --test-concurrency=1 test/e2e/*.test.ts
count_node "$logdir/e2e.log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
