# test_forged.sh -- a log rewritten by someone who knows the format: every entry of a ledger
# that holds every kind that moves money, in turn, made to lack a part of its body or to carry
# an extreme amount, and the hash chain after it rewritten so that it still links. verify must
# name the entry (exit 4), and never crash or wrap; the daemon's readers that follow an
# entry's parts (statements, a merchant's day, mutual aid) must refuse it and keep serving.
. "$(dirname "$0")/lib.sh"
daemon_start_any_hour
family_ledger_two_phase
check "captured" 0 ctl settle --merchant P1 --ref h1s --patient KID --amount 3.00 --hold "$hold"
check "another held" 0 ctl quote --merchant P1 --ref h2 --patient KID --amount 1.00 --hold 600
check "reverse s1" 0 ctl reverse --merchant P1 --ref s1
check "a payout" 0 ctl payout --merchant P1 1 --ref pay-1
check "P1's balance" 0 ctl --json merchant balance P1
owed=$(echo "$OUT" | json_fen payable_fen)
check "the rest of what P1 is owed paid" 0 ctl payout --merchant P1 \
    "$((owed / 100)).$(printf %02d $((owed % 100)))" --ref pay-2
captured=$(ctl --json settlement show --merchant P1 --ref h1s | json_fen settlement_id)
check "a refund after it" 0 ctl refund --merchant P1 --ref h1r --settlement "$captured" \
    --amount 1.00
check "P1 pays the fund back part of it" 0 ctl recover --merchant P1 0.50 --ref back-1
check "freeze" 0 ctl account freeze DAD --reason audit
check "unfreeze" 0 ctl account unfreeze DAD
check "suspend the merchant" 0 ctl merchant suspend P1
check "DAD opts out" 0 ctl withdraw DAD --reason opt-out --ref w-dad
check "KID suspended" 0 ctl person suspend KID --reason "impersonation"
check "and resumed" 0 ctl person resume KID
check "a day closed" 0 ctl day close 2020-01-01
check "the ledger verifies" 0 ctl verify
check "its head" 0 ctl --json head
last=$(echo "$OUT" | sed 's/.*"seq":\([0-9]*\).*/\1/')
for seq in $(seq 1 "$last"); do # each entry's kind, for the forgeries of fields below
    echo "$(ctl entry "$seq" | sed -n 's/^type  *//p') $seq"
done > "$WORK/kinds"
today=$(head_day)
daemon_stop
cp -r "$WORK/data" "$WORK/pristine"

# Every forgery the helper can make of every entry (it refuses those that do not apply: a
# registration has no amount, nor parts, nor postings).
forged=0
for seq in $(seq 1 "$last"); do
    for forgery in "strip $seq" "strip $seq 2" "amount $seq -9223372036854775808" \
                   "amount $seq 9223372036854775807" "posting $seq -9223372036854775808" \
                   "posting $seq 9223372036854775807"; do
        rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
        # shellcheck disable=SC2086 # the forgery is words
        "$BUILD/tests/famledger-corrupt" "$WORK/data" $forgery 2>/dev/null || continue
        forged=$((forged + 1))
        daemon_start_any_hour
        check "verify names the forged entry ($forgery)" 4 ctl verify
        expect "at its seq ($forgery)" "FAILED at seq $seq:" "$OUT$ERR"
        # The day's export refuses it by its seq; it neither crashes nor makes a row of it.
        OUT=$(ctl export --date "$today" 2>&1)
        status=$?
        case "$status:$OUT" in
            0:* | 1:*"entry $seq of $today lacks a part"*) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
            *) CHECKS_FAILED=$((CHECKS_FAILED + 1))
               echo "FAIL export of a day with $forgery: exit $status: $OUT" ;;
        esac
        daemon_stop
    done
