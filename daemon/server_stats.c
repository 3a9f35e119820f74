/* server_stats.c -- the daemon's counters for `ledgerctl stats` and famledger-bench. */
#include "server_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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

void server_stats_run(struct pending *pending)
{
    struct server *server = pending->conn->server;
    Famledger__StatsReply *reply = ARENA_NEW(&pending->reply_arena, Famledger__StatsReply);
    famledger__stats_reply__init(reply);
    struct commit_stats stats;
    commit_queue_stats(server->commits, &stats, &reply->durable_seq);
    reply->batches = stats.batches;
    reply->jobs = stats.jobs;
    reply->flushes = stats.flushes;
    reply->map_grows = stats.map_grows;
    reply->write_bytes = server_write_bytes();
    reply->map_bytes = store_map_bytes(server->store);
    reply->map_used_bytes = store_used_bytes(server->store);
    reply->connections = server->conn_count;
    reply->started_us = (uint64_t)server->started_us;
    pending->response.body_case = FAMLEDGER__RESPONSE__BODY_STATS;
    pending->response.stats = reply;
}
