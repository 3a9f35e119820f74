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
# The daemon digests the stored settlements (a refunded one among them) while the log replays:
# verify walks none of them, and so keeps none of them, only three bits a settlement.
watched() {
    rm -f "$WORK/proxy.sock"
    "$BUILD/tests/famledger-digest-proxy" --watch "$WORK/proxy.sock" "$SOCKET" \
        2>"$WORK/proxy.err" &
    proxy=$!
    for _ in $(seq 1 100); do [ -S "$WORK/proxy.sock" ] && break; sleep 0.01; done
    check "verify through a proxy that watches $1" "$2" \
        "$BUILD/ledgerctl" --socket "$WORK/proxy.sock" verify
    wait "$proxy"
    log_pages=0 digest_pages=0 largest=0 after_last=0 settlement_pages=-1
    pacing=$(sed -n 's/^famledger-digest-proxy: \(log_pages=.*\)/\1/p' "$WORK/proxy.err")
    eval "$pacing"
}
watched "the settled ledger" 0
expect "the settlements are counted" "450 settlements" "$OUT"
check "and none of them walked ($pacing)" 0 test "$settlement_pages" -eq 0
# A daemon that digests its tables when first asked (their sizes, one request each for the nine
# it digests: six indexes whose items are only added, and persons, accounts and settlements)
# and then answers UNSUPPORTED: verify kept no record of a settlement to walk the stored ones against,
# and stops with an error rather than report differences that are not there.
rm -f "$WORK/proxy.sock"
"$BUILD/tests/famledger-digest-proxy" --after 9 "$WORK/proxy.sock" "$SOCKET" 2>"$WORK/proxy.err" &
proxy=$!
for _ in $(seq 1 100); do [ -S "$WORK/proxy.sock" ] && break; sleep 0.01; done
check "verify through a daemon that stops digesting" 3 \
    "$BUILD/ledgerctl" --socket "$WORK/proxy.sock" verify
wait "$proxy"
expect "it says so" "stopped digesting its tables during verify" "$ERR"
case "$OUT" in
    *FAILED*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL a difference reported: $OUT" ;;
    *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
esac
daemon_stop

# Real damage is still found: a stored balance changed behind the daemon's back.
"$BUILD/tests/famledger-corrupt" "$WORK/data" balance MOTHER 1
daemon_start
check "a changed balance is found" 4 ctl verify
expect "the account is named" "MOTHER" "$OUT$ERR"
# A daemon of another digest definition (a proxy asks it every state_digest as the next
# version) answers UNSUPPORTED: verify walks every table instead, and finds the same.
proxied() {
    rm -f "$WORK/proxy.sock"
    "$BUILD/tests/famledger-digest-proxy" "$WORK/proxy.sock" "$SOCKET" 2>"$WORK/proxy.err" &
    proxy=$!
    for _ in $(seq 1 100); do [ -S "$WORK/proxy.sock" ] && break; sleep 0.01; done
    check "verify through a daemon of another digest version" "$1" \
        "$BUILD/ledgerctl" --socket "$WORK/proxy.sock" verify
    wait "$proxy"
    expect "the proxy altered a digest request" "state_digest requests altered" \
        "$(grep -v '^famledger-digest-proxy: 0 ' "$WORK/proxy.err")"
}
proxied 4
expect "the account is named there too" "account MOTHER: stored balance" "$OUT$ERR"
daemon_stop
"$BUILD/tests/famledger-corrupt" "$WORK/data" balance MOTHER -1

# Every derived table and index, one record deleted: verify names the table.
ctl_on() { "$BUILD/ledgerctl" --socket "$WORK/copy.sock" "$@"; }
# damaged_copy HOW TABLE: a copy of the stopped ledger, `famledger-corrupt HOW TABLE` done to
# its first record, and a famledgerd ($pid) answering on it.
damaged_copy() {
    rm -rf "$WORK/copy" && cp -a "$WORK/data" "$WORK/copy"
    check "$1 the first $2 record" 0 "$BUILD/tests/famledger-corrupt" "$WORK/copy" "$1" "$2"
    "$BUILD/famledgerd" --data-dir "$WORK/copy" --socket "$WORK/copy.sock" --log-level error &
    pid=$!
    for _ in $(seq 1 300); do ctl_on head >/dev/null 2>&1 && break; sleep 0.01; done
}
daemon_start
ctl withdraw MOTHER --reason long-term-elsewhere --ref wd-1 --amount 1.00 >/dev/null
ctl account freeze FATHER --reason audit >/dev/null
check "the ledger verifies before the damage" 0 ctl verify
check "and record by record" 0 ctl verify --walk
proxied 0
expect "all of it" "verify: OK" "$OUT"
daemon_stop
for table in persons accounts account_links references funders funded merchants settlements \
             merchant_links day_totals merchant_days; do
    damaged_copy delete "$table"
    for how in "" --walk; do
        check "verify $how finds the deleted $table record" 4 ctl_on verify $how
        case "$table" in
            persons | accounts | funders | settlements) # the record the store lacks, by name
                expect "the missing $table record is named" "but not stored" "$OUT$ERR" ;;
            *) expect "the $table key is named" "$table of " "$OUT$ERR" ;;
        esac
    done
    if [ "$table" = account_links ]; then
        # The first link of the ledger is gone: that account's statement cannot be walked, and
        # says so rather than ending early.
        person=$(echo "$OUT$ERR" | sed -n 's/.*account_links of \([^:]*\):.*/\1/p')
        check "the broken statement of '$person' is refused" 1 ctl_on statement "$person" \
            --oldest-first
        expect "as damage" "INTERNAL" "$ERR"
    fi
    if [ "$table" = merchant_links ]; then
        # Likewise the merchant's day: its reconciliation is refused, never short.
        merchant=$(echo "$OUT$ERR" | sed -n 's/.*merchant_links of \([^:]*\):.*/\1/p')
        today=$(head_day ctl_on)
        check "the broken day of '$merchant' is refused" 1 ctl_on reconcile totals \
            --merchant "$merchant" --from "$today" --to "$today"
        expect "as damage" "INTERNAL" "$ERR"
    fi
    kill -TERM "$pid"; wait "$pid"
