/* famledger-bench.c -- settlement throughput and latency against a running famledgerd, and the
 * raw LMDB limit on the same machine. Measures; asserts nothing (docs/BENCHMARKS.md).
 *
 * The workload of issue 12: N patients, each with a small own account and two funding
 * relatives; each settlement for a random patient and a random amount, durable before the
 * reply. C connections each keep D requests in flight (fl_send_settle), or D batches of B
 * settlements (fl_send_batch). With --refunds P, P in a hundred requests are instead refunds of
 * a random part of one of the connection's earlier settlements, at its pharmacy, as returns
 * come back to a counter (fl_send_refund, fl_batch_refund). Before and after the run the
 * daemon's counters (StatsRequest) give the commits, flushes and bytes written per request;
 * for a daemon on this machine, /proc gives its CPU a request, thread by thread, beside the
 * bench's own (thread_cpu.h).
 *
 * --raw-lmdb DIR then runs the same settlements as a bare LMDB program: one log append and the
 * account updates per settlement, synced commits of the size the daemon's commits had.
 */
#include "famledger.h"
#include "thread_cpu.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <lmdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONNECTIONS_MAX 256
#define SETUP_PATIENTS_PER_BATCH 200 /* 5 requests each: within FL_BATCH_MAX */

#define MERCHANT_CODE_BYTES (FL_PERSON_NO_MAX + 1)
#define PAID_KEPT 1024 /* settlements a connection keeps to refund later */

struct options {
    const char *socket_path;
    long patients, merchants, connections, depth, batch, settlements, refunds;
    long threads;           /* the client's threads, sharing the connections out */
    double seconds;
    const char *raw_dir;
    bool setup_only, skip_daemon;
    FILE *acked;            /* --acked: each acknowledged answer, a line */
    const char *check_path; /* --check: those answers asked for again */
};

