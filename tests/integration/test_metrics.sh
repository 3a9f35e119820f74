# test_metrics.sh -- the daemon's metrics as an operator reads them: the metrics listener
# (Prometheus over HTTP, off by default), `ledgerctl stats` in its three forms, counters that
# move under a small load; journald's line format; times in the business zone.
. "$(dirname "$0")/lib.sh"

# GET PATH [METHOD] from the listener, through bash's /dev/tcp (no curl on a fresh machine).
http() {
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    printf '%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "${2:-GET}" "$1" >&3
    cat <&3
    exec 3<&-
}
# The value of one sample (the exact name and labels) in the text $2.
sample() { printf '%s\n' "$2" | grep "^$1 " | head -1 | awk '{print $2}'; }

check "metrics_listen must be HOST:PORT" 2 "$BUILD/famledgerd" --data-dir "$WORK/d0" --socket "$WORK/s0" --metrics-listen nonsense --check-config
expect "the refusal shows the form" "is not HOST:PORT" "$ERR"
check "a port out of range is refused" 2 "$BUILD/famledgerd" --data-dir "$WORK/d0" --socket "$WORK/s0" --metrics-listen 127.0.0.1:70000 --check-config

# A free port: the listener refuses to start on a taken one, so try a few.
for _ in 1 2 3 4 5 6 7 8; do
    PORT=$((20000 + RANDOM % 40000))
    "$BUILD/famledgerd" --data-dir "$WORK/data" --socket "$SOCKET" --log-level warn \
        --metrics-listen "127.0.0.1:$PORT" 2>>"$WORK/daemon.log" &
    DAEMON_PID=$!
    for _ in $(seq 1 300); do ctl head >/dev/null 2>&1 && break; sleep 0.01; done
    ctl head >/dev/null 2>&1 && break
    wait "$DAEMON_PID"; DAEMON_PID=""
done
[ -n "$DAEMON_PID" ] || { echo "FAIL no port for the listener"; cat "$WORK/daemon.log"; exit 1; }

check "a second daemon cannot take the same metrics port" 1 timeout 10 "$BUILD/famledgerd" --data-dir "$WORK/d1" --socket "$WORK/s1" --metrics-listen "127.0.0.1:$PORT"
expect "the refusal names the address" "cannot listen on 127.0.0.1:$PORT" "$ERR"

check "scrape" 0 http /metrics
expect "200 OK" "HTTP/1.1 200 OK" "$OUT"
expect "the exposition format's content type" "text/plain; version=0.0.4" "$OUT"
expect "HELP and TYPE lines" "# TYPE famledger_requests_total counter" "$OUT"
expect "the head" "famledger_head_seq 0" "$OUT"
check "another path" 0 http /
expect "404" "HTTP/1.1 404" "$OUT"
check "another method" 0 http /metrics POST
expect "405" "HTTP/1.1 405" "$OUT"
expect "405 says what is allowed" "Allow: GET, HEAD" "$OUT"

# Bytes no scraper sends: garbage, a header far past any limit, a connection that says nothing.
exec 5<>"/dev/tcp/127.0.0.1/$PORT"   # silent, held open through what follows
{ head -c 4096 /dev/urandom; printf '\r\n\r\n'; } > "$WORK/garbage"
# (The listener may close while we write: a write error, not SIGPIPE, in a subshell of its own.)
send_raw() {
    ( trap '' PIPE
      exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 0
      timeout 5 cat "$1" >&3 2>/dev/null
      timeout 5 cat <&3 2>/dev/null )
}
send_raw "$WORK/garbage" >/dev/null
{ printf 'GET /metrics HTTP/1.1\r\nX-Big: '; head -c 200000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } > "$WORK/big"
reply=$(send_raw "$WORK/big")
case "$reply" in *" 200 OK"*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL a 200 KB header was served" ;; *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;; esac
check "the listener still answers" 0 http /metrics
expect "with metrics" "famledger_head_seq" "$OUT"
check "and so does the ledger" 0 ctl head
exec 5<&-

# A small load: a family, credits, settlements (one refused), a refund.
ctl merchant add P001 --name "Pharmacy" --kind pharmacy --region 110101 >/dev/null
ctl person add E1 --name A --region 110101 --scheme employee >/dev/null
ctl account open E1 >/dev/null
ctl credit E1 100 --ref c1 >/dev/null
for i in 1 2 3; do
    ctl settle --merchant P001 --ref "s$i" --patient E1 --amount 10 >/dev/null
