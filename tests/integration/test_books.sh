# test_books.sh -- double entry and clearing, reversal by merchant reference and the person
# lifecycle, end to end through ledgerctl, with verify checking the books after each act, and
# catching an entry whose postings were made not to balance.
. "$(dirname "$0")/lib.sh"
daemon_start --cross-province 11,44

ctl person add MOM --name "Mother" --region 110101 --scheme employee >/dev/null
ctl person add DAD --name "Father" --region 110102 --scheme employee >/dev/null
ctl person add KID --name "Child" --region 110101 --scheme resident >/dev/null
ctl person add EX --name "Other" --region 110101 --scheme employee >/dev/null
for p in MOM DAD EX; do ctl account open $p >/dev/null; done
ctl credit MOM 100 --ref c-mom >/dev/null
ctl credit DAD 50 --ref c-dad >/dev/null
ctl merchant add P1 --name One --kind pharmacy --region 110101 >/dev/null

check "bind with evidence and channel" 0 ctl --json family bind MOM KID --relation child --evidence HR-0042 --channel counter
check "bind a second funder" 0 ctl family bind DAD KID --relation child
check "spouses" 0 ctl family bind MOM DAD --relation spouse
check "a second spouse is refused" 1 ctl family bind EX MOM --relation spouse
expect "relation conflict named" "RELATION_CONFLICT" "$ERR"
check "a contradicting reverse relation is refused" 1 ctl family bind DAD MOM --relation sibling
expect "relation conflict named" "RELATION_CONFLICT" "$ERR"