static int64_t now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* A small, fast generator per thread (xorshift64*): the workload, not cryptography. */
static uint64_t random_next(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

/* ---- Setup: persons, accounts, opening balances and bindings, in pipelined batches ---- */

struct setup_worker {
    const char *socket_path;
    long first, end; /* patients [first, end) */
    long failures;
    char error[256];
};

static void setup_result_cb(void *context, size_t index, const fl_result *result)
{
    (void)index;
    struct setup_worker *worker = context;
    /* A re-run finds what it made before: those refusals are expected. */
    if (result->status && result->status != FL_ERR_PERSON_EXISTS &&
        result->status != FL_ERR_ACCOUNT_EXISTS && result->status != FL_ERR_BINDING_EXISTS) {
        if (!worker->failures++)
            snprintf(worker->error, sizeof(worker->error), "%s", result->error);
    }
}

/* A patient and two funding parents, migrated with their balances, then bound: five rows. */
static int setup_patient(fl_batch *batch, long i)
{
    static const char *const prefixes[] = {"BP", "BF", "BM"};
    int rc = 0;
    char person_no[3][24];
    for (int p = 0; p < 3; p++) {
        fl_person person = {.scheme = FL_SCHEME_EMPLOYEE};
        snprintf(person.person_no, sizeof(person.person_no), "%s%ld", prefixes[p], i);
        snprintf(person_no[p], sizeof(person_no[p]), "%s%ld", prefixes[p], i);
        strcpy(person.name, "Bench");
        strcpy(person.region, "110101");
        rc = rc ? rc : fl_batch_migrate(batch, &person, p ? INT64_C(100000000) : 500);
    }
    rc = rc ? rc : fl_batch_bind(batch, person_no[1], person_no[0], FL_RELATION_CHILD);
    rc = rc ? rc : fl_batch_bind(batch, person_no[2], person_no[0], FL_RELATION_CHILD);
    return rc;
}

static void *setup_run(void *argument)
{
    struct setup_worker *worker = argument;
    fl_client *client;
    fl_batch *batch = fl_batch_new();
    if (!batch || fl_client_connect(worker->socket_path, 60000, &client) != 0) {
        worker->failures = 1;
        snprintf(worker->error, sizeof(worker->error), "cannot connect");
        fl_batch_free(batch);
        return NULL;
    }
    for (long i = worker->first; i < worker->end && !worker->failures;) {
        fl_batch_clear(batch);
        for (long n = 0; n < SETUP_PATIENTS_PER_BATCH && i < worker->end; n++, i++)
            setup_patient(batch, i);
        /* Four batches in flight: the daemon works on one while the next is on its way. */
        if (fl_send_batch(client, batch, setup_result_cb, worker) != 0 ||
            fl_async_wait(client, 3) != 0)
            worker->failures++;
    }
    if (fl_async_wait(client, 0) != 0 && !worker->failures++)
        snprintf(worker->error, sizeof(worker->error), "%s", fl_client_error(client));
    fl_batch_free(batch);
    fl_client_close(client);
    return NULL;
}

/* The code of bench merchant `index`: BENCHPH, as the first runs had, then BENCHPH1, ... */
static void merchant_code(long index, char code[MERCHANT_CODE_BYTES])
{
    if (index == 0)
        strcpy(code, "BENCHPH");
    else
        snprintf(code, MERCHANT_CODE_BYTES, "BENCHPH%ld", index);
}

static int setup(const struct options *options)
{
    fl_client *client;
    if (fl_client_connect(options->socket_path, 30000, &client) != 0) {
        fprintf(stderr, "famledger-bench: cannot reach %s: %s\n", options->socket_path,
                fl_client_error(client));
        fl_client_close(client);
        return -1;
    }
    for (long m = 0; m < options->merchants; m++) {
        fl_merchant merchant = {.kind = FL_MERCHANT_PHARMACY};
        merchant_code(m, merchant.code);
        strcpy(merchant.name, "Bench pharmacy");
        strcpy(merchant.region, "110101");
        fl_merchant_add(client, &merchant, NULL); /* may exist from an earlier run */
    }
    char last[24];
    snprintf(last, sizeof(last), "BM%ld", options->patients - 1);
    fl_person person;
    bool done = fl_person_get(client, last, &person) == 0;
    fl_client_close(client);
    if (done)
        return 0;

    int64_t start = now_us();
    long threads = 2; /* the daemon's writer sets the pace; two keep it busy */
    struct setup_worker workers[4];
    pthread_t ids[4];
    for (long t = 0; t < threads; t++) {
        workers[t] = (struct setup_worker){options->socket_path,
                                           options->patients * t / threads,
                                           options->patients * (t + 1) / threads, 0, ""};
        pthread_create(&ids[t], NULL, setup_run, &workers[t]);
    }
    long failures = 0;
    for (long t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        if (workers[t].failures && !failures)
            fprintf(stderr, "famledger-bench: setup: %s\n", workers[t].error);
        failures += workers[t].failures;
    }
    double seconds = (double)(now_us() - start) / 1e6;
    long requests = options->patients * 5;
    printf("setup: %ld patients (%ld rows migrated in batches) in %.1f s = %.0f rows/s%s\n",
           options->patients, requests, seconds, (double)requests / seconds,
           failures ? ", WITH FAILURES" : "");
    return failures ? -1 : 0;
}

/* ---- The run ---- */

/* A settlement the connection made, with what the accounts paid of it: one to refund. */
struct paid {
    uint64_t settlement_id;
    int64_t paid_fen;
    char merchant[MERCHANT_CODE_BYTES];
};

struct run_worker {
    const struct options *options;
    int index;
    long run_id;
    int64_t deadline_us;
    long target;            /* requests for this connection; 0: until the deadline */
    long done, failures, refunds_sent;
    int64_t *latencies_us;  /* one per request (a batch is one), a refund's apart */
    long latency_count, latency_capacity;
    int64_t *refund_latencies_us;
    long refund_latency_count;
    int64_t *sent_us;       /* when each request in flight was sent, by sequence */
    bool *sent_refund;      /* and whether it was a lone refund */
    long next_sent, next_done;
    struct paid paid[PAID_KEPT]; /* settled and not yet refunded */
    long paid_count, settled_count;
    fl_client *client;      /* the connection; NULL once closed */
    fl_batch *batch;
    uint64_t random;        /* the workload's generator */
    long sequence;          /* settlements (and refunds) made so far */
    bool stopped;           /* sends no more: a failure */
    char error[256];
};

/* Keep a settlement the accounts paid some of, in place of an older one when full. */
static void paid_keep(struct run_worker *worker, const fl_settlement *settlement)
{
    int64_t paid_fen = settlement->acct_pay_fen + settlement->acct_mulaid_pay_fen;
    if (paid_fen <= 0)
        return;
    long slot = worker->paid_count < PAID_KEPT ? worker->paid_count++
                                               : worker->settled_count % PAID_KEPT;
    worker->settled_count++;
    struct paid *paid = &worker->paid[slot];
    paid->settlement_id = settlement->settlement_id;
    paid->paid_fen = paid_fen;
    snprintf(paid->merchant, sizeof(paid->merchant), "%s", settlement->merchant_code);
}

/* An acknowledged answer as a line --check can ask again: a settlement's request and split,
 * or a refund's request and id. One fprintf a line: stdio locks the stream for each. */
static void acked_write(FILE *acked, const fl_result *result)
{
    const fl_settlement *s = result->settlement;
    if (result->refund && s)
        fprintf(acked, "R %s %s %" PRIu64 " %" PRId64 " %" PRIu64 "\n", s->merchant_code,
                result->refund->reference, s->settlement_id, result->refund->amount_fen,
                result->refund->refund_id);
    else if (s)
        fprintf(acked, "S %s %s %s %" PRId64 " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
                s->merchant_code, s->merchant_reference, s->patient, s->amount_fen,
                s->settlement_id, s->acct_pay_fen, s->acct_mulaid_pay_fen, s->cash_pay_fen);
}

static void run_result_cb(void *context, size_t index, const fl_result *result)
{
    struct run_worker *worker = context;
    worker->done++;
    if (result->status && !worker->failures++)
        snprintf(worker->error, sizeof(worker->error), "%s", result->error);
    if (result->status == 0 && !result->refund && result->settlement && worker->options->refunds)
        paid_keep(worker, result->settlement);
    if (result->status == 0 && worker->options->acked)
        acked_write(worker->options->acked, result);
    bool last_item = worker->options->batch <= 1 || (long)index == worker->options->batch - 1;
    if (!last_item)
        return;
    long slot = worker->next_done++ % (worker->options->depth + 1);
    int64_t latency_us = now_us() - worker->sent_us[slot];
    if (worker->sent_refund[slot]) {
        if (worker->refund_latency_count < worker->latency_capacity)
            worker->refund_latencies_us[worker->refund_latency_count++] = latency_us;
    } else if (worker->latency_count < worker->latency_capacity) {
        worker->latencies_us[worker->latency_count++] = latency_us;
    }
}

/* A refund instead of the next settlement, P times in a hundred when one is kept: a random part
 * (at least 0.01) of what the accounts paid of it. false: a settlement it is. */
static bool refund_request_make(struct run_worker *worker, uint64_t *random, long sequence,
                                char reference[64], struct paid *refund)
{
    if (worker->paid_count == 0 ||
        (long)(random_next(random) % 100) >= worker->options->refunds)
        return false;
    long at = (long)(random_next(random) % (uint64_t)worker->paid_count);
    *refund = worker->paid[at];
    worker->paid[at] = worker->paid[--worker->paid_count]; /* refunded once */
    refund->paid_fen = 1 + (int64_t)(random_next(random) % (uint64_t)refund->paid_fen);
    snprintf(reference, 64, "bench-refund-%ld-%d-%ld", worker->run_id, worker->index, sequence);
    worker->refunds_sent++;
    return true;
}

static void settle_request_make(struct run_worker *worker, uint64_t *random, long sequence,
                                char patient[24], char reference[64],
                                char merchant[MERCHANT_CODE_BYTES],
                                fl_settle_request *request)
{
    snprintf(patient, 24, "BP%" PRIu64, random_next(random) % (uint64_t)worker->options->patients);
    snprintf(reference, 64, "bench-%ld-%d-%ld", worker->run_id, worker->index, sequence);
    merchant_code((long)(random_next(random) % (uint64_t)worker->options->merchants), merchant);
    *request = (fl_settle_request){.merchant_code = merchant, .merchant_reference = reference,
                                   .patient = patient,
                                   .amount_fen = 1 + (int64_t)(random_next(random) % 30000)};
}

/* Whether the connection has more to send: its share of M requests, or until the deadline. */
static bool run_more(const struct run_worker *worker)
{
    return worker->target ? worker->sequence < worker->target : now_us() < worker->deadline_us;
}

/* Send the connection's next request: a settlement, a refund, or a batch of them. 0, or the
 * client's error (nothing was queued). */
static int run_send(struct run_worker *worker)
{
    const struct options *options = worker->options;
    long per_request = options->batch > 1 ? options->batch : 1;
    char patient[24], reference[64], merchant[MERCHANT_CODE_BYTES];
    fl_settle_request request;
    struct paid refund;
    long slot = worker->next_sent++ % (options->depth + 1);
    worker->sent_us[slot] = now_us();
    if (per_request == 1) {
        long this = worker->sequence++;
        worker->sent_refund[slot] = refund_request_make(worker, &worker->random, this, reference,
                                                        &refund);
        if (worker->sent_refund[slot])
            return fl_send_refund(worker->client, refund.merchant, reference,
                                  refund.settlement_id, refund.paid_fen, run_result_cb, worker);
        settle_request_make(worker, &worker->random, this, patient, reference, merchant,
                            &request);
        return fl_send_settle(worker->client, &request, run_result_cb, worker);
    }
    worker->sent_refund[slot] = false; /* a batch's latency is counted whole */
    fl_batch_clear(worker->batch);
    for (long i = 0; i < per_request; i++, worker->sequence++) {
        if (refund_request_make(worker, &worker->random, worker->sequence, reference, &refund)) {
            fl_batch_refund(worker->batch, refund.merchant, reference, refund.settlement_id,
                            refund.paid_fen);
            continue;
        }
        settle_request_make(worker, &worker->random, worker->sequence, patient, reference,
                            merchant, &request);
        fl_batch_settle(worker->batch, &request);
    }
    return fl_send_batch(worker->client, worker->batch, run_result_cb, worker);
}

static void run_fail(struct run_worker *worker, const char *error)
{
    worker->stopped = true;
    if (!worker->failures++)
        snprintf(worker->error, sizeof(worker->error), "%s", error);
}

/* One thread's connections, each kept at D requests in flight, as pgbench's -j threads keep
 * theirs: one poll(2) for all of them, each connection's replies read by fl_async_io. */
struct run_thread {
    struct run_worker *workers;
    long count;
};

static void *run_thread(void *argument)
{
    struct run_thread *thread = argument;
    struct pollfd *fds = calloc((size_t)thread->count, sizeof(*fds));
    struct run_worker **polled = calloc((size_t)thread->count, sizeof(*polled));
    for (long i = 0; i < thread->count; i++) {
        struct run_worker *worker = &thread->workers[i];
        worker->batch = fl_batch_new();
        if (!fds || !polled || !worker->batch) {
            run_fail(worker, "out of memory");
        } else if (fl_client_connect(worker->options->socket_path, 60000, &worker->client) != 0) {
            run_fail(worker, fl_client_error(worker->client)); /* which says why, then goes */
            fl_client_close(worker->client);
            worker->client = NULL;
        }
    }
    for (;;) {
        nfds_t count = 0;
        for (long i = 0; fds && polled && i < thread->count; i++) {
            struct run_worker *worker = &thread->workers[i];
            if (!worker->client)
                continue;
            while (!worker->stopped && run_more(worker) &&
                   fl_in_flight(worker->client) < (size_t)worker->options->depth)
                if (run_send(worker) != 0)
                    run_fail(worker, fl_client_error(worker->client));
            if (fl_in_flight(worker->client) == 0)
                continue;
            fds[count] = (struct pollfd){
                .fd = fl_client_fd(worker->client),
                .events = (short)(POLLIN | (fl_async_wants_write(worker->client) ? POLLOUT : 0))};
            polled[count++] = worker;
        }
        if (count == 0)
            break;
        int ready = poll(fds, count, 60000);
        if (ready < 0 && errno == EINTR)
            continue;
        /* After a minute without a reply (or a poll that failed) every connection polled is
         * closed, which answers what it has in flight as lost. */
        const char *lost = ready == 0 ? "no reply in 60 s" : ready < 0 ? strerror(errno) : NULL;
        for (nfds_t i = 0; i < count; i++) {
            if (!lost && !fds[i].revents)
                continue;
            if (lost || fl_async_io(polled[i]->client) != 0) {
                run_fail(polled[i], lost ? lost : fl_client_error(polled[i]->client));
                fl_client_close(polled[i]->client);
                polled[i]->client = NULL;
            }
        }
    }
    for (long i = 0; i < thread->count; i++) {
        fl_batch_free(thread->workers[i].batch);
        fl_client_close(thread->workers[i].client);
    }
    free(fds);
    free(polled);
    return NULL;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The latencies the workers kept (`refunds`: the lone refunds'), sorted, in *count; NULL when
 * out of memory. */
static int64_t *latencies_gather(struct run_worker *workers, long connections, bool refunds,
                                 long *count)
{
    *count = 0;
    for (long i = 0; i < connections; i++)
        *count += refunds ? workers[i].refund_latency_count : workers[i].latency_count;
    int64_t *latencies = malloc((size_t)(*count ? *count : 1) * sizeof(int64_t));
    for (long i = 0, at = 0; latencies && i < connections; i++) {
        long kept = refunds ? workers[i].refund_latency_count : workers[i].latency_count;
        memcpy(latencies + at, refunds ? workers[i].refund_latencies_us : workers[i].latencies_us,
               (size_t)kept * sizeof(int64_t));
        at += kept;
    }
    if (latencies)
        qsort(latencies, (size_t)*count, sizeof(*latencies), compare_i64);
    return latencies;
}

static double percentile_ms(const int64_t *sorted, long count, long per_hundred)
{
    if (!sorted || count == 0)
        return 0;
    long at = per_hundred >= 100 ? count - 1 : count * per_hundred / 100;
    return (double)sorted[at] / 1000;
}

/* The daemon's counters, and its process id when it runs here (*pid 0 when not known). */
static int stats_read(const char *socket_path, fl_stats *stats, pid_t *pid)
{
    fl_client *client;
    int rc = fl_client_connect(socket_path, 30000, &client);
    *pid = 0;
    if (rc == 0) {
        struct ucred peer;
        socklen_t peer_bytes = sizeof(peer);
        if (getsockopt(fl_client_fd(client), SOL_SOCKET, SO_PEERCRED, &peer, &peer_bytes) == 0)
            *pid = peer.pid;
        rc = fl_stats_get(client, stats);
    }
    if (rc)
        fprintf(stderr, "famledger-bench: no counters from the daemon: %s\n",
                fl_client_error(client));
    fl_client_close(client);
    return rc;
}

static double ticks_us(uint64_t ticks)
{
    long per_second = sysconf(_SC_CLK_TCK);
    return (double)ticks * 1e6 / (double)(per_second > 0 ? per_second : 100);
}

static double timeval_us(struct timeval time)
{
    return (double)time.tv_sec * 1e6 + (double)time.tv_usec;
}

/* The daemon's CPU between two readings, and the bench's own, a request: the whole daemon,
 * then each name its threads have, in the order the kernel lists them (its main thread first),
 * then what threads that came or went during the run took. */
static void cpu_print(const struct thread_cpu *before, const struct thread_cpu *after,
                      const struct rusage *own_before, const struct rusage *own_after,
                      long requests, const char *per_what)
{
    if (requests <= 0)
        return;
    double per = (double)requests;
    double all_us = ticks_us(after->user_ticks + after->system_ticks - before->user_ticks -
                             before->system_ticks) / per;
    printf("cpu: µs a %s, user + system: the daemon %.1f (", per_what, all_us);
    double named_us = 0;
    const char *separator = "";
    for (size_t i = 0; i < after->count; i++) {
        const struct thread_cpu_name *now = &after->names[i];
        const struct thread_cpu_name *then = thread_cpu_find(before, now->name);
        if (!then || then->threads != now->threads || now->user_ticks < then->user_ticks ||
            now->system_ticks < then->system_ticks)
            continue; /* a name whose threads came or went during the run: counted below */
        double user_us = ticks_us(now->user_ticks - then->user_ticks) / per;
        double system_us = ticks_us(now->system_ticks - then->system_ticks) / per;
        named_us += user_us + system_us;
        printf("%s%s %.1f + %.1f", separator, now->name, user_us, system_us);
        if (now->threads > 1)
            printf(" in %u threads", now->threads);
        separator = ", ";
    }
    if (all_us - named_us >= 0.05)
        printf("%sthreads that came or went %.1f", separator, all_us - named_us);
    printf("); the bench %.1f + %.1f\n",
           (timeval_us(own_after->ru_utime) - timeval_us(own_before->ru_utime)) / per,
           (timeval_us(own_after->ru_stime) - timeval_us(own_before->ru_stime)) / per);
}

/* Settlements per commit in the daemon's run, for the raw LMDB run; 0 when not measured. */
static double run(const struct options *options)
{
    /* A daemon without StatsRequest (an older one, in a side-by-side run) is measured without
     * its counters; one on another machine, or out of this user's sight, without its CPU. */
    fl_stats before = {0}, after = {0};
    pid_t daemon_pid;
    bool counted = stats_read(options->socket_path, &before, &daemon_pid) == 0;
    static struct thread_cpu cpu_before, cpu_after; /* 1.8 KB each, off the stack */
    bool timed = counted && daemon_pid > 0 && thread_cpu_read(daemon_pid, &cpu_before) == 0;
    struct rusage own_before;
    getrusage(RUSAGE_SELF, &own_before);
    long connections = options->connections;
    struct run_worker *workers = calloc((size_t)connections, sizeof(*workers));
    pthread_t *ids = calloc((size_t)connections, sizeof(*ids));
    long per_request = options->batch > 1 ? options->batch : 1;
    long capacity = options->settlements
                        ? options->settlements / connections / per_request + 2
                        : (long)(options->seconds * 200000.0 / (double)per_request) + 16;
    int64_t start = now_us();
    long run_id = (long)time(NULL) * 1000 + getpid() % 1000;
    for (long i = 0; i < connections; i++) {
        workers[i] = (struct run_worker){
            .options = options, .index = (int)i, .run_id = run_id,
            .deadline_us = start + (int64_t)(options->seconds * 1e6),
            .target = options->settlements
                          ? (options->settlements / connections + per_request - 1) / per_request *
                                per_request
                          : 0,
            .latency_capacity = capacity,
            .random = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(i + 1) ^ (uint64_t)run_id};
        workers[i].latencies_us = malloc((size_t)capacity * sizeof(int64_t));
        workers[i].refund_latencies_us = malloc((size_t)capacity * sizeof(int64_t));
        workers[i].sent_us = calloc((size_t)options->depth + 1, sizeof(int64_t));
        workers[i].sent_refund = calloc((size_t)options->depth + 1, sizeof(bool));
    }
    /* The connections shared out among the threads, a run of them each. */
    long threads = options->threads < connections ? options->threads : connections;
    struct run_thread *shares = calloc((size_t)threads, sizeof(*shares));
    for (long t = 0; t < threads; t++) {
        long first = connections * t / threads, end = connections * (t + 1) / threads;
        shares[t] = (struct run_thread){.workers = workers + first, .count = end - first};
        pthread_create(&ids[t], NULL, run_thread, &shares[t]);
    }
    for (long t = 0; t < threads; t++)
        pthread_join(ids[t], NULL);
    /* The CPU of the run itself: before the latencies are sorted and the memory given back. */
    struct rusage own_after;
    getrusage(RUSAGE_SELF, &own_after);
    timed = timed && thread_cpu_read(daemon_pid, &cpu_after) == 0;
    free(shares);
    long done = 0, failures = 0, refunds = 0;
    for (long i = 0; i < connections; i++) {
        done += workers[i].done;
        refunds += workers[i].refunds_sent;
        if (workers[i].failures && !failures)
            fprintf(stderr, "famledger-bench: %s\n", workers[i].error);
        failures += workers[i].failures;
    }
    double seconds = (double)(now_us() - start) / 1e6;
    long latency_count, refund_latency_count;
    int64_t *latencies = latencies_gather(workers, connections, false, &latency_count);
    int64_t *refund_latencies = latencies_gather(workers, connections, true,
                                                 &refund_latency_count);
    for (long i = 0; i < connections; i++) {
        free(workers[i].latencies_us);
        free(workers[i].refund_latencies_us);
        free(workers[i].sent_us);
        free(workers[i].sent_refund);
    }
    pid_t pid_after = 0;
    if (counted)
        counted = stats_read(options->socket_path, &after, &pid_after) == 0;
    timed = timed && counted && pid_after == daemon_pid; /* not a daemon started again */
    if (!counted) /* no counters (the daemon gone, in a crash campaign): none are reported */
        after = before;
    double commits = counted ? (double)(after.batches - before.batches) : 0;
    double per_commit = commits > 0 ? (double)done / commits : 0;
    long settled = done - refunds;
    const char *per_what = refunds ? "request" : "settlement";
    printf("settle: N=%ld patients, K=%ld merchants, C=%ld connections, D=%ld in flight, "
           "B=%ld per request: %ld in %.2f s = %.0f settlements/s; latency p50 %.2f ms, "
           "p99 %.2f ms, max %.2f ms (per %s); %.1f %ss per commit, %.2f flushes and "
           "%.1f pages (4 KiB) written per %s; %ld failed\n",
           options->patients, options->merchants, connections, options->depth, per_request,
           settled, seconds, (double)settled / seconds, percentile_ms(latencies, latency_count, 50),
           percentile_ms(latencies, latency_count, 99),
           percentile_ms(latencies, latency_count, 100),
           per_request > 1 ? "batch" : "settlement", per_commit, per_what,
           done ? (double)(after.flushes - before.flushes) / (double)done : 0,
           done ? (double)(after.write_bytes - before.write_bytes) / 4096.0 / (double)done : 0,
           per_what, failures);
    if (timed)
        cpu_print(&cpu_before, &cpu_after, &own_before, &own_after, done, per_what);
    if (options->refunds && per_request == 1)
        printf("refund: %ld in %.2f s = %.0f refunds/s; latency p50 %.2f ms, p99 %.2f ms, "
               "max %.2f ms (per refund)\n",
               refunds, seconds, (double)refunds / seconds,
               percentile_ms(refund_latencies, refund_latency_count, 50),
               percentile_ms(refund_latencies, refund_latency_count, 99),
               percentile_ms(refund_latencies, refund_latency_count, 100));
    else if (options->refunds)
        printf("refund: %ld in %.2f s = %.0f refunds/s, within the batches above\n", refunds,
               seconds, (double)refunds / seconds);
    free(latencies);
    free(refund_latencies);
    free(workers);
    free(ids);
    if (failures)
        return 0;
    return per_commit > 0 ? per_commit : 1;
}

/* ---- The check: every acknowledged answer, asked for again, is the same answer ---- */

/* One line of an --acked file: what was asked and what was answered. */
struct acked {
    bool refund;
    char merchant[MERCHANT_CODE_BYTES], reference[FL_REFERENCE_MAX + 1];
    char patient[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen;
    uint64_t settlement_id, refund_id;
    int64_t acct_fen, mulaid_fen, cash_fen;
    struct check_worker *worker;
};

struct check_worker {
    const char *socket_path;
    struct acked *lines;
    long first, end, depth; /* lines [first, end), D in flight */
    long same, differ;
    char error[256];
};

_Static_assert(FL_PERSON_NO_MAX == 32 && FL_REFERENCE_MAX == 64, "acked_parse's widths");

static bool acked_parse(const char *text, struct acked *line)
{
    char kind;
    if (sscanf(text, "%c", &kind) != 1)
        return false;
    *line = (struct acked){.refund = kind == 'R'};
    if (kind == 'R')
        return sscanf(text, "R %32s %64s %" SCNu64 " %" SCNd64 " %" SCNu64, line->merchant,
                      line->reference, &line->settlement_id, &line->amount_fen,
                      &line->refund_id) == 5;
    return kind == 'S' &&
           sscanf(text, "S %32s %64s %32s %" SCNd64 " %" SCNu64 " %" SCNd64 " %" SCNd64
                        " %" SCNd64,
                  line->merchant, line->reference, line->patient, &line->amount_fen,
                  &line->settlement_id, &line->acct_fen, &line->mulaid_fen, &line->cash_fen) == 8;
}

static void check_result_cb(void *context, size_t index, const fl_result *result)
{
    (void)index;
    struct acked *line = context;
    struct check_worker *worker = line->worker;
    const fl_settlement *s = result->settlement;
    bool same = result->status == 0 && result->replayed && s &&
                s->settlement_id == line->settlement_id &&
                (line->refund ? result->refund && result->refund->refund_id == line->refund_id
                              : s->acct_pay_fen == line->acct_fen &&
                                    s->acct_mulaid_pay_fen == line->mulaid_fen &&
                                    s->cash_pay_fen == line->cash_fen);
    if (same) {
        worker->same++;
        return;
    }
    if (worker->differ++ < 10)
        fprintf(stderr, "famledger-bench: check: %s %s %s: %s\n",
                line->refund ? "refund" : "settlement", line->merchant, line->reference,
                result->status     ? result->error
                : result->replayed ? "replayed with another answer than the acknowledged one"
                                   : "answered anew: the acknowledged answer was lost");
}

static void *check_run(void *argument)
{
    struct check_worker *worker = argument;
    fl_client *client;
    if (fl_client_connect(worker->socket_path, 60000, &client) != 0) {
        snprintf(worker->error, sizeof(worker->error), "cannot connect");
        return NULL;
    }
    for (long i = worker->first; i < worker->end; i++) {
        struct acked *line = &worker->lines[i];
        line->worker = worker;
        fl_settle_request request = {.merchant_code = line->merchant,
                                     .merchant_reference = line->reference,
                                     .patient = line->patient, .amount_fen = line->amount_fen};
        int rc = line->refund ? fl_send_refund(client, line->merchant, line->reference,
                                               line->settlement_id, line->amount_fen,
                                               check_result_cb, line)
                              : fl_send_settle(client, &request, check_result_cb, line);
        if (rc || fl_async_wait(client, (size_t)worker->depth - 1) != 0) {
            snprintf(worker->error, sizeof(worker->error), "%s", fl_client_error(client));
            break;
        }
    }
    if (fl_async_wait(client, 0) != 0 && !worker->error[0])
        snprintf(worker->error, sizeof(worker->error), "%s", fl_client_error(client));
    fl_client_close(client);
    return NULL;
}

/* Ask again for every answer in the --acked file; 0 when each is a replay of itself. */
static int check(const struct options *options)
{
    FILE *file = fopen(options->check_path, "r");
    if (!file) {
        fprintf(stderr, "famledger-bench: %s: %s\n", options->check_path, strerror(errno));
        return -1;
    }
    struct acked *lines = NULL;
    long count = 0, capacity = 0, unreadable = 0;
    char text[1024];
    while (fgets(text, sizeof(text), file)) {
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 4096;
            struct acked *grown = realloc(lines, (size_t)capacity * sizeof(*lines));
            if (!grown) {
                fprintf(stderr, "famledger-bench: out of memory\n");
                free(lines);
                fclose(file);
                return -1;
            }
            lines = grown;
        }
        /* A line cut short by a killed writer is not an acknowledgement it could check. */
        if (strchr(text, '\n') && acked_parse(text, &lines[count]))
            count++;
        else
            unreadable++;
    }
    fclose(file);
    /* Each answer is already in the ledger, or lost: the order they are asked in is free. */
    long connections = options->connections;
    struct check_worker workers[CONNECTIONS_MAX];
    pthread_t ids[CONNECTIONS_MAX];
    bool started[CONNECTIONS_MAX];
    int64_t start = now_us();
    for (long t = 0; t < connections; t++) {
        workers[t] = (struct check_worker){.socket_path = options->socket_path, .lines = lines,
                                           .first = count * t / connections,
                                           .end = count * (t + 1) / connections,
                                           .depth = options->depth};
        started[t] = pthread_create(&ids[t], NULL, check_run, &workers[t]) == 0;
        if (!started[t])
            snprintf(workers[t].error, sizeof(workers[t].error), "no thread for connection %ld",
                     t);
    }
    long same = 0, differ = 0, broken = 0;
    for (long t = 0; t < connections; t++) {
        if (started[t])
            pthread_join(ids[t], NULL);
        same += workers[t].same;
        differ += workers[t].differ;
        if (workers[t].error[0] && !broken++)
            fprintf(stderr, "famledger-bench: check: %s\n", workers[t].error);
    }
    printf("check: %ld acknowledged answers asked again in %.1f s: %ld the same, %ld lost or "
           "different, %ld unanswered; %ld lines unreadable\n",
           count, (double)(now_us() - start) / 1e6, same, differ, count - same - differ,
           unreadable);
    free(lines);
    return same == count ? 0 : -1;
}

/* ---- The raw LMDB limit ---- */

#define RAW_CHECK(call)                                                                           \
    do {                                                                                          \
        int rc_ = (call);                                                                         \
        if (rc_) {                                                                                \
            fprintf(stderr, "famledger-bench: raw LMDB: %s: %s\n", #call, mdb_strerror(rc_));     \
            return -1;                                                                            \
        }                                                                                         \
    } while (0)

/* Debit `amount` from an account, as much as it holds; returns what is left to pay. */
static int raw_debit(MDB_txn *txn, MDB_dbi accounts, const char *key, int64_t *amount)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, accounts, &k, &v);
    if (rc)
        return rc;
    int64_t balance;
    memcpy(&balance, v.mv_data, sizeof(balance));
    int64_t taken = balance < *amount ? balance : *amount;
    balance -= taken;
    *amount -= taken;
    v = (MDB_val){sizeof(balance), &balance};
    return mdb_put(txn, accounts, &k, &v, 0);
}

static int raw_run(const struct options *options, double per_commit)
{
    long per_txn = per_commit >= 1 ? (long)(per_commit + 0.5) : 1;
    char path[512];
    snprintf(path, sizeof(path), "%s", options->raw_dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        perror(path);
        return -1;
    }
    MDB_env *env;
    MDB_dbi log, accounts;
    MDB_txn *txn;
    RAW_CHECK(mdb_env_create(&env));
    RAW_CHECK(mdb_env_set_maxdbs(env, 4));
    RAW_CHECK(mdb_env_set_mapsize(env, (size_t)64 << 30));
    RAW_CHECK(mdb_env_open(env, path, 0, 0600));
    RAW_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
    RAW_CHECK(mdb_dbi_open(txn, "log", MDB_CREATE | MDB_INTEGERKEY, &log));
    RAW_CHECK(mdb_dbi_open(txn, "accounts", MDB_CREATE, &accounts));
    MDB_stat status;
    RAW_CHECK(mdb_stat(txn, accounts, &status));
    bool load = status.ms_entries < (size_t)options->patients * 3;
    /* The accounts, loaded once per directory, 100,000 patients a commit. */
    for (long i = 0; load && i < options->patients; i++) {
        for (int p = 0; p < 3; p++) {
            char key[24];
            snprintf(key, sizeof(key), "%s%ld", p == 0 ? "BP" : p == 1 ? "BF" : "BM", i);
            int64_t balance = p ? INT64_C(100000000) : 500;
            MDB_val k = {strlen(key), key}, v = {sizeof(balance), &balance};
            RAW_CHECK(mdb_put(txn, accounts, &k, &v, 0));
        }
        if (i % 100000 == 99999) {
            RAW_CHECK(mdb_txn_commit(txn));
            RAW_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        }
    }
    RAW_CHECK(mdb_txn_commit(txn));

    uint64_t random = (uint64_t)now_us() | 1, seq = 0;
    MDB_cursor *cursor;
    RAW_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    RAW_CHECK(mdb_cursor_open(txn, log, &cursor));
    MDB_val k, v;
    if (mdb_cursor_get(cursor, &k, &v, MDB_LAST) == 0)
        memcpy(&seq, k.mv_data, sizeof(seq));
    mdb_txn_abort(txn);
    uint8_t entry[256]; /* about a settlement entry: its hash, legs and references */
    memset(entry, 0x5a, sizeof(entry));
    long total = options->settlements ? options->settlements : 0, done = 0;
    int64_t start = now_us(), deadline = start + (int64_t)(options->seconds * 1e6);
    while (total ? done < total : now_us() < deadline) {
        RAW_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        for (long i = 0; i < per_txn; i++, done++) {
            long patient = (long)(random_next(&random) % (uint64_t)options->patients);
            int64_t amount = 1 + (int64_t)(random_next(&random) % 30000);
            char key[24];
            static const char *const prefixes[] = {"BP", "BF", "BM"};
            for (int p = 0; p < 3 && amount > 0; p++) {
                snprintf(key, sizeof(key), "%s%ld", prefixes[p], patient);
                RAW_CHECK(raw_debit(txn, accounts, key, &amount));
            }
            seq++;
            k = (MDB_val){sizeof(seq), &seq};
            v = (MDB_val){sizeof(entry), entry};
            RAW_CHECK(mdb_put(txn, log, &k, &v, MDB_APPEND));
        }
        RAW_CHECK(mdb_txn_commit(txn)); /* synced: data, then the meta page */
    }
    double seconds = (double)(now_us() - start) / 1e6;
    printf("raw LMDB: %ld settlements in commits of %ld (one log append, up to three account "
           "updates each; synced) in %.2f s = %.0f settlements/s\n",
           done, per_txn, seconds, (double)done / seconds);
    mdb_env_close(env);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: famledger-bench [--socket PATH] [--patients N] [--merchants K]\n"
            "                       [--connections C] [--depth D] [--batch B] [--threads T]\n"
            "                       [--seconds S | --settlements M]\n"
            "                       [--refunds P] [--setup-only] [--raw-lmdb DIR [--raw-only]]\n"
            "                       [--acked FILE] [--check FILE]\n"
            "  N patients (default 1000), each with two funding relatives, settling at one of\n"
            "  K pharmacies (default 1) chosen at random for each settlement; C connections\n"
            "  (default 1), each with D requests in flight (default 1), each request a\n"
            "  settlement or, with B > 1, a batch of B settlements; for S seconds (default 10)\n"
            "  or M requests in all. With --refunds P, P in a hundred requests (0 to 100) are\n"
            "  refunds of a random part of one of the connection's earlier settlements.\n"
            "  The connections are shared out among T threads (default: one a core, as\n"
            "  make bench-postgres runs pgbench -j), each polling its connections at once.\n"
            "  For a daemon on this machine, its CPU a settlement is printed too, thread by\n"
            "  thread (from /proc: the kernel counts in ticks, so run for seconds, not less).\n"
            "  --raw-lmdb runs the same settlements on bare LMDB in DIR, in commits of the\n"
            "  size the daemon's had.\n"
            "  --acked appends each acknowledged answer to FILE as a line; --check sends each\n"
            "  line's request again (C connections, D in flight) and fails unless every one\n"
            "  is answered as a replay of what was acknowledged: the crash campaign's check.\n");
}

int main(int argc, char **argv)
{
    struct options options = {.socket_path = NULL, .patients = 1000, .merchants = 1,
                              .connections = 1,
                              .depth = 1, .batch = 1, .seconds = 10};
    static const struct option long_options[] = {
        {"socket", required_argument, NULL, 's'},     {"patients", required_argument, NULL, 'n'},
        {"connections", required_argument, NULL, 'c'}, {"depth", required_argument, NULL, 'd'},
        {"batch", required_argument, NULL, 'b'},      {"seconds", required_argument, NULL, 't'},
        {"settlements", required_argument, NULL, 'm'}, {"setup-only", no_argument, NULL, 'S'},
        {"raw-lmdb", required_argument, NULL, 'r'},   {"raw-only", no_argument, NULL, 'R'},
        {"merchants", required_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'},
        {"refunds", required_argument, NULL, 'f'},    {"acked", required_argument, NULL, 'a'},
        {"check", required_argument, NULL, 'C'},     {"threads", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0}};
    const char *acked_path = NULL;
    int option;
    while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (option) {
        case 's': options.socket_path = optarg; break;
        case 'n': options.patients = atol(optarg); break;
        case 'k': options.merchants = atol(optarg); break;
        case 'c': options.connections = atol(optarg); break;
        case 'd': options.depth = atol(optarg); break;
        case 'b': options.batch = atol(optarg); break;
        case 't': options.seconds = atof(optarg); break;
        case 'm': options.settlements = atol(optarg); break;
        case 'f': options.refunds = atol(optarg); break;
        case 'S': options.setup_only = true; break;
        case 'r': options.raw_dir = optarg; break;
        case 'R': options.skip_daemon = true; break;
        case 'a': acked_path = optarg; break;
        case 'C': options.check_path = optarg; break;
        case 'T': options.threads = atol(optarg); break;
        default: usage(); return option == 'h' ? 0 : 2;
        }
    }
    if (optind != argc || options.patients < 1 || options.merchants < 1 ||
        options.merchants > 100000 || options.connections < 1 ||
        options.connections > CONNECTIONS_MAX || options.depth < 1 || options.depth > 1024 ||
        options.batch < 1 || options.batch > FL_BATCH_MAX || options.seconds <= 0 ||
        options.settlements < 0 || options.refunds < 0 || options.refunds > 100 ||
        options.threads < 0 || options.threads > CONNECTIONS_MAX) {
        usage();
        return 2;
    }
    if (options.threads == 0)
        options.threads = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
    if (options.check_path)
        return check(&options) == 0 ? 0 : 1;
    if (acked_path && !(options.acked = fopen(acked_path, "a"))) {
        fprintf(stderr, "famledger-bench: %s: %s\n", acked_path, strerror(errno));
        return 2;
    }
    printf("machine: %ld cores, %.0f GiB memory\n", sysconf(_SC_NPROCESSORS_ONLN),
           (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / (1 << 30));
    double per_commit = 1;
    if (!options.skip_daemon) {
        if (setup(&options) != 0)
            return 3;
        if (options.setup_only)
            return 0;
        per_commit = run(&options);
        if (options.acked && fclose(options.acked) != 0) {
            fprintf(stderr, "famledger-bench: %s: %s\n", acked_path, strerror(errno));
            return 1;
        }
        if (per_commit == 0)
            return 1;
    }
    if (options.raw_dir && raw_run(&options, per_commit) != 0)
        return 1;
    return 0;
}