done
check "an unknown patient is refused" 1 ctl settle --merchant P001 --ref s9 --patient NOBODY --amount 1
head_seq=$(ctl --json head | sed 's/.*"seq":\([0-9]*\).*/\1/')

check "scrape after the load" 0 http /metrics
scrape=$OUT
expect "settlements counted by type and status" 'famledger_requests_total{type="settle",status="OK"} 3' "$scrape"
expect "the refusal counted by its status" 'famledger_requests_total{type="settle",status="UNKNOWN_PERSON"} 1' "$scrape"
expect "entries by type" 'famledger_entries_total{type="settled"} 3' "$scrape"
expect "the head is the ledger's" "famledger_head_seq $head_seq" "$scrape"
expect "a latency histogram per type" 'famledger_request_duration_seconds_bucket{type="settle",le="+Inf"} 4' "$scrape"
expect "the count beside it" 'famledger_request_duration_seconds_count{type="settle"} 4' "$scrape"
batches=$(sample famledger_commit_batches_total "$scrape")
[ "${batches:-0}" -ge 6 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL commit batches: '$batches'"; }
commits=$(sample famledger_commit_duration_seconds_count "$scrape")
[ "${commits:-0}" -ge 6 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL synced commits: '$commits'"; }
used=$(sample famledger_map_used_bytes "$scrape")
[ "${used:-0}" -gt 0 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL map use: '$used'"; }

# The same families through the socket: for people, JSON, and Prometheus text for a file.
check "ledgerctl stats" 0 ctl stats
expect "stats for people: one sample a line" 'famledger_requests_total{type="settle",status="OK"} 3' "$OUT"
case "$OUT" in *"_bucket"*|*"# HELP"*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL stats for people shows buckets or comments" ;; *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;; esac
check "ledgerctl --json stats" 0 ctl --json stats
expect "JSON families" '"famledger_entries_total":{"type":"counter"' "$OUT"
expect "JSON samples with labels" '"labels":{"type":"settled"},"value":3' "$OUT"
check "ledgerctl stats --prometheus --out" 0 ctl stats --prometheus --out "$WORK/famledger.prom"
expect "the file is the exposition format" "# TYPE famledger_commit_duration_seconds histogram" "$(cat "$WORK/famledger.prom")"
[ ! -e "$WORK/famledger.prom.partial" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL a .partial file was left"; }
families_http=$(printf '%s\n' "$scrape" | grep '^# TYPE' | sort)
families_ctl=$(grep '^# TYPE' "$WORK/famledger.prom" | sort)
[ -n "$families_http" ] && [ "$families_http" = "$families_ctl" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL the listener and ledgerctl show different families"; }
check "the counters move" 0 ctl settle --merchant P001 --ref s4 --patient E1 --amount 1
check "scrape again" 0 http /metrics
expect "one more settlement" 'famledger_requests_total{type="settle",status="OK"} 4' "$OUT"
expect "the stats requests are counted too" 'famledger_requests_total{type="stats",status="OK"} 3' "$OUT"

# Under concurrent load the counts agree with each other and with the client: every settlement
# the bench made is one settle answered OK and one settled entry.
before_ok=$(sample 'famledger_requests_total{type="settle",status="OK"}' "$(ctl stats)")
before_settled=$(sample 'famledger_entries_total{type="settled"}' "$(ctl stats)")
before_queued=$(sample 'famledger_prefetch_total{result="queued"}' "$(ctl stats)")
"$BUILD/famledger-bench" --socket "$SOCKET" --patients 50 --setup-only >/dev/null 2>&1
check "a concurrent load" 0 "$BUILD/famledger-bench" --socket "$SOCKET" --patients 50 --connections 8 --depth 4 --settlements 2000
made=$(printf '%s\n' "$OUT" | sed -n 's/.*: \([0-9]*\) in [0-9.]* s = .*/\1/p')
# The bench finds the daemon on this machine (SO_PEERCRED) and reads its threads' CPU from
# /proc: the writer and the prefetch threads by name, the whole daemon first.
cpu_line=$(printf '%s\n' "$OUT" | grep '^cpu: ')
expect "the bench reports the daemon's CPU" "cpu: µs a settlement, user + system: the daemon " "$cpu_line"
expect "the writer's among it" " fl-writer " "$cpu_line"
expect "and the prefetch threads'" " fl-prefetch " "$cpu_line"
expect "and its own" "; the bench " "$cpu_line"
stats=$(ctl stats)
ok_now=$(sample 'famledger_requests_total{type="settle",status="OK"}' "$stats")
settled_now=$(sample 'famledger_entries_total{type="settled"}' "$stats")
[ -n "$made" ] && [ $((ok_now - before_ok)) -eq "$made" ] && [ $((settled_now - before_settled)) -eq "$made" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL made '$made', settle OK +$((ok_now - before_ok)), settled +$((settled_now - before_settled))"; }
# Each settlement was read ahead for the writer (prefetch.h): queued once, and read by the
# prefetch threads soon after; 32 in flight never fill its queue.
queued_now=$(sample 'famledger_prefetch_total{result="queued"}' "$stats")
[ -n "$made" ] && [ $((queued_now - before_queued)) -eq "$made" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL made '$made', prefetch queued +$((queued_now - before_queued))"; }
for _ in $(seq 1 500); do
    stats=$(ctl stats)
    [ "$(sample 'famledger_prefetch_total{result="done"}' "$stats")" = "$queued_now" ] && break
    sleep 0.01
done
expect "every queued prefetch is read" "famledger_prefetch_total{result=\"done\"} $queued_now" "$stats"
expect "none dropped" 'famledger_prefetch_total{result="dropped"} 0' "$stats"
# verify's walk of a table longer than a page is read ahead by the same threads (prefetch.h):
# 1,200 more accounts make the accounts and persons tables two pages each. (A verify without
# --walk has the daemon digest them, here each in one page: a ledger this small has too few
# log pages to spread them over.)
"$BUILD/famledger-bench" --socket "$SOCKET" --patients 400 --setup-only >/dev/null 2>&1
check "verify, with tables of two pages" 0 ctl verify --walk
for _ in $(seq 1 500); do
    stretches=$(sample 'famledger_walk_ahead_total{read="stretches"}' "$(ctl stats)")
    [ "${stretches:-0}" -gt 0 ] && break
    sleep 0.01
done
[ "${stretches:-0}" -gt 0 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL no stretch read ahead of verify's walks ('$stretches')"; }

# Times people read are in the business zone (Asia/Shanghai by default), UTC on request.
check "tail" 0 ctl tail --from 1
expect "local time with its offset" "+08:00 merchant_added" "$OUT"
check "tail --utc" 0 ctl --utc tail --from 1
expect "UTC with Z" "Z merchant_added" "$OUT"
check "export without --date is today's business day" 0 ctl export
expect "today's entries" "settlement" "$OUT"
check "a day without entries" 0 ctl export --date 2020-01-01
expect "says so on stderr" "no entries are dated 2020-01-01 (business day in Asia/Shanghai)" "$ERR"

daemon_stop && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL the daemon did not stop cleanly"; }

# The metrics need the admin or audit role through the socket: a settle-only peer is refused.
"$BUILD/famledgerd" --data-dir "$WORK/roles" --socket "$WORK/roles.sock" --log-level warn \
    --admin-uids 65533 --audit-uids 65533 --settle-uids "$(id -u)" 2>>"$WORK/daemon.log" &
roles_pid=$!
for _ in $(seq 1 300); do "$BUILD/ledgerctl" --socket "$WORK/roles.sock" head >/dev/null 2>&1 && break; sleep 0.01; done
check "a settle-only peer cannot read the metrics" 1 "$BUILD/ledgerctl" --socket "$WORK/roles.sock" stats
expect "it is told which role" "PERMISSION_DENIED" "$ERR"
kill -TERM "$roles_pid"; wait "$roles_pid"

# Under systemd (JOURNAL_STREAM names standard error) lines carry a priority, no timestamp.
exec 4>"$WORK/journal.log"
JOURNAL_STREAM=$(stat -L -c '%d:%i' "$WORK/journal.log") timeout -s TERM 1 "$BUILD/famledgerd" --data-dir "$WORK/data" --socket "$SOCKET" 2>&4
exec 4>&-
journal=$(cat "$WORK/journal.log")
expect "info has priority 6" "<6>famledgerd ready" "$journal"
case "$journal" in *famledgerd\ info:*|*Z\ famledgerd*) CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL journal lines carry a timestamp: $journal" ;; *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;; esac
JOURNAL_STREAM=1:1 timeout -s TERM 1 "$BUILD/famledgerd" --data-dir "$WORK/data" --socket "$SOCKET" 2>"$WORK/plain.log"
expect "another stream keeps timestamps" "Z famledgerd info: famledgerd ready" "$(cat "$WORK/plain.log")"

finish