check "settle 120 for KID" 0 ctl --json settle --merchant P1 --ref s1 --patient KID --amount 120
id=$(echo "$OUT" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
check "the fund owes P1 what the accounts paid" 0 ctl --json merchant balance P1
expect "payable" '"payable_fen":12000' "$OUT"
check "MOM's statement says for whom and where" 0 ctl --json statement MOM
expect "mutual-aid leg" '"reference":"s1","patient":"KID","merchant":"P1"' "$OUT"
check "a freeze line shows the real balance" 0 ctl account freeze DAD --reason audit
check "statement" 0 ctl --json statement DAD --limit 1
expect "balance after the freeze" '"type":"account_frozen","amount_fen":0,"balance_after_fen":3000' "$OUT"
ctl account unfreeze DAD >/dev/null
check "refund 15" 0 ctl refund --merchant P1 --ref r1 --settlement "$id" --amount 15
check "DAD's statement says for whom the refund was" 0 ctl --json statement DAD --limit 1
expect "the refund's patient" '"reference":"r1","patient":"KID","merchant":"P1"' "$OUT"
check "payout more than owed is refused" 1 ctl payout --merchant P1 106 --ref pay-1
expect "exceeds owed" "PAYOUT_EXCEEDS_OWED" "$ERR"
expect "in yuan" "105.00 yuan" "$ERR"
check "payout 100" 0 ctl --json payout --merchant P1 100 --ref pay-1
expect "still owed" '"owed_after_fen":500' "$OUT"
check "payout retry replays" 0 ctl --json payout --merchant P1 100 --ref pay-1
expect "replayed" '"replayed":true' "$OUT"
today=$(head_day)
check "clearing report" 0 ctl clearing --merchant P1 --from "$today" --to "$today"
expect "the day's row" "$today	120.00	15.00	100.00	5.00" "$OUT"
check "trial balance" 0 ctl --json trial-balance
expect "sums to zero" '"total_fen":0}' "$OUT"
expect "payables" '{"class":"merchant_payable","total_fen":500}' "$OUT"

check "reverse a settlement that never arrived" 0 ctl --json reverse --merchant P1 --ref lost-1
expect "not found" '"settlement_found":false' "$OUT"
check "the late original is refused" 1 ctl settle --merchant P1 --ref lost-1 --patient KID --amount 10
expect "reversed named" "REVERSED" "$ERR"
check "settle s2 (DAD pays, MOM's account is empty)" 0 ctl settle --merchant P1 --ref s2 --patient KID --amount 8
check "find it by the merchant's reference" 0 ctl --json settlement show --merchant P1 --ref s2
expect "found" '"merchant_reference":"s2"' "$OUT"
check "reverse it" 0 ctl --json reverse --merchant P1 --ref s2
expect "found and returned" '"settlement_found":true' "$OUT"
expect "all of it" '"returned_fen":800' "$OUT"
check "reverse again replays" 0 ctl --json reverse --merchant P1 --ref s2
expect "replayed" '"replayed":true' "$OUT"
check "the day's totals count the reversal as a refund" 0 ctl reconcile totals --merchant P1 --from "$today" --to "$today" --refunds 23
expect "15 refunded and 8 reversed" "reconcile totals: balanced" "$OUT"
s2_id=$(ctl --json settlement show --merchant P1 --ref s2 | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
printf 's1\t%s\tKID\t120.00\t0.00\t120.00\t1\ns2\t%s\tKID\t8.00\t0.00\t8.00\t1\n' \
    "$id" "$s2_id" > "$WORK/p1.tsv"
check "the day's details read past the reversal" 0 ctl reconcile details --merchant P1 --date "$today" --file "$WORK/p1.tsv"
expect "balanced details" "reconcile details: balanced" "$OUT"

check "DAD moves to Guangdong" 0 ctl --json transfer-out DAD --to-region 440103 --ref t-out
out_seq=$(echo "$OUT" | sed 's/.*"seq":\([0-9]*\).*/\1/')
amount=$(echo "$OUT" | sed 's/.*"amount_fen":\([0-9]*\).*/\1/')
yuan=$(printf '%d.%02d' $((amount / 100)) $((amount % 100)))
check "moved out" 0 ctl --json person show DAD
expect "status" '"status":"moved_out"' "$OUT"
check "a moved-out patient is refused" 1 ctl settle --merchant P1 --ref s3 --patient DAD --amount 1
expect "inactive named" "PERSON_INACTIVE" "$ERR"
check "the transfer-in must match" 1 ctl transfer-in DAD 1 --from-transfer "$out_seq" --ref t-in-0
expect "mismatch named" "TRANSFER_MISMATCH" "$ERR"
check "DAD arrives, completing it" 0 ctl transfer-in DAD "$yuan" --from-transfer "$out_seq" --ref t-in
check "back, in the new region" 0 ctl --json person show DAD
expect "active" '"status":"active"' "$OUT"
expect "region" '"region":"440103"' "$OUT"
check "once only" 1 ctl transfer-in DAD "$yuan" --from-transfer "$out_seq" --ref t-in-2
check "trial balance still zero, clearing empty" 0 ctl --json trial-balance
expect "clearing" '{"class":"clearing","total_fen":0}' "$OUT"

check "EX opts out" 0 ctl withdraw EX --reason opt-out --ref w-ex
check "and enrols again" 0 ctl account open EX
check "active again" 0 ctl --json person show EX
expect "active" '"status":"active"' "$OUT"
check "MOM dies" 0 ctl withdraw MOM --reason death --heir "Heir" --ref w-mom
check "deceased" 0 ctl --json person show MOM
expect "status" '"status":"deceased"' "$OUT"
check "a deceased patient is refused" 1 ctl quote --merchant P1 --ref q --patient MOM --amount 1
expect "deceased named" "PERSON_DECEASED" "$ERR"
check "refund to MOM's closed account is owed in cash" 0 ctl --json refund --merchant P1 --ref r2 --settlement "$id" --amount 50
expect "cash due" '"cash_refund_due":true' "$OUT"
expect "DAD's 5 back first, then 45 owed to MOM" '"holder":"MOM","amount_fen":4500' "$OUT"
check "the fund pays the heir" 0 ctl payout --person MOM 45 --ref heir-1
# The refund came after P1 was paid out: P1 owes the fund what its refund gave back, and pays
# it back (追回).
check "P1 owes the fund" 0 ctl --json merchant balance P1
expect "its payable below zero" '"payable_fen":-4500' "$OUT"
check "its balance as text" 0 ctl merchant balance P1
expect "says what to do" "P1 owes the fund 45.00: the next clearing nets it, or ledgerctl recover" \
    "$OUT"
check "a recovery of more than P1 owes" 1 ctl recover --merchant P1 45.01 --ref back-1
expect "is refused, saying what it owes" "P1 owes the fund 45.00 yuan" "$ERR"
check "a recovery of 40.00" 0 ctl recover --merchant P1 40 --ref back-1
expect "says what is still owed" "P1 paid 40.00 back to the fund of 110101; still owes 5.00" \
    "$OUT"
recovery_seq=$(echo "$OUT" | sed 's/^recovery \([0-9]*\):.*/\1/')
check "its retry" 0 ctl --json recover --merchant P1 40 --ref back-1
expect "replays it" '"replayed":true' "$OUT"
check "its reference with another amount" 1 ctl recover --merchant P1 5 --ref back-1
expect "is a conflict" "CONFLICT" "$ERR"
check "the rest, under the reference of a payout" 0 ctl --json recover --merchant P1 5 \
    --ref pay-1
expect "owes nothing now" '"owed_after_fen":0' "$OUT"
check "nothing more to recover" 1 ctl recover --merchant P1 0.01 --ref back-2
expect "refused" "PAYOUT_EXCEEDS_OWED" "$ERR"
check "the recovery's entry" 0 ctl entry "$recovery_seq"
expect "is a recovery" "recovered" "$OUT"
expect "out of P1's payable" "merchant_payable:P1 40.00" "$OUT"
expect "into the fund" "fund:110101 -40.00" "$OUT"
check "the day's clearing" 0 ctl clearing --merchant P1 --from "$today" --to "$today"
expect "pays out net of what came back" "$today	128.00	73.00	55.00	0.00" "$OUT"
check "the day's export" 0 ctl export --date "$today"
expect "lists the recovery" ',recovered,"",4000,"P1","","back-1",' "$OUT"
check "what relatives paid for KID, who has no account" 0 ctl --json aid KID
expect "MOM paid" '"holder":"MOM","amount_fen":10000' "$OUT"
expect "DAD paid" '"holder":"DAD","amount_fen":2000' "$OUT"
check "KID's settlements, newest first" 0 ctl --json settlements --patient KID --limit 1
expect "the newest" '"merchant_reference":"s2"' "$OUT"
cursor=$(echo "$OUT" | sed 's/.*"next_cursor":\([0-9]*\).*/\1/')
check "the next page" 0 ctl --json settlements --patient KID --limit 1 --cursor "$cursor"
expect "the older" '"merchant_reference":"s1"' "$OUT"
check "P1's settlements of today" 0 ctl settlements --merchant P1 --from "$today" --to "$today"
expect "s1 listed" "s1" "$OUT"
# A cursor past the head reads from the newest, in every list (a merchant's refused it once).
check "KID's settlements from a cursor past the head" 0 ctl --json settlements --patient KID \
    --limit 1 --cursor 99999999
expect "the newest" '"merchant_reference":"s2"' "$OUT"
check "P1's from a cursor past the head" 0 ctl --json settlements --merchant P1 --from "$today" \
    --to "$today" --limit 1 --cursor 99999999
expect "the newest" '"merchant_reference":"s2"' "$OUT"
check "a merchant's list needs dates" 2 ctl settlements --merchant P1
# Days of any four-digit year are real days: a list of the year 226, or across the year 0, is
# empty, and the daemon goes on (the day before a day of such a year once came out seven
# characters long, and a pharmacy asking for it stopped the daemon).
for range in "0226-02-01 0226-10-31" "0000-01-01 0000-03-01" "0999-12-01 1000-01-31"; do
    set -- $range
    check "P1's settlements from $1 to $2" 0 ctl --json settlements --merchant P1 --from "$1" \
        --to "$2"
    expect "none" '"settlements":[]' "$OUT"
done
check "the daemon still answers" 0 ctl head
check "the export names the patient" 0 ctl export --date "$today"
expect "patient column" '"P1","KID","s1"' "$OUT"
check "a resident beneficiary dies" 0 ctl --json person deceased KID --evidence DC-0042
expect "deceased" '"status":"deceased"' "$OUT"
check "nobody pays for KID any more" 0 ctl --json family list KID
expect "no funders" '"funding_order":[]' "$OUT"
# The cancel of a settlement paid all in cash gives nothing back, so it joins no merchant's day;
# verify once expected it there and failed this clean ledger (found by test_random_ops).
check "settle s4 all in cash" 0 ctl --json settle --merchant P1 --ref s4 --patient EX --amount 3 \
    --no-account
s4_id=$(echo "$OUT" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
check "cancel it" 0 ctl --json cancel --merchant P1 --ref c4 --settlement "$s4_id"
expect "nothing to give back" '"amount_fen":0,"legs":[]' "$OUT"
check "verify checks the books" 0 ctl verify
expect "verify ok" "verify: OK" "$OUT"
check "and walking" 0 ctl verify --walk
check "trial balance zero" 0 ctl --json trial-balance
expect "zero" '"total_fen":0}' "$OUT"

# The stored books are compared with the log both ways: a missing balance or day is named.
start_with_cross_province() { daemon_start --cross-province 11,44; }
verify_finds_each_missing start_with_cross_province balances day_totals merchant_days merchant_links \
    patient_links
# A link that points elsewhere than the entry before it is named by its owner, in each chain.
daemon_stop
rm -rf "$WORK/pristine" && cp -r "$WORK/data" "$WORK/pristine"
for table in account_links merchant_links patient_links; do
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    check "relink the last link of $table" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" \
        relink "$table"
    start_with_cross_province
    check "verify finds the relinked $table" 4 ctl verify
    expect "$table named" "$table of" "$OUT$ERR"
    daemon_stop
done
# A record of no table in the tree the tables keyed by seq share (a key without a table's
# tag) is in none of them, and verify finds it all the same, walking or digesting.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "put a stray record into by_seq" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" stray
start_with_cross_province
check "verify finds the stray record" 4 ctl verify
expect "as a link of nobody's" "account_links of X: 1 stored, the log gives 0" "$OUT$ERR"
check "and walking" 4 ctl verify --walk
expect "as a record that is none of ours" "record ????????X does not decode" "$OUT$ERR"
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
start_with_cross_province

# An attacker dates entry 8 back to entry 7's time and rewrites the chain after it: the days,
# which the daemon finds by time in the log, would lose their order. verify says so.
daemon_stop
check "redate an entry" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" redate 8
start_with_cross_province
check "verify finds the entry out of time order" 4 ctl verify
expect "named" "entry 8 is not dated after entry 7" "$OUT$ERR"
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"

# An attacker rewrites the postings of entry 8 (MOM's credit) so they do not balance, and the
# chain after it, so that every hash still links.
check "rewrite history" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" unbalance 8
daemon_start
check "verify finds the unbalanced entry" 4 ctl verify
expect "named" "does not balance" "$OUT$ERR"

# Or makes that credit an amount no daemon writes, and verify names it rather than wrap
# (test_forged.sh forges every kind of entry so).
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "credit the most negative amount" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" \
    amount 8 -9223372036854775808
daemon_start
check "verify finds the amount" 4 ctl verify
expect "named" \
    "entry 8 lacks a part that every entry of its kind has, or carries a negative amount" \
    "$OUT$ERR"

# A ledger of a format this famledgerd cannot read is refused by name, and left as it was:
# older than double entry, written by a newer famledgerd, or not a format at all.
daemon_stop
refused_format() {
    local format=$1 said=$2
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    check "mark the ledger format $format" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" meta format "$format"
    local before
    before=$(md5sum "$WORK/data/data.mdb" | cut -d' ' -f1)
    check "famledgerd refuses format $format" 1 "$BUILD/famledgerd" --data-dir "$WORK/data" --socket "$SOCKET" --log-level warn
    expect "saying why" "$said" "$ERR"
    expect "untouched" "$before" "$(md5sum "$WORK/data/data.mdb")"
}
refused_format 1 "written before double entry"
refused_format 13 "format 13, written by a newer famledgerd"
refused_format x4 "records a format this famledgerd does not know (x4)"
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"

# A ledger of format 2 (before the wallet, holds and limits) is upgraded in place: the six
# tables are created, nothing in the log changes, and it runs on. (A fresh ledger with nothing
# of the new tables in its entries stands for one written by the famledgerd before.)
daemon_stop
rm -rf "$WORK/data" "$WORK/daemon.log"
daemon_start
ctl person add A --name "A" --region 110101 --scheme employee >/dev/null
ctl person add B --name "B" --region 110101 --scheme resident >/dev/null
ctl account open A >/dev/null
ctl credit A 100 --ref c-a >/dev/null
ctl family bind A B --relation child >/dev/null
ctl merchant add P1 --name One --kind pharmacy --region 110101 >/dev/null
daemon_stop
check "make it a ledger of format 2" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" format 2
check "the tables of format 3 are gone" 0 mdb_stat -a "$WORK/data"
case "$OUT" in *wallet_sends*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL still there" ;;
    *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;; esac
expect "statements as an index, as format 2 kept them" "Status of account_entries" "$OUT"
# No quiet hours: the wallet send below must not depend on the time of day.
daemon_start --log-level info --wallet-quiet-start 00:00 --wallet-quiet-end 00:00
expect "the upgrade is logged" "from format 2 to 12" "$(cat "$WORK/daemon.log")"
check "verify passes on the upgraded ledger" 0 ctl verify
check "A's statement reads through the links" 0 ctl --json statement A --oldest-first
expect "opened, then credited" '"type":"account_opened"' "$OUT"
expect "credited" '"reference":"c-a"' "$OUT"
check "the upgraded ledger takes a wallet send" 0 ctl wallet send A B 1.00 --ref up-1
check "and a limited settlement" 0 ctl family limit A B --monthly 5.00
check "settle" 0 ctl --json settle --merchant P1 --ref up-s --patient B --amount 8.00
expect "within the limit" '"acct_mulaid_pay_fen":500' "$OUT"
check "and verify still passes" 0 ctl verify
daemon_stop
daemon_start
check "it starts again as format 12" 0 ctl head

# Stored totals damaged so that they sum past the largest amount (each within it): the daemon
# refuses the sum as damage rather than overflow, and says which in its log.
check "the day of the settlement" 0 ctl --json clearing --merchant P1 \
    --from "$(TZ=Asia/Shanghai date -d yesterday +%F)" \
    --to "$(TZ=Asia/Shanghai date -d tomorrow +%F)"
iso_day=$(echo "$OUT" | sed -n 's/.*"date":"\([0-9-]*\)".*/\1/p')
day=$(echo "$iso_day" | tr -d -)
check "a second settlement" 0 ctl --json settle --merchant P1 --ref up-s2 --patient B --amount 1
s2=$(echo "$OUT" | json_fen settlement_id)
s2_day=$(head_day) # the business day it fell on (near midnight, not $iso_day)
daemon_stop
for change in "day_totals ${day}P1 settled_fen 9223372036854775807" \
              "settlements $s2 amount_fen 9223372036854775807" \
              "day_totals ${day}P1 refunded_fen -1000" \
              "balances personal balance_fen 9223372036854775000" \
              "balances merchant_payable balance_fen 9223372036854775000"; do
    # shellcheck disable=SC2086 # the table, key, field and value, as words
    check "set $change" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" field $change
done
daemon_start
check "the clearing report of the damaged day is refused" 1 ctl clearing --merchant P1 \
    --from "$iso_day" --to "$iso_day"
expect "as damage" "INTERNAL" "$ERR"
expect "named in the log" "the days of merchant P1 up to $day sum past the largest amount" \
    "$(cat "$WORK/daemon.log")"
check "the trial balance of the damaged totals is refused" 1 ctl trial-balance
expect "as damage" "the class totals are damaged" "$ERR"
expect "named in the log" "the class totals sum past the largest amount" \
    "$(cat "$WORK/daemon.log")"
check "a reconciliation that sums the damaged settlement is refused" 1 ctl reconcile totals \
    --merchant P1 --from "$iso_day" --to "$s2_day"
expect "as damage" "sum past the largest amount: a stored settlement is damaged" "$ERR"
check "verify names the damage" 4 ctl verify
finish
