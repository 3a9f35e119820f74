# test_stream.sh -- the change stream through ledgerctl tail and the example notifier: every
# entry in order, a new one shown as soon as it commits, across a daemon restart without a
# gap or a repeat, and a notice to each holder whose account paid for a relative; followers that
# stop when their output fails, or at an entry damaged on the disk.
. "$(dirname "$0")/lib.sh"

# wait_for NAME TEXT FILE SECONDS: FILE comes to contain TEXT within SECONDS.
wait_for() {
    local steps=$(($4 * 20))
    for _ in $(seq 1 "$steps"); do
        grep -q -- "$2" "$3" 2>/dev/null && { CHECKS_PASSED=$((CHECKS_PASSED + 1)); return 0; }
        sleep 0.05
    done
    CHECKS_FAILED=$((CHECKS_FAILED + 1))
    echo "FAIL $1: '$2' not in $3:"
    cat "$3"
}

daemon_start
ctl person add H --name "父亲" --region 110101 --scheme employee >/dev/null
ctl account open H >/dev/null
ctl credit H 100.00 --ref c1 >/dev/null
ctl person add K --name "孩子" --region 110101 --scheme resident >/dev/null
ctl family bind H K --relation parent >/dev/null
ctl merchant add M1 --name "药房" --kind pharmacy --region 110101 >/dev/null

check "tail without --follow: the whole log from 1, then it ends" 0 ctl --json tail --from 1
expect "the first entry" '"seq":1,' "$OUT"
expect "the last entry" '"seq":6,' "$OUT"
[ "$(echo "$OUT" | wc -l)" -eq 6 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL six lines: $OUT"; }
check "tail: the last ten by default" 0 ctl tail
expect "text lines name the type" "person_registered" "$OUT"
check "tail from past the head ends at once" 0 ctl tail --from 100
[ -z "$OUT" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL nothing past the head: $OUT"; }

# ---- follow: new entries as they commit, across a restart ----
"$BUILD/ledgerctl" --socket "$SOCKET" --json tail --follow --from 1 >"$WORK/tail.out" 2>"$WORK/tail.err" &
TAIL_PID=$!
"$BUILD/famledger-notify" --socket "$SOCKET" >"$WORK/notify.out" 2>"$WORK/notify.err" &
NOTIFY_PID=$!
wait_for "the existing entries" '"seq":6,' "$WORK/tail.out" 2
check "a credit" 0 ctl credit H 5.00 --ref c2
wait_for "tail --follow shows the credit within a second" '"reference":"c2"' "$WORK/tail.out" 1
check "K settles 12.30, paid by H" 0 ctl settle --merchant M1 --ref s1 --patient K --amount 12.30
wait_for "the holder is told" "notice H: 12.30 yuan of your account paid for K at M1" \
    "$WORK/notify.out" 1
daemon_stop
daemon_start
check "a credit after the restart" 0 ctl credit H 7.00 --ref c3
wait_for "tail resumed after the restart" '"reference":"c3"' "$WORK/tail.out" 5
check "K settles again" 0 ctl settle --merchant M1 --ref s2 --patient K --amount 1.00
wait_for "the notifier resumed too" "notice H: 1.00 yuan" "$WORK/notify.out" 5
kill "$TAIL_PID" "$NOTIFY_PID" 2>/dev/null
wait "$TAIL_PID" "$NOTIFY_PID" 2>/dev/null
head=$(ctl --json head | sed 's/.*"seq":\([0-9]*\).*/\1/')
seqs=$(sed 's/^{"seq":\([0-9]*\),.*/\1/' "$WORK/tail.out" | tr '\n' ' ')
expect "every entry once, in order, no gap, no repeat" "$(seq -s ' ' 1 "$head") " "$seqs"
[ "$(grep -c '^notice' "$WORK/notify.out")" -eq 2 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL two notices:"; cat "$WORK/notify.out"; }

# A follower whose output fails stops and says where to start again, rather than go on unseen.
check "tail --follow to a full device stops" 6 timeout 20 bash -c \
    "'$BUILD/ledgerctl' --socket '$SOCKET' tail --from 1 --follow > /dev/full"
expect "and says where to resume" "(tail --from 1 resumes)" "$ERR"
from=$(( $(ctl --json head | sed 's/.*"seq":\([0-9]*\).*/\1/') + 1 ))
"$BUILD/famledger-notify" --socket "$SOCKET" --from "$from" > /dev/full 2> "$WORK/notify-full.err" &
NOTIFY_PID=$!
check "K settles, with no room for the notice" 0 ctl settle --merchant M1 --ref s3 --patient K --amount 2.00
for _ in $(seq 1 1000); do kill -0 "$NOTIFY_PID" 2>/dev/null || break; sleep 0.01; done
kill "$NOTIFY_PID" 2>/dev/null # one still running after ten seconds fails below (143)
wait "$NOTIFY_PID"
expect "the notifier stops with 1" "[1]" "[$?]"
expect "and says where to start again" "start again with --from $from" "$(cat "$WORK/notify-full.err")"
check "the stream is checked link by link: verify agrees" 0 ctl verify

# An entry damaged on the disk (a byte of entry 3 flipped): the followers print what comes
# before it and stop, naming it, where resubscribing would meet it again for ever.
daemon_stop
check "entry 3 damaged" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" entry 3
daemon_start
check "tail --follow stops at it" 1 timeout 20 "$BUILD/ledgerctl" --socket "$SOCKET" tail \
    --from 1 --follow
expect "after entries 1 and 2" "2 " "$(echo "$OUT" | grep -v '^ ' | tail -1)"
expect "naming it" "stream record 3 does not match its hash" "$ERR"
check "famledger-notify stops at it" 1 timeout 20 "$BUILD/famledger-notify" --socket "$SOCKET" \
    --from 1
expect "naming it" "stream record 3 does not match its hash" "$ERR"
check "verify names it too" 4 ctl --json verify
check "in JSON a cron job can read" 0 python3 -c '
import json, sys
report = json.loads(sys.argv[1])
sys.exit(0 if report["ok"] is False and report["first_bad_seq"] == 3 and
         "entry 3" in report["problem"] else 1)' "$OUT"
finish
