#!/bin/bash
# bench-history.sh -- give a bench ledger a history of business days, for docs/BENCHMARKS.md:
# tables keyed by day (a merchant's day, its totals) only show their cost once a ledger holds
# many days, and famledger-bench settles on one. Measures nothing, asserts nothing.
#   tools/bench-history.sh BUILD DATA DAYS
# Makes a new ledger in DATA (which must not exist) with BUILD's famledgerd under libfaketime,
# DAYS days before today: PATIENTS (default 1000000) patients set up, then on each day up to
# yesterday, in order (entry times only go forward), SECONDS_EACH (default 3) of settlements at
# 64 connections × 8 in flight, at MERCHANTS (default 2000) pharmacies. Today is left to the
# benchmark.
set -eu
[ $# -eq 3 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
BUILD=$1 DATA=$2 DAYS=$3
: "${SECONDS_EACH:=3}" "${PATIENTS:=1000000}" "${MERCHANTS:=2000}"
[ ! -e "$DATA" ] || { echo "bench-history: $DATA exists" >&2; exit 2; }
faketime_lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
[ -n "$faketime_lib" ] || { echo "bench-history: needs libfaketime (make deps)" >&2; exit 1; }
socket=$(mktemp -u /tmp/famledger-history-XXXXXX.sock)
. "$(dirname "$0")/bench-daemon.sh"
for ((day = DAYS; day >= 1; day--)); do
    # Preloaded, not through the faketime wrapper, so that $! is the daemon. The monotonic
    # clock stays real: only the dates of the entries move.
    bench_daemon_start "$BUILD" "$DATA" LD_PRELOAD="$faketime_lib" FAKETIME="-${day}d" \
        FAKETIME_DONT_FAKE_MONOTONIC=1
    [ "$day" != "$DAYS" ] ||
        "$BUILD/famledger-bench" --socket "$socket" --patients "$PATIENTS" \
            --merchants "$MERCHANTS" --setup-only | grep '^setup:'
    line=$("$BUILD/famledger-bench" --socket "$socket" --patients "$PATIENTS" \
               --merchants "$MERCHANTS" --connections 64 --depth 8 --seconds "$SECONDS_EACH" |
           grep '^settle:')
    echo "day -$day: ${line#settle: }"
    bench_daemon_stop
done
