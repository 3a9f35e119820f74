# test_crash.sh -- kill -9 famledgerd while four clients credit and a fifth sends to a wallet
# and accepts, ten times: after every restart each acknowledged credit, send and accept is
# there, and the ledger verifies.
. "$(dirname "$0")/lib.sh"

# No quiet hours and no daily cap: the wallet writer must not depend on the time of day.
start() { daemon_start --wallet-quiet-start 00:00 --wallet-quiet-end 00:00 --wallet-sends-per-day 1000; }
start
ctl person add E1 --name "张三" --region 110101 --scheme employee >/dev/null
ctl account open E1 >/dev/null
for cycle in $(seq 1 10); do
    ctl person add "H$cycle" --name "子女" --region 110101 --scheme employee >/dev/null
    ctl person add "B$cycle" --name "母亲" --region 110101 --scheme resident >/dev/null
    ctl account open "H$cycle" >/dev/null
    ctl credit "H$cycle" 1000.00 --ref "c-h$cycle" >/dev/null
    ctl family bind "H$cycle" "B$cycle" --relation parent >/dev/null
done

# wallet_writer CYCLE: H<CYCLE> sends 0.01 to B<CYCLE>, who accepts, until the daemon dies; each
# acknowledged send and accept is logged.
wallet_writer() {
    local i=0
    while [ $i -lt 400 ]; do
        i=$((i + 1))
        ctl wallet send "H$1" "B$1" 0.01 --ref "s$1-$i" >/dev/null 2>&1 || return 0
        echo "s$1-$i" >> "$WORK/sent"
        ctl wallet accept --ref "s$1-$i" >/dev/null 2>&1 || return 0
        echo "s$1-$i" >> "$WORK/accepted"
    done
}

writer() { # writer CYCLE K: credit until the daemon dies, logging each acknowledged reference
    local i=0
    while [ $i -lt 400 ]; do
        i=$((i + 1))
        ctl credit E1 0.01 --ref "w$1-$2-$i" >/dev/null 2>&1 || return 0
        echo "w$1-$2-$i" >> "$WORK/acked"
    done
}

: > "$WORK/acked"
: > "$WORK/sent"
: > "$WORK/accepted"
for cycle in $(seq 1 10); do
    writers=""
    for k in 1 2 3 4; do writer "$cycle" "$k" & writers="$writers $!"; done
    wallet_writer "$cycle" & writers="$writers $!"
    sleep "0.$((3 + cycle % 5))"
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=""
    wait $writers
    start
    acked=$(wc -l < "$WORK/acked")
    balance=$(ctl --json account show E1 | json_fen balance_fen)
    # Every acknowledged credit is in; a credit committed whose reply was lost may be too.
    [ "$balance" -ge "$acked" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
        { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL cycle $cycle: balance $balance < $acked acknowledged"; }
done
# Each acknowledged reference, retried, is a replay of an entry that exists.
missing=0
while read -r reference; do
    ctl --json credit E1 0.01 --ref "$reference" | grep -q '"replayed":true' || missing=$((missing + 1))
done < "$WORK/acked"
echo "$(wc -l < "$WORK/acked") acknowledged credits over 10 kill -9 cycles"
[ "$missing" = 0 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL $missing acknowledged credits lost"; }
# Each acknowledged send exists; each acknowledged accept is a replay now.
lost=0
while read -r reference; do
    case "$(ctl --json wallet accept --ref "$reference" 2>&1)" in
        *UNKNOWN_WALLET_SEND*) lost=$((lost + 1)) ;;
    esac
done < "$WORK/sent"
while read -r reference; do
    ctl --json wallet accept --ref "$reference" | grep -q '"replayed":true' || lost=$((lost + 1))
done < "$WORK/accepted"
echo "$(wc -l < "$WORK/sent") acknowledged wallet sends, $(wc -l < "$WORK/accepted") accepts"
[ "$lost" = 0 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL $lost acknowledged sends or accepts lost"; }
check "the ledger verifies after the crashes" 0 ctl verify
check "and its books balance" 0 ctl --json trial-balance
expect "zero" '"total_fen":0}' "$OUT"
finish
