# test_holds.sh -- held quotes and the family's mutual-aid limits end to end through ledgerctl:
# a hold's legs survive a settlement that would have drained them, the capture takes exactly
# them, once; mismatches, release and expiry; limits across two funders, given back by a
# refund; the region's default; verify replays it all and names a damaged table.
. "$(dirname "$0")/lib.sh"
# not_held NAME JSON: the account holds nothing (held_fen is printed only while it does).
not_held() {
    case "$2" in
        *'"held_fen"'*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL $1: $2" ;;
        *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
    esac
}
json_field() { grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }

daemon_start
for p in P Q R1 R2 L F1 F2; do
    ctl person add $p --name "$p" --region 110101 --scheme employee >/dev/null
    ctl account open $p >/dev/null
done
ctl credit P 50.00 --ref c-p >/dev/null
ctl credit R1 100.00 --ref c-r1 >/dev/null
ctl credit F1 100.00 --ref c-f1 >/dev/null
ctl credit F2 100.00 --ref c-f2 >/dev/null
ctl merchant add M1 --name "一号药房" --kind pharmacy --region 110101 >/dev/null
ctl merchant add M2 --name "二号药房" --kind pharmacy --region 110101 >/dev/null
ctl family bind R1 P --relation parent >/dev/null
ctl family bind R1 Q --relation parent >/dev/null
ctl family bind F1 L --relation parent >/dev/null
ctl family bind F2 L --relation sibling >/dev/null

# ---- a held quote ----
check "a quote held for 60 s" 0 ctl --json quote --merchant M1 --ref h1 --patient P --amount 120.00 --hold 60
hold=$(echo "$OUT" | json_field hold_id)
expect "hold_id" '"hold_id":' "$OUT"
expect "open" '"state":"open"' "$OUT"
expect "own account first" '"holder":"P","amount_fen":5000' "$OUT"
expect "then the parent" '"holder":"R1","amount_fen":7000' "$OUT"
check "the same hold again answers it" 0 ctl --json quote --merchant M1 --ref h1 --patient P --amount 120.00 --hold 60
expect "replayed" '"replayed":true' "$OUT"
expect "the same hold" "\"hold_id\":$hold" "$OUT"
check "R1 shows it held" 0 ctl --json account show R1
expect "70.00 held" '"held_fen":7000' "$OUT"
check "Q's settlement would have drained R1" 0 ctl --json settle --merchant M2 --ref q1 --patient Q --amount 100.00
expect "R1 gives only what is not held" '"holder":"R1","amount_fen":3000' "$OUT"
expect "the rest in cash" '"cash_pay_fen":7000' "$OUT"
check "a withdrawal while money is held" 1 ctl withdraw R1 --reason long-term-elsewhere --ref wd1 --amount 1.00
expect "ACCOUNT_HELD" "ACCOUNT_HELD" "$ERR"
check "capture with another amount" 1 ctl settle --merchant M1 --ref s1 --patient P --amount 119.00 --hold "$hold"
expect "HOLD_MISMATCH" "HOLD_MISMATCH" "$ERR"
check "capture by another merchant" 1 ctl settle --merchant M2 --ref s1 --patient P --amount 120.00 --hold "$hold"
expect "WRONG_MERCHANT" "WRONG_MERCHANT" "$ERR"
check "capture by another patient" 1 ctl settle --merchant M1 --ref s1 --patient Q --amount 120.00 --hold "$hold"
expect "HOLD_MISMATCH for the patient" "HOLD_MISMATCH" "$ERR"
check "capture" 0 ctl --json settle --merchant M1 --ref s1 --patient P --amount 120.00 --hold "$hold"
expect "exactly the held legs" '"holder":"R1","amount_fen":7000,"balance_after_fen":0' "$OUT"
expect "names the hold" "\"hold_id\":$hold" "$OUT"
check "the capture retried" 0 ctl --json settle --merchant M1 --ref s1 --patient P --amount 120.00 --hold "$hold"
expect "replayed" '"replayed":true' "$OUT"
check "a second capture" 1 ctl settle --merchant M1 --ref s2 --patient P --amount 120.00 --hold "$hold"
expect "HOLD_CLOSED" "HOLD_CLOSED" "$ERR"
check "nothing held any more" 0 ctl --json account show R1
not_held "R1 holds nothing" "$OUT"
check "release a captured hold" 1 ctl hold release "$hold"
expect "HOLD_CLOSED" "HOLD_CLOSED" "$ERR"
check "release an unknown hold" 1 ctl hold release 999999
expect "UNKNOWN_HOLD" "UNKNOWN_HOLD" "$ERR"
check "a hold without a reference" 2 ctl quote --merchant M1 --patient P --amount 1.00 --hold 5

