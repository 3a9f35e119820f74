# test_settlement_fields.sh -- every field of a stored settlement is compared by verify. One field
# of one stored settlement is changed at random (famledger-corrupt remutate: the seed picks the
# record and the field), and verify finds it, whether the daemon digests the stored settlements
# or verify walks them (--walk), and names the settlement. The settlements: paid by relatives
# and in cash and partly refunded, from the patient's wallet, refunded twice, cancelled,
# reversed, captured from a held quote.
. "$(dirname "$0")/lib.sh"
daemon_start_any_hour
family_ledger_two_phase # s1 refunded in part, KID's wallet holds 1.00, a quote held ($hold)
check "s2, the wallet's money first" 0 ctl settle --merchant P1 --ref s2 --patient KID --amount 4
check "s3" 0 ctl --json settle --merchant P1 --ref s3 --patient KID --amount 10
s3=$(echo "$OUT" | json_fen settlement_id)
check "refunded once" 0 ctl refund --merchant P1 --ref r3a --settlement "$s3" --amount 2
check "and again" 0 ctl refund --merchant P1 --ref r3b --settlement "$s3" --amount 3
check "s4" 0 ctl --json settle --merchant P1 --ref s4 --patient KID --amount 6
s4=$(echo "$OUT" | json_fen settlement_id)
check "cancelled" 0 ctl cancel --merchant P1 --ref c4 --settlement "$s4"
check "s5" 0 ctl settle --merchant P1 --ref s5 --patient KID --amount 2
check "reversed" 0 ctl reverse --merchant P1 --ref s5
check "the held quote captured" 0 ctl settle --merchant P1 --ref h1 --patient KID --amount 3.00 \
    --hold "$hold"
check "the ledger verifies" 0 ctl verify
check "and record by record" 0 ctl verify --walk
daemon_stop
rm -rf "$WORK/pristine" && cp -r "$WORK/data" "$WORK/pristine"

# The seed's quotient by 7 picks the field (of those the record has, its legs' and refunds'
# too), the seed the record: sixty seeds reach every field of the largest record.
for k in $(seq 0 59); do
    seed=$((7 * k + k % 7))
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    changed=$("$BUILD/tests/famledger-corrupt" "$WORK/data" remutate settlements "$seed") ||
        { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL seed $seed changed nothing"; continue; }
    daemon_start_any_hour
    for how in "" --walk; do
        check "verify $how finds seed $seed: $changed" 4 ctl verify $how
        problem=$(echo "$OUT" | grep FAILED)
        [ -n "${SHOW:-}" ] && echo "$how $seed: $changed: $problem"
        expect "the settlement named ($changed)" "settlement" "$problem"
    done
    daemon_stop
done

# The daemon checks a stored settlement before a refund plans from it: legs, refunds and totals
# that do not add up are refused as damage (INTERNAL), where a refund from legs that did not
# cover it once made an entry that did not balance and stopped the daemon.
for change in "legs.0.amount_fen 1" "legs.0.refunded_fen 0" "refunded_fen 1" \
              "refunds.0.amount_fen 9" "legs.0.holder ?" "cash_pay_fen 1" "acct_pay_fen -5"; do
    n=$((${n:-0} + 1))
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    # shellcheck disable=SC2086 # the field and its value, as words
    check "set $change of s3" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" field settlements \
        "$s3" $change
    daemon_start_any_hour
    check "a refund of s3 with $change is refused" 1 ctl refund --merchant P1 --ref "rd-$n" \
        --settlement "$s3" --amount 0.01
    expect "as damage ($change)" "INTERNAL: settlement $s3 is damaged" "$ERR"
    check "and so is its cancel" 1 ctl cancel --merchant P1 --ref "cd-$n" --settlement "$s3"
    check "the daemon still answers" 0 ctl head
    expect "the log names it" "the stored settlement $s3 is damaged" "$(cat "$WORK/daemon.log")"
    daemon_stop
done
finish
