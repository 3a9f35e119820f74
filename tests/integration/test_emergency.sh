# test_emergency.sh -- emergency claims (急诊垫付) end to end through ledgerctl: a claim, due
# on its 7th working day (weekends skipped, across a year's end); returned whole, in part with
# a reason, or rejected; late when closed after its day; owed in cash when the account closed
# meanwhile; retries answered once; the lists of open and overdue claims; the books, the
# statement, the export and verify agreeing; refusals that move nothing. The clock is
# libfaketime's.
. "$(dirname "$0")/lib.sh"

faketime_setup
start() {
    LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/clock" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=Asia/Shanghai daemon_start_any_hour "$@"
}
field() { echo "$OUT" | json_fen "$1"; }
# refute NAME TEXT HAYSTACK : HAYSTACK does not contain TEXT.
refute() {
    case "$3" in
        *"$2"*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL $1: '$2' in: $3" ;;
        *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
    esac
}

# Friday 4 December 2026, business time (Shanghai).
set_clock "2026-12-04 10:00:00"
start
ctl person add A --name "安" --region 110101 --scheme employee >/dev/null
ctl account open A >/dev/null
ctl credit A 100.00 --ref c-a >/dev/null
ctl person add D --name "丁" --region 320100 --scheme employee >/dev/null
ctl account open D >/dev/null
ctl person add R --name "任" --region 110101 --scheme resident >/dev/null
# The ledger made format 11, before claims and calendars: the start creates their tables.
daemon_stop
check "make the ledger format 11" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" format 11
start --log-level info
expect "upgraded" "from format 11 to 12 (emergency claims and calendars)" \
    "$(cat "$WORK/daemon.log")"

# ---- a claim, and its due day ----
check "A claims 300.00 of emergency costs" 0 ctl --json emergency claim A 300.00 \
    --hospital "北京某医院急诊科" --receipt RC-1 --ref e1
expect "open" '"state":"open"' "$OUT"
expect "claimed on the business day" '"claimed_day":"2026-12-04"' "$OUT"
expect "due on the 7th working day after a Friday: the Tuesday after next" \
    '"due_day":"2026-12-15"' "$OUT"
expect "the hospital as given" '"hospital":"北京某医院急诊科"' "$OUT"
claim1=$(field claim_id)
check "the same claim sent again" 0 ctl --json emergency claim A 300.00 \
    --hospital "北京某医院急诊科" --receipt RC-1 --ref e1
expect "is the same claim" "\"claim_id\":$claim1," "$OUT"
expect "replayed" '"replayed":true' "$OUT"
check "the same reference for another amount" 1 ctl emergency claim A 301.00 \
    --hospital "北京某医院急诊科" --receipt RC-1 --ref e1
expect "CONFLICT named" "CONFLICT" "$ERR"
check "a claim moves no money" 0 ctl --json account show A
expect "A still has 100.00" '"balance_fen":10000' "$OUT"

# ---- refusals ----
check "a resident has no account to return it to" 1 ctl emergency claim R 10.00 \
    --hospital H --receipt RC-R --ref eR
expect "NO_ACCOUNT" "NO_ACCOUNT" "$ERR"
check "an unknown person" 1 ctl emergency claim NOBODY 10.00 --hospital H --receipt X --ref eN
expect "UNKNOWN_PERSON" "UNKNOWN_PERSON" "$ERR"
check "a hospital name with a control character" 1 ctl emergency claim A 10.00 \
    --hospital "$(printf 'a\tb')" --receipt X --ref eC
