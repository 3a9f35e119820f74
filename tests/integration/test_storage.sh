# test_storage.sh -- famledgerd refuses damaged, missing and rolled-back ledgers with a message,
# stops after a failed sync, reports a full disk as such, and keeps entry times going forward.
. "$(dirname "$0")/lib.sh"

# start_on DIR ARGS...: run famledgerd on DIR in the foreground until it exits (or 10 s).
start_on() {
    local dir=$1
    shift
    timeout 10 "$BUILD/famledgerd" --data-dir "$dir" --socket "$WORK/other.sock" --log-level warn "$@"
}

credit() { ctl credit E1 "$1" --ref "$2" >/dev/null; }

# A fresh, empty (missing) directory still starts and creates a ledger.
daemon_start
check "a new ledger starts in a missing directory" 0 ctl head
ctl person add E1 --name "张三" --region 110101 --scheme employee >/dev/null
ctl account open E1 >/dev/null
for i in 1 2 3; do credit 1.00 "c$i"; done
# One daemon per directory, however it is named, even after its lock file was cleaned away: two
# would each write entries from the accounts they keep (seen: entry 4 said 2.00 where the log
# gave 3.00).
check "a second famledgerd on the directory is refused" 1 start_on "$WORK/data"
expect "saying why" "is in use by another famledgerd" "$ERR"
check "by another name too" 1 start_on "$WORK/./data/"
check "with its lock file deleted" 0 rm "$WORK/data/famledgerd.lock"
check "it is still refused" 1 start_on "$WORK/data"
expect "the same way" "is in use by another famledgerd" "$ERR"
check "the first serves on" 0 ctl account show E1
check "and its ledger verifies" 0 ctl verify
daemon_stop
cp -a "$WORK/data" "$WORK/good"
expect "the head record is written" "famledger.head" "$(ls "$WORK/data")"

