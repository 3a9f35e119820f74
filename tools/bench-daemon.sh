# bench-daemon.sh -- sourced by the bench scripts: one famledgerd at a time on a bench ledger.
# They set `socket`; `pid` is the daemon's while it runs, and an exit stops it.
pid=""
trap '[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }' EXIT

# bench_daemon_start BUILD DATA [NAME=VALUE...]: BUILD's famledgerd on DATA, in an environment
# with those variables added, once it answers.
bench_daemon_start() {
    local build=$1 data=$2
    shift 2
    # Without it the wait below would never end.
    [ -x "$build/ledgerctl" ] || { echo "make $build/ledgerctl first" >&2; exit 1; }
    # env execs famledgerd: $! is the daemon.
    env "$@" "$build/famledgerd" --data-dir "$data" --socket "$socket" --map-mib-max 65536 \
        --log-level warn &
    pid=$!
    until "$build/ledgerctl" --socket "$socket" head >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { echo "famledgerd did not start on $data" >&2; exit 1; }
        sleep 0.2
    done
}

bench_daemon_stop() {
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
}