done
# Each kind of entry the ledger above holds was forged in some way.
echo "forgeries made: $forged"
[ "$forged" -ge 40 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL only $forged forgeries were made"; }

# What verify says of a part missing, an amount no daemon writes and a sum past int64.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
forge() { "$BUILD/tests/famledger-corrupt" "$WORK/data" "$@"; }
check "the settlement without its request" 0 forge strip "$id"
daemon_start_any_hour
check "verify" 4 ctl verify
expect "a part missing" "entry $id lacks a part that every entry of its kind has" "$OUT$ERR"

# The daemon's readers that follow the parts of that entry refuse it, and go on serving.
check "MOM's statement reaches the settlement" 1 ctl statement MOM
expect "refused as damage" "INTERNAL" "$ERR"
check "so does a retry of s1, which answers from the entry" 1 \
    ctl settle --merchant P1 --ref s1 --patient KID --amount 12
expect "refused as damage" "INTERNAL" "$ERR"
check "the daemon still answers" 0 ctl head
check "and credits" 0 ctl credit MOM 1 --ref c-after
daemon_stop

rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "a leg of the most negative amount" 0 forge amount "$id" -9223372036854775808
daemon_start_any_hour
check "verify" 4 ctl verify
expect "a negative amount" \
    "entry $id lacks a part that every entry of its kind has, or carries a negative amount" "$OUT$ERR"
check "MOM's statement" 1 ctl statement MOM
expect "refused as damage" "INTERNAL" "$ERR"
daemon_stop

# A field that famledgerd always writes one way, set another: an id it learns only after the
# entry (0 in the log), a request copy that disagrees with what was made of it, an enum out of
# range, a freeze or suspension that changes nothing, a day closed out of order. Nothing that
# verify keeps may depend on the field (a binding ended since, a reply rebuilt from the entry),
# yet no famledgerd wrote it: verify names the entry. Then entries whole as famledgerd writes
# them, of persons and accounts the log does not have that way: a person registered twice, an
# account opened for nobody, money of a resident, refund legs that do not add up.
while IFS='|' read -r kind nth path value named; do
    [ -n "$kind" ] || continue
    seq=$(awk -v kind="$kind" -v nth="$nth" '$1 == kind && ++n == nth { print $2 }' "$WORK/kinds")
    named=$(echo "$named" | sed "s/SEQ/$seq/")
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    check "$kind $seq: $path set to '$value'" 0 forge set "$seq" "$path" "$value"
    daemon_start_any_hour
    check "verify names $kind $seq ($path)" 4 ctl verify
    expect "named ($path)" "FAILED at seq $seq: $named" "$OUT$ERR"
    daemon_stop
done <<'FIELDS'
binding_added|2|binding_added.binding.relation|99|entry SEQ is not as famledgerd writes it: relation
binding_added|1|binding_added.binding.bound_seq|5|entry SEQ is not as famledgerd writes it: bound_seq
binding_added|1|binding_added.binding.channel|7|entry SEQ is not as famledgerd writes it: channel
merchant_added|1|merchant_added.merchant.added_seq|3|entry SEQ is not as famledgerd writes it: added_seq
settled|1|settled.request.patient|DAD|entry SEQ is not as famledgerd writes it: the request's
settled|1|settled.request.merchant_reference|s9|entry SEQ is not as famledgerd writes it: the request's
settled|2|settled.request.hold_id|0|entry SEQ is not as famledgerd writes it: the request's
settled|1|settled.settlement.settlement_id|9|entry SEQ is not as famledgerd writes it: settlement_id
hold_placed|1|hold_placed.hold.hold_id|9|entry SEQ is not as famledgerd writes it: the hold's id
hold_placed|2|hold_placed.hold.request.amount_fen|1|entry SEQ is not as famledgerd writes it: the request's
wallet_sent|1|wallet_sent.request.holder|DAD|entry SEQ is not as famledgerd writes it: the request's holder
wallet_sent|1|wallet_sent.send.send_id|3|entry SEQ is not as famledgerd writes it: the send's id
refunded|1|refunded.refund.refund_id|3|entry SEQ is not as famledgerd writes it: refund_id
refunded|1|refunded.refund.settlement_id|99|entry SEQ is not as famledgerd writes it: the refund's settlement
reversed|1|reversed.refund.reference|r1|entry SEQ is not as famledgerd writes it: the refund's reference
withdrawn|1|withdrawn.request.reason|2|entry SEQ is not as famledgerd writes it: the request's reason
withdrawn|1|withdrawn.request.reference|w-mom|entry SEQ is not as famledgerd writes it: the request's person
withdrawn|1|withdrawn.movement.seq|4|entry SEQ is not as famledgerd writes it: the movement's seq
account_frozen|1|account_frozen.reason||a freeze of DAD that changes nothing
account_frozen|2|account_frozen.frozen|1|a freeze of DAD that changes nothing
account_frozen|1|account_frozen.balance_fen|1|a freeze of DAD that changes nothing, or whose reason or balance (1 fen)
person_suspended|1|person_suspended.reason||a suspension of KID that changes nothing
person_suspended|2|person_suspended.suspended|1|a suspension of KID that changes nothing
settled|1|settled.settlement.cancelled|1|entry SEQ is not as famledgerd writes it: the settlement's refunds
settled|1|settled.settlement.cash_pay_fen|5|entry SEQ is not as famledgerd writes it: the settlement's split
settled|1|settled.request.no_account|1|entry SEQ is not as famledgerd writes it: the request's flags
settled|1|settled.settlement.aid_at_capture|1|entry SEQ is not as famledgerd writes it: aid_at_capture
person_registered|3|person_registered.scheme|0|entry SEQ is not as famledgerd writes it: scheme
account_credited|1|account_credited.kind|7|entry SEQ is not as famledgerd writes it: the credit's kind
withdrawn|1|withdrawn.movement.kind|transfer_out|entry SEQ is not as famledgerd writes it: the movement's kind
paid_out|1|paid_out.payout.region|440103|entry SEQ is not as famledgerd writes it: the payout's region
paid_out|1|paid_out.payout.seq|3|entry SEQ is not as famledgerd writes it: the payout's seq
wallet_sent|1|wallet_sent.send.cash_refund_due|1|entry SEQ is not as famledgerd writes it: the send's id
wallet_send_closed|1|wallet_send_closed.send.closed_seq|5|entry SEQ is not as famledgerd writes it: the send's state
day_closed|1|day_closed.date|2099-01-01|day close of "2099-01-01"
day_closed|1|day_closed.date|2020-02-30|day close of "2020-02-30"
person_registered|2|person_registered.person_no|MOM|person registered twice
account_opened|1|account_opened.person_no|NOBODY|account opened for an unknown person or twice
account_opened|2|account_opened.person_no|MOM|account opened for an unknown person or twice
binding_added|1|binding_added.binding.holder|NOBODY|binding of unregistered persons
binding_added|1|binding_added.binding.beneficiary|NOBODY|binding of unregistered persons
account_frozen|1|account_frozen.person_no|NOBODY|freeze of an unknown account
person_suspended|1|person_suspended.person_no|NOBODY|suspension of an unknown person
account_credited|1|account_credited.person_no|KID|entry moves money of KID, who has no account
account_credited|1|account_credited.person_no|NOBODY|entry moves money of NOBODY, who has no account
refunded|1|refunded.refund.amount_fen|1|refund legs do not add up to the refund
withdrawn|1|withdrawn.movement.wallet_fen|5|entry pays out 5 fen of the wallet of DAD, which holds 0
recovered|1|recovered.payout.region|440103|entry SEQ is not as famledgerd writes it: the payout's region
recovered|1|recovered.payout.person_no|MOM|entry SEQ is not as famledgerd writes it: the recovery's merchant
recovered|1|recovered.request.amount_fen|40|recovery SEQ says 50 fen from P1; its request asked 40 fen
recovered|1|recovered.payout.owed_after_fen|-7|recovery SEQ says -7 fen owed after it; the log gives -100 before it
paid_out|1|paid_out.payout.owed_after_fen|999999|payout SEQ says 999999 fen owed after it
FIELDS

# A payout's and a recovery's postings turned the other way round, both: the entry balances,
# and says money went where its kind never sends it. The payee's posting comes first, then the
# fund's (daemon/clearing.c): the payout of 1.00 posts -100 and 100, the recovery of 0.50 posts
# 50 and -50.
for turned in "paid_out 100 -100" "recovered -50 50"; do
    set -- $turned
    kind=$1
    seq=$(awk -v kind="$kind" '$1 == kind { print $2; exit }' "$WORK/kinds")
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    check "$kind $seq: its payee's posting turned" 0 forge set "$seq" postings.0.amount_fen "$2"
    check "$kind $seq: its fund's posting turned" 0 forge set "$seq" postings.1.amount_fen "$3"
    daemon_start_any_hour
    check "verify names $kind $seq turned round" 4 ctl verify
    expect "named ($kind)" \
        "FAILED at seq $seq: entry $seq is not as famledgerd writes it: the payout's postings" \
        "$OUT$ERR"
    daemon_stop
done

rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "a posting of the largest amount" 0 forge posting 6 9223372036854775807
daemon_start_any_hour
check "verify" 4 ctl verify
expect "the sum past int64" "entry 6 does not balance: its postings sum past int64" "$OUT$ERR"
daemon_stop

# A second hold on a wallet that already reserves money, its leg forged to the largest amount:
# verify names what the wallet would reserve, and its sum does not overflow (the sanitizer build
# stopped verify there).
rm -rf "$WORK/data"
daemon_start_any_hour
family_ledger_two_phase # KID's wallet holds 1.00, all of it reserved by a held quote
check "another 1.00 sent" 0 ctl wallet send MOM KID 1.00 --ref w2
check "and accepted" 0 ctl wallet accept --ref w2
check "a second quote held from the wallet" 0 ctl --json quote --merchant P1 --ref h2 \
    --patient KID --amount 0.50 --hold 600
h2=$(echo "$OUT" | json_fen hold_id)
daemon_stop
check "its wallet leg forged to the largest amount" 0 forge set "$h2" \
    hold_placed.hold.quote.legs.0.amount_fen 9223372036854775807
daemon_start_any_hour
check "verify names it" 4 ctl verify
expect "at the hold" "FAILED at seq $h2: the wallet of KID would reserve 9223372036854775807 fen" \
    "$OUT$ERR"
daemon_stop

# A refund of a wallet leg owed in cash while the wallet's owner is still insured here: only
# one who died or left is owed a wallet's refund in cash (daemon/refund.c).
rm -rf "$WORK/data"
daemon_start_any_hour
family_ledger_two_phase
check "the held quote captured" 0 ctl --json settle --merchant P1 --ref h1s --patient KID \
    --amount 3.00 --hold "$hold"
captured=$(echo "$OUT" | json_fen settlement_id)
check "and cancelled" 0 ctl --json cancel --merchant P1 --ref h1c --settlement "$captured"
legs=$(echo "$OUT" | grep -o '"holder"' | wc -l)
cancel=$(echo "$OUT" | json_fen refund_id)
expect "a leg back to KID's wallet" '"holder":"KID"' "$OUT"
daemon_stop
check "its wallet leg forged to be owed in cash" 0 \
    forge set "$cancel" "refunded.refund.legs.$((legs - 1)).cash_refund_due" 1
daemon_start_any_hour
check "verify names it" 4 ctl verify
expect "at the cancel" "FAILED at seq $cancel: a refund owes KID in cash what their wallet" \
    "$OUT$ERR"
finish
