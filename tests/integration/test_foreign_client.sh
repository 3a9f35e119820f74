# test_foreign_client.sh -- a client written from proto/famledger.proto and docs/PROTOCOL.md
# alone, in Python with Google's protobuf runtime (foreign_client.py): the framing, idempotent
# retries, pipelining, batches, hostile frames, and the log's chain checked with hashlib.
. "$(dirname "$0")/lib.sh"

# Debian's python3-protobuf is for Debian's python3, whatever else PATH finds first.
PYTHON=/usr/bin/python3
check "Google's protobuf runtime is installed (make deps)" 0 \
    "$PYTHON" -c "import google.protobuf"
check "protoc generates the Python module" 0 \
    protoc --proto_path=proto --python_out="$WORK" proto/famledger.proto
daemon_start
check "the foreign client's checks pass" 0 "$PYTHON" "$(dirname "$0")/foreign_client.py" \
    "$WORK" "$SOCKET"
echo "$OUT" | tail -1
check "and the ledger it wrote verifies" 0 ctl verify
finish
