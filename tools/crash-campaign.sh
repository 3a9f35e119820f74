#!/bin/bash
# crash-campaign.sh -- kill -9 famledgerd under load, again and again, and check after each start
# that nothing acknowledged was lost and that the ledger verifies. A campaign, not a unit test:
# it runs for as long as it is told (docs/BENCHMARKS.md reports what it saw).
#   tools/crash-campaign.sh BUILD DATA ROUNDS
# DATA is a ledger set up with `famledger-bench --setup-only` for PATIENTS patients (default
# 1000000) and MERCHANTS pharmacies (default 200); the campaign writes to it, so give it a copy.
# Each round: one of LOADS (connections x in flight [x batch], with r for 10 % refunds; default
# "64x8 64x1 16x4x50 1x1 32x4r") chosen at random, at the daemon started with one of SWEEPS
# (state_sweep_ms values, default "5000 1000 20000 0"), for a random 3 to 25 s; then kill -9,
# a start (timed; every third without the setting, to replay its journal cold), famledger-bench
# --check of every answer acknowledged that round, and ledgerctl verify. Stops at the first
# round that fails, keeping the daemon's log and the acknowledged answers in WORK.
set -u
[ $# -eq 3 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
BUILD=$1 DATA=$2 ROUNDS=$3
: "${PATIENTS:=1000000}" "${MERCHANTS:=200}" "${LOADS:=64x8 64x1 16x4x50 1x1 32x4r}"
: "${SWEEPS:=5000 1000 20000 0}" "${WORK:=$(mktemp -d /tmp/famledger-campaign-XXXXXX)}"
socket=$WORK/famledgerd.sock
pid=""
trap '[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null' EXIT

pick() { local words=($1); echo "${words[RANDOM % ${#words[@]}]}"; }

start() { # start SWEEP_MS: famledgerd on DATA, once it answers; `took` says how long that was
    local began
    began=$(date +%s.%N)
    "$BUILD/famledgerd" --data-dir "$DATA" --socket "$socket" --map-mib-max 65536 \
        --log-level info --state-sweep-ms "$1" </dev/null >/dev/null 2>>"$WORK/famledgerd.log" &
    pid=$!
    until "$BUILD/ledgerctl" --socket "$socket" head >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { echo "famledgerd did not start: $WORK" >&2; exit 1; }
        sleep 0.05
    done
    took=$(echo "$(date +%s.%N) $began" | awk '{printf "%.2f", $1 - $2}')
}

sweep=$(pick "$SWEEPS")
start "$sweep"
echo "campaign: $ROUNDS rounds on $DATA, work in $WORK; $(nproc) cores," \
     "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
for round in $(seq 1 "$ROUNDS"); do
    load=$(pick "$LOADS")
    spec=${load%r}
    IFS=x read -r connections depth batch <<<"$spec"
    refunds=0
    [ "$spec" = "$load" ] || refunds=10
    acked=$WORK/acked.$round
    "$BUILD/famledger-bench" --socket "$socket" --patients "$PATIENTS" --merchants "$MERCHANTS" \
        --connections "$connections" --depth "$depth" --batch "${batch:-1}" \
        --refunds "$refunds" --seconds 60 --acked "$acked" >"$WORK/bench.$round" 2>&1 &
    bench=$!
    sleep "$((3 + RANDOM % 23)).$((RANDOM % 10))"
    memory=$("$BUILD/ledgerctl" --socket "$socket" stats 2>/dev/null |
             sed -n 's/.*state_in_memory{records="held"} \([0-9]*\).*/\1/p')
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    wait "$bench"
    # A start without the setting must apply what the last one journalled, as an operator
    # turning it off would.
    next=$(pick "$SWEEPS")
    [ $((round % 3)) -ne 0 ] || next=0
    start "$next"
    if ! check=$("$BUILD/famledger-bench" --socket "$socket" --connections 8 --depth 16 \
                     --check "$acked" 2>&1); then
        echo "round $round: $check" >&2
        exit 1
    fi
    if ! verify=$("$BUILD/ledgerctl" --socket "$socket" verify 2>&1); then
        echo "round $round: verify failed: $verify" >&2
        exit 1
    fi
    echo "round $round: $load at ${sweep} ms, ${memory:-0} records held at the kill;" \
         "start at ${next} ms answered after $took s;" \
         "$(echo "$check" | sed -n 's/check: \([0-9]*\) acknowledged.*: \([0-9]*\) the same.*/\1 acknowledged, \2 replayed the same/p');" \
         "$(echo "$verify" | tail -1)"
    sweep=$next
    rm -f "$acked"
done
echo "campaign: $ROUNDS rounds, nothing acknowledged lost"