# ---- release and expiry ----
ctl credit P 30.00 --ref c-p2 >/dev/null
check "hold 10.00 for 1 s" 0 ctl --json quote --merchant M1 --ref h2 --patient P --amount 10.00 --hold 1
hold2=$(echo "$OUT" | json_field hold_id)
check "hold 5.00 for 60 s" 0 ctl --json quote --merchant M1 --ref h3 --patient P --amount 5.00 --hold 60
hold3=$(echo "$OUT" | json_field hold_id)
check "P has 15.00 held" 0 ctl --json account show P
expect "15.00" '"held_fen":1500' "$OUT"
check "release" 0 ctl --json hold release "$hold3"
expect "released" '"state":"released"' "$OUT"
check "release again answers it" 0 ctl --json hold release "$hold3"
expect "replayed" '"replayed":true' "$OUT"
for _ in $(seq 1 40); do
    ctl --json account show P | grep -q '"held_fen"' || break
    sleep 0.1
done
check "the 1 s hold expired by itself" 0 ctl --json account show P
not_held "P holds nothing" "$OUT"
check "an expired hold cannot be captured" 1 ctl settle --merchant M1 --ref s3 --patient P --amount 10.00 --hold "$hold2"
expect "HOLD_CLOSED" "HOLD_CLOSED" "$ERR"
check "its end is an entry" 0 ctl tail --from "$hold2"
expect "hold_closed" "hold_closed" "$OUT"
expect "expired" "hold.state: expired" "$OUT"

# ---- a capture is a settlement: who may settle is asked again ----
# A suspension for impersonation, a merchant's suspension, a relative's unbinding or a death
# since the quote was held stops its capture, as it stops any settlement; until 7 December
# each of them was captured.
hold_of() {
    ctl --json quote --merchant M2 --ref "$1" --patient Q --amount "$2" --hold 600 |
        json_field hold_id
}
ctl credit R1 20.00 --ref c-r1b >/dev/null
hq1=$(hold_of hq1 1.00)
hq2=$(hold_of hq2 2.00)
hq3=$(hold_of hq3 3.00)
check "three quotes of Q held from R1" 0 ctl --json account show R1
expect "6.00 held" '"held_fen":600' "$OUT"
check "Q suspended for impersonation" 0 ctl person suspend Q --reason "冒名就医"
check "a capture for Q is refused" 1 \
    ctl settle --merchant M2 --ref sq1 --patient Q --amount 1.00 --hold "$hq1"
expect "PERSON_SUSPENDED" "PERSON_SUSPENDED" "$ERR"
check "Q resumed" 0 ctl person resume Q
check "M2 suspended" 0 ctl merchant suspend M2
check "a capture at a suspended merchant is refused" 1 \
    ctl settle --merchant M2 --ref sq1 --patient Q --amount 1.00 --hold "$hq1"
expect "MERCHANT_SUSPENDED" "MERCHANT_SUSPENDED" "$ERR"
check "M2 resumed" 0 ctl merchant resume M2
check "R1 unbinds Q" 0 ctl family unbind R1 Q
check "R1's held money no longer pays for Q" 1 \
    ctl settle --merchant M2 --ref sq2 --patient Q --amount 2.00 --hold "$hq2"
expect "NOT_BOUND" "NOT_BOUND" "$ERR"
check "R1 binds Q again" 0 ctl family bind R1 Q --relation parent
check "the first is captured now" 0 \
    ctl settle --merchant M2 --ref sq1 --patient Q --amount 1.00 --hold "$hq1"
expect "captured" "captured hold" "$OUT"
check "Q dies" 0 ctl withdraw Q --reason death --heir "母" --ref wq
check "a capture for the dead is refused" 1 \
    ctl settle --merchant M2 --ref sq3 --patient Q --amount 3.00 --hold "$hq3"
expect "PERSON_DECEASED" "PERSON_DECEASED" "$ERR"
for h in "$hq2" "$hq3"; do check "hold $h released" 0 ctl hold release "$h"; done
check "R1 holds nothing" 0 ctl --json account show R1
not_held "R1 holds nothing" "$OUT"
check "R1 gave 1.00 for Q" 0 ctl --json statement R1 --limit 1
expect "the capture" '"amount_fen":-100' "$OUT"

