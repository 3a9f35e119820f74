#!/bin/bash
# test_upgrade.sh -- a ledger written by famledgerd of format 3 (tests/fixtures/format3, made by
# the real famledgerd of that format with make-format3.sh) is upgraded in place to format 12:
# its statement index becomes chains of links, its mutual-aid usage moves into the accounts,
# each merchant's day becomes a chain with its totals keyed day first, each patient's
# settlements a chain whose head is in their account (A) or, without one, their person (C),
# verify passes, every statement reads as that famledgerd answered it, page by page, in both
# orders, and the ledger goes on.
. "$(dirname "$0")/lib.sh"
FIXTURE="$(dirname "$0")/../fixtures/format3"
export TZ=Asia/Shanghai

# The fixture was written on 2026-12-02 at 21:27 Shanghai time and holds a wallet send that the
# daemon returns at 06:00 the next day (wallet_return_time): run on the real clock, the test
# failed from then on. Its daemons run on a clock set just after the fixture was written, so that
# what they answer does not depend on the day the test runs.
faketime_setup
set_clock "2026-12-02 21:30:00"
fixture_daemon_start() {
    LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/clock" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 daemon_start "$@"
}

mkdir -p "$WORK/data"
check "load the format-3 ledger" 0 mdb_load -f "$FIXTURE/ledger.dump" "$WORK/data"
cp "$FIXTURE/famledger.head" "$WORK/data/"
check "it has the statement index" 0 mdb_stat -a "$WORK/data"
expect "account_entries there" "Status of account_entries" "$OUT"

# A disk that fails the upgrade's flush: famledgerd stops without a reply, and the ledger is
# the format-3 one it was, whole, for the next start to upgrade.
if [ "${BUILD#*sanitize}" != "$BUILD" ]; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
fi
touch "$WORK/fail-now"
check "the upgrade's flush fails" 1 env FAILSYNC_TRIGGER="$WORK/fail-now" \
    LD_PRELOAD="$PWD/$BUILD/tests/libfailsync.so" "$BUILD/famledgerd" --data-dir "$WORK/data" \
    --socket "$SOCKET" --log-level info
expect "it was upgrading" "from format 3 to 12" "$ERR"
expect "and says the ledger is as it was" "commit the upgrade (the ledger is as it was)" "$ERR"
check "still format 3, with its index" 0 mdb_stat -a "$WORK/data"
expect "account_entries still there" "Status of account_entries" "$OUT"
expect "patient_settlements still there" "Status of patient_settlements" "$OUT"
check "the format key says 3" 0 mdb_dump -p -s meta "$WORK/data"
expect "format 3" "$(printf ' format\n 3')" "$OUT"

fixture_daemon_start --log-level info
expect "the upgrade is logged" "from format 3 to 12" "$(cat "$WORK/daemon.log")"
expect "with the lines it linked" "28 statement lines linked" "$(cat "$WORK/daemon.log")"
# A gave C 102.00 this month and year; B's 20.00 was all refunded: B keeps no count.
expect "and the aid usage it moved" "moved into the accounts: 4 rows, 1 holding counts" \
    "$(cat "$WORK/daemon.log")"
# P1: nine settlements and a refund; H1: two settlements, a cancel and a reversal.
expect "and the merchants' days it linked" "merchants' days as chains: 14 links, 2 days of totals" \
    "$(cat "$WORK/daemon.log")"
# A: seven settlements, C: three, D: one.
expect "and the patients' settlements it linked" \
    "patients' settlements as chains: 11 links, 3 patients" \
    "$(cat "$WORK/daemon.log")"
expect "and the time zone it recorded" "recorded its business time zone, Asia/Shanghai" \
    "$(cat "$WORK/daemon.log")"
check "the head is the one format 3 had" 0 ctl --json head
expect "same head" "$(sed 's/}$//' "$FIXTURE/head.json")" "$OUT"
check "verify passes on the upgraded ledger" 0 ctl verify
expect "verify ok" "verify: OK" "$OUT"

# statement_pages PERSON [--oldest-first]: every page of 3 lines, one JSON reply a line.
statement_pages() {
    local person=$1 order=${2:-} cursor="" page
    while :; do
        page=$(ctl --json statement "$person" --limit 3 $order ${cursor:+--cursor "$cursor"}) ||
            return 1
        echo "$page"
        cursor=$(echo "$page" | sed -n 's/.*"next_cursor":\([0-9]*\).*/\1/p')
        [ -n "$cursor" ] && [ "$cursor" != 0 ] || return 0
    done
}
for person in A B D E; do
    check "statement of $person" 0 statement_pages "$person"
    expect "$person newest first, as format 3 answered" "$(cat "$FIXTURE/statement-$person.jsonl")" "$OUT"
    check "statement of $person, oldest first" 0 statement_pages "$person" --oldest-first
    expect "$person oldest first, as format 3 answered" \
        "$(cat "$FIXTURE/statement-$person-oldest.jsonl")" "$OUT"
