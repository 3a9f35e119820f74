# test_socket_path.sh -- famledgerd claims its socket path only when nothing but a stale socket
# is there; anything else is left as it is and named in the refusal.
. "$(dirname "$0")/lib.sh"

start_on() { timeout 10 "$BUILD/famledgerd" --data-dir "$WORK/data" --socket "$1" --log-level warn; }

echo "precious" > "$WORK/file"
check "a regular file at the socket path is refused" 1 start_on "$WORK/file"
expect "the refusal names the file" "is a regular file, left as it is" "$ERR"
expect "the file is untouched" "precious" "$(cat "$WORK/file")"

ln -s "$WORK/file" "$WORK/link"
check "a symbolic link at the socket path is refused" 1 start_on "$WORK/link"
expect "the refusal names the link" "a symbolic link" "$ERR"
[ -L "$WORK/link" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL link removed"; }

mkdir "$WORK/dir"
check "a directory at the socket path is refused" 1 start_on "$WORK/dir"
expect "the refusal names the directory" "is a directory" "$ERR"

check "a missing parent directory is named" 1 start_on "$WORK/nowhere/famledgerd.sock"
expect "the refusal names the parent" "its directory $WORK/nowhere does not exist" "$ERR"

# A stale socket (its daemon was killed) is taken over; a live one is not.
daemon_start
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
[ -S "$SOCKET" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL no stale socket left"; }
daemon_start
check "the stale socket was taken over" 0 ctl head
check "a live daemon's socket is refused" 1 timeout 10 "$BUILD/famledgerd" --data-dir "$WORK/data2" --socket "$SOCKET"
expect "the refusal says another daemon answers" "another famledgerd answers there" "$ERR"
check "and leaves no new ledger behind it" 1 test -e "$WORK/data2"
check "the first daemon still answers" 0 ctl head

# socket_group gives the socket file a group, so roles can be granted by group.
daemon_stop
group=$(getent group nogroup >/dev/null && echo nogroup || echo "$(id -gn)")
daemon_start --socket-group "$group" --socket-mode 0660
expect "the socket has the configured group" "$group" "$(stat -c %G "$SOCKET")"
expect "and mode" "[660]" "[$(stat -c %a "$SOCKET")]"
check "an unknown group is refused" 1 timeout 10 "$BUILD/famledgerd" --data-dir "$WORK/data3" --socket "$WORK/other.sock" --socket-group no-such-group-here
expect "the refusal names the group" "no group named 'no-such-group-here'" "$ERR"
check "before a ledger was made" 1 test -e "$WORK/data3"

# The socket file deleted from under the daemon (a cleanup of /run, a mistaken rm) is made
# again within a second, as it was: peers could not reach the daemon at all otherwise.
rm "$SOCKET"
for _ in $(seq 1 300); do ctl head >/dev/null 2>&1 && break; sleep 0.01; done
check "the deleted socket is made again" 0 ctl head
expect "with its group" "$group" "$(stat -c %G "$SOCKET")"
expect "and mode" "[660]" "[$(stat -c %a "$SOCKET")]"
expect "and the log says so" "socket file $SOCKET was deleted while famledgerd ran: made again" \
    "$(cat "$WORK/daemon.log")"

# Another file put in its place (renamed over it: there is no moment without one) is left
# alone and named, and the daemon's stop removes only the file it made.
echo "someone else's" > "$WORK/other"
mv "$WORK/other" "$SOCKET"
for _ in $(seq 1 300); do grep -q "no longer this famledgerd's socket" "$WORK/daemon.log" && break
    sleep 0.01; done
expect "the daemon names the path it lost" "$SOCKET is no longer this famledgerd's socket" \
    "$(cat "$WORK/daemon.log")"
daemon_stop
expect "its stop leaves the other file as it is" "someone else's" "$(cat "$SOCKET")"
finish