expect "INVALID_ARGUMENT" "INVALID_ARGUMENT" "$ERR"
check "no amount" 2 ctl emergency claim A 0 --hospital H --receipt X --ref e0
check "no receipt" 2 ctl emergency claim A 1.00 --hospital H --ref e0
check "an unknown claim" 1 ctl emergency return 999999
expect "UNKNOWN_EMERGENCY_CLAIM" "UNKNOWN_EMERGENCY_CLAIM" "$ERR"
check "more than claimed" 1 ctl emergency return "$claim1" 300.01
expect "at most the claim" "at most" "$ERR"
check "less than claimed without a reason" 1 ctl emergency return "$claim1" 200.00
expect "a reason is asked for" "reason" "$ERR"
check "a rejection without a reason" 2 ctl emergency reject "$claim1"
check "the claim is still open after the refusals" 0 ctl --json emergency list --open
expect "listed open" "\"claim_id\":$claim1," "$OUT"

# ---- the lists ----
check "a second claim, of D" 0 ctl --json emergency claim D 50.00 --hospital "南京急救中心" \
    --receipt RC-2 --ref e2
claim2=$(field claim_id)
check "a third, of A" 0 ctl --json emergency claim A 20.00 --hospital "北京某医院" \
    --receipt RC-3 --ref e3
claim3=$(field claim_id)
check "A's claims" 0 ctl --json emergency list --patient A
expect "the first" "\"claim_id\":$claim1," "$OUT"
expect "the third" "\"claim_id\":$claim3," "$OUT"
refute "D's claim not among A's" "\"claim_id\":$claim2," "$OUT"
check "nothing is overdue on the day it was made" 0 ctl --json emergency list --overdue
expect "an empty list" '"claims":[]' "$OUT"
check "a page of one" 0 ctl --json emergency list --limit 1
expect "the first claim" "\"claim_id\":$claim1," "$OUT"
expect "a cursor to the next" "\"next_cursor\":$claim2" "$OUT"
check "the next page" 0 ctl --json emergency list --limit 1 --cursor "$claim2"
expect "the second claim" "\"claim_id\":$claim2," "$OUT"
check "the text form" 0 ctl emergency list --patient D
expect "names the hospital and the due day" "南京急救中心" "$OUT"
expect "and the due day" "due by 2026-12-15: open" "$OUT"

# ---- returned within the 7 working days ----
set_clock "2026-12-15 16:00:00"
check "the first claim returned whole on its due day" 0 ctl --json emergency return "$claim1"
expect "returned" '"state":"returned"' "$OUT"
expect "all of it" '"returned_fen":30000' "$OUT"
expect "in time" '"late":false' "$OUT"
expect "the account's balance after it" '"balance_after_fen":40000' "$OUT"
closed1=$(field closed_seq)
check "a retry of the return" 0 ctl --json emergency return "$claim1"
expect "answered again" '"replayed":true' "$OUT"
expect "the same close" "\"closed_seq\":$closed1," "$OUT"
check "a rejection of a returned claim" 1 ctl emergency reject "$claim1" --reason no
expect "EMERGENCY_CLAIM_CLOSED" "EMERGENCY_CLAIM_CLOSED" "$ERR"
check "A's account took it once" 0 ctl --json account show A
expect "A has 400.00" '"balance_fen":40000' "$OUT"
check "the statement shows it" 0 ctl --json statement A
expect "an emergency_closed line" '"type":"emergency_closed"' "$OUT"
expect "with the balance after" '"balance_after_fen":40000' "$OUT"

# ---- overdue, then late ----
set_clock "2026-12-16 09:00:00"
check "the day after the due day: two claims overdue" 0 ctl --json emergency list --overdue
expect "today is judged in business time" '"today":"2026-12-16"' "$OUT"
expect "D's overdue" "\"claim_id\":$claim2," "$OUT"
expect "A's third overdue" "\"claim_id\":$claim3," "$OUT"
refute "a returned claim is not overdue" "\"claim_id\":$claim1," "$OUT"
check "D's account frozen" 0 ctl account freeze D --reason "核查中"
check "D's returned in part, late, into the frozen account" 0 ctl --json emergency return \
    "$claim2" 30.00 \
    --reason "两项药品不在目录内"