# ---- the family's limits ----
check "F1 lets L take 30.00 a month" 0 ctl family limit F1 L --monthly 30.00
check "family list shows it" 0 ctl family list L
expect "30.00 a month" "at most 30.00 a month" "$OUT"
check "a limit on someone not bound" 1 ctl family limit F1 P --monthly 1.00
expect "NOT_BOUND" "NOT_BOUND" "$ERR"
check "L settles 50.00" 0 ctl --json settle --merchant M1 --ref l1 --patient L --amount 50.00
expect "F1 up to its limit" '"holder":"F1","amount_fen":3000' "$OUT"
expect "F2 the rest" '"holder":"F2","amount_fen":2000' "$OUT"
l1=$(echo "$OUT" | json_field settlement_id)
check "L settles 50.00 again" 0 ctl --json settle --merchant M1 --ref l2 --patient L --amount 50.00
expect "F1 has nothing left to give this month" '"acct_mulaid_pay_fen":5000' "$OUT"
expect "F2 gives it all" '"holder":"F2","amount_fen":5000' "$OUT"
check "cancel the first" 0 ctl cancel --merchant M1 --ref l1c --settlement "$l1"
check "F1 may give again" 0 ctl --json settle --merchant M1 --ref l3 --patient L --amount 10.00
expect "the room came back" '"holder":"F1","amount_fen":1000' "$OUT"
# F2 gave 50.00 this year (its 20.00 of the cancelled settlement came back).
check "a yearly limit of 60.00 on F2" 0 ctl family limit F2 L --yearly 60.00
check "F1 gives its 20.00 left, F2 its 10.00" 0 ctl --json settle --merchant M1 --ref l4 --patient L --amount 40.00
expect "F1 20.00" '"holder":"F1","amount_fen":2000' "$OUT"
expect "F2 10.00" '"holder":"F2","amount_fen":1000' "$OUT"
expect "cash 10.00" '"cash_pay_fen":1000' "$OUT"

# What the limits count, as the holder's account keeps it: F1 gave L its 30.00 this month
# (50.00 taken and 50.00 of it cancelled, then 10.00 and 20.00), F2 gave 50.00 and 10.00.
# (Months and years of the daemon's business time zone.)
month=$(TZ=Asia/Shanghai date +%Y-%m) year=$(TZ=Asia/Shanghai date +%Y)
check "F1's account shows the aid it gave" 0 ctl account show F1
expect "30.00 to L this month and year" "aid        to L: 30.00 in $month, 30.00 in $year" "$OUT"
check "as JSON" 0 ctl --json account show F2
expect "F2's 60.00 to L" "\"aid_given\":[{\"beneficiary\":\"L\",\"month\":\"$month\",\"month_fen\":6000,\"year\":\"$year\",\"year_fen\":6000}]" "$OUT"
check "an account that gave none says nothing of it" 0 ctl --json account show L
case "$OUT" in *aid_given*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL aid_given shown for L" ;;
    *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;; esac

check "verify replays holds and limits" 0 ctl verify
expect "verify ok" "verify: OK" "$OUT"
check "trial balance" 0 ctl --json trial-balance
expect "zero" '"total_fen":0}' "$OUT"

# ---- the region's default ----
daemon_stop
daemon_start --aid-monthly-limit-default 5.00
check "the default shows where the family set none" 0 ctl family list R1
expect "5.00 a month" "at most 5.00 a month" "$OUT"
check "the family's own limit stands" 0 ctl family list L
expect "30.00 a month" "at most 30.00 a month" "$OUT"

# ---- damage is named ----
check "an open hold (a timer)" 0 ctl quote --merchant M1 --ref h9 --patient P --amount 1.00 --hold 600
verify_finds_each_missing daemon_start holds timers aid_limits
# The usage counts live in the holder's account (format 5): one changed there is named.
daemon_stop
rm -rf "$WORK/pristine" && cp -r "$WORK/data" "$WORK/pristine"
check "add 1 fen to F1's count of this month" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" aid F1 1
daemon_start
check "verify finds the changed count" 4 ctl verify
expect "naming the account and the relative" "account F1: mutual aid to L stored as" "$OUT$ERR"
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
daemon_start
finish
