# lib.sh -- shared by the shell integration tests: a daemon on a temporary directory, ledgerctl
# against it, and checks that count. Source it; call finish at the end.
set -u
: "${BUILD:=build}"
WORK=$(mktemp -d /tmp/famledger-sh-XXXXXX)
SOCKET="$WORK/famledgerd.sock"
DAEMON_PID=""
CHECKS_PASSED=0
CHECKS_FAILED=0

daemon_start() {
    # The daemon's default, unless the suite runs with 20 ms sweeps (make test-deferred) or the
    # setting off (make test-direct).
    "$BUILD/famledgerd" --data-dir "$WORK/data" --socket "$SOCKET" --log-level warn \
        ${FAMLEDGER_TEST_STATE_SWEEP_MS:+--state-sweep-ms "$FAMLEDGER_TEST_STATE_SWEEP_MS"} "$@" \
        2>>"$WORK/daemon.log" &
    DAEMON_PID=$!
    # A minute by the clock, not a count of tries: a ledgerctl run under ASan on a loaded
    # machine costs far more than the sleep, and 500 tries once ran out during a recovery.
    local deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ]; do
        "$BUILD/ledgerctl" --socket "$SOCKET" head >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    echo "famledgerd did not start"; cat "$WORK/daemon.log"; exit 1
}

daemon_stop() {
    [ -n "$DAEMON_PID" ] || return 0
    kill -TERM "$DAEMON_PID" && wait "$DAEMON_PID"
    local status=$?
    DAEMON_PID=""
    return $status
}

ctl() { "$BUILD/ledgerctl" --socket "$SOCKET" "$@"; }

# check NAME EXPECTED_EXIT COMMAND... : run, compare the exit code, keep output in $OUT.
check() {
    local name=$1 expected=$2
    shift 2
    OUT=$("$@" 2>"$WORK/stderr")
    local status=$?
    ERR=$(cat "$WORK/stderr")
    if [ "$status" -eq "$expected" ]; then
        CHECKS_PASSED=$((CHECKS_PASSED + 1))
    else
        CHECKS_FAILED=$((CHECKS_FAILED + 1))
        echo "FAIL $name: exit $status, expected $expected"
        echo "  stdout: $OUT"
        echo "  stderr: $ERR"
    fi
}

# json_fen FIELD: the integer FIELD (fen, possibly negative) of the ledgerctl --json output on
# stdin; nothing when it has none.
json_fen() { sed -n "s/.*\"$1\":\(-\{0,1\}[0-9]*\).*/\1/p"; }

# head_day [CTL...]: the business day (YYYY-MM-DD) of the ledger's last entry, through `ctl`
# or the command given. A test that asks about "today" asks about the day its entries were
# written: the wall clock's day is the next one when the suite runs across midnight in
# Shanghai (16:00 UTC), as CI once did.
head_day() {
    local run=("${@:-ctl}") seq
    seq=$("${run[@]}" --json head | json_fen seq)
    "${run[@]}" --json entry "$seq" | sed -n 's/.*"time":"\([0-9-]*\)T.*/\1/p'
}

# expect NAME TEXT HAYSTACK : HAYSTACK contains TEXT.
expect() {
    case "$3" in
        *"$2"*) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
        *) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL $1: '$2' not in: $3" ;;
    esac
}

# progress_wait FILE COUNT PID...: wait until FILE has COUNT lines, while any of the PIDs
# runs, for at most 30 s. A kill -9 round then kills after its clients made progress, however
# slow the machine: a sanitized build beside other load once settled nothing in cash and
# captured no hold before the kills of a fixed sleep.
progress_wait() {
    local file=$1 count=$2 deadline=$((SECONDS + 30)) pid alive
    shift 2
    while [ "$(wc -l < "$file")" -lt "$count" ] && [ "$SECONDS" -lt "$deadline" ]; do
        alive=""
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ -n "$alive" ] || return 0
        sleep 0.05
    done
}

# A sanitized build lets LD_PRELOAD put a test library (libfailsync, libfaketime) before ASan's.
allow_preload() {
    if [ -n "${SANITIZE:-}" ] || [ "${BUILD#*sanitize}" != "$BUILD" ]; then
        export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
    fi
}