done
check "C's settlements" 0 ctl --json settlements --patient C --limit 100
expect "as format 3 answered" "$(cat "$FIXTURE/settlements-C.json")" "$OUT"
# reference_pages LIMIT ARGS...: `settlements ARGS`, LIMIT a page, one reference a line.
reference_pages() {
    local limit=$1 cursor="" page
    shift
    while :; do
        page=$(ctl --json settlements "$@" --limit "$limit" ${cursor:+--cursor "$cursor"}) ||
            return 1
        echo "$page" | grep -o '"merchant_reference":"[^"]*"' | cut -d'"' -f4
        cursor=$(echo "$page" | sed -n 's/.*"next_cursor":\([0-9]*\).*/\1/p')
        [ -n "$cursor" ] && [ "$cursor" != 0 ] || return 0
    done
}
# patient_pages PATIENT: their settlements, 1 a page.
patient_pages() { reference_pages 1 --patient "$1"; }
check "C's settlements, page by page" 0 patient_pages C
expect "newest first, each once" "s5 s4 s1" "$(echo $OUT)"
for patient_count in A:7 D:1; do
    patient=${patient_count%:*}
    check "$patient's settlements" 0 ctl --json settlements --patient $patient --limit 100
    all=$(echo "$OUT" | grep -o '"merchant_reference":"[^"]*"' | cut -d'"' -f4)
    expect "$patient has ${patient_count#*:}" "${patient_count#*:}" "$(echo "$all" | grep -c .)"
    check "$patient's settlements, page by page" 0 patient_pages $patient
    expect "$patient's, the same" "$(echo $all)" "$(echo $OUT)"
done
check "C's mutual aid" 0 ctl --json aid C
expect "as format 3 answered" "$(cat "$FIXTURE/aid-C.json")" "$OUT"
# Its day, found in the log since the day index is gone: every entry, in order.
head_seq=$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$FIXTURE/head.json")
check "the fixture's day exported" 0 ctl export --date 2026-12-02 --format jsonl
expect "all its entries" "$head_seq" "$(echo "$OUT" | wc -l)"
expect "the first" '"seq":1,' "$(echo "$OUT" | head -n 1)"
# Each merchant's day, now a chain: what the day index listed, newest first.
check "P1's day reconciles" 0 ctl --json reconcile totals --merchant P1 --from 2026-12-02 --to 2026-12-02
expect "nine settlements" '"figure":"count","ledger":9' "$OUT"
expect "their amounts" '"figure":"amount","ledger_fen":14321' "$OUT"
expect "the refund of s1" '"figure":"refunds","ledger_fen":3000' "$OUT"
check "H1's day, with its cancel and its reversal" 0 ctl --json reconcile totals --merchant H1 --from 2026-12-02 --to 2026-12-02
expect "two settlements" '"figure":"count","ledger":2' "$OUT"
expect "both given back" '"figure":"refunds","ledger_fen":3500' "$OUT"
# merchant_pages MERCHANT: its settlements of the day, 2 a page.
merchant_pages() { reference_pages 2 --merchant "$1" --from 2026-12-02 --to 2026-12-02; }
check "P1's settlements, page by page" 0 merchant_pages P1
expect "newest first, each once" "m6 m5 m4 m3 m2 m1 s5 s2 s1" "$(echo $OUT)"
check "P1's clearing" 0 ctl clearing --merchant P1 --from 2026-12-01 --to 2026-12-02
expect "one day of movement" "$(printf '2026-12-02\t')" "$OUT"
check "H1's balance: nothing owed" 0 ctl --json merchant balance H1
expect "settled and given back" '"payable_fen":0,"settled_fen":3500,"refunded_fen":3500' "$OUT"