# Truncated, emptied, deleted: refused, never a signal, never an empty ledger.
cp -a "$WORK/good" "$WORK/t8k" && truncate -s 8192 "$WORK/t8k/data.mdb"
check "a data.mdb truncated to 8 KiB is refused" 1 start_on "$WORK/t8k"
expect "the refusal says truncated" "is truncated" "$ERR"
expect "the refusal says what to do" "Restore it from a backup" "$ERR"
cp -a "$WORK/good" "$WORK/t0" && truncate -s 0 "$WORK/t0/data.mdb"
check "a data.mdb truncated to 0 is refused" 1 start_on "$WORK/t0"
expect "the empty file is named" "is truncated (0 bytes" "$ERR"
[ "$(stat -c %s "$WORK/t0/data.mdb")" = 0 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL the empty file was written to"; }
# A head dated otherwise than its entry, or past any clock (the next entry is dated after it):
# refused at the start, where the last was once an abort at the next write.
for time_us in 1764000000000000 9223372036854775807 -1; do
    cp -a "$WORK/good" "$WORK/ht" && "$BUILD/tests/famledger-corrupt" "$WORK/ht" headtime "$time_us"
    check "a head dated $time_us is refused" 1 start_on "$WORK/ht"
    expect "the refusal says damaged" "the ledger is damaged" "$ERR"
    expect "and what to do" "Restore it from a backup" "$ERR"
    rm -rf "$WORK/ht"
done
cp -a "$WORK/good" "$WORK/gone" && rm "$WORK/gone/data.mdb"
check "a deleted data.mdb is refused" 1 start_on "$WORK/gone"
expect "the refusal names the missing file" "holds files but no data.mdb" "$ERR"
expect "the refusal offers --init" "--init" "$ERR"
rm -rf "$WORK/gone/data.mdb" && mkdir "$WORK/gone/data.mdb"
check "a directory in data.mdb's place is refused" 1 start_on "$WORK/gone"
expect "as no file" "data.mdb is not a file" "$ERR"
rmdir "$WORK/gone/data.mdb"

# A damaged catalogue: the name of one database changed in the main database.
cp -a "$WORK/good" "$WORK/cat"
python3 - "$WORK/cat/data.mdb" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
# Every copy of the name: older copies of the main database's pages may still be in the file.
assert data.find(b'by_seq') > 0
data = data.replace(b'by_seq', b'by_sex')
open(path, 'wb').write(data)
PY
check "a damaged catalogue is refused" 1 start_on "$WORK/cat"
expect "the missing database is named" "database 'by_seq'" "$ERR"

# A rolled-back meta page: the newest meta's transaction id zeroed, so LMDB picks the older.
# on_copy DIR ARGS...: a copy of the good ledger, one more credit, a clean stop; then the newest
# meta page rolled back.
on_copy() {
    local dir=$1 pid
    shift
    cp -a "$WORK/good" "$dir"
    "$BUILD/famledgerd" --data-dir "$dir" --socket "$WORK/copy.sock" --log-level warn "$@" \
        2>>"$WORK/daemon.log" &
    pid=$!
    until "$BUILD/ledgerctl" --socket "$WORK/copy.sock" head >/dev/null 2>&1; do sleep 0.01; done
    "$BUILD/ledgerctl" --socket "$WORK/copy.sock" credit E1 1.00 --ref c-copy >/dev/null
    kill -TERM "$pid" && wait "$pid"
    python3 - "$dir/data.mdb" <<'PY'
import struct, sys
path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
page = struct.unpack_from('<I', data, 16 + 24)[0]  # the page size, in the meta of page 0
txn = [struct.unpack_from('<Q', data, p * page + 16 + 128)[0] for p in (0, 1)]
newest = 0 if txn[0] > txn[1] else 1
struct.pack_into('<Q', data, newest * page + 16 + 128, 0)
open(path, 'wb').write(data)
PY
}
# The last commit was the credit's entry: losing it is refused.
on_copy "$WORK/meta" --state-sweep-ms 0
check "a rolled-back meta page is refused" 1 start_on "$WORK/meta"
expect "the refusal says rolled back" "rolled back or restored from an older copy" "$ERR"
expect "the refusal gives the command" "--accept-head" "$ERR"
# With the accounts kept in memory, a clean stop's last commits write them back and empty the
# journal, and change no entry: the commit rolled back was one of those, and the journal still
# held what it wrote. The ledger starts, the credit in its balance.
on_copy "$WORK/meta-swept" --state-sweep-ms 3600000
"$BUILD/famledgerd" --data-dir "$WORK/meta-swept" --socket "$WORK/copy.sock" --log-level warn \
    2>>"$WORK/daemon.log" &
COPY_PID=$!
until "$BUILD/ledgerctl" --socket "$WORK/copy.sock" head >/dev/null 2>&1; do
    kill -0 "$COPY_PID" 2>/dev/null || break
    sleep 0.01
done
check "a rolled-back write-back starts" 0 "$BUILD/ledgerctl" --socket "$WORK/copy.sock" --json \
    account show E1
expect "the credit before it is in the balance" '"balance_fen":400' "$OUT"
check "and verifies" 0 "$BUILD/ledgerctl" --socket "$WORK/copy.sock" verify
kill -TERM "$COPY_PID" && wait "$COPY_PID"

# An older copy restored over the ledger: refused; accepted only when the operator says so.
daemon_start
for i in 4 5; do credit 1.00 "c$i"; done
daemon_stop
cp "$WORK/good/data.mdb" "$WORK/data/data.mdb"
check "a ledger behind its head record is refused" 1 start_on "$WORK/data"
expect "the lost entries are named" "entries 6 to 7" "$ERR"
check "it is still refused on a second try" 1 start_on "$WORK/data"
daemon_start --accept-head
check "--accept-head starts it" 0 ctl --json head
expect "the head is the restored one" '"seq":5' "$OUT"
daemon_stop

# --init creates a new ledger beside other files, never over a data.mdb.
check "--init creates a new ledger where data.mdb was deleted" 0 bash -c \
    "timeout 3 '$BUILD/famledgerd' --data-dir '$WORK/gone' --socket '$WORK/init.sock' --init --log-level warn & sleep 1; '$BUILD/ledgerctl' --socket '$WORK/init.sock' --json head; kill %1; wait"
expect "the new ledger is empty" '"seq":0' "$OUT"

# A data directory in a parent the daemon may only pass through (mode 711): the parent cannot
# be opened to sync the directory's name, which is warned of, and the daemon starts and serves.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod 711 "$WORK"
    mkdir -m 711 "$WORK/passage"
    mkdir "$WORK/passage/data" && chown 65534:65534 "$WORK/passage/data"
    check "a daemon whose parent directory it may not read starts" 0 bash -c \
        "timeout 3 setpriv --reuid=65534 --regid=65534 --clear-groups '$BUILD/famledgerd' --data-dir '$WORK/passage/data' --socket '$WORK/passage/data/s.sock' --admin-uids 0 --log-level warn 2>'$WORK/passage.log' & for _ in \$(seq 1 200); do '$BUILD/ledgerctl' --socket '$WORK/passage/data/s.sock' head >/dev/null 2>&1 && break; sleep 0.01; done; '$BUILD/ledgerctl' --socket '$WORK/passage/data/s.sock' head; status=\$?; kill %1; wait; exit \$status"
    expect "and says what it could not sync" "cannot sync the directory $WORK/passage/data or its parent (Permission denied): going on" "$(cat "$WORK/passage.log")"
    chmod 700 "$WORK"
fi

# failsync_daemon TRIGGER PASS LOG [ARG...]: the daemon with syncs failing once TRIGGER exists
# (after PASS more succeed); $pid is its process, $before E1's balance.
failsync_daemon() {
    FAILSYNC_TRIGGER="$WORK/$1" FAILSYNC_PASS=$2 LD_PRELOAD="$PWD/$BUILD/tests/libfailsync.so" \
        "$BUILD/famledgerd" --data-dir "$WORK/data" --socket "$SOCKET" --log-level warn \
        --accept-head "${@:4}" 2>>"$WORK/$3" &
    pid=$!
    for _ in $(seq 1 300); do ctl head >/dev/null 2>&1 && break; sleep 0.01; done
    before=$(ctl --json account show E1 | json_fen balance_fen)
}
# expect_stopped_74 WHAT: the failsync daemon exited with 74 (a storage failure), within a
# minute (a daemon that never stops is killed, and fails the check).
expect_stopped_74() {
    (sleep 60; kill -KILL "$pid" 2>/dev/null) &
    local watchdog=$!
    wait "$pid"
    local status=$?
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
    [ "$status" = 74 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
        { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL exit status $status after $1, not 74"; }
}

# A failed sync: the batch is answered with an error, the daemon stops with 74, and a restart
# finds every write that was acknowledged.
allow_preload
failsync_daemon fail-now 0 failsync.log
acked=0
for i in $(seq 1 5); do credit 0.01 "s$i" && acked=$((acked + 1)); done
touch "$WORK/fail-now"
check "a write whose sync fails is not acknowledged" 1 ctl credit E1 0.01 --ref s-failed
expect "the refusal says it was not recorded" "INTERNAL" "$ERR"
expect "and what the client does" "a storage failure stops famledgerd. Send it again with the \
same reference once it has restarted" "$ERR"
expect_stopped_74 "a failed sync"
expect "the daemon says why it stopped" "storage failure" "$(cat "$WORK/failsync.log")"
rm -f "$WORK/fail-now"
daemon_start
check "after the restart the account is readable" 0 ctl --json account show E1
expect "every acknowledged write survived" "\"balance_fen\":$((before + acked))" "$OUT"
daemon_stop

# The head record's sync fails after the commit's own flushes succeeded: the write is on disk
# and acknowledged as such, and the daemon stops rather than trust that disk with the next.
failsync_daemon fail-record 1 failrecord.log
touch "$WORK/fail-record"
check "a write on disk whose head record cannot be synced is acknowledged" 0 \
    ctl credit E1 0.01 --ref s-record
expect_stopped_74 "a failed record sync"
expect "the daemon says which sync failed" "cannot sync the head record" "$(cat "$WORK/failrecord.log")"
rm -f "$WORK/fail-record"
daemon_start
check "a retry of that write is a replay" 0 ctl --json credit E1 0.01 --ref s-record
expect "the retry says so" '"replayed":true' "$OUT"
check "after it the account is readable" 0 ctl --json account show E1
expect "the write counts exactly once" "\"balance_fen\":$((before + 1))" "$OUT"
daemon_stop

# With the accounts kept in memory, the writer's own commit of the sweep, when no request comes,
# fails as a batch's would: the daemon stops with 74, and a restart finds every write. The
# first sweep is due 3 s after the start; the credits and the trigger come before it.
failsync_daemon fail-idle 0 failidle.log --state-sweep-ms 3000
acked=0
for i in $(seq 1 3); do credit 0.01 "i$i" && acked=$((acked + 1)); done
touch "$WORK/fail-idle"
expect_stopped_74 "a failed idle commit"
expect "the daemon says what it could not write" "cannot write back the accounts and references" \
    "$(cat "$WORK/failidle.log")"
rm -f "$WORK/fail-idle"
daemon_start
check "after the restart the account is readable" 0 ctl --json account show E1
expect "every acknowledged write survived" "\"balance_fen\":$((before + acked))" "$OUT"
check "and the ledger verifies" 0 ctl verify
daemon_stop

# A full filesystem is OUT_OF_SPACE, not INTERNAL, and loses nothing acknowledged.
mkdir -p "$WORK/small"
if mount -t tmpfs -o size=1m tmpfs "$WORK/small" 2>/dev/null; then
    # No sweeps (--state-sweep-ms 0): only the client's writes commit, so that an episode of
    # refusals ends only when one of them is taken.
    "$BUILD/famledgerd" --data-dir "$WORK/small/data" --socket "$WORK/small.sock" --log-level warn \
        --map-mib 1 --map-mib-max 64 --state-sweep-ms 0 2>>"$WORK/full.log" &
    pid=$!
    for _ in $(seq 1 300); do "$BUILD/ledgerctl" --socket "$WORK/small.sock" head >/dev/null 2>&1 && break; sleep 0.01; done
    small() { "$BUILD/ledgerctl" --socket "$WORK/small.sock" "$@"; }
    small person add F1 --name "王五" --region 110101 --scheme employee >/dev/null
    small account open F1 >/dev/null
    # Batches of 100 allocations (one request, one transaction each) until the disk is full.
    full_acked=0
    outcome=""
    for i in $(seq 0 99); do
        awk -v base=$((i * 100)) 'BEGIN { print "person,amount,period"
            for (p = base; p < base + 100; p++)
                printf "F1,0.01,%04d%02d\n", 1901 + int(p / 12), p % 12 + 1 }' > "$WORK/batch.csv"
        if small credit import "$WORK/batch.csv" >/dev/null 2>"$WORK/full.err"; then
            full_acked=$((full_acked + 100))
        else
            outcome=$(cat "$WORK/full.err"); break
        fi
    done
    echo "the 1 MB filesystem took $full_acked allocations before it was full"
    expect "a full disk is reported as OUT_OF_SPACE" "OUT_OF_SPACE" "$outcome"
    check "the daemon is still serving reads" 0 small --json account show F1
    expect "the balance is every acknowledged credit" "\"balance_fen\":$full_acked" "$OUT"
    # The operator is told once, in one line, however many writes are refused; and told again
    # when writes are taken once more. A disk at its edge still takes single credits after
    # refusing a batch of 100, and the first one taken ends that episode; so single credits go
    # on until one is refused too, and the ten after it must be refused without a new line.
    told_lines() {
        grep -c "OUT OF SPACE: the disk of $WORK/small/data is full; writes are refused" \
            "$WORK/full.log"
    }
    again_lines() { grep -c "space again: writes are taken again" "$WORK/full.log"; }
    single=0
    while [ "$single" -lt 2000 ] && small credit F1 0.01 --ref "single-$single" >/dev/null 2>&1; do
        single=$((single + 1))
    done
    expect "single credits fill the disk too" "refused" "$([ "$single" -lt 2000 ] && echo refused)"
    told=$(told_lines)
    refused=0
    for i in $(seq 1 10); do
        small credit F1 0.01 --ref "more-$i" >/dev/null 2>&1 || refused=$((refused + 1))
    done
    expect "a full disk refuses every write" "[10]" "[$refused]"
    expect "and the operator is told once" "[$told]" "[$(told_lines)]"
    again=$(again_lines)
    expect "once for each time the disk filled" "[$((again + 1))]" "[$told]"
    check "the full disk still serves reads" 0 small --json account show F1
    expect "the balance is every acknowledged credit, and none refused" \
        "\"balance_fen\":$((full_acked + single))," "$OUT"
    mount -o remount,size=8m "$WORK/small"
    check "with room again, writes are taken" 0 small credit F1 0.01 --ref after-room
    expect "and the operator is told" "[$((again + 1))]" "[$(again_lines)]"
    kill -TERM "$pid"; wait "$pid"
    umount "$WORK/small"
else
    echo "skip: a full filesystem needs root (mount -t tmpfs)"
fi

# A ledger at map_mib_max: refused writes, and one line that says which setting to raise. As on
# the full disk, a write may fit again after a refusal (pages a reader held come free), which
# ends the episode: batches go on until three in a row are refused, and those three must be
# told in one line at most, each episode in one.
"$BUILD/famledgerd" --data-dir "$WORK/tiny" --socket "$WORK/tiny.sock" --log-level warn \
    --map-mib 1 --map-mib-max 1 --state-sweep-ms 0 2>>"$WORK/tiny.log" &
pid=$!
tiny() { "$BUILD/ledgerctl" --socket "$WORK/tiny.sock" "$@"; }
tiny_told() {
    grep -c "OUT OF SPACE: the ledger reached map_mib_max in $WORK/tiny; writes are refused" \
        "$WORK/tiny.log"
}
for _ in $(seq 1 300); do tiny head >/dev/null 2>&1 && break; sleep 0.01; done
tiny person add T1 --name "赵六" --region 110101 --scheme employee >/dev/null
tiny account open T1 >/dev/null
in_a_row=0
for i in $(seq 0 99); do
    awk -v base=$((i * 100)) 'BEGIN { print "person,amount,period"
        for (p = base; p < base + 100; p++)
            printf "T1,0.01,%04d%02d\n", 1901 + int(p / 12), p % 12 + 1 }' > "$WORK/tiny.csv"
    [ "$in_a_row" -eq 0 ] && told_before=$(tiny_told)
    if tiny credit import "$WORK/tiny.csv" >/dev/null 2>&1; then
        in_a_row=0
    else
        in_a_row=$((in_a_row + 1))
    fi
    [ "$in_a_row" -ge 3 ] && break
done
expect "the 1 MiB map fills: three batches in a row refused" "[3]" "[$in_a_row]"
told=$(tiny_told)
expect "and told once" "[$((told_before + 1))]" "[$told]"
expect "each time the map filled, once" "[$told]" \
    "[$(($(grep -c "space again: writes are taken again" "$WORK/tiny.log") + 1))]"
check "a full map still serves reads" 0 tiny account show T1
kill -TERM "$pid"; wait "$pid"

# map_readahead: the kernel is told how to read data.mdb (VmFlags "rr", random read, is
# madvise's MADV_RANDOM); the ledger works the same either way.
readahead_flags() { # PID: the VmFlags of the data.mdb mapping
    awk '/data\.mdb$/ { map = 1; next } /^[0-9a-f]+-/ { map = 0 } map && /^VmFlags/' "/proc/$1/smaps"
}
for readahead in 0 1; do
    "$BUILD/famledgerd" --data-dir "$WORK/ra$readahead" --socket "$WORK/ra.sock" --log-level warn \
        --map-readahead "$readahead" 2>>"$WORK/ra.log" &
    pid=$!
    ra() { "$BUILD/ledgerctl" --socket "$WORK/ra.sock" "$@"; }
    for _ in $(seq 1 300); do ra head >/dev/null 2>&1 && break; sleep 0.01; done
    ra person add R1 --name "钱七" --region 110101 --scheme employee >/dev/null
    ra account open R1 >/dev/null
    check "map_readahead $readahead: a credit" 0 ra credit R1 12.34 --ref ra1
    check "map_readahead $readahead: the balance" 0 ra account show R1
    expect "map_readahead $readahead: as credited" "12.34" "$OUT"
    flags=$(readahead_flags "$pid")
    case "$readahead:$flags" in
        0:*" rr"*|1:VmFlags*) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
        *) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL map_readahead $readahead: '$flags'" ;;
    esac
    case "$readahead:$flags" in
        1:*" rr"*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL map_readahead 1 advised random: '$flags'" ;;
    esac
    check "map_readahead $readahead: verify" 0 ra verify
    kill -TERM "$pid"; wait "$pid"
