# test_credits.sh -- an account's credits in a year, month by month (ledgerctl account credits):
# months of business time, not of UTC, at a year's turn; allocations apart from deposits; the
# other entries of the statement and other people's credits left out; a year of thousands of
# credits read over many replies; refusals and roles. The clock is libfaketime's.
. "$(dirname "$0")/lib.sh"

faketime_setup
start() {
    LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/clock" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=Asia/Shanghai daemon_start_any_hour \
        --clock-ahead-max-days 0 "$@"
}
# month_of JSON YYYY-MM: that month's object of an `account credits --json` reply.
month_of() { printf '%s\n' "$1" | grep -o "{\"month\":\"$2\"[^}]*}"; }

set_clock "2026-12-31 23:59:00"
start
ctl person add MOM --name "母" --region 110101 --scheme employee >/dev/null
ctl person add DAD --name "父" --region 110101 --scheme employee >/dev/null
ctl person add KID --name "子" --region 110101 --scheme resident >/dev/null
for p in MOM DAD; do ctl account open $p >/dev/null; done
ctl merchant add P1 --name "药房" --kind pharmacy --region 110101 >/dev/null
ctl family bind MOM KID --relation child >/dev/null
# A minute before midnight in Beijing (15:59 UTC), and two minutes later (16:01 UTC, still
# 31 December by UTC): two years of business time.
check "December's allocation" 0 ctl credit MOM 300.00 --ref alloc-202612-MOM
set_clock "2027-01-01 00:01:00"
check "January's" 0 ctl credit MOM 300.00 --ref alloc-202701-MOM
check "DAD's, not MOM's" 0 ctl credit DAD 999.00 --ref alloc-202701-DAD
set_clock "2027-02-15 10:00:00"
check "a deposit" 0 ctl credit MOM 50.00 --ref dep-1 --kind deposit
check "KID buys from MOM's account" 0 ctl settle --merchant P1 --ref s1 --patient KID \
    --amount 20.00
set_clock "2027-03-10 10:00:00"
printf 'person,amount,period\nMOM,300.00,202703\nDAD,300.00,202703\n' > "$WORK/march.csv"
check "March's, imported" 0 ctl credit import "$WORK/march.csv"

check "2027, month by month" 0 ctl --json account credits MOM --year 2027
year=$OUT
expect "the year's allocations" '"year":2027,"allocated_fen":60000,"deposited_fen":5000,"count":3' \
    "$year"
expect "January: the credit of 00:01 in Beijing" \
    '{"month":"2027-01","allocated_fen":30000,"deposited_fen":0,"count":1}' \
    "$(month_of "$year" 2027-01)"
expect "February: the deposit, not the settlement" \
    '{"month":"2027-02","allocated_fen":0,"deposited_fen":5000,"count":1}' \
    "$(month_of "$year" 2027-02)"
expect "March: the import" '{"month":"2027-03","allocated_fen":30000,"deposited_fen":0,"count":1}' \
    "$(month_of "$year" 2027-03)"
expect "December: none" '{"month":"2027-12","allocated_fen":0,"deposited_fen":0,"count":0}' \
    "$(month_of "$year" 2027-12)"
expect "the credits, newest first" '"kind":"allocation","amount_fen":30000,"reference":"alloc-202703-MOM","balance_after_fen":93000},' \
    "$year"
expect "with the deposit" '"kind":"deposit","amount_fen":5000,"reference":"dep-1","balance_after_fen":65000}' \
    "$year"
expect "in business time" '"time":"2027-01-01T00:01:' "$year"
case "$year" in *DAD*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL DAD's credit in MOM's" ;;
    *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;; esac
check "this year, by default" 0 ctl --json account credits MOM
[ "$OUT" = "$year" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL the default year: $OUT"; }
check "2026" 0 ctl --json account credits MOM --year 2026
expect "December's, at 23:59 in Beijing" '"year":2026,"allocated_fen":30000,"deposited_fen":0,"count":1' \
    "$OUT"
expect "in December" '{"month":"2026-12","allocated_fen":30000,"deposited_fen":0,"count":1}' \
    "$(month_of "$OUT" 2026-12)"
check "a year without any" 0 ctl --json account credits MOM --year 2028
expect "nothing" '"allocated_fen":0,"deposited_fen":0,"count":0' "$OUT"
expect "no credits" '"credits":[]' "$OUT"
check "DAD's" 0 ctl --json account credits DAD --year 2027
expect "his own two" '"allocated_fen":129900,"deposited_fen":0,"count":2' "$OUT"
check "the text" 0 ctl account credits MOM --year 2027
expect "a month's row" "2027-02            0.00          50.00        1" "$OUT"
expect "the year's row" "2027             600.00          50.00        3" "$OUT"
expect "a credit's row" "allocation         300.00         930.00  alloc-202703-MOM" "$OUT"

# ---- refusals ----
check "a resident has no account" 1 ctl account credits KID
expect "said so" "NO_ACCOUNT" "$ERR"
check "an unknown person" 1 ctl account credits NOBODY
expect "said so" "UNKNOWN_PERSON" "$ERR"
check "a year before 2000" 2 ctl account credits MOM --year 1999
check "a year that is not one" 2 ctl account credits MOM --year 20x6

# ---- a year of thousands: many replies, read whole ----
set_clock "2027-04-01 09:00:00"
{
    echo "person,amount,period"
    for year_no in $(seq 1000 1419); do
        for month in 01 02 03 04 05 06 07 08 09 10 11 12; do echo "MOM,0.01,$year_no$month"; done
    done
} > "$WORK/many.csv"
check "5,040 allocations of a fen" 0 ctl credit import "$WORK/many.csv"
replies() { ctl stats --prometheus | sed -n 's/^famledger_requests_total{type="credits",status="OK"} //p'; }
before=$(replies)
check "the year read again" 0 ctl --json account credits MOM --year 2027
many=$OUT
# 5,043 credits, at most 1,000 a reply; ledgerctl asks once, with room for 64, then again.
check "in many replies" 0 test $(($(replies) - before)) -ge 12
expect "every one counted" '"year":2027,"allocated_fen":65040,"deposited_fen":5000,"count":5043' \
    "$many"
expect "in April" '{"month":"2027-04","allocated_fen":5040,"deposited_fen":0,"count":5040}' \
    "$(month_of "$many" 2027-04)"
lines=$(printf '%s\n' "$many" | grep -o '"seq":' | wc -l)
check "every credit listed" 0 test "$lines" -eq 5043
case "$many" in
    *'"reference":"alloc-202701-MOM","balance_after_fen":60000}]}') CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
    *) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL the year's first credit is not last" ;;
esac
# A later year's credits are passed over, not counted, when an earlier year is asked.
set_clock "2028-01-02 10:00:00"
check "January 2028's" 0 ctl credit MOM 300.00 --ref alloc-202801-MOM
check "2027 again" 0 ctl --json account credits MOM --year 2027
[ "$OUT" = "$many" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL 2027 changed by a credit of 2028"; }
check "this year now" 0 ctl --json account credits MOM
expect "2028's one" '"year":2028,"allocated_fen":30000,"deposited_fen":0,"count":1' "$OUT"

check "the ledger verifies" 0 ctl verify
finish