expect "30.00 of 50.00" '"returned_fen":3000' "$OUT"
partial_seq=$(field closed_seq)
expect "late" '"late":true' "$OUT"
expect "the reason kept" '"reason":"两项药品不在目录内"' "$OUT"
check "the text form of a partial, late return" 0 ctl emergency list --patient D
expect "what went back, the balance, late, why" \
    "returned 30.00 (account balance 30.00) at entry $partial_seq, late (两项药品不在目录内)" \
    "$OUT"
check "D's account unfrozen" 0 ctl account unfreeze D
check "A's third rejected" 0 ctl --json emergency reject "$claim3" --reason "非急诊"
expect "rejected" '"state":"rejected"' "$OUT"
expect "nothing returned" '"returned_fen":0' "$OUT"
check "A's account did not move for the rejection" 0 ctl --json account show A
expect "A still has 400.00" '"balance_fen":40000' "$OUT"
check "nothing is overdue once every claim is closed" 0 ctl --json emergency list --overdue
expect "an empty list" '"claims":[]' "$OUT"

# ---- an account closed before its claim came back ----
check "A claims once more" 0 ctl --json emergency claim A 10.00 --hospital H --receipt RC-4 \
    --ref e4
claim4=$(field claim_id)
check "A emigrates: the account closes" 0 ctl withdraw A --reason emigration --ref wA
check "a claim of a closed account is refused" 1 ctl emergency claim A 1.00 --hospital H \
    --receipt RC-5 --ref e5
expect "ACCOUNT_CLOSED" "ACCOUNT_CLOSED" "$ERR"
check "the open claim is returned" 0 ctl --json emergency return "$claim4"
expect "owed in cash" '"cash_refund_due":true' "$OUT"
check "A is owed 10.00 in cash" 0 ctl --json person show A
expect "cash_refund_due_fen" '"cash_refund_due_fen":1000' "$OUT"
check "the fund pays it" 0 ctl payout --person A 10.00 --ref pay-A
check "the books balance" 0 ctl --json trial-balance
expect "to zero" '"total_fen":0}' "$OUT"

# ---- a claim across the year's end, and the year's calendar ----
set_clock "2026-12-31 11:00:00"
check "a claim on a Thursday, 31 December" 0 ctl --json emergency claim D 5.00 --hospital H \
    --receipt RC-6 --ref e6
expect "due on the 7th working day of January" '"due_day":"2027-01-11"' "$OUT"
claim6=$(field claim_id)
check "2027's days off and a Saturday worked (调休)" 0 ctl --json calendar set 2027 \
    --holidays 2027-02-08..2027-02-12,2027-01-01 --workdays 2027-02-13
expect "sorted, the range spelled out" \
    '"holidays":["2027-01-01","2027-02-08","2027-02-09","2027-02-10","2027-02-11","2027-02-12"]' \
    "$OUT"
expect "the Saturday worked" '"workdays":["2027-02-13"]' "$OUT"
check "the same days in another order" 0 ctl --json calendar set 2027 --workdays 2027-02-13 \
    --holidays 2027-02-12,2027-02-08..2027-02-11,2027-01-01,2027-02-09
expect "record nothing" '"replayed":true' "$OUT"
check "a day both off and worked" 1 ctl calendar set 2027 --holidays 2027-02-13 \
    --workdays 2027-02-13
expect "INVALID_ARGUMENT" "INVALID_ARGUMENT" "$ERR"
check "a day of another year" 1 ctl calendar set 2027 --holidays 2026-12-31
check "not a day" 2 ctl calendar set 2027 --holidays 2027-02-30
check "the calendar as set" 0 ctl calendar show 2027
expect "its days" "2027-02-08 2027-02-09" "$OUT"
check "a year never set" 0 ctl --json calendar show 2028
expect "no days, no entry" '"holidays":[],"workdays":[],"set_seq":0' "$OUT"
check "a second claim the same day, after the calendar" 0 ctl --json emergency claim D 6.00 \
    --hospital H --receipt RC-7 --ref e7
