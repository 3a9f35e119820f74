#!/bin/bash
# bench-ab.sh -- two builds of famledgerd side by side, each on its own copy of one ledger, for
# docs/BENCHMARKS.md. Measures, never asserts.
#   tools/bench-ab.sh OLD_BUILD OLD_DATA NEW_BUILD NEW_DATA
# Alternates the two daemons ROUNDS times (default 2); each runs famledger-bench (of NEW_BUILD)
# at each of LOADS (connections and requests in flight, default "1x1 64x1 64x8") for
# SECONDS_EACH (default 8) among PATIENTS (default 1000000) patients at MERCHANTS pharmacies
# (default 1), and prints one line a load: settlements a second, p50, p99, the worst latency
# and pages written a settlement. Make the copies from one ledger set up with `famledger-bench
# --setup-only` (an older build: `git worktree add /tmp/old REV && make -C /tmp/old
# build/famledgerd build/ledgerctl`); a newer build upgrades its copy at its first start.
# BENCH_BIN names another famledger-bench (NEW_BUILD's by default).
set -eu
[ $# -eq 4 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
OLD_BUILD=$1 OLD_DATA=$2 NEW_BUILD=$3 NEW_DATA=$4
: "${ROUNDS:=2}" "${SECONDS_EACH:=8}" "${PATIENTS:=1000000}" "${LOADS:=1x1 64x1 64x8}"
: "${MERCHANTS:=1}"
socket=$(mktemp -u /tmp/famledger-ab-XXXXXX.sock)
. "$(dirname "$0")/bench-daemon.sh"

bench=${BENCH_BIN:-$NEW_BUILD/famledger-bench}

run() { # NAME BUILD DATA
    local name=$1 build=$2 data=$3 load line
    bench_daemon_start "$build" "$data"
    for load in $LOADS; do
        line=$("$bench" --socket "$socket" --patients "$PATIENTS" \
                   --merchants "$MERCHANTS" \
                   --connections "${load%x*}" --depth "${load#*x}" --seconds "$SECONDS_EACH" |
               grep '^settle:')
        echo "$name ${load}: $(echo "$line" | sed 's/.*= \([0-9]*\) settlements\/s; latency p50 \([0-9.]* ms\), p99 \([0-9.]* ms\), max \([0-9.]* ms\).*flushes and \([0-9.]*\) pages.*/\1 \/s, p50 \2, p99 \3, max \4, \5 pages/')"
    done
    bench_daemon_stop
}

# Copies just made are still being written back: that would slow whichever runs first.
sync
for _ in $(seq 1 "$ROUNDS"); do
    run old "$OLD_BUILD" "$OLD_DATA"
    run new "$NEW_BUILD" "$NEW_DATA"
done