# faketime_setup: the daemon's wall clock becomes libfaketime's, read from $WORK/clock (set it
# with set_clock "YYYY-MM-DD HH:MM:SS", Shanghai time); FAKETIME_ENV holds what to export.
# The MT build (made with PTHREAD_SINGLETHREADED_TIME) takes a lock around its time calls: in
# the plain one, two of the daemon's threads reading the clock file at once (FAKETIME_NO_CACHE)
# share a static buffer, and one of them can get the real time (libfaketime's pull request 547,
# later than Debian's 0.9.10). In CI, test_wallet once saw a send dated by the real clock.
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
faketime_setup() {
    if [ ! -e "$FAKETIME_LIB" ]; then
        echo "FAIL libfaketime is missing (deploy/debian-packages.txt lists faketime)"
        exit 1
    fi
    allow_preload
}
set_clock() { echo "@$1" > "$WORK/clock"; }

# verify_finds_each_missing START TABLE...: for each table, on a copy of the stopped ledger,
# delete its first record, start with the function START, and expect verify to name it (exit
# 4). The ledger is then as it was, running again.
verify_finds_each_missing() {
    local start=$1 table
    shift
    daemon_stop
    rm -rf "$WORK/pristine" && cp -r "$WORK/data" "$WORK/pristine"
    for table in "$@"; do
        rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
        check "delete the first record of $table" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" delete "$table"
        $start
        check "verify finds the missing $table record" 4 ctl verify
        expect "$table named" "$table" "$OUT$ERR"
        daemon_stop
    done
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    $start
}

# family_ledger: on the running daemon, MOM and DAD (employees with accounts holding 100.00 and
# 50.00) bound to pay for KID (a resident), MOM within 90.00 a month; pharmacy P1; settlement
# s1 of 12.00 for KID, its id in $id, and 1.50 of it refunded.
family_ledger() {
    ctl person add MOM --name Mother --region 110101 --scheme employee >/dev/null
    ctl person add DAD --name Father --region 110102 --scheme employee >/dev/null
    ctl person add KID --name Child --region 110101 --scheme resident >/dev/null
    for p in MOM DAD; do ctl account open $p >/dev/null; done
    ctl credit MOM 100 --ref c-mom >/dev/null
    ctl credit DAD 50 --ref c-dad >/dev/null
    ctl merchant add P1 --name One --kind pharmacy --region 110101 >/dev/null
    ctl family bind MOM KID --relation child >/dev/null
    ctl family bind DAD KID --relation child >/dev/null
    ctl family limit MOM KID --monthly 90.00 >/dev/null
    check "settle s1" 0 ctl --json settle --merchant P1 --ref s1 --patient KID --amount 12
    id=$(echo "$OUT" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
    check "refund part of it" 0 ctl refund --merchant P1 --ref r1 --settlement "$id" --amount 1.5
}

# daemon_start without the wallet's quiet hours: for tests whose wallet sends must not depend
# on the time of day.
daemon_start_any_hour() { daemon_start --wallet-quiet-start 00:00 --wallet-quiet-end 00:00 "$@"; }

# family_ledger, then a wallet send from MOM to KID, accepted, and a quote of KID's held at P1
# ($hold). Start the daemon with daemon_start_any_hour.
family_ledger_two_phase() {
    family_ledger
    check "a wallet send" 0 ctl wallet send MOM KID 1.00 --ref w1
    check "accepted" 0 ctl wallet accept --ref w1
    check "a held quote" 0 ctl --json quote --merchant P1 --ref h1 --patient KID --amount 3.00 \
        --hold 600
    hold=$(echo "$OUT" | sed 's/.*"hold_id":\([0-9]*\).*/\1/')
}

finish() {
    daemon_stop || { echo "FAIL famledgerd did not stop cleanly"; CHECKS_FAILED=$((CHECKS_FAILED + 1)); }
    rm -rf "$WORK"
    echo "checks: $CHECKS_PASSED passed, $CHECKS_FAILED failed"
    [ "$CHECKS_FAILED" -eq 0 ]
}
trap 'daemon_stop >/dev/null 2>&1; rm -rf "$WORK"' INT TERM
