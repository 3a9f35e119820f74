# test_audit.sh -- the nightly jobs on a scripted day: verify, export, reconcile totals and
# details for three merchants, and verify catching tampering.
. "$(dirname "$0")/lib.sh"
daemon_start

for p in P1 P2 H; do
    ctl person add $p --name "Person $p" --region 110101 --scheme employee >/dev/null
    ctl account open $p >/dev/null
    ctl credit $p 500 --ref "c-$p" >/dev/null
done
ctl family bind H P1 --relation parent >/dev/null
for m in PH001 PH002 HS001; do
    kind=pharmacy; [ $m = HS001 ] && kind=hospital
    ctl merchant add $m --name "Merchant $m" --kind $kind --region 110101 >/dev/null
done
settle() { ctl --json settle --merchant "$1" --ref "$2" --patient "$3" --amount "$4" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/'; }
a1=$(settle PH001 a1 P1 120)
a2=$(settle PH001 a2 P2 30)
a3=$(settle PH001 a3 P1 500)
b1=$(settle PH002 b1 P2 80)
c1=$(ctl --json settle --merchant HS001 --ref c1 --patient P2 --amount 10 --category outpatient | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
ctl refund --merchant PH001 --ref r1 --settlement "$a1" --amount 20 >/dev/null
ctl cancel --merchant PH002 --ref x1 --settlement "$b1" >/dev/null
day=$(head_day)

check "verify passes" 0 ctl verify
expect "verify says ok" "verify: OK" "$OUT"
check "verify json" 0 ctl --json verify
expect "head in verify" '"ok":true' "$OUT"

# Settlements go on while verify runs: verify catches up, raises no false alarm, and every
# settlement is answered.
ctl credit H 100000 --ref c-more >/dev/null
( i=0; while [ $i -lt 60 ]; do ctl settle --merchant PH002 --ref "live-$i" --patient P1 --amount 1 >/dev/null || echo "settle $i failed"; i=$((i + 1)); done ) > "$WORK/live.log" 2>&1 &
live=$!
check "verify while settling" 0 ctl verify
wait $live
[ ! -s "$WORK/live.log" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL live settlements: $(cat "$WORK/live.log")"; }
check "verify after settling" 0 ctl verify

check "PH001 totals alone" 0 ctl --json reconcile totals --merchant PH001 --from "$day" --to "$day"
expect "ledger count" '"figure":"count","ledger":3' "$OUT"
expect "ledger amount" '"figure":"amount","ledger_fen":65000' "$OUT"
check "PH001 balanced with the true figures" 0 ctl reconcile totals --merchant PH001 --from "$day" --to "$day" --count 3 --amount 650 --refunds 20
expect "balanced" "reconcile totals: balanced" "$OUT"
check "PH001 with a wrong amount" 5 ctl reconcile totals --merchant PH001 --from "$day" --to "$day" --count 3 --amount 651 --refunds 20
expect "the wrong figure is named" "$(printf '%-16s %16s %16s  %s' amount 650.00 651.00 'NOT BALANCED')" "$OUT"
expect "the right ones balance" "$(printf '%-16s %16s %16s  %s' count 3 3 balanced)" "$OUT"
# A range longer than a year is refused, never summed for its first 366 days only (before, two
# years from a year back counted none of today's settlements and said NOT BALANCED); a date
# with anything after it is refused, not cut to its first ten characters.
year_back=$(date -d "$day - 365 days" +%F)
check "a year up to the day counts the day" 0 ctl reconcile totals --merchant PH001 --from "$year_back" --to "$day" --count 3
check "a range past 366 days is refused" 2 ctl reconcile totals --merchant PH001 --from "$(date -d "$day - 366 days" +%F)" --to "$day" --count 3
expect "and says how long a range may be" "span at most 366 days" "$ERR"
check "a date with more after it" 2 ctl reconcile totals --merchant PH001 --from "${day}x" --to "$day"
check "a day that is not in the calendar" 2 ctl reconcile totals --merchant PH001 --from 2026-02-29 --to 2026-03-01
check "PH002 refunds include its cancel" 0 ctl --json reconcile totals --merchant PH002 --from "$day" --to "$day"
expect "cancel counted as refund" '"figure":"refunds","ledger_fen":8000' "$OUT"

row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }
{
    echo "merchant_reference	settlement_id	patient	amount	acct_pay	acct_mulaid_pay	refunded"
    row a1 "$a1" P1 120.00 120.00 0.00 1
    row a2 "$a2" P2 30.00 30.00 0.00 0
    row a3 "$a3" P1 500.00 380.00 120.00 0
} > "$WORK/ph001-true.tsv"
check "details balanced" 0 ctl reconcile details --merchant PH001 --date "$day" --file "$WORK/ph001-true.tsv"
expect "balanced details" "reconcile details: balanced" "$OUT"
{
    row a1 "$a1" P1 120.00 120.00 0.00 0
    row a3 "$a3" P1 500.01 380.00 120.00 0
    row zz 999 P1 1.00 1.00 0.00 0
    echo "broken line"
} > "$WORK/ph001-wrong.tsv"
# A file that cannot be read (a directory here, a failing disk in the field) is never taken for
# an empty or a short one: exit 6, and nothing compared or sent.
check "details from a file that cannot be read" 6 ctl reconcile details --merchant PH001 --date "$day" --file "$WORK"
expect "say why, with no report" "cannot read $WORK (0 lines read): Is a directory: no report" "$ERR"
check "a credit import from one" 6 ctl credit import "$WORK"
expect "says nothing was sent" "cannot read $WORK: Is a directory; nothing was sent" "$ERR"
check "a migration from one" 6 ctl migrate persons "$WORK"
expect "says so too" "cannot read $WORK: Is a directory; nothing was sent" "$ERR"
check "details differ" 5 ctl reconcile details --merchant PH001 --date "$day" --file "$WORK/ph001-wrong.tsv" --format tsv
expect "refund mismatch" "refund_mismatch	a1	1" "$OUT"
expect "amount mismatch" "amount_mismatch	a3	2" "$OUT"
expect "missing in ledger" "missing_in_ledger	zz	3" "$OUT"
expect "unreadable row by line" "unreadable_row	broken line	4" "$OUT"
expect "missing in file" "missing_in_file	a2	0" "$OUT"
check "details as json" 5 ctl --json reconcile details --merchant PH001 --date "$day" --file "$WORK/ph001-wrong.tsv"
expect "json differences" '"kind":"missing_in_file","merchant_reference":"a2"' "$OUT"

# A settlement twice in the merchant's file is billed twice: named, not matched again. A
# spreadsheet's byte order mark before the header is not a row.
{
    printf '\357\273\277merchant_reference\tsettlement_id\tpatient\tamount\tacct_pay\t'
    printf 'acct_mulaid_pay\trefunded\r\n'
    row a1 "$a1" P1 120.00 120.00 0.00 1
    row a2 "$a2" P2 30.00 30.00 0.00 0
    row a3 "$a3" P1 500.00 380.00 120.00 0
    row a2 "$a2" P2 30.00 30.00 0.00 0
} > "$WORK/ph001-twice.tsv"
check "a settlement twice in the file" 5 ctl reconcile details --merchant PH001 --date "$day" --file "$WORK/ph001-twice.tsv" --format tsv
expect "the second line is named, with the first" "duplicate_in_file	a2	5	the file has this settlement on line 3 already" "$OUT"
expect "and it is the only difference" "1" "$(grep -c . <<< "$(tail -n +2 <<< "$OUT")")"

# A file in GBK, or with a terminal's escape sequence in a reference: the report names the rows,
# shows what is not a reference's printable ASCII as '?', and its JSON is still JSON.
{
    row a1 "$a1" P1 120.00 120.00 0.00 1
    row a2 "$a2" P2 30.00 30.00 0.00 0
    row a3 "$a3" P1 500.00 380.00 120.00 0
    printf '\260\241\t1\tP1\t1.00\t1.00\t0.00\t0\n'
    printf 'x\033[2Jy\t1\tP1\t1.00\t1.00\t0.00\t0\n'
    printf '\377\376\n'
} > "$WORK/ph001-bytes.tsv"
check "a file of bytes no reference has" 5 ctl reconcile details --merchant PH001 --date "$day" \
    --file "$WORK/ph001-bytes.tsv" --format tsv
expect "a GBK reference shown as ?" "missing_in_ledger	??	4" "$OUT"
expect "an escape sequence shown as ?" "missing_in_ledger	x?[2Jy	5" "$OUT"
expect "an unreadable row of bytes" "unreadable_row	??	6" "$OUT"
check "the same as json" 5 ctl --json reconcile details --merchant PH001 --date "$day" \
    --file "$WORK/ph001-bytes.tsv"
check "is JSON, three differences" 0 python3 -c '
import json, sys
report = json.loads(sys.stdin.buffer.read().decode("utf-8"))
assert len(report["differences"]) == 3, report
assert report["differences"][0]["merchant_reference"] == "??", report
' <<< "$OUT"

check "export csv" 0 ctl export --date "$day" --out "$WORK/day1.csv"
check "export again" 0 ctl export --date "$day" --out "$WORK/day2.csv"
check "exports are byte-identical" 0 cmp "$WORK/day1.csv" "$WORK/day2.csv"
expect "csv header" "seq,time,type,accounts,amount_fen,merchant,patient,reference,settlement_id,hash" "$(head -1 "$WORK/day1.csv")"
expect "a settled row" ",settled,\"P1:-12000\",12000,\"PH001\",\"P1\",\"a1\",$a1," "$(cat "$WORK/day1.csv")"
check "export jsonl" 0 ctl export --date "$day" --format jsonl
expect "jsonl has the body" '"type":"refunded"' "$OUT"
check "another day is empty" 0 ctl export --date 2001-01-01
[ "$(echo "$OUT" | wc -l)" -eq 1 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL empty day has rows"; }

# A report that does not reach its file whole fails with exit 6, never exits 0 with the file cut
# short: a nightly job writing its reports onto a full disk must hear of it.
to_full() { "$@" > /dev/full; }
check "an export to a full device fails" 6 to_full ctl export --date "$day"
expect "and says so" "cannot write the output: No space left on device; it is incomplete" "$ERR"
check "so does verify's report" 6 to_full ctl verify
check "and the metrics" 6 to_full ctl stats --prometheus
mkdir -p "$WORK/full"
if mount -t tmpfs -o size=16k tmpfs "$WORK/full" 2>/dev/null; then
    dd if=/dev/zero of="$WORK/full/filler" bs=4k 2>/dev/null
    check "an export --out onto a full disk fails" 6 ctl export --date "$day" --out "$WORK/full/day.csv"
    expect "naming the file" "cannot write $WORK/full/day.csv: No space left on device; nothing was written there" "$ERR"
    check "the metrics' --out too" 6 ctl stats --prometheus --out "$WORK/full/famledger.prom"
    expect "and nothing is left there" "[filler]" "[$(ls -A "$WORK/full")]"
    umount "$WORK/full"
fi
check "an export into a missing directory is a usage error" 2 ctl export --date "$day" --out "$WORK/none/day.csv"
expect "naming the file and why" "cannot write $WORK/none/day.csv: No such file or directory" "$ERR"
# A report written whole is synced, and so is its name (libfailsync's FAILSYNC_LOG).
allow_preload
check "export --out" 0 env LD_PRELOAD="$PWD/$BUILD/tests/libfailsync.so" FAILSYNC_LOG="$WORK/synced" \
    "$BUILD/ledgerctl" --socket "$SOCKET" export --date "$day" --out "$WORK/day3.csv"
check "is synced before it takes its name" 0 grep -qxF "$(realpath "$WORK")/day3.csv.partial" "$WORK/synced"
check "and so is its name" 0 grep -qxF "$(realpath "$WORK")" "$WORK/synced"
check "and it is the same export" 0 cmp "$WORK/day1.csv" "$WORK/day3.csv"

# Tampering: stop the daemon, change the disk, start again.
cp -r "$WORK/data" "$WORK/pristine"
daemon_stop
"$BUILD/tests/famledger-corrupt" "$WORK/data" entry "$a2"
daemon_start
check "verify catches a corrupted entry" 4 ctl verify
expect "names the entry" "FAILED at seq $a2" "$OUT"
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
"$BUILD/tests/famledger-corrupt" "$WORK/data" balance P2 100
daemon_start
check "verify catches a corrupted balance" 4 ctl verify
expect "names the account" "account P2: stored balance" "$OUT"
daemon_stop
# The log itself damaged: whole-log pages are read by a cursor and served as stored, so an
# entry that does not decode is named by verify, and a missing one is storage damage.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "garble an entry, rightly hashed" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" garble "$a2"
daemon_start
check "verify catches an entry that does not decode" 4 ctl verify
expect "names it" "entry $a2 does not decode" "$OUT"
# A day's page decodes each entry for its time: an export refuses rather than skip it.
check "an export of its day refuses" 1 ctl export
expect "as damage" "INTERNAL" "$ERR"
expect "the daemon names the entry" "log: entry $a2 does not decode" "$(cat "$WORK/daemon.log")"
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "take an entry out of the log" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" hole "$a2"
daemon_start
check "verify catches the hole" 4 ctl verify
expect "as damage after the entry before it" \
    "cannot read its log after entry $((a2 - 1)): its storage is damaged" "$OUT"
expect "the daemon names the missing entry" "log: entry $a2 is missing" "$(cat "$WORK/daemon.log")"
check "an export of its day stops at the hole" 1 ctl export
expect "as damage" "INTERNAL" "$ERR"
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
daemon_start
check "the pristine copy verifies" 0 ctl verify

finish
