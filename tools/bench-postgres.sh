#!/bin/sh
# bench-postgres.sh -- famledgerd and PostgreSQL side by side on the same workload, in the same
# run (make bench-postgres; docs/BENCHMARKS.md). Measures; asserts nothing.
#
# The workload: BENCH_PATIENTS patients (default 100000), each with a small own account and two
# funding relatives; each settlement for a random patient and a random amount (0.01-300.00),
# durable before the reply, with an idempotency key, at one of BENCH_MERCHANTS pharmacies (default
# 1) chosen at random. PostgreSQL runs a PL/pgSQL settle() that
# locks the patient's and the funders' accounts FOR UPDATE and deducts in order, fsync and
# synchronous_commit on, after VACUUM ANALYZE; pgbench drives it. famledger-bench drives
# famledgerd. Each load runs on one, then the other, for BENCH_SECONDS (default 10):
#   one request in flight per connection at 1, 16 and 64 connections (BENCH_CONNECTIONS);
#   pipelined: 16 and 64 connections x 8 in flight (pgbench pipeline mode);
#   batched: 4 connections x 2 batches of 100 in flight (PostgreSQL: a pipeline of 100 settle()
#   calls, each its own transaction, as each item of a famledger batch succeeds on its own);
#   returns: 16 connections, BENCH_REFUNDS in a hundred requests (default 10) refunds of a random
#   part of an earlier settlement (famledger-bench --refunds; PostgreSQL: a PL/pgSQL refund()
#   that gives the legs back last first, with the index on legs it needs made just before).
# BENCH_DAEMON_ARGS: more famledgerd options (e.g. "--state-sweep-ms 0" to turn off the default).
# PostgreSQL is installed with apt-get when missing (as root) and runs as the postgres user in
# a temporary cluster on a Unix socket; nothing is left behind.
set -eu
: "${BUILD:=build}"
: "${BENCH_PATIENTS:=100000}"
: "${BENCH_SECONDS:=10}"
: "${BENCH_CONNECTIONS:=1 16 64}"
: "${BENCH_MERCHANTS:=1}"
: "${BENCH_REFUNDS:=10}"
: "${BENCH_DAEMON_ARGS:=}"

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "bench-postgres: PostgreSQL is not installed; as root: apt-get install postgresql" >&2
        exit 1
    fi
    echo "bench-postgres: installing PostgreSQL (the comparison only)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

work=$(mktemp -d /tmp/famledger-pg-XXXXXX)
chmod 755 "$work"
as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
daemon_pid=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir "$work/pg" "$work/pgsock"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg" "$work/pgsock"
as_postgres "$pg_bin/initdb" -D "$work/pg" -A trust -U bench >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pgsock/log" -w start -o \
    "-k $work/pgsock -c listen_addresses='' -c fsync=on -c synchronous_commit=on \
     -c max_connections=300 -c shared_buffers=2GB -c max_wal_size=8GB" >/dev/null
psql() { as_postgres "$pg_bin/psql" -q -X -h "$work/pgsock" -U bench -d postgres "$@"; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m); $(df -T "$work" | awk 'NR == 2 {print $2}') on $(df "$work" | awk 'NR == 2 {print $1}')"
echo "PostgreSQL: $("$pg_bin/postgres" --version | cut -d' ' -f3), fsync and synchronous_commit on"

