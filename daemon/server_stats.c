/* server_stats.c -- the daemon's counters and metrics, for `ledgerctl stats`, the metrics
 * listener and famledger-bench. Loop thread. */
#include "server_internal.h"

#include "famledger_status.h"
#include "metrics.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#ifndef FAMLEDGER_VERSION
#define FAMLEDGER_VERSION "unknown"
#endif

/* Bytes this process has written through system calls (/proc/self/io wchar): the ledger's
 * pages, the head record and the replies. (write_bytes, what reached the block layer, counts
 * far more than LMDB writes on ext4 and says little per request.) 0 when the kernel does not
 * account I/O per task. */
static uint64_t server_write_bytes(void)
{
    FILE *file = fopen("/proc/self/io", "r");
    if (!file)
        return 0;
    char line[128];
    uint64_t bytes = 0;
    while (fgets(line, sizeof(line), file))
        if (sscanf(line, "wchar: %" SCNu64, &bytes) == 1)
            break;
    fclose(file);
    return bytes;
}

static unsigned status_slot(int status)
{
    return status >= 0 && status < SERVER_STATUS_SLOTS ? (unsigned)status
                                                       : SERVER_STATUS_SLOTS - 1;
}

static size_t route_row(const struct dispatch_route *route)
{
    return route ? dispatch_route_index(route) : SERVER_ROUTE_ROWS - 1;
}

