# test_clock.sh -- entry times only go forward, whatever the wall clock does, and a closed
# business day never gains an entry; a wall clock months ahead dates nothing. The daemon's clock
# is libfaketime's, read from a file.
. "$(dirname "$0")/lib.sh"

faketime_setup
time_of() { ctl --json entry "$1" | sed 's/.*"time_us":\([0-9]*\).*/\1/'; }
epoch_us() { echo $(( $(date -u -d "$1" +%s) * 1000000 )); }

# Clock times are Shanghai's, the business time zone the daemon runs in (libfaketime reads
# them in the process's zone); 18:00 there is 10:00 UTC.
set_clock "2026-11-30 18:00:00"
# Only the wall clock is faked: libuv's timers keep the real monotonic clock.
start() {
    LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/clock" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=Asia/Shanghai daemon_start --log-level info "$@"
}
start
ctl person add E1 --name "张三" --region 110101 --scheme employee >/dev/null
ctl account open E1 >/dev/null
check "a credit at 10:00 UTC" 0 ctl --json credit E1 1.00 --ref c1
first=$(time_of 3)
expect "the entry has the wall clock's day, in business time" "2026-11-30T18:00:00" "$(ctl --json entry 3)"
expect "the same instant in UTC with --utc" "2026-11-30T10:00:00" "$(ctl --utc --json entry 3)"

