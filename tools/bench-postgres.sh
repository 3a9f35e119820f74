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
#   calls, each its own transaction, as each item of a famledger batch succeeds on its own).
# PostgreSQL is installed with apt-get when missing (as root) and runs as the postgres user in
# a temporary cluster on a Unix socket; nothing is left behind.
set -eu
: "${BUILD:=build}"
: "${BENCH_PATIENTS:=100000}"
: "${BENCH_SECONDS:=10}"
: "${BENCH_CONNECTIONS:=1 16 64}"
: "${BENCH_MERCHANTS:=1}"

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
                          UNIQUE (merchant, reference));
CREATE TABLE legs (settlement bigint NOT NULL, holder text NOT NULL, amount bigint NOT NULL,
                   balance_after bigint NOT NULL);
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
    FOR r IN SELECT a.person, a.balance
               FROM (SELECT p_patient AS holder, 0 AS position
                     UNION ALL SELECT holder, position FROM funders WHERE patient = p_patient) f
               JOIN accounts a ON a.person = f.holder
              ORDER BY f.position FOR UPDATE OF a LOOP
        EXIT WHEN left_fen = 0;
        take := least(r.balance, left_fen);
        IF take > 0 THEN
            UPDATE accounts SET balance = balance - take WHERE person = r.person;
            INSERT INTO legs VALUES (sid, r.person, take, r.balance - take);
            left_fen := left_fen - take;
        END IF;
    END LOOP;
    UPDATE settlements SET from_accounts = p_amount - left_fen, cash = left_fen WHERE id = sid;
    RETURN sid;
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
pipeline_script 8 > "$work/pipeline.sql"
pipeline_script 100 > "$work/batch.sql"
chmod 644 "$work"/*.sql

# pg_run NAME CONNECTIONS SETTLEMENTS_PER_SCRIPT [pgbench options]
pg_run() {
    name=$1 connections=$2 per_script=$3
    shift 3
    rm -f "$work"/pgsock/lat*
    out=$(as_postgres "$pg_bin/pgbench" -h "$work/pgsock" -U bench -n -c "$connections" \
        -j "$(nproc)" -T "$BENCH_SECONDS" -f "$work/$name.sql" --log \
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
"$BUILD/famledgerd" --data-dir "$work/famledger" --socket "$work/famledger.sock" \
    --log-level warn --map-mib-max 65536 &
daemon_pid=$!
until "$BUILD/ledgerctl" --socket "$work/famledger.sock" head >/dev/null 2>&1; do sleep 0.05; done
"$BUILD/famledger-bench" --socket "$work/famledger.sock" --patients "$BENCH_PATIENTS" \
    --merchants "$BENCH_MERCHANTS" --setup-only | grep setup
# fl_run OPTIONS: famledgerd's figures, then bare LMDB doing the same settlements in commits of
# the size famledgerd's had (its limit on this disk; its accounts are loaded once).
fl_run() {
    "$BUILD/famledger-bench" --socket "$work/famledger.sock" --patients "$BENCH_PATIENTS" \
        --merchants "$BENCH_MERCHANTS" --seconds "$BENCH_SECONDS" --raw-lmdb "$work/raw" "$@" \
        > "$work/fl.out" 2>&1 || true
    ours=$(sed -n 's/^settle: .*= \([0-9]*\) settlements\/s; latency p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*; \([0-9.]*\) settlements per commit, \([0-9.]*\) flushes and \([0-9.]*\) pages.*/\1 settlements\/s, p50 \2 ms, p99 \3 ms | \4 | \6/p' "$work/fl.out")
    raw=$(sed -n 's/^raw LMDB: .* = \([0-9]*\) settlements\/s$/\1 settlements\/s/p' "$work/fl.out")
    [ -n "$ours" ] || ours="failed: $(grep -v '^machine' "$work/fl.out" | head -n 2 | tr '\n' ' ') | | "
    echo "$ours | ${raw:-failed}"
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
        "$(pg_run one "$connections" 1)"
done
for connections in 16 64; do
    row "$connections connections x 8 in flight" "$(fl_run --connections "$connections" --depth 8)" \
        "$(pg_run pipeline "$connections" 8 -M extended)"
done
row "4 connections x 2 batches of 100 (latency per batch)" \
    "$(fl_run --connections 4 --depth 2 --batch 100)" "$(pg_run batch 4 100 -M extended)"
echo
entries=$("$BUILD/ledgerctl" --socket "$work/famledger.sock" head | awk '/^seq/ {print $2}')
bytes=$(du -sb "$work/famledger" | cut -f1)
# The daemon's resident memory: its peak, and now its own and the pages of the ledger's map it
# has touched (the page cache's, shared, given back under pressure).
rss=$(awk '/^VmHWM:/ {peak = $2} /^RssAnon:/ {own = $2} /^RssFile:/ {map = $2}
    END {printf "peak RSS %.1f MB; at the end %.1f MB its own, %.1f MB of the ledger'"'"'s pages",
         peak / 1024, own / 1024, map / 1024}' "/proc/$daemon_pid/status")
echo "famledgerd: $(du -sh "$work/famledger" | cut -f1) for $entries entries ($((bytes / entries)) bytes an entry); $rss; PostgreSQL: $(du -sh "$work/pg" | cut -f1)"