/* "settle", "person_add": as the .proto's oneof names the request (labels are lower case). */
static const char *route_row_name(struct arena *arena, size_t row)
{
    const struct dispatch_route *route = dispatch_route_at(row);
    if (!route)
        return "unknown";
    char *name = arena_strdup(arena, route->name);
    for (char *c = name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return name;
}

void server_metrics_answered(struct server *server, const struct pending *pending)
{
    size_t row = route_row(pending->route);
    server->metrics.requests[row][status_slot((int)pending->response.status)]++;
    histogram_observe(&server->metrics.duration_us[row], &metrics_duration_us,
                      (uv_hrtime() - pending->received_ns) / 1000);
}

static const char *const refusal_names[REFUSAL_COUNT] = {
    [REFUSAL_FRAME_TOO_LARGE] = "frame_too_large",
    [REFUSAL_MALFORMED] = "malformed",
    [REFUSAL_ROLE] = "role",
    [REFUSAL_CONNECTIONS_MAX] = "connections_max",
    [REFUSAL_DESCRIPTORS] = "descriptors",
    [REFUSAL_IDLE] = "idle",
    [REFUSAL_SHUTTING_DOWN] = "shutting_down",
    [REFUSAL_STREAM_STALLED] = "stream_stalled",
};

/* Requests, by type and status, and how long they took. */
static void metrics_requests(struct metrics_builder *builder, const struct server_metrics *m)
{
    metrics_family(builder, "famledger_requests_total", "counter",
                   "Requests answered, by request type and status (OK or the refusal).");
    for (size_t row = 0; row < SERVER_ROUTE_ROWS; row++)
        for (int status = 0; status < SERVER_STATUS_SLOTS; status++)
            if (m->requests[row][status])
                metrics_sample(builder, (int64_t)m->requests[row][status], 0, "type",
                               route_row_name(builder->arena, row), "status",
                               status == SERVER_STATUS_SLOTS - 1 ? "UNKNOWN"
                                                                 : fl_status_name(-status),
                               NULL);
    metrics_family(builder, "famledger_request_duration_seconds", "histogram",
                   "From a request's frame read to its reply queued, writes durable "
                   "included, by request type.");
    for (size_t row = 0; row < SERVER_ROUTE_ROWS; row++) {
        if (m->duration_us[row].count == 0)
            continue;
        const char *labels[] = {"type", route_row_name(builder->arena, row), NULL};
        metrics_histogram(builder, &m->duration_us[row], &metrics_duration_us, 6, labels);
    }
    metrics_family(builder, "famledger_refusals_total", "counter",
                   "Peers and frames turned away before any handler ran, by reason.");
    for (int reason = 0; reason < REFUSAL_COUNT; reason++)
        metrics_sample(builder, (int64_t)m->refusals[reason], 0, "reason",
                       refusal_names[reason], NULL);
}

static void metrics_commits(struct metrics_builder *builder, const struct commit_stats *stats)
{
    metrics_family(builder, "famledger_commit_batches_total", "counter",
                   "Write transactions run (group commits).");
    metrics_sample(builder, (int64_t)stats->batches, 0, NULL);
    metrics_family(builder, "famledger_commit_batch_requests", "histogram",
                   "Write requests in one commit (a batch request counts its items).");
    metrics_histogram(builder, &stats->batch_requests, &metrics_batch_requests, 0, NULL);
    metrics_family(builder, "famledger_commit_duration_seconds", "histogram",
                   "A commit from its start to durable: data pages, meta page and head record "
                   "written and synced.");
    metrics_histogram(builder, &stats->commit_us, &metrics_duration_us, 6, NULL);
    metrics_family(builder, "famledger_commit_flushes_total", "counter",
                   "fdatasync calls: data.mdb's data and meta pages, the head record.");
    metrics_sample(builder, (int64_t)stats->flushes, 0, NULL);
    metrics_family(builder, "famledger_commit_redone_total", "counter",
                   "Commits run again with a nested transaction per request, after one "
                   "failed having written.");
    metrics_sample(builder, (int64_t)stats->redone, 0, NULL);
    metrics_family(builder, "famledger_commit_failed_total", "counter",
                   "Commits refused: disk or map full, or a storage failure.");
    metrics_sample(builder, (int64_t)stats->failed, 0, NULL);
    metrics_family(builder, "famledger_map_grows_total", "counter",
                   "Times the LMDB map was grown.");
    metrics_sample(builder, (int64_t)stats->map_grows, 0, NULL);
    metrics_family(builder, "famledger_entries_total", "counter",
                   "Log entries made durable since start, by entry type.");
    for (unsigned slot = 0; slot < STORE_TALLY_SLOTS; slot++) {
        if (stats->entries[slot] == 0)
            continue;
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field(&famledger__entry__descriptor, slot);
        metrics_sample(builder, (int64_t)stats->entries[slot], 0, "type",
                       field ? field->name : "unknown", NULL);
    }
}

void server_metrics_collect(struct server *server, struct arena *arena,
                            Famledger__StatsReply *reply)
{
    /* Each source is read once: the counters' fields, then the families, from the same. */
    struct commit_stats stats;
    int failed = commit_queue_stats(server->commits, &stats, &reply->durable_seq);
    reply->batches = stats.batches;
    reply->jobs = stats.jobs;
    reply->flushes = stats.flushes;
    reply->map_grows = stats.map_grows;
    reply->write_bytes = server_write_bytes();
    reply->map_bytes = store_map_bytes(server->store);
    reply->map_used_bytes = store_used_bytes(server->store);
    reply->connections = server->conn_count;
    reply->started_us = (uint64_t)server->started_us;

    struct metrics_builder builder;
    metrics_builder_init(&builder, arena, reply);
    metrics_family(&builder, "famledger_build_info", "gauge", "The daemon's version.");
    metrics_sample(&builder, 1, 0, "version", FAMLEDGER_VERSION, NULL);
    metrics_family(&builder, "famledger_start_time_seconds", "gauge",
                   "When the daemon started, seconds since the epoch.");
    metrics_sample(&builder, server->started_us, 6, NULL);
    metrics_family(&builder, "famledger_head_seq", "gauge",
                   "The last log entry on disk (durable).");
    metrics_sample(&builder, (int64_t)reply->durable_seq, 0, NULL);
    metrics_family(&builder, "famledger_storage_failed", "gauge",
                   "1 after a storage failure: the daemon answers what it read and exits 74.");
    metrics_sample(&builder, failed != 0, 0, NULL);
    metrics_requests(&builder, &server->metrics);
    metrics_family(&builder, "famledger_connections", "gauge", "Connections open now.");
    metrics_sample(&builder, (int64_t)reply->connections, 0, NULL);
    metrics_family(&builder, "famledger_connections_accepted_total", "counter",
                   "Connections accepted.");
    metrics_sample(&builder, (int64_t)server->metrics.accepted, 0, NULL);
    metrics_family(&builder, "famledger_unwritten_reply_bytes", "gauge",
                   "Replies waiting for their peers to read them, all connections together "
                   "(unwritten_replies_mib_max bounds it).");
    metrics_sample(&builder, (int64_t)server->unwritten.held, 0, NULL);
    metrics_family(&builder, "famledger_pending_request_bytes", "gauge",
                   "Decoded requests waiting for their replies, all connections together "
                   "(pending_requests_mib_max bounds it).");
    metrics_sample(&builder, (int64_t)server->pending.held, 0, NULL);
    metrics_family(&builder, "famledger_subscribers", "gauge",
                   "Connections following the change stream.");
    metrics_sample(&builder, server->stream_count, 0, NULL);
    metrics_family(&builder, "famledger_snapshots", "gauge", "Audit snapshots open.");
    metrics_sample(&builder, server->snapshot_count, 0, NULL);
    uint64_t now_ms = uv_now(server->loop), oldest_ms = 0;
    for (const struct conn *conn = server->conns; conn; conn = conn->next)
        if (conn->snapshot && now_ms - conn->snapshot_opened_ms > oldest_ms)
            oldest_ms = now_ms - conn->snapshot_opened_ms;
    metrics_family(&builder, "famledger_snapshot_oldest_seconds", "gauge",
                   "How long the oldest audit snapshot has been open (0: none). data.mdb grows "
                   "while one lasts; snapshot_max_seconds closes it.");
    metrics_sample(&builder, (int64_t)oldest_ms, 3, NULL);
    metrics_commits(&builder, &stats);
    if (server->prefetch) {
        struct prefetch_stats ahead = prefetch_stats(server->prefetch);
        metrics_family(&builder, "famledger_prefetch_total", "counter",
                       "Settlements whose reads were queued for the prefetch threads, read "
                       "ahead of the writer, or dropped because the queue was full.");
        metrics_sample(&builder, (int64_t)ahead.queued, 0, "result", "queued", NULL);
        metrics_sample(&builder, (int64_t)ahead.done, 0, "result", "done", NULL);
        metrics_sample(&builder, (int64_t)ahead.dropped, 0, "result", "dropped", NULL);
        metrics_family(&builder, "famledger_walk_ahead_total", "counter",
                       "Stretches of a table the prefetch threads read ahead of a long walk "
                       "(verify's pages), the records in them, and pages of a walk found in "
                       "memory that queued none.");
        metrics_sample(&builder, (int64_t)ahead.stretches, 0, "read", "stretches", NULL);
        metrics_sample(&builder, (int64_t)ahead.stretch_records, 0, "read", "records", NULL);
        metrics_sample(&builder, (int64_t)ahead.warm_pages, 0, "read", "warm_pages", NULL);
        uint64_t taken, refused;
        store_ahead_counts(server->store, &taken, &refused);
        metrics_family(&builder, "famledger_reads_ahead_total", "counter",
                       "The writer's reads of persons, bindings, aid limits, merchants, "
                       "wallets, accounts and references answered by what a prefetch thread "
                       "read ahead (taken), or read again because the table or the key may "
                       "have changed since (refused).");
        metrics_sample(&builder, (int64_t)taken, 0, "result", "taken", NULL);
        metrics_sample(&builder, (int64_t)refused, 0, "result", "refused", NULL);
    }
    struct store_deferred_stats deferred;
    store_deferred_stats(server->store, &deferred);
    metrics_family(&builder, "famledger_state_in_memory", "gauge",
                   "With state_sweep_ms: the accounts and references held in memory, those of "
                   "them not yet in their tables, and those the sweep under way has still to "
                   "write. All 0 when it is off.");
    metrics_sample(&builder, (int64_t)deferred.records, 0, "records", "held", NULL);
    metrics_sample(&builder, (int64_t)deferred.dirty, 0, "records", "dirty", NULL);
    metrics_sample(&builder, (int64_t)deferred.sweep_left, 0, "records", "sweep_left", NULL);
    metrics_family(&builder, "famledger_map_size_bytes", "gauge",
                   "The LMDB map's size (address space reserved; map_mib_max).");
    metrics_sample(&builder, (int64_t)reply->map_bytes, 0, NULL);
    metrics_family(&builder, "famledger_map_used_bytes", "gauge",
                   "Pages of the map in use; at the map's size, writes are refused "
                   "OUT_OF_SPACE.");
    metrics_sample(&builder, (int64_t)reply->map_used_bytes, 0, NULL);
    metrics_family(&builder, "famledger_write_bytes_total", "counter",
                   "Bytes this process wrote through system calls (pages, head record, "
                   "replies).");
    metrics_sample(&builder, (int64_t)reply->write_bytes, 0, NULL);
}

void server_stats_run(struct pending *pending)
{
    Famledger__StatsReply *reply = ARENA_NEW(&pending->reply_arena, Famledger__StatsReply);
    famledger__stats_reply__init(reply);
    server_metrics_collect(pending->conn->server, &pending->reply_arena, reply);
    pending->response.body_case = FAMLEDGER__RESPONSE__BODY_STATS;
    pending->response.stats = reply;
}
