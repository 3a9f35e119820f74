#!/bin/bash
# bench-beside-verify.sh -- pharmacies settling while verifies run beside them, for
# docs/BENCHMARKS.md. Measures, never asserts.
#   tools/bench-beside-verify.sh BUILD DATA
# Runs BUILD's famledgerd on DATA (a ledger set up with `famledger-bench --setup-only`) and,
# for each count in VERIFIES (default "0 1 3"), that many `ledgerctl verify` in a loop (at
# nice VERIFY_NICE, default 0) while famledger-bench settles at CONNECTIONS (default 16) for
# SECONDS_EACH (default 10) among PATIENTS (default 100000) at MERCHANTS (default 200); prints
# settlements a second, p50, p99 and max for each.
set -eu
[ $# -eq 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
BUILD=$1 DATA=$2
: "${VERIFIES:=0 1 3}" "${VERIFY_NICE:=0}" "${CONNECTIONS:=16}" "${SECONDS_EACH:=10}"
: "${PATIENTS:=100000}" "${MERCHANTS:=200}"
socket=$(mktemp -u /tmp/famledger-beside-XXXXXX.sock)
. "$(dirname "$0")/bench-daemon.sh"

bench() { # SECONDS
    "$BUILD/famledger-bench" --socket "$socket" --patients "$PATIENTS" --merchants "$MERCHANTS" \
        --connections "$CONNECTIONS" --seconds "$1"
}

bench_daemon_start "$BUILD" "$DATA"
bench 4 >/dev/null                                           # the pages settlements touch
"$BUILD/ledgerctl" --socket "$socket" verify >/dev/null || true # and those verify reads
for count in $VERIFIES; do
    loops=()
    for _ in $(seq 1 "$count"); do
        (while nice -n "$VERIFY_NICE" "$BUILD/ledgerctl" --socket "$socket" verify \
               >/dev/null 2>&1; do :; done) &
        loops+=($!)
    done
    sleep 1
    line=$(bench "$SECONDS_EACH" | grep '^settle:')
    for loop in "${loops[@]}"; do kill "$loop" 2>/dev/null || true; done
    pkill -f "ledgerctl --socket $socket verify" || true
    for loop in "${loops[@]}"; do wait "$loop" 2>/dev/null || true; done
    figures='s/.*= \([0-9]*\) settlements\/s; latency p50 \([0-9.]* ms\), p99 \([0-9.]* ms\),'
    figures+=' max \([0-9.]* ms\).*/\1 \/s, p50 \2, p99 \3, max \4/'
    echo "verifies=$count: $(echo "$line" | sed "$figures")"
done
bench_daemon_stop
