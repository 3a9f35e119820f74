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
check "the first daemon still answers" 0 ctl head

# socket_group gives the socket file a group, so roles can be granted by group.
daemon_stop
group=$(getent group nogroup >/dev/null && echo nogroup || echo "$(id -gn)")
daemon_start --socket-group "$group" --socket-mode 0660
expect "the socket has the configured group" "$group" "$(stat -c %G "$SOCKET")"
check "an unknown group is refused" 1 timeout 10 "$BUILD/famledgerd" --data-dir "$WORK/data3" --socket "$WORK/other.sock" --socket-group no-such-group-here
expect "the refusal names the group" "no group named 'no-such-group-here'" "$ERR"

# A daemon whose socket file was deleted, and another started meanwhile at the same path: when
# the first stops it removes only the file it made, not the second one's.
rm "$SOCKET"
"$BUILD/famledgerd" --data-dir "$WORK/data4" --socket "$SOCKET" --log-level warn \
    2>>"$WORK/second.log" &
second=$!
for _ in $(seq 1 300); do ctl head >/dev/null 2>&1 && break; sleep 0.01; done
daemon_stop
check "the second daemon still answers once the first stopped" 0 ctl head
kill -TERM "$second"; wait "$second"
check "and its own stop removes its socket" 1 test -e "$SOCKET"
finish
