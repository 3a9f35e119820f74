# test_nightly.sh -- deploy/famledger-nightly as cron runs it: reports written, exit 0 when all
# balances, non-zero when a merchant's detail file differs.
. "$(dirname "$0")/lib.sh"
daemon_start
ctl person add P --name P --region 110101 --scheme employee >/dev/null
ctl account open P >/dev/null
ctl credit P 100 --ref c >/dev/null
ctl merchant add PH001 --name One --kind pharmacy --region 110101 >/dev/null
id=$(ctl --json settle --merchant PH001 --ref n1 --patient P --amount 40 | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
day=$(head_day)
export FAMLEDGER_SOCKET="$SOCKET" FAMLEDGER_REPORT_DIR="$WORK/reports"
export FAMLEDGER_INCOMING="$WORK/incoming" LEDGERCTL="$BUILD/ledgerctl"
nightly="$(dirname "$0")/../../deploy/famledger-nightly"

check "nightly passes on a clean day" 0 sh "$nightly" "$day"
expect "summary file" "all checks passed" "$(cat "$WORK/reports/$day/SUMMARY")"
expect "verify report" "verify: OK" "$(cat "$WORK/reports/$day/verify.txt")"
expect "export report" ",settled," "$(cat "$WORK/reports/$day/export.csv")"
expect "totals report" "40.00" "$(cat "$WORK/reports/$day/totals-PH001.txt")"

mkdir -p "$WORK/incoming/$day"
printf 'n1\t%s\tP\t41.00\t40.00\t0.00\t0\n' "$id" > "$WORK/incoming/$day/PH001.tsv"
check "nightly fails when a merchant's file differs" 1 sh "$nightly" "$day"
expect "the difference is named" "details-PH001(5)" "$OUT"
expect "details report" "amount_mismatch" "$(cat "$WORK/reports/$day/details-PH001.txt")"

# Reports onto a full disk: the job fails and names each report it could not write whole (a
# verify report cut short used to exit 0).
mkdir -p "$WORK/full"
if mount -t tmpfs -o size=16k tmpfs "$WORK/full" 2>/dev/null; then
    mkdir "$WORK/full/$day"
    dd if=/dev/zero of="$WORK/full/filler" bs=4k 2>/dev/null
    check "nightly fails when its reports cannot be written" 1 env \
        FAMLEDGER_REPORT_DIR="$WORK/full" sh "$nightly" "$day"
    expect "verify's report is named" "verify(6)" "$OUT"
    expect "and the export" "export(6)" "$OUT"
    umount "$WORK/full"
fi

# More merchants than a page (1,000), and a list that fails: the nightly job reconciles every
# merchant, and a list it could not get is a failure, not an empty list (before, the status of
# the pipeline around ledgerctl was cut's, and the merchants past the first 1,000 were never
# listed at all).
rm -f "$WORK/incoming/$day/PH001.tsv"
for i in $(seq 1 1001); do
    ctl merchant add "PZ$(printf %04d "$i")" --name "Pharmacy $i" --kind pharmacy \
        --region 110101 >/dev/null
done
check "merchant list shows every page" 0 ctl --json merchant list
expect "the last merchant, past the first page" '"code":"PZ1001"' "$OUT"
expect "1,002 merchants" 1002 "$(grep -o '"code"' <<< "$OUT" | wc -l)"
check "so does the table" 0 ctl merchant list
expect "a line each" 1002 "$(wc -l <<< "$OUT")"
cat > "$WORK/ledgerctl-no-list" <<EOF
#!/bin/sh
case "\$*" in *"merchant list"*) echo "ledgerctl: cannot reach the daemon" >&2; exit 3 ;; esac
exec "$BUILD/ledgerctl" "\$@"
EOF
chmod +x "$WORK/ledgerctl-no-list"
check "nightly fails when the merchants cannot be listed" 1 env \
    LEDGERCTL="$WORK/ledgerctl-no-list" sh "$nightly" "$day"
expect "and says so" "merchant-list(3)" "$OUT"

# Yesterday, with closing and a backup: the day is closed and the copy verifies.
yesterday=$(TZ=Asia/Shanghai date -d yesterday +%F)
check "nightly closes and backs up a day that passed" 0 env FAMLEDGER_CLOSE_DAY=1 \
    FAMLEDGER_BACKUP_DIR="$WORK/backups" sh "$nightly" "$yesterday"
expect "the day is closed" "closed every business day through $yesterday" \
    "$(cat "$WORK/reports/$yesterday/day-close.txt")"
expect "the backup is there" "backup in $WORK/backups/$yesterday" \
    "$(cat "$WORK/reports/$yesterday/backup.txt")"
[ -f "$WORK/backups/$yesterday/data.mdb" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL no backup data.mdb"; }

# Without a date, "yesterday" is the ledger's: it took Asia/Shanghai whatever the daemon's zone,
# and twenty hours of the day it named a day of a ledger twelve hours behind UTC that had not
# ended there yet.
daemon_stop
"$BUILD/famledgerd" --data-dir "$WORK/west" --socket "$WORK/west.sock" --timezone Etc/GMT+12 \
    --log-level warn 2>>"$WORK/daemon.log" &
west=$!
for _ in $(seq 1 500); do "$BUILD/ledgerctl" --socket "$WORK/west.sock" head >/dev/null 2>&1 &&
    break; sleep 0.01; done
check "ledgerctl head names the ledger's zone" 0 "$BUILD/ledgerctl" --socket "$WORK/west.sock" head
expect "in the text" "zone  Etc/GMT+12" "$OUT"
check "nightly without a date" 0 env FAMLEDGER_SOCKET="$WORK/west.sock" \
    FAMLEDGER_REPORT_DIR="$WORK/west-reports" sh "$nightly"
west_yesterday=$(TZ=Etc/GMT+12 date -d yesterday +%F)
[ -f "$WORK/west-reports/$west_yesterday/SUMMARY" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1))
      echo "FAIL not yesterday in Etc/GMT+12 ($west_yesterday): $(ls "$WORK/west-reports")"; }
kill -TERM "$west" && wait "$west"

# An emergency claim open past its 7 working days: counted in the summary and listed in a
# report, and the run still passes (the bureau owes the return; the books agree).
faketime_setup
rm -rf "$WORK/data"
set_clock "2026-11-02 10:00:00"
LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/clock" FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=Asia/Shanghai daemon_start
ctl person add P --name P --region 110101 --scheme employee >/dev/null
ctl account open P >/dev/null
check "a claim on Monday 2 November" 0 ctl emergency claim P 12.00 --hospital H --receipt R \
    --ref e1
set_clock "2026-11-20 10:00:00"
check "nightly passes with a claim overdue" 0 sh "$nightly" 2026-11-19
expect "the summary counts it" "1 emergency claims overdue" \
    "$(cat "$WORK/reports/2026-11-19/SUMMARY")"
expect "the report lists it" '"due_day":"2026-11-11"' \
    "$(cat "$WORK/reports/2026-11-19/emergency-overdue.json")"
finish
