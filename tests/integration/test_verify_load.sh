# test_verify_load.sh -- verify reads one snapshot: under a settlement, refund and credit load it
# never reports a difference that is not there, and it still finds one that is.
. "$(dirname "$0")/lib.sh"

daemon_start
ctl merchant add PH1 --name 大药房 --kind pharmacy --region 110101 >/dev/null
for p in FATHER MOTHER CHILD; do
    ctl person add "$p" --name "$p" --region 110101 --scheme employee >/dev/null
    ctl account open "$p" >/dev/null
    ctl credit "$p" 100000 --ref "seed-$p" >/dev/null
done
ctl family bind FATHER CHILD --relation child >/dev/null
ctl family bind MOTHER CHILD --relation child >/dev/null

worker() { # settle, refund part of it, credit: every kind of derived state moves
    for i in $(seq 1 150); do
        out=$(ctl --json settle --merchant PH1 --ref "rx-$1-$i" --patient CHILD --amount 3.21 2>/dev/null) || return 0
        id=$(echo "$out" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
        ctl refund --merchant PH1 --ref "rf-$1-$i" --settlement "$id" --amount 1.00 >/dev/null 2>&1 || return 0
        ctl credit FATHER 0.50 --ref "c-$1-$i" >/dev/null 2>&1 || return 0
    done
}
workers=""
for k in 1 2 3; do worker "$k" & workers="$workers $!"; done
for run in 1 2 3 4 5; do
    check "verify run $run under load" 0 ctl verify
done
wait $workers
check "verify after the load" 0 ctl verify
daemon_stop

# Real damage is still found: a stored balance changed behind the daemon's back.
"$BUILD/tests/famledger-corrupt" "$WORK/data" balance MOTHER 1
daemon_start
check "a changed balance is found" 4 ctl verify
expect "the account is named" "MOTHER" "$OUT$ERR"
finish
