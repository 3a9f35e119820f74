#!/bin/sh
# bench.sh -- bounded benchmarks of famledgerd, for docs/BENCHMARKS.md. Measures, never asserts.
#   BENCH_PERSONS (default 1000) x BENCH_PERIODS (default 1000) allocation rows are imported
#   with `ledgerctl credit import`, then imported again (every row already applied); then
#   famledger-bench settles for 10 s (BENCH_SECONDS) among 10,000 patients (BENCH_PATIENTS) at
#   1, 8 and 32 connections, pipelined (16 x 8) and in batches (4 x 2 x 100), then on bare LMDB;
#   then 16 connections again with a tenth of the requests refunds of earlier settlements.
#   `make bench-postgres` compares with PostgreSQL.
set -eu
: "${BUILD:=build}"
: "${BENCH_PERSONS:=1000}"
: "${BENCH_PERIODS:=1000}"
: "${BENCH_PATIENTS:=10000}"
: "${BENCH_SECONDS:=10}"
work=$(mktemp -d /tmp/famledger-bench-XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
"$BUILD/famledgerd" --data-dir "$work/data" --socket "$work/s.sock" --log-level warn &
pid=$!
ctl() { "$BUILD/ledgerctl" --socket "$work/s.sock" "$@"; }
until ctl head >/dev/null 2>&1; do sleep 0.05; done

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m)"
i=0
while [ $i -lt "$BENCH_PERSONS" ]; do
    ctl person add "E$i" --name "Employee $i" --region 110101 --scheme employee >/dev/null
    ctl account open "E$i" >/dev/null
    i=$((i + 1))
done
awk -v persons="$BENCH_PERSONS" -v periods="$BENCH_PERIODS" 'BEGIN {
    print "person,amount,period"
    for (p = 0; p < periods; p++) {
        period = sprintf("%04d%02d", 1901 + int(p / 12), p % 12 + 1)
        for (e = 0; e < persons; e++) printf "E%d,%d.%02d,%s\n", e, 100 + e % 50, p % 100, period
    }
}' > "$work/alloc.csv"
rows=$((BENCH_PERSONS * BENCH_PERIODS))
for run in first re-run; do
    start=$(date +%s.%N)
    ctl credit import "$work/alloc.csv" > "$work/summary"
    end=$(date +%s.%N)
    seconds=$(echo "$end $start" | awk '{printf "%.3f", $1 - $2}')
    echo "credit import, $run: $rows rows in $seconds s ($(echo "$rows $seconds" | awk '{printf "%d", $1 / ($2 > 0 ? $2 : 0.001)}') rows/s): $(cat "$work/summary")"
done
echo "ledger size: $(du -sh "$work/data" | cut -f1)"
bench() {
    "$BUILD/famledger-bench" --socket "$work/s.sock" --patients "$BENCH_PATIENTS" \
        --seconds "$BENCH_SECONDS" "$@" | grep -v '^machine'
}
bench --setup-only
for connections in 1 8 32; do
    bench --connections $connections
done
bench --connections 16 --depth 8
bench --connections 4 --depth 2 --batch 100 --raw-lmdb "$work/raw"
bench --connections 16 --refunds 10
