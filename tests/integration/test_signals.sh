# test_signals.sh -- the signals an operator's tools send. SIGHUP (logrotate, `kill -HUP`, a
# closed terminal), SIGUSR1 and SIGUSR2 end a process by default; famledgerd logs each and goes
# on serving, writes included. SIGTERM still stops it cleanly.
. "$(dirname "$0")/lib.sh"

daemon_start
ctl person add E1 --name "张三" --region 110101 --scheme employee >/dev/null
ctl account open E1 >/dev/null
# Credits from one client while the signals come.
(for i in $(seq 1 60); do ctl credit E1 0.01 --ref "c$i" >/dev/null || exit 1; done) &
writer=$!
for signal in HUP USR1 USR2 HUP HUP; do
    kill -s "$signal" "$DAEMON_PID"
    sleep 0.05
done
wait "$writer"
expect "every credit sent while the signals came was taken" "[0]" "[$?]"
check "the daemon is still there" 0 kill -0 "$DAEMON_PID"
check "and serves" 0 ctl --json account show E1
expect "the balance is every credit" '"balance_fen":60,' "$OUT"
for name in SIGHUP SIGUSR1 SIGUSR2; do
    expect "the operator is told of $name" "received $name: famledgerd ignores it" \
        "$(cat "$WORK/daemon.log")"
done
daemon_stop
expect "SIGTERM still stops it cleanly" "[0]" "[$?]"
finish
