# test_foreign_client.sh -- a client written from proto/famledger.proto and docs/PROTOCOL.md
# alone, in Python with Google's protobuf runtime (foreign_client.py): the framing, idempotent
# retries, pipelining, batches, hostile frames, and the log's chain checked with hashlib; then
# as a pharmacy's system, refused everything but its own merchant's settlements; then a flood of
# large batches held to the daemon's budget for requests.
. "$(dirname "$0")/lib.sh"

# Debian's python3-protobuf is for Debian's python3, whatever else PATH finds first.
PYTHON=/usr/bin/python3
check "Google's protobuf runtime is installed (make deps)" 0 \
    "$PYTHON" -c "import google.protobuf"
check "protoc generates the Python module" 0 \
    protoc --proto_path=proto --python_out="$WORK" proto/famledger.proto
daemon_start_any_hour
check "the foreign client's checks pass" 0 "$PYTHON" "$(dirname "$0")/foreign_client.py" \
    "$WORK" "$SOCKET"
echo "$OUT" | tail -1
check "and the ledger it wrote verifies" 0 ctl verify

# The same client as a pharmacy's system: root settles for PH1 only; another uid administers
# and audits (both default to the daemon's own uid).
ctl merchant add PH2 --name "二号药房" --kind pharmacy --region 110101 >/dev/null
ctl credit H 20.00 --ref c-ph2 >/dev/null
check "PH2 settles for K" 0 ctl settle --merchant PH2 --ref P2-1 --patient K --amount 10.00
ctl credit H 20.00 --ref c-ph1 >/dev/null
daemon_stop
daemon_start --admin-uids 65533 --audit-uids 65533 --settle-uids "$(id -u)" \
    --merchant-peers "uid:$(id -u)=PH1"
check "the foreign client as PH1's system" 0 "$PYTHON" "$(dirname "$0")/foreign_client.py" \
    "$WORK" "$SOCKET" pharmacy
echo "$OUT" | tail -1
daemon_stop

# A flood of large batches on sixteen connections to a slow disk (each sync 10 ms longer,
# libfailsync.so): the decoded requests the daemon holds stay about pending_requests_mib_max.
allow_preload
FAILSYNC_DELAY_MS=10 LD_PRELOAD="$PWD/$BUILD/tests/libfailsync.so" \
    daemon_start --pending-requests-mib-max 2
check "a flood held to the requests' budget" 0 "$PYTHON" "$(dirname "$0")/foreign_client.py" \
    "$WORK" "$SOCKET" flood 2
echo "$OUT" | tail -2
expect "the operator is told" "wait for their turn" "$(cat "$WORK/daemon.log")"
finish
