/* metrics.h -- histograms, and the builder of the metric families that `ledgerctl stats` and
 * the metrics listener show (the Prometheus exposition format; docs/OPERATIONS.md names each).
 *
 * Counts live with the thread that makes them: the loop thread's in the server, the writer's in
 * the commit queue's stats (published under its mutex). They are collected on the loop thread
 * (server_stats.c), so nothing here is shared between threads.
 */
#ifndef FAMLEDGER_METRICS_H
#define FAMLEDGER_METRICS_H

#include "arena.h"
#include "famledger.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_BUCKETS_MAX 16

/* Finite upper bounds, ascending; a last bucket (+Inf) follows them. */
struct histogram_bounds {
    unsigned count;
    uint64_t upper[HISTOGRAM_BUCKETS_MAX - 1];
};

struct histogram {
    uint64_t buckets[HISTOGRAM_BUCKETS_MAX]; /* bucket i: (upper[i-1], upper[i]]; not cumulative */
    uint64_t count;
    uint64_t sum;
};

/* Durations in microseconds, from 0.1 ms to 5 s. */
extern const struct histogram_bounds metrics_duration_us;
/* Requests in one commit, 1 to 1024. */
extern const struct histogram_bounds metrics_batch_requests;

void histogram_observe(struct histogram *histogram, const struct histogram_bounds *bounds,
                       uint64_t value);

/* Families built into a StatsReply, in the reply's arena. */
struct metrics_builder {
    struct arena *arena;
    Famledger__StatsReply *reply;
    size_t families_capacity;
    size_t samples_capacity; /* of the last family */
};

void metrics_builder_init(struct metrics_builder *builder, struct arena *arena,
                          Famledger__StatsReply *reply);
/* Start a family; the samples that follow belong to it. `type`: counter, gauge or histogram. */
void metrics_family(struct metrics_builder *builder, const char *name, const char *type,
                    const char *help);
/* A sample of the current family, with label name and value pairs ending in NULL. The strings
 * must outlive the reply (literals, or copied into the arena). */
void metrics_sample(struct metrics_builder *builder, int64_t value, unsigned scale, ...)
    __attribute__((sentinel));
/* A histogram's buckets (cumulative, with le), sum and count, with the labels given (NULL for
 * none; name and value pairs ending in NULL). `scale`: the decimals of the observed unit (6 for
 * microseconds shown as seconds). */
void metrics_histogram(struct metrics_builder *builder, const struct histogram *histogram,
                       const struct histogram_bounds *bounds, unsigned scale,
                       const char *const *labels);

#endif