# The ledger goes on: new lines chain onto the upgraded ones.
check "a credit" 0 ctl credit A 1.00 --ref up-c1
check "a settlement for C" 0 ctl settle --merchant P1 --ref up-s1 --patient C --amount 2.00
check "A's newest line is the settlement" 0 ctl --json statement A --limit 2
expect "newest" '"reference":"up-s1"' "$OUT"
expect "then the credit" '"reference":"up-c1"' "$OUT"
check "A's whole statement, oldest first" 0 statement_pages A --oldest-first
expect "starts as before" "$(head -n 1 "$FIXTURE/statement-A-oldest.jsonl" | cut -c1-200)" "$OUT"
expect "ends with the settlement" '"reference":"up-s1"' "$(echo "$OUT" | tail -n 1)"
check "P1's days, today's and the upgraded one" 0 ctl --json settlements --merchant P1 --from 2026-12-02 --to "$(date +%Y-%m-%d)" --limit 2
expect "the new one first" '"merchant_reference":"up-s1"' "$OUT"
expect "then the upgraded day's newest" '"merchant_reference":"m6"' "$OUT"
check "C's settlements, the new one first" 0 patient_pages C
expect "then the upgraded ones" "up-s1 s5 s4 s1" "$(echo $OUT)"
check "verify still passes" 0 ctl verify
daemon_stop
check "the table is gone" 0 mdb_stat -a "$WORK/data"
case "$OUT" in *account_entries*|*aid_usage*|*day_entries*|*"merchant_day"[!s]*|*clearing_days*|*patient_settlements*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL a retired table left" ;;
    *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;; esac
# The tables keyed by seq share one tree since format 9.
case "$OUT" in *"Status of account_links"*|*"Status of settlements"*|*"Status of patient_links"*|*"Status of merchant_links"*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL a folded table left" ;;
    *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;; esac
expect "by_seq there" "Status of by_seq" "$OUT"
fixture_daemon_start --log-level info
check "it starts again, as format 12" 0 ctl head
expect "upgraded once" "1" "$(grep -c 'from format 3 to 12' "$WORK/daemon.log")"
daemon_stop
# verify sums a day's totals only while its replay is in that day: a missing total of the
# earlier of two days is still found, and named on the second pass.
check "delete H1's totals of the fixture's day" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" delete day_totals
fixture_daemon_start
check "verify finds it" 4 ctl verify
expect "by day and merchant" "day_totals of 20261202H1" "$OUT$ERR"
daemon_stop

# On a disk too full for the links: refused with the reason, still format 3; with room, upgraded.
mkdir -p "$WORK/small"
if mount -t tmpfs -o size=1m tmpfs "$WORK/small" 2>/dev/null; then
    mkdir -p "$WORK/small/data"
    mdb_load -f "$FIXTURE/ledger.dump" "$WORK/small/data" 2>/dev/null
    cp "$FIXTURE/famledger.head" "$WORK/small/data/"
    used=$(df -k --output=used "$WORK/small" | tail -n 1)
    mount -o remount,size=$((used + 4))k "$WORK/small"
    check "famledgerd refuses to upgrade on a full disk" 1 "$BUILD/famledgerd" --data-dir \
        "$WORK/small/data" --socket "$WORK/small.sock" --log-level warn
    expect "saying so" "the disk is full. Nothing was changed" "$ERR"
    check "the ledger is still of format 3" 0 mdb_stat -a "$WORK/small/data"
    expect "its index there" "Status of account_entries" "$OUT"
    mount -o remount,size=8m "$WORK/small"
    env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/clock" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 "$BUILD/famledgerd" --data-dir "$WORK/small/data" \
        --socket "$WORK/small.sock" --log-level warn 2>>"$WORK/small.log" &
    pid=$!
    for _ in $(seq 1 300); do "$BUILD/ledgerctl" --socket "$WORK/small.sock" head >/dev/null 2>&1 && break; sleep 0.01; done
    check "with room, it upgrades and verifies" 0 "$BUILD/ledgerctl" --socket "$WORK/small.sock" verify
    kill -TERM "$pid"; wait "$pid"
    umount "$WORK/small"
else
    echo "skip: a full filesystem needs root (mount -t tmpfs)"
fi

# A format-3 ledger whose statement index is gone cannot be upgraded: refused by name, and the
# ledger left as it was.
rm -rf "$WORK/data" && mkdir -p "$WORK/data"
awk '/^VERSION=/ { skip = 0; n = 0 } { lines[++n] = $0 }
     /^database=account_entries$/ { skip = 1 }
     /^DATA=END$/ { if (!skip) for (i = 1; i <= n; i++) print lines[i]; n = 0 }' \
    "$FIXTURE/ledger.dump" > "$WORK/damaged.dump"
expect "the index left out" "0" "$(grep -c 'database=account_entries' "$WORK/damaged.dump")"
check "load it" 0 mdb_load -f "$WORK/damaged.dump" "$WORK/data"
cp "$FIXTURE/famledger.head" "$WORK/data/"
before=$(md5sum < "$WORK/data/data.mdb")
check "famledgerd refuses to upgrade it" 1 "$BUILD/famledgerd" --data-dir "$WORK/data" \
    --socket "$SOCKET" --log-level warn
expect "naming the table" "account_entries" "$ERR"
expect "untouched" "$before" "$(md5sum < "$WORK/data/data.mdb")"
finish