done
# A record of a table the daemon digests, made bytes that read as none of ours: the digest
# counts it as damaged, and the second pass names it.
for table in account_links merchant_links references funded persons accounts settlements; do
    damaged_copy spoil "$table"
    for how in "" --walk; do
        check "verify $how finds the spoiled $table record" 4 ctl_on verify $how
        case "$table" in
            funded | persons | accounts | settlements)
                expect "named as damage" "stored $table record" "$OUT$ERR"
                expect "that does not decode" "does not decode" "$OUT$ERR" ;;
            *) expect "named as damage" "a stored $table record of" "$OUT$ERR"
               expect "of three bytes" "and 3 bytes is damaged" "$OUT$ERR" ;;
        esac
    done
    kill -TERM "$pid"; wait "$pid"
done
# Stored accounts whose totals sum past INT64_MAX (each within it, as no daemon of ours would
# store them): walked record by record, the damage is named and the sums wrap, never overflow
# (the sanitizer build would stop verify there).
rm -rf "$WORK/copy" && cp -a "$WORK/data" "$WORK/copy"
for person in FATHER MOTHER; do
    for field in balance_fen credited_fen; do
        check "$person's stored $field set near INT64_MAX" 0 "$BUILD/tests/famledger-corrupt" \
            "$WORK/copy" field accounts "$person" "$field" 9223372036854775000
    done
done
"$BUILD/famledgerd" --data-dir "$WORK/copy" --socket "$WORK/copy.sock" --log-level error &
pid=$!
for _ in $(seq 1 300); do ctl_on head >/dev/null 2>&1 && break; sleep 0.01; done
check "verify --walk finds the huge stored totals" 4 ctl_on verify --walk
expect "the account is named" "account FATHER: stored balance" "$OUT$ERR"
kill -TERM "$pid"; wait "$pid"

# verify spreads the daemon's digest pages over the log's (verify_digest.c), so that the
# daemon's share of each log page's time stays even: digest pages beside at least half the log
# pages, each smaller than the most the daemon folds at once (which folded this ledger's
# tables in the first pages), and none left for after the log. A thousand migrated employees
# and two years of their monthly allocations make the log 26 pages.
awk 'BEGIN { print "person_no,name,region,scheme,opening_balance"
             for (i = 1; i <= 1000; i++) printf "M%d,迁移%d,110101,employee,1.00\n", i, i }' \
    > "$WORK/many.csv"
awk 'BEGIN { print "person,amount,period"
             for (y = 2025; y <= 2026; y++) for (m = 1; m <= 12; m++)
                 for (i = 1; i <= 1000; i++) printf "M%d,10.00,%d%02d\n", i, y, m }' \
    > "$WORK/years.csv"
daemon_start
check "a thousand persons migrate" 0 ctl migrate persons "$WORK/many.csv"
check "and two years of allocations are credited" 0 ctl credit import "$WORK/years.csv"
watched "the migrated ledger" 0
check "the log came in 26 pages or more ($pacing)" 0 test "$log_pages" -ge 26
check "digest pages beside half the log pages" 0 test "$digest_pages" -ge $((log_pages / 2))
check "each smaller than the daemon's most" 0 test "$largest" -lt 4096
check "at most one asked after the last log page" 0 test "$after_last" -le 1
daemon_stop

# Each entry's hash is checked against its bytes and the hash before it as the page is replayed
# (verify_record): an altered entry anywhere in a long log is the first problem, named at its
# own seq, whether it opens a page, ends one or sits inside it.
cp -a "$WORK/data" "$WORK/long"
for seq in 15001 15500 16000; do
    rm -rf "$WORK/data" && cp -a "$WORK/long" "$WORK/data"
    "$BUILD/tests/famledger-corrupt" "$WORK/data" entry "$seq"
    daemon_start
    check "verify finds entry $seq altered" 4 ctl verify
    expect "at that entry" "FAILED at seq $seq" "$OUT"
    expect "as a hash that does not match" "the hash of entry $seq does not match" "$OUT"
    daemon_stop
done
rm -rf "$WORK/data" && mv "$WORK/long" "$WORK/data"
finish