start=$(date +%s.%N)
psql -v ON_ERROR_STOP=1 -v patients="$BENCH_PATIENTS" <<'EOF'
CREATE TABLE accounts (person text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
CREATE TABLE funders (patient text, position int, holder text, PRIMARY KEY (patient, position));
CREATE TABLE settlements (id bigserial PRIMARY KEY, merchant text NOT NULL,
                          reference text NOT NULL, patient text NOT NULL, amount bigint NOT NULL,
                          from_accounts bigint, cash bigint, at timestamptz DEFAULT now(),
                          refunded bigint NOT NULL DEFAULT 0, UNIQUE (merchant, reference));
CREATE TABLE legs (settlement bigint NOT NULL, holder text NOT NULL, amount bigint NOT NULL,
                   balance_after bigint NOT NULL, position int NOT NULL,
                   refunded bigint NOT NULL DEFAULT 0);
CREATE TABLE refunds (id bigserial PRIMARY KEY, merchant text NOT NULL, reference text NOT NULL,
                      settlement bigint NOT NULL, amount bigint NOT NULL,
                      at timestamptz DEFAULT now(), UNIQUE (merchant, reference));
-- The patient's own account first, then each funder in order, the rest in cash; a retry with
-- the same reference returns the first answer.
CREATE FUNCTION settle(p_merchant text, p_reference text, p_patient text, p_amount bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    left_fen bigint := p_amount;
    take bigint;
    r record;
    sid bigint;
BEGIN
    SELECT id INTO sid FROM settlements WHERE merchant = p_merchant AND reference = p_reference;
    IF FOUND THEN
        RETURN sid;
    END IF;
    INSERT INTO settlements (merchant, reference, patient, amount)
        VALUES (p_merchant, p_reference, p_patient, p_amount) RETURNING id INTO sid;
    FOR r IN SELECT a.person, a.balance, f.position
               FROM (SELECT p_patient AS holder, 0 AS position
                     UNION ALL SELECT holder, position FROM funders WHERE patient = p_patient) f
               JOIN accounts a ON a.person = f.holder
              ORDER BY f.position FOR UPDATE OF a LOOP
        EXIT WHEN left_fen = 0;
        take := least(r.balance, left_fen);
        IF take > 0 THEN
            UPDATE accounts SET balance = balance - take WHERE person = r.person;
            INSERT INTO legs VALUES (sid, r.person, take, r.balance - take, r.position);
            left_fen := left_fen - take;
        END IF;
    END LOOP;
    UPDATE settlements SET from_accounts = p_amount - left_fen, cash = left_fen WHERE id = sid;
    RETURN sid;
END $$;
-- A random part (at least 0.01) of what the accounts paid of a settlement picked at random
-- (p_pick in [0, 1)) and not wholly refunded, given back to its legs last first, at its
-- pharmacy, under a reference unique there (looked up first, as settle() does; the bench
-- never retries).
CREATE FUNCTION refund(p_reference text, p_pick float8, p_part float8)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    s record;
    r record;
    sid bigint;
    rid bigint;
    left_fen bigint;
    give bigint;
BEGIN
    sid := 1 + floor(p_pick * (SELECT max(id) FROM settlements))::bigint;
    SELECT * INTO s FROM settlements WHERE id = sid FOR UPDATE;
    IF NOT FOUND OR s.from_accounts - s.refunded <= 0 THEN
        RETURN 0;
    END IF;
    SELECT id INTO rid FROM refunds WHERE merchant = s.merchant AND reference = p_reference;
    IF FOUND THEN
        RETURN rid;
    END IF;
    left_fen := 1 + floor(p_part * (s.from_accounts - s.refunded));
    INSERT INTO refunds (merchant, reference, settlement, amount)
        VALUES (s.merchant, p_reference, s.id, left_fen) RETURNING id INTO rid;
    UPDATE settlements SET refunded = refunded + left_fen WHERE id = s.id;
    -- The accounts locked in settle()'s order, so that the two never wait on each other.
    PERFORM 1 FROM legs l JOIN accounts a ON a.person = l.holder
      WHERE l.settlement = s.id ORDER BY l.position FOR UPDATE OF a;
    FOR r IN SELECT holder, position, amount - refunded AS open FROM legs
              WHERE settlement = s.id ORDER BY position DESC LOOP
        EXIT WHEN left_fen = 0;
        give := least(r.open, left_fen);
        IF give > 0 THEN
            UPDATE accounts SET balance = balance + give WHERE person = r.holder;
            UPDATE legs SET refunded = refunded + give
             WHERE settlement = s.id AND position = r.position;
            left_fen := left_fen - give;
        END IF;
    END LOOP;
    RETURN rid;
END $$;
INSERT INTO accounts
    SELECT 'BP' || i, 500 FROM generate_series(0, :patients - 1) i
    UNION ALL SELECT 'BF' || i, 100000000 FROM generate_series(0, :patients - 1) i
    UNION ALL SELECT 'BM' || i, 100000000 FROM generate_series(0, :patients - 1) i;
INSERT INTO funders
    SELECT 'BP' || i, 1, 'BF' || i FROM generate_series(0, :patients - 1) i
    UNION ALL SELECT 'BP' || i, 2, 'BM' || i FROM generate_series(0, :patients - 1) i;
VACUUM ANALYZE;
EOF
echo "PostgreSQL load: $BENCH_PATIENTS patients in $(echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}') s"

# pgbench scripts: one settle() per transaction; 8 or 100 in a pipeline.
settle="SELECT settle(CASE :m::int WHEN 0 THEN 'BENCHPH' ELSE 'BENCHPH' || :m::int END, gen_random_uuid()::text, 'BP' || :p, :amount);"
variables="\\set p random(0, $((BENCH_PATIENTS - 1)))
\\set m random(0, $((BENCH_MERCHANTS - 1)))
\\set amount random(1, 30000)"
printf '%s\n%s\n' "$variables" "$settle" > "$work/one.sql"
# pipeline_script COUNT: COUNT settle() calls in one pipeline, each its own transaction.
pipeline_script() {
    printf '%s\n' '\startpipeline'
    i=0
    while [ $i -lt "$1" ]; do
        printf '%s\n%s\n' "$variables" "$settle"
        i=$((i + 1))
    done
    printf '%s\n' '\endpipeline'
}
printf '%s\n' "SELECT refund(gen_random_uuid()::text, random(), random());" > "$work/refund.sql"
pipeline_script 8 > "$work/pipeline.sql"
pipeline_script 100 > "$work/batch.sql"
chmod 644 "$work"/*.sql

# pg_run CONNECTIONS SETTLEMENTS_PER_SCRIPT PGBENCH_OPTIONS...: the scripts come with -f.
pg_run() {
    connections=$1 per_script=$2
    shift 2
    rm -f "$work"/pgsock/lat*
    out=$(as_postgres "$pg_bin/pgbench" -h "$work/pgsock" -U bench -n -c "$connections" \
        -j "$(nproc)" -T "$BENCH_SECONDS" --log \
        --log-prefix="$work/pgsock/lat" "$@" postgres 2>&1) || true
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    if [ -z "$tps" ]; then
        echo "pgbench failed: $(echo "$out" | grep -m 3 -i error | tr '\n' ' ')"
        return
    fi
    cat "$work"/pgsock/lat* | awk '{print $3}' | sort -n > "$work/latencies"
    count=$(wc -l < "$work/latencies")
    p50=$(awk -v n="$count" 'NR == int(n / 2) + 1 {printf "%.2f", $1 / 1000}' "$work/latencies")
    p99=$(awk -v n="$count" 'NR == int(n * 99 / 100) + 1 {printf "%.2f", $1 / 1000}' "$work/latencies")
    failed=$(echo "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
    echo "$tps $per_script $p50 $p99 ${failed:-0}" |
        awk '{printf "%.0f settlements/s, p50 %s ms, p99 %s ms%s", $1 * $2, $3, $4, ($5 > 0 ? ", " $5 " failed" : "")}'
}

# famledgerd on a fresh ledger with the same patients.
# A map of 64 GiB (address space; the file grows as written): ten million patients take 22 GB.
# shellcheck disable=SC2086 # options, split on purpose
"$BUILD/famledgerd" --data-dir "$work/famledger" --socket "$work/famledger.sock" \
    --log-level warn --map-mib-max 65536 $BENCH_DAEMON_ARGS &
daemon_pid=$!
until "$BUILD/ledgerctl" --socket "$work/famledger.sock" head >/dev/null 2>&1; do sleep 0.05; done
"$BUILD/famledger-bench" --socket "$work/famledger.sock" --patients "$BENCH_PATIENTS" \
    --merchants "$BENCH_MERCHANTS" --setup-only | grep setup
# cpu_keep OPTIONS: famledger-bench's line of the daemon's CPU a settlement, kept for after the
# table, headed by the load's options.
cpu_keep() {
    sed -n "s/^cpu: /$*: /p" "$work/fl.out" >> "$work/cpu.out"
}
: > "$work/cpu.out"

# fl_run OPTIONS: famledgerd's figures, then bare LMDB doing the same settlements in commits of
# the size famledgerd's had (its limit on this disk; its accounts are loaded once).
fl_run() {
    "$BUILD/famledger-bench" --socket "$work/famledger.sock" --patients "$BENCH_PATIENTS" \
        --merchants "$BENCH_MERCHANTS" --seconds "$BENCH_SECONDS" --raw-lmdb "$work/raw" "$@" \
        > "$work/fl.out" 2>&1 || true
    ours=$(sed -n 's/^settle: .*= \([0-9]*\) settlements\/s; latency p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*; \([0-9.]*\) settlements per commit, \([0-9.]*\) flushes and \([0-9.]*\) pages.*/\1 settlements\/s, p50 \2 ms, p99 \3 ms | \4 | \6/p' "$work/fl.out")
    raw=$(sed -n 's/^raw LMDB: .* = \([0-9]*\) settlements\/s$/\1 settlements\/s/p' "$work/fl.out")
    cpu_keep "$@"
    [ -n "$ours" ] || ours="failed: $(grep -v '^machine' "$work/fl.out" | head -n 2 | tr '\n' ' ') | | "
    echo "$ours | ${raw:-failed}"
}

# fl_mixed OPTIONS: famledgerd's settlements and refunds together, as requests; no bare LMDB.
fl_mixed() {
    "$BUILD/famledger-bench" --socket "$work/famledger.sock" --patients "$BENCH_PATIENTS" \
        --merchants "$BENCH_MERCHANTS" --seconds "$BENCH_SECONDS" "$@" > "$work/fl.out" 2>&1 ||
        true
    settled=$(sed -n 's/^settle: .*= \([0-9]*\) settlements\/s;.*/\1/p' "$work/fl.out")
    refunded=$(sed -n 's/^refund: .*= \([0-9]*\) refunds\/s.*/\1/p' "$work/fl.out")
    cpu_keep "$@"
    rest=$(sed -n 's/^settle: .*latency p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*; \([0-9.]*\) requests per commit, \([0-9.]*\) flushes and \([0-9.]*\) pages.*/p50 \1 ms, p99 \2 ms | \3 | \5/p' "$work/fl.out")
    if [ -n "$settled" ] && [ -n "$refunded" ] && [ -n "$rest" ]; then
        echo "$((settled + refunded)) requests/s ($refunded refunds/s), $rest | "
    else
        echo "failed: $(grep -v '^machine' "$work/fl.out" | head -n 2 | tr '\n' ' ') | | | "
    fi
}

# row LOAD FAMLEDGERD_CELLS POSTGRESQL_CELL: a table row, with famledgerd's throughput over
# PostgreSQL's and over bare LMDB's in commits of the same size (the issue's targets).
row() {
    ratio_pg=$(printf '%s\n%s\n' "$2" "$3" | awk 'NR == 1 {a = $1} NR == 2 {b = $1}
        END {if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b}')
    ratio_raw=$(echo "$2" | awk -F' [|] ' '{a = $1 + 0; b = $4 + 0}
        END {if (a > 0 && b > 0) printf "%.0f %%", 100 * a / b}')
    echo "| $1 | $2 | $3 | $ratio_pg | $ratio_raw |"
}

echo
echo "| load | famledgerd | settlements per commit | pages per settlement | bare LMDB, same commits | PostgreSQL | famledgerd ÷ PostgreSQL | famledgerd ÷ bare LMDB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for connections in $BENCH_CONNECTIONS; do
    [ "$connections" = 1 ] && noun=connection || noun=connections
    row "$connections $noun, 1 in flight" "$(fl_run --connections "$connections")" \
        "$(pg_run "$connections" 1 -f "$work/one.sql")"
done
for connections in 16 64; do
    row "$connections connections x 8 in flight" "$(fl_run --connections "$connections" --depth 8)" \
        "$(pg_run "$connections" 8 -f "$work/pipeline.sql" -M extended)"
done
row "4 connections x 2 batches of 100 (latency per batch)" \
    "$(fl_run --connections 4 --depth 2 --batch 100)" \
    "$(pg_run 4 100 -f "$work/batch.sql" -M extended)"
if [ "$BENCH_REFUNDS" -gt 0 ]; then
    # refund() finds a settlement's legs by an index settle() did not need until now.
    psql -c "CREATE INDEX ON legs (settlement, position); ANALYZE legs;"
    row "16 connections, 1 in flight, $BENCH_REFUNDS % refunds (requests)" \
        "$(fl_mixed --connections 16 --refunds "$BENCH_REFUNDS")" \
        "$(pg_run 16 1 -f "$work/one.sql@$((100 - BENCH_REFUNDS))" \
            -f "$work/refund.sql@$BENCH_REFUNDS" | sed 's/settlements/requests/')"
fi
echo
entries=$("$BUILD/ledgerctl" --socket "$work/famledger.sock" head | awk '/^seq/ {print $2}')
bytes=$(du -sb "$work/famledger" | cut -f1)
# The daemon's resident memory: its peak, and now its own and the pages of the ledger's map it
# has touched (the page cache's, shared, given back under pressure).
rss=$(awk '/^VmHWM:/ {peak = $2} /^RssAnon:/ {own = $2} /^RssFile:/ {map = $2}
    END {printf "peak RSS %.1f MB; at the end %.1f MB its own, %.1f MB of the ledger'"'"'s pages",
         peak / 1024, own / 1024, map / 1024}' "/proc/$daemon_pid/status")
echo "famledgerd: $(du -sh "$work/famledger" | cut -f1) for $entries entries ($((bytes / entries)) bytes an entry); $rss; PostgreSQL: $(du -sh "$work/pg" | cut -f1)"
if [ -s "$work/cpu.out" ]; then
    echo
    echo "famledgerd's CPU (famledger-bench, from /proc):"
    cat "$work/cpu.out"
fi