expect "1 January is off: due a day later" '"due_day":"2027-01-12"' "$OUT"
check "the claim made before keeps its due day" 0 ctl --json emergency list --patient D --open
expect "still 11 January" "2027-01-11" \
    "$(echo "$OUT" | sed -n "s/.*\"claim_id\":$claim6,[^}]*\"due_day\":\"\([0-9-]*\)\".*/\1/p")"
set_clock "2027-02-03 10:00:00"
check "a claim on the Wednesday before the week off" 0 ctl --json emergency claim D 7.00 \
    --hospital H --receipt RC-8 --ref e8
expect "due after the week off, counting the Saturday worked" '"due_day":"2027-02-18"' "$OUT"
claim8=$(field claim_id)

# ---- a namespace of its own ----
ctl person add F --name "付" --region 110101 --scheme employee >/dev/null
ctl account open F >/dev/null
ctl credit F 10.00 --ref c-f >/dev/null
ctl family bind F R --relation child >/dev/null
check "a wallet send may use a claim's reference" 0 ctl wallet send F R 1.00 --ref e1
check "declined" 0 ctl wallet decline --ref e1
check "and a claim a send's" 0 ctl emergency claim F 2.00 --hospital H --receipt R --ref w-F
check "a send under it" 0 ctl wallet send F R 1.00 --ref w-F

# ---- the log, export and verify ----
check "the export lists the claims and their closes" 0 ctl export --date 2026-12-16 --format jsonl
expect "an emergency_closed row" '"type":"emergency_closed"' "$OUT"
check "verify agrees with the stored claims" 0 ctl verify
daemon_stop
start
check "after a restart, the claims are as they were" 0 ctl --json emergency list --patient D
expect "D's partial return kept" '"returned_fen":3000' "$OUT"
check "verify after the restart" 0 ctl verify
verify_finds_each_missing start emergency_claims calendars

# ---- what verify says of claims no famledgerd wrote ----
check "the closes' entries" 0 ctl --json emergency list
calendar_seq=$(ctl --json calendar show 2027 | json_fen set_seq)
closed2=$(echo "$OUT" | sed -n "s/.*\"claim_id\":$claim2,[^}]*\"closed_seq\":\([0-9]*\).*/\1/p")
daemon_stop
cp -r "$WORK/data" "$WORK/pristine"
forged() {
    local name=$1 named=$2
    shift 2
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    check "forge: $name" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" "$@"
    start
    check "verify finds it: $name" 4 ctl verify
    expect "named: $name" "$named" "$OUT$ERR"
    daemon_stop
}
forged "a late close recorded as in time" "recorded as in time" \
    set "$closed2" emergency_closed.claim.late 0
forged "a claim due later than its 7 working days" "due 2026-12-31; its entry's day gives" \
    set "$claim1" emergency_claimed.claim.due_day 2026-12-31
forged "a return that says less than its postings move" "which way the money went" \
    set "$closed1" emergency_closed.claim.returned_fen 29999
forged "a close of a claim made for someone else" "which is not open or was made otherwise" \
    set "$claim2" emergency_claimed.claim.request.patient A
forged "a stored claim open again" "emergency_claims" \
    field emergency_claims "$claim2" state 1
forged "a stored claim for more" "emergency_claims" \
    field emergency_claims "$claim3" request.amount_fen 2001
forged "a due day that forgets the calendar" "due 2027-02-12; its entry's day gives" \
    set "$claim8" emergency_claimed.claim.due_day 2027-02-12
forged "a stored calendar set by another entry" "calendars" \
    field calendars 2027 set_seq 3
forged "a calendar entry of one year with the days of another" "not as famledgerd writes it" \
    set "$calendar_seq" calendar_set.calendar.year 2028
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
start
finish
