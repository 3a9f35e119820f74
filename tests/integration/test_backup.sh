# test_backup.sh -- ledgerctl backup while four clients write: each copy starts as a ledger of
# its own, verifies, and holds every credit acknowledged before the backup began.
. "$(dirname "$0")/lib.sh"

# Every sync is recorded (libfailsync's FAILSYNC_LOG): a copy said to be taken is on the disk.
allow_preload
LD_PRELOAD="$PWD/$BUILD/tests/libfailsync.so" FAILSYNC_LOG="$WORK/synced" daemon_start
ctl person add E1 --name "张三" --region 110101 --scheme employee >/dev/null
ctl account open E1 >/dev/null
writer() {
    for i in $(seq 1 300); do ctl credit E1 0.01 --ref "w$1-$i" >/dev/null 2>&1 || return 0; done
}
writers=""
for k in 1 2 3 4; do writer "$k" & writers="$writers $!"; done
for n in 1 2 3; do
    sleep 0.3
    floor=$(ctl --json account show E1 | json_fen balance_fen)
    check "backup $n under load" 0 ctl --json backup --out "$WORK/copy$n"
    echo "$floor" > "$WORK/floor$n"
done
wait $writers
# synced PATH: PATH (a file, or a directory for the names in it) was synced, by its exact name.
synced() { grep -qxF "$(realpath -m "$1")" "$WORK/synced"; }
check "the data directory's names were synced at the start" 0 synced "$WORK/data"
check "and the name of the directory (in its parent)" 0 synced "$WORK"
for n in 1 2 3; do
    check "copy $n was synced before its reply" 0 synced "$WORK/copy$n/data.mdb"
    check "copy $n's head record too" 0 synced "$WORK/copy$n/famledger.head"
    check "copy $n's names" 0 synced "$WORK/copy$n"
    # Personal data: the copy is as closed as the ledger, whatever the daemon's umask (022 here).
    expect "copy $n's data.mdb is 0640" 640 "$(stat -c %a "$WORK/copy$n/data.mdb")"
done
check "a backup never overwrites" 1 ctl backup --out "$WORK/copy1"
expect "the refusal says why" "a backup never overwrites one" "$ERR"
check "a missing parent is named" 1 ctl backup --out "$WORK/no/such/dir"
expect "the refusal names the parent" "its parent directory does not exist" "$ERR"
# A directory the daemon may not write (a read-only mount, as ProtectSystem=strict makes most of
# the system) is refused with what to do.
mkdir -p "$WORK/readonly"
if mount -t tmpfs -o ro,size=1m tmpfs "$WORK/readonly" 2>/dev/null; then
    check "a read-only place is refused" 1 ctl backup --out "$WORK/readonly/copy"
    expect "with the way out" "read-only to the daemon" "$ERR"
    umount "$WORK/readonly"
fi
# A disk that fills during the copy: OUT_OF_SPACE, and nothing left behind, so that no half copy
# is taken for a backup and the same path can be tried again once there is room.
mkdir -p "$WORK/small"
if mount -t tmpfs -o size=64k tmpfs "$WORK/small" 2>/dev/null; then
    check "a copy that does not fit is refused" 1 ctl backup --out "$WORK/small/copy"
    expect "as OUT_OF_SPACE" "OUT_OF_SPACE" "$ERR"
    expect "and nothing is left" "[]" "[$(ls -A "$WORK/small")]"
    mount -o remount,size=64m "$WORK/small"
    check "the same path, with room, takes the backup" 0 ctl backup --out "$WORK/small/copy"
    cp -a "$WORK/small/copy" "$WORK/copy5" # started and verified with the others below
    umount "$WORK/small"
fi
check "a relative path is made absolute by ledgerctl" 0 bash -c "cd '$WORK' && '$PWD/$BUILD/ledgerctl' --socket '$SOCKET' backup --out copy4"
daemon_stop
# A sync that fails on the copy's way to the disk (its data, its head record, its names, the
# name of its directory): the backup is refused, nothing is left there, and the daemon goes on.
for pass in 0 1 2 3; do
    FAILSYNC_TRIGGER="$WORK/fail-syncs" FAILSYNC_PASS=$pass \
        LD_PRELOAD="$PWD/$BUILD/tests/libfailsync.so" daemon_start --state-sweep-ms 0
    touch "$WORK/fail-syncs"
    check "a backup whose sync $((pass + 1)) fails is refused" 1 ctl backup --out "$WORK/copy6"
    expect "with nothing left there (sync $((pass + 1)))" "nothing is left there" "$ERR"
    expect "and truly nothing (sync $((pass + 1)))" "[]" "[$(ls -d "$WORK/copy6" 2>/dev/null)]"
    rm "$WORK/fail-syncs"
    check "the daemon goes on (sync $((pass + 1)))" 0 ctl verify
    daemon_stop
done
daemon_start
check "the same path then takes the backup" 0 ctl backup --out "$WORK/copy6"
daemon_stop
for n in 1 2 3 4 5 6; do
    [ -d "$WORK/copy$n" ] || continue # copy5 needs root (a tmpfs)
    "$BUILD/famledgerd" --data-dir "$WORK/copy$n" --socket "$WORK/copy.sock" --log-level warn \
        2>>"$WORK/copy.log" &
    pid=$!
    for _ in $(seq 1 300); do "$BUILD/ledgerctl" --socket "$WORK/copy.sock" head >/dev/null 2>&1 && break; sleep 0.01; done
    check "copy $n starts and verifies" 0 "$BUILD/ledgerctl" --socket "$WORK/copy.sock" verify
    if [ -f "$WORK/floor$n" ]; then
        balance=$("$BUILD/ledgerctl" --socket "$WORK/copy.sock" --json account show E1 |
                  json_fen balance_fen)
        [ "$balance" -ge "$(cat "$WORK/floor$n")" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
            { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL copy $n lost credits acknowledged before it"; }
    fi
    kill -TERM "$pid"; wait "$pid"
done
finish