done

# data.mdb cut short while the daemon runs (a failing disk, a careless copy back): its next read
# past the new end (SIGBUS) ends the daemon, with a line that says what happened and what to do,
# and a start then refuses the file as truncated.
"$BUILD/famledgerd" --data-dir "$WORK/cut" --socket "$WORK/cut.sock" --log-level warn \
    --state-sweep-ms 0 2>>"$WORK/cut.log" &
pid=$!
cut() { "$BUILD/ledgerctl" --socket "$WORK/cut.sock" "$@"; }
for _ in $(seq 1 300); do cut head >/dev/null 2>&1 && break; sleep 0.01; done
for i in $(seq 1 2000); do echo "CUT$i,Name $i,110101,employee,1.00"; done > "$WORK/cut.csv"
check "a ledger of 2,000 people" 0 cut migrate persons "$WORK/cut.csv"
truncate -s 64K "$WORK/cut/data.mdb"
check "verify loses its connection" 3 cut verify
wait "$pid"
status=$?
[ "$status" -ne 0 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL the daemon went on over a cut file"; }
expect "the daemon said why it stopped" \
    "SIGBUS: a read past the end of a file famledgerd maps. $WORK/cut/data.mdb is shorter than its pages say" \
    "$(cat "$WORK/cut.log")"
expect "and what to do" "restore the newest backup" "$(cat "$WORK/cut.log")"
check "a start refuses the cut file" 1 "$BUILD/famledgerd" --data-dir "$WORK/cut" \
    --socket "$WORK/cut.sock" --log-level warn
expect "as truncated" "data.mdb is truncated" "$ERR"

# data.mdb deleted while the daemon runs (a cleanup, a restore done the wrong way round): the
# daemon still has it open, but a write to it would be gone at the next start. Writes are
# refused, and a backup taken then holds everything acknowledged.
"$BUILD/famledgerd" --data-dir "$WORK/gone2" --socket "$WORK/gone2.sock" --log-level warn \
    2>>"$WORK/gone2.log" &
pid=$!
gone() { "$BUILD/ledgerctl" --socket "$WORK/gone2.sock" "$@"; }
for _ in $(seq 1 300); do gone head >/dev/null 2>&1 && break; sleep 0.01; done
gone person add G1 --name G --region 110101 --scheme employee >/dev/null
gone account open G1 >/dev/null
check "a credit before" 0 gone credit G1 5.00 --ref g1
rm "$WORK/gone2/data.mdb"
check "a credit once data.mdb is deleted is refused" 1 gone credit G1 1.00 --ref g2
expect "as not recorded, saying why" "not recorded: internal storage error: data.mdb was \
deleted while famledgerd ran; writes are refused until an operator restores the ledger" "$ERR"
expect "the log says what happened and what to do" \
    "data.mdb in $WORK/gone2 was deleted or replaced while famledgerd ran: writes are refused" \
    "$(cat "$WORK/gone2.log")"
check "reads go on" 0 gone --json account show G1
expect "with the balance acknowledged" '"balance_fen":500' "$OUT"
check "a backup is taken" 0 gone backup --out "$WORK/rescue"
kill -TERM "$pid"; wait "$pid"
cp "$WORK/rescue/data.mdb" "$WORK/rescue/famledger.head" "$WORK/gone2/"
"$BUILD/famledgerd" --data-dir "$WORK/gone2" --socket "$WORK/gone2.sock" --log-level warn \
    2>>"$WORK/gone2.log" &
pid=$!
for _ in $(seq 1 300); do gone head >/dev/null 2>&1 && break; sleep 0.01; done
check "restored, it verifies" 0 gone verify
check "the refused credit is taken now" 0 gone --json credit G1 1.00 --ref g2
expect "onto the balance acknowledged" '"balance_after_fen":600' "$OUT"
# The head record deleted the same way is made again at the next write, so that the next start
# finds it (and does not ask for --accept-head).
rm "$WORK/gone2/famledger.head"
check "a credit after famledger.head was deleted" 0 gone credit G1 1.00 --ref g3
check "the record is there again" 0 test -s "$WORK/gone2/famledger.head"
expect "and the log says so" \
    "famledger.head was deleted or replaced while famledgerd ran: written again" \
    "$(cat "$WORK/gone2.log")"
kill -TERM "$pid"; wait "$pid"
"$BUILD/famledgerd" --data-dir "$WORK/gone2" --socket "$WORK/gone2.sock" --log-level warn \
    2>>"$WORK/gone2.log" &
pid=$!
for _ in $(seq 1 1000); do gone head >/dev/null 2>&1 && break; sleep 0.01; done
check "the next start takes it" 0 gone verify
kill -TERM "$pid"; wait "$pid"
# A ledger on a network share: LMDB is not sound there, and another host could run a second
# daemon on it. Refused before anything is made (the share is faked: statfs says NFS, CIFS).
allow_preload
for fstype in 0x6969:NFS 0xFF534D42:CIFS; do
    check "a data directory on ${fstype#*:} is refused" 1 env FAILSYNC_FSTYPE="${fstype%%:*}" \
        LD_PRELOAD="$PWD/$BUILD/tests/libfailsync.so" timeout 20 "$BUILD/famledgerd" \
        --data-dir "$WORK/share/ledger" --socket "$WORK/share.sock"
    expect "naming the filesystem" "$WORK/share/ledger is on ${fstype#*:}" "$ERR"
    check "and nothing is made there" 1 test -e "$WORK/share"
    check "--check-config says so first" 2 env FAILSYNC_FSTYPE="${fstype%%:*}" \
        LD_PRELOAD="$PWD/$BUILD/tests/libfailsync.so" "$BUILD/famledgerd" \
        --data-dir "$WORK/share/ledger" --check-config
    expect "the same way" "$WORK/share/ledger is on ${fstype#*:}" "$ERR"
done
# In memory (tmpfs): it runs, for tests, and says what a reboot does.
mkdir "$WORK/ram"
if mount -t tmpfs -o size=64m tmpfs "$WORK/ram" 2>/dev/null; then
    "$BUILD/famledgerd" --data-dir "$WORK/ram/ledger" --socket "$WORK/ram.sock" --log-level warn \
        2>>"$WORK/ram.log" &
    pid=$!
    for _ in $(seq 1 1000); do "$BUILD/ledgerctl" --socket "$WORK/ram.sock" head >/dev/null 2>&1 &&
        break; sleep 0.01; done
    check "a ledger on tmpfs runs" 0 "$BUILD/ledgerctl" --socket "$WORK/ram.sock" head
    expect "with a warning" "$WORK/ram/ledger is in memory (tmpfs): the ledger, and every reply" \
        "$(cat "$WORK/ram.log")"
    kill -TERM "$pid"; wait "$pid"
    umount "$WORK/ram"
fi
# Root on a ledger of another user (the service's own): the files it would make would be
# root's. Refused; and a file of root's in a ledger of the daemon's user is named with its owner.
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && getent passwd nobody >/dev/null; then
    mkdir -p "$WORK/theirs"
    "$BUILD/famledgerd" --data-dir "$WORK/theirs/ledger" --socket "$WORK/theirs.sock" \
        --log-level warn 2>/dev/null &
    pid=$!
    for _ in $(seq 1 1000); do "$BUILD/ledgerctl" --socket "$WORK/theirs.sock" head \
        >/dev/null 2>&1 && break; sleep 0.01; done
    kill -TERM "$pid"; wait "$pid"
    chown -R nobody "$WORK/theirs"
    chmod 755 "$WORK"
    check "root on nobody's ledger is refused" 1 timeout 20 "$BUILD/famledgerd" \
        --data-dir "$WORK/theirs/ledger" --socket "$WORK/theirs.sock"
    expect "naming its owner" "famledgerd runs as root, but $WORK/theirs/ledger belongs to nobody" \
        "$ERR"
    chown root "$WORK/theirs/ledger/lock.mdb"
    check "nobody's daemon with root's lock.mdb is refused" 1 timeout 20 runuser -u nobody -- \
        "$BUILD/famledgerd" --data-dir "$WORK/theirs/ledger" --socket "$WORK/theirs/s.sock"
    expect "naming the file and its owner" "lock.mdb cannot be opened for reading and writing by \
uid $(id -u nobody) (Permission denied): it belongs to uid 0" "$ERR"
    chmod 700 "$WORK"
fi
finish