set_clock "2026-11-30 16:00:00"
check "a credit after the clock stepped back two hours" 0 ctl credit E1 1.00 --ref c2
second=$(time_of 4)
[ "$second" -gt "$first" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL entry time went back: $first then $second"; }
check "another credit while the clock is still behind" 0 ctl credit E1 1.00 --ref c3
third=$(time_of 5)
[ "$third" -gt "$second" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL entry time went back: $second then $third"; }
expect "the step back is logged once, with its size" "wall clock is 7200" "$(cat "$WORK/daemon.log")"

# 10:00 in Shanghai on 1 December: 30 November has ended there.
set_clock "2026-12-01 10:00:00"
check "today cannot be closed" 1 ctl day close 2026-12-01
expect "the refusal says it has not ended" "has not ended yet" "$ERR"
check "an impossible date is refused" 1 ctl day close 2026-11-31
check "yesterday is closed" 0 ctl --json day close 2026-11-30
expect "the reply names the day" '"closed_through":"2026-11-30"' "$OUT"
check "closing it again changes nothing" 0 ctl --json day close 2026-11-30
expect "the second close writes no entry" '"seq":0' "$OUT"
day_entries=$(ctl export --date 2026-11-30 --format jsonl 2>/dev/null | wc -l)

# The clock steps back into the closed day (20:00 in Shanghai on 30 November).
set_clock "2026-11-30 20:00:00"
check "a credit while the clock is inside the closed day" 0 ctl --json credit E1 1.00 --ref c4
seq=$(echo "$OUT" | sed 's/.*"seq":\([0-9]*\).*/\1/')
after=$(time_of "$seq")
[ "$after" -ge "$(epoch_us "2026-11-30 16:00:00")" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL entry $seq is dated $after, inside the closed day"; }
expect "the closed day gained no entry" "$day_entries" "$(ctl export --date 2026-11-30 --format jsonl 2>/dev/null | wc -l)"

# A day on which the fund only paid a pharmacy out, with no settlement of its own, has totals
# and no entries to list: its settlements and its day's details are empty, not an error (both
# were refused as damage once, found by test_random_ops under a jumping clock).
ctl merchant add P1 --name One --kind pharmacy --region 110101 >/dev/null
check "settle on 1 December" 0 ctl settle --merchant P1 --ref s1 --patient E1 --amount 2
set_clock "2026-12-02 10:00:00"
check "the fund pays P1 on 2 December" 0 ctl payout --merchant P1 1 --ref pay-1
check "P1's settlements across both days" 0 ctl --json settlements --merchant P1 \
    --from 2026-12-01 --to 2026-12-02
expect "the one of 1 December" '"merchant_reference":"s1"' "$OUT"
check "P1's settlements of 2 December" 0 ctl --json settlements --merchant P1 \
    --from 2026-12-02 --to 2026-12-02
expect "none" '"settlements":[]' "$OUT"
: > "$WORK/none.tsv"
check "P1's details of 2 December" 0 ctl reconcile details --merchant P1 --date 2026-12-02 \
    --file "$WORK/none.tsv"
expect "nothing to differ" "reconcile details: balanced" "$OUT"
check "the ledger verifies" 0 ctl verify

# A wall clock set half a year ahead (a virtual machine's, a typing error): dating by it would
# date every later entry after it, so nothing is written until it is set right, and a hold that
# would expire by it does not.
check "a quote held for ten minutes" 0 ctl --json quote --merchant P1 --ref hq --patient E1 \
    --amount 1.00 --hold 600
head_before=$(ctl --json head)
set_clock "2027-06-01 10:00:00"
check "a credit while the clock is half a year ahead" 1 ctl credit E1 1.00 --ref far-1
expect "is refused, saying why" \
    "wall clock (2027-06-01 02:00 UTC) is 180 days past the last entry" "$ERR"
check "and a settlement" 1 ctl settle --merchant P1 --ref far-s --patient E1 --amount 1
sleep 2.5 # the scheduler's ticks find the hold due by this clock, and may not expire it
check "the hold still reserves its 1.00" 0 ctl --json account show E1
expect "held" '"held_fen":100}' "$OUT"
expect "nothing was written" "$head_before" "$(ctl --json head)"
expect "the log says it once, naming the setting" "[1]" \
    "[$(grep -c 'past the last entry .*clock_ahead_max_days (92)' "$WORK/daemon.log")]"
expect "and the scheduler's refusal once" "[1]" \
    "[$(grep -c 'scheduler: returns and expiries not recorded' "$WORK/daemon.log")]"
set_clock "2026-12-02 12:00:00"
check "the clock set right: the credit is taken" 0 ctl --json credit E1 1.00 --ref far-1
seq=$(echo "$OUT" | sed 's/.*"seq":\([0-9]*\).*/\1/')
expect "dated by the clock" "[$(date -u -d "2026-12-02 04:00:00" +%s)]" \
    "[$(($(time_of "$seq") / 1000000))]"
expect "the log says writes go on" "back within clock_ahead_max_days" "$(cat "$WORK/daemon.log")"
for _ in $(seq 1 50); do
    ctl --json account show E1 > "$WORK/e1.json"
    grep -q '"held_fen"' "$WORK/e1.json" || break
    sleep 0.1
done
check "the hold expired by the right clock: nothing held" 1 grep -q '"held_fen"' "$WORK/e1.json"
expect "the scheduler says so" "returns and expiries are recorded again" "$(cat "$WORK/daemon.log")"
# An operator whose ledger was truly idle that long raises the setting.
daemon_stop
set_clock "2027-06-01 10:00:00"
start --clock-ahead-max-days 365
check "allowed a year, the credit is taken" 0 ctl credit E1 1.00 --ref far-2
check "and the ledger verifies" 0 ctl verify

# The business time zone is the ledger's: its closed days and day totals are counted in it.
# Started in Los Angeles, the daemon once dated a credit of Shanghai's 1 December into the
# 30th, which was closed, and verify then failed on the day's close.
head_before=$(ctl --json head)
# --check-config, run before a restart and beside the running daemon, says it first.
check "--check-config with another zone" 2 "$BUILD/famledgerd" --data-dir "$WORK/data" \
    --timezone America/Los_Angeles --check-config
expect "names the ledger's" "timezone: the ledger's business days are in Asia/Shanghai" "$ERR"
check "--check-config with the ledger's zone" 0 "$BUILD/famledgerd" --data-dir "$WORK/data" \
    --check-config
daemon_stop
refused_start() {
    check "$1" 1 timeout 60 env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/clock" \
        FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 "$BUILD/famledgerd" \
        --data-dir "$WORK/data" --socket "$SOCKET" "${@:2}"
}
# Run (by root, say) where no daemon runs, the check makes no lock.mdb: one made by root would
# keep the daemon's own user out of the ledger.
rm -f "$WORK/data/lock.mdb"
check "--check-config on a stopped ledger" 2 "$BUILD/famledgerd" --data-dir "$WORK/data" \
    --timezone America/Los_Angeles --check-config
check "reads it without making lock.mdb" 1 test -e "$WORK/data/lock.mdb"
refused_start "a start in another time zone is refused" --timezone America/Los_Angeles
expect "naming the ledger's zone and the setting to write" \
    "business days are in Asia/Shanghai, the time zone recorded at its first start, but the \
configuration says timezone America/Los_Angeles" "$ERR"
expect "and what to set" "set timezone = Asia/Shanghai" "$ERR"
refused_start "a link to the same zone is refused too: the name is what is kept" --timezone PRC
check "a record no operator could have written" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" \
    meta timezone "Asia/Shang hai"
refused_start "is refused as damage" --timezone Asia/Shanghai
expect "saying so" "recorded in $WORK/data/data.mdb is not one of tzdata's: the ledger is damaged" \
    "$ERR"
check "the record mended" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" meta timezone \
    Asia/Shanghai
start
expect "the ledger is as it was" "$head_before" "$(ctl --json head)"
check "and verifies" 0 ctl verify
daemon_stop
# A ledger without entries has no day to move: its zone may still change.
mkdir "$WORK/empty"
start --data-dir "$WORK/empty" --timezone UTC
daemon_stop
start --data-dir "$WORK/empty" --timezone Asia/Shanghai
check "an empty ledger starts in another zone" 0 ctl person add E9 --name "李四" \
    --region 110101 --scheme employee
check "and dates its entries in it" 0 ctl --json entry 1
expect "Shanghai's offset" '+08:00"' "$OUT"
daemon_stop
refused_start "once it has an entry, the zone is kept" --data-dir "$WORK/empty" --timezone UTC

# A wall clock never set (1970: no battery-backed clock, NTP not yet run) dates nothing. A new
# ledger's first entry was dated 1970-01-01 by it, and once the clock was set every write was
# refused as 20,000 days past it.
set_clock "1970-01-01 08:00:05"
start --data-dir "$WORK/unset"
check "a write on a clock never set is refused" 1 ctl person add U1 --name "王五" \
    --region 110101 --scheme employee
expect "saying why" "wall clock (1970-01-01 00:00 UTC) is before 2026: it was never set" "$ERR"
expect "and the log says what to do" "set the clock (chrony)" "$(cat "$WORK/daemon.log")"
set_clock "2026-12-07 18:00:00"
check "the clock set, it is taken" 0 ctl person add U1 --name "王五" --region 110101 \
    --scheme employee
check "dated by the clock" 0 ctl --json entry 1
expect "in 2026" '"time":"2026-12-07T18:00:00' "$OUT"
check "and the next write too" 0 ctl account open U1
daemon_stop
finish
