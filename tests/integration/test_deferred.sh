# test_deferred.sh -- the accounts and references kept in memory (state_sweep_ms): killed with
# every change still in the journal, a start applies it, with or without the setting; a backup
# taken meanwhile starts as the ledger it copied; with sweeps, the trees catch up and the journal
# is dropped behind them; verify passes after each.
. "$(dirname "$0")/lib.sh"

# entries TABLE: the records of TABLE in the ledger's file, as LMDB counts them (the tree's).
entries() { mdb_stat -s "$1" "$WORK/data" | sed -n 's/^ *Entries: \([0-9]*\)$/\1/p'; }

# No sweep within the test's time: every change stays in memory and the journal.
daemon_start --state-sweep-ms 3600000
ctl person add E1 --name "张三" --region 110101 --scheme employee >/dev/null
ctl person add B1 --name "母亲" --region 110101 --scheme resident >/dev/null
ctl account open E1 >/dev/null
ctl credit E1 100.00 --ref c1 >/dev/null
ctl family bind E1 B1 --relation parent >/dev/null
ctl merchant add P1 --name One --kind pharmacy --region 110101 >/dev/null
check "settle for the mother" 0 ctl --json settle --merchant P1 --ref s1 --patient B1 --amount 30.00
id=$(echo "$OUT" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
check "refund part of it" 0 ctl refund --merchant P1 --ref r1 --settlement "$id" --amount 5.00
check "a retry of the settlement is a replay" 0 ctl --json settle --merchant P1 --ref s1 \
    --patient B1 --amount 30.00
expect "the same settlement" "\"settlement_id\":$id" "$OUT"
check "the balance" 0 ctl --json account show E1
expect "75.00 left" '"balance_fen":7500' "$OUT"
expect "the account is in the journal only" "0" "$(entries accounts)"
expect "the references too" "0" "$(entries references)"
# One record a commit that changed an account or a reference: the opening, the credit, the
# settlement and the refund.
journaled=$(entries journal)
[ "$journaled" -eq 4 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL the journal holds $journaled records"; }
check "stats" 0 ctl stats
dirty=$(echo "$OUT" | sed -n 's/^famledger_state_in_memory{records="dirty"} \([0-9]*\)$/\1/p')
held=$(echo "$OUT" | sed -n 's/^famledger_state_in_memory{records="held"} \([0-9]*\)$/\1/p')
[ "${dirty:-0}" -ge 4 ] && [ "$dirty" = "$held" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL in memory: '$held' held, '$dirty' dirty"; }
check "verify walks memory with the trees" 0 ctl verify
check "and digests them" 0 ctl verify --walk
check "a backup meanwhile" 0 ctl backup --out "$WORK/copy"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""

# A start without the setting applies the journal and writes at each commit from then on.
daemon_start --log-level info
expect "the journal applied" "applied from the journal" "$(cat "$WORK/daemon.log")"
expect "and emptied" "0" "$(entries journal)"
check "the balance survived" 0 ctl --json account show E1
expect "75.00" '"balance_fen":7500' "$OUT"
check "the reference survived" 0 ctl --json settle --merchant P1 --ref s1 --patient B1 \
    --amount 30.00
expect "a replay still" "\"settlement_id\":$id" "$OUT"
check "a second refund of the same reference is a replay too" 0 ctl refund --merchant P1 \
    --ref r1 --settlement "$id" --amount 5.00
check "verify" 0 ctl verify
daemon_stop
expect "the account in its tree" "1" "$(entries accounts)"

# The backup was taken with its changes in the journal: it starts as the ledger was.
"$BUILD/famledgerd" --data-dir "$WORK/copy" --socket "$WORK/copy.sock" --log-level warn \
    2>>"$WORK/copy.log" &
copy_pid=$!
for _ in $(seq 1 500); do
    "$BUILD/ledgerctl" --socket "$WORK/copy.sock" head >/dev/null 2>&1 && break
    sleep 0.01
done
check "the copy verifies" 0 "$BUILD/ledgerctl" --socket "$WORK/copy.sock" verify
check "with the balance of its time" 0 "$BUILD/ledgerctl" --socket "$WORK/copy.sock" --json \
    account show E1
expect "75.00 there too" '"balance_fen":7500' "$OUT"
kill -TERM "$copy_pid" && wait "$copy_pid"

# Sweeps every 20 ms: under writes the trees catch up, and the journal is dropped behind them.
daemon_start --state-sweep-ms 20
for i in $(seq 1 60); do ctl credit E1 0.01 --ref "w$i" >/dev/null; done
sleep 0.2
for i in $(seq 61 80); do ctl credit E1 0.01 --ref "w$i" >/dev/null; sleep 0.02; done
journaled=$(entries journal)
[ "$journaled" -lt 20 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL the journal kept $journaled records"; }
swept=$(entries references)
[ "$swept" -ge 60 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL only $swept references in their tree"; }
check "the balance" 0 ctl --json account show E1
expect "75.80" '"balance_fen":7580' "$OUT"
check "verify" 0 ctl verify
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
daemon_start
check "after a kill" 0 ctl --json account show E1
expect "75.80 still" '"balance_fen":7580' "$OUT"
check "verify" 0 ctl verify
daemon_stop
expect "every reference in its tree" "83" "$(entries references)"
finish
