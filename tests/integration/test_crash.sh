# test_crash.sh -- kill -9 famledgerd while four clients write, ten times: after every restart
# each acknowledged credit is there, and the ledger verifies.
. "$(dirname "$0")/lib.sh"

daemon_start
ctl person add E1 --name "张三" --region 110101 --scheme employee >/dev/null
ctl account open E1 >/dev/null

writer() { # writer CYCLE K: credit until the daemon dies, logging each acknowledged reference
    local i=0
    while [ $i -lt 400 ]; do
        i=$((i + 1))
        ctl credit E1 0.01 --ref "w$1-$2-$i" >/dev/null 2>&1 || return 0
        echo "w$1-$2-$i" >> "$WORK/acked"
    done
}

: > "$WORK/acked"
for cycle in $(seq 1 10); do
    writers=""
    for k in 1 2 3 4; do writer "$cycle" "$k" & writers="$writers $!"; done
    sleep "0.$((3 + cycle % 5))"
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=""
    wait $writers
    daemon_start
    acked=$(wc -l < "$WORK/acked")
    balance=$(ctl --json account show E1 | sed 's/.*"balance_fen":\([0-9]*\).*/\1/')
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
check "the ledger verifies after the crashes" 0 ctl verify
finish
