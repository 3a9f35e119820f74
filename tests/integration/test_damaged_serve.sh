# test_damaged_serve.sh -- a store damaged one field at a time is served, never followed into an
# abort. For each table of records, a few seeds of `famledger-corrupt remutate` (each picks a
# record and a field and changes it: a number to an extreme, a text cut, a part dropped); then
# the requests that read and move what that table holds. The daemon refuses what it cannot do
# as damage and answers on, and verify stops neither (it passes or names the damage).
. "$(dirname "$0")/lib.sh"
daemon_start_any_hour
family_ledger_two_phase # s1 ($id) refunded in part, KID's wallet holds 1.00, a quote held ($hold)
check "s2, refunded twice" 0 ctl --json settle --merchant P1 --ref s2 --patient KID --amount 10
s2=$(echo "$OUT" | json_fen settlement_id)
check "refunded once" 0 ctl refund --merchant P1 --ref r2a --settlement "$s2" --amount 2
check "and again" 0 ctl refund --merchant P1 --ref r2b --settlement "$s2" --amount 3
check "a send that waits" 0 ctl wallet send DAD KID 2.00 --ref w2
check "the ledger verifies" 0 ctl verify
today=$(head_day)
daemon_stop
rm -rf "$WORK/pristine" && cp -r "$WORK/data" "$WORK/pristine"

requests() { # $1: a tag for the references
    ctl settle --merchant P1 --ref "a-$1" --patient KID --amount 7.77
    ctl settle --merchant P1 --ref "b-$1" --patient MOM --amount 1.23
    ctl refund --merchant P1 --ref "c-$1" --settlement "$s2" --amount 0.10
    ctl cancel --merchant P1 --ref "d-$1" --settlement "$id"
    ctl reverse --merchant P1 --ref s2
    ctl credit MOM 1.00 --ref "e-$1"
    ctl credit DAD 1.00 --ref "f-$1"
    ctl statement MOM; ctl statement KID; ctl account show DAD; ctl person show KID
    ctl family list KID; ctl family list MOM; ctl aid KID
    ctl trial-balance; ctl merchant balance P1
    ctl clearing --merchant P1 --from "$today" --to "$today"
    ctl settlements --patient KID; ctl settlement show "$s2"
    ctl wallet show KID; ctl wallet accept --ref w2
    ctl wallet send MOM KID 0.50 --ref "g-$1"; ctl wallet decline --ref "g-$1"
    ctl settle --merchant P1 --ref h1 --patient KID --amount 3.00 --hold "$hold"
    ctl quote --merchant P1 --ref "i-$1" --patient KID --amount 2.00 --hold 600
    ctl family limit MOM KID --monthly 50.00; ctl family unbind DAD KID
    ctl account freeze MOM --reason audit; ctl account unfreeze MOM
    ctl account open DAD; ctl withdraw DAD --reason long-term-elsewhere --ref "j-$1" --amount 1
    ctl payout --merchant P1 1.00 --ref "k-$1"
}

# verify ran to its end: it passed (0) or named the damage (4).
verify_finishes() {
    ctl verify "$@" >/dev/null 2>&1
    local status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 4 ]
}

# The seed's quotient by 7 picks the field, the seed the record; the settlements' own seeds
# include the two that once stopped the daemon (a leg dropped, a leg's amount changed).
for table in persons accounts funders funded merchants settlements balances wallets \
             wallet_sends holds aid_limits day_totals; do
    seeds="3 25 47 69"
    [ "$table" = settlements ] && seeds="42 56 3 25"
    for seed in $seeds; do
        rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
        changed=$("$BUILD/tests/famledger-corrupt" "$WORK/data" remutate "$table" "$seed") || {
            CHECKS_FAILED=$((CHECKS_FAILED + 1))
            echo "FAIL $table $seed changed nothing"
            continue
        }
        daemon_start_any_hour
        requests "$seed" >"$WORK/requests.out" 2>&1
        check "the daemon answers after the requests ($table, $changed)" 0 ctl head
        check "verify, digested, passes or names ($table, $changed)" 0 verify_finishes
        check "verify, walked, passes or names ($table, $changed)" 0 verify_finishes --walk
        case "$(cat "$WORK/daemon.log" "$WORK/requests.out")" in
            *"runtime error"* | *Sanitizer* | *"invariant violated"*)
                CHECKS_FAILED=$((CHECKS_FAILED + 1))
                echo "FAIL $table $seed ($changed):"
                grep -m3 "runtime error\|Sanitizer\|invariant" "$WORK/daemon.log" \
                    "$WORK/requests.out" ;;
            *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
        esac
        daemon_stop
        : >"$WORK/daemon.log"
    done
done
finish
