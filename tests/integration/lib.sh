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
    "$BUILD/famledgerd" --data-dir "$WORK/data" --socket "$SOCKET" --log-level warn "$@" \
        2>>"$WORK/daemon.log" &
    DAEMON_PID=$!
    for _ in $(seq 1 500); do
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

# expect NAME TEXT HAYSTACK : HAYSTACK contains TEXT.
expect() {
    case "$3" in
        *"$2"*) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
        *) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL $1: '$2' not in: $3" ;;
    esac
}

finish() {
    daemon_stop || { echo "FAIL famledgerd did not stop cleanly"; CHECKS_FAILED=$((CHECKS_FAILED + 1)); }
    rm -rf "$WORK"
    echo "checks: $CHECKS_PASSED passed, $CHECKS_FAILED failed"
    [ "$CHECKS_FAILED" -eq 0 ]
}
trap 'daemon_stop >/dev/null 2>&1; rm -rf "$WORK"' INT TERM
