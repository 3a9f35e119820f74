/* famledger-bench.c -- settlement throughput and latency: N connections, each settling M times
 * for patients funded by relatives, against a running famledgerd. Measures; asserts nothing.
 * Usage: famledger-bench SOCKET CONNECTIONS SETTLEMENTS_PER_CONNECTION */
#include "famledger.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
    const char *socket_path;
    int index, count, failures;
    int64_t *latencies_us;
};

static int64_t now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static void *worker_run(void *argument)
{
    struct worker *worker = argument;
    fl_client *client;
    if (fl_client_connect(worker->socket_path, 30000, &client) != 0) {
        worker->failures = worker->count;
        fl_client_close(client);
        return NULL;
    }
    char patient[16], reference[48];
    snprintf(patient, sizeof(patient), "BP%d", worker->index);
    fl_settlement *settlement = malloc(sizeof(*settlement));
    if (!settlement) {
        worker->failures = worker->count;
        fl_client_close(client);
        return NULL;
    }
    for (int i = 0; i < worker->count; i++) {
        snprintf(reference, sizeof(reference), "bench-%d-%d-%ld", worker->index, i,
                 (long)time(NULL));
        fl_settle_request request = {.merchant_code = "BENCHPH", .merchant_reference = reference,
                                     .patient = patient, .amount_fen = 1 + i % 300};
        int64_t start = now_us();
        if (fl_settle(client, &request, settlement) != 0)
            worker->failures++;
        worker->latencies_us[i] = now_us() - start;
    }
    free(settlement);
    fl_client_close(client);
    return NULL;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Each worker's patient has a small own account and two funding relatives. */
static int setup(const char *socket_path, int connections)
{
    fl_client *client;
    if (fl_client_connect(socket_path, 30000, &client) != 0)
        return -1;
    fl_merchant merchant = {.kind = FL_MERCHANT_PHARMACY};
    strcpy(merchant.code, "BENCHPH");
    strcpy(merchant.name, "Bench pharmacy");
    strcpy(merchant.region, "110101");
    fl_merchant_add(client, &merchant, NULL); /* may exist from an earlier run */
    for (int i = 0; i < connections; i++) {
        const char *prefixes[] = {"BP", "BF", "BM"};
        for (int p = 0; p < 3; p++) {
            fl_person person = {.scheme = FL_SCHEME_EMPLOYEE};
            snprintf(person.person_no, sizeof(person.person_no), "%s%d", prefixes[p], i);
            strcpy(person.name, "Bench");
            strcpy(person.region, "110101");
            if (fl_person_add(client, &person, NULL) == 0) {
                char reference[48];
                fl_account_open(client, person.person_no, NULL);
                snprintf(reference, sizeof(reference), "bench-credit-%s", person.person_no);
                fl_account_credit(client, person.person_no, p ? INT64_C(100000000) : 500,
                                  FL_CREDIT_DEPOSIT, reference, NULL);
            }
        }
        char patient[16], father[16], mother[16];
        snprintf(patient, sizeof(patient), "BP%d", i);
        snprintf(father, sizeof(father), "BF%d", i);
        snprintf(mother, sizeof(mother), "BM%d", i);
        fl_family_bind(client, father, patient, FL_RELATION_CHILD, NULL);
        fl_family_bind(client, mother, patient, FL_RELATION_CHILD, NULL);
    }
    fl_client_close(client);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: famledger-bench SOCKET CONNECTIONS SETTLEMENTS_PER_CONNECTION\n");
        return 2;
    }
    int connections = atoi(argv[2]), count = atoi(argv[3]);
    if (connections < 1 || connections > 64 || count < 1 || count > 1000000)
        return 2;
    if (setup(argv[1], connections) != 0) {
        fprintf(stderr, "famledger-bench: cannot reach %s\n", argv[1]);
        return 3;
    }
    struct worker workers[64];
    pthread_t threads[64];
    int64_t *latencies = calloc((size_t)connections * (size_t)count, sizeof(*latencies));
    int64_t start = now_us();
    for (int i = 0; i < connections; i++) {
        workers[i] = (struct worker){argv[1], i, count, 0, latencies + (size_t)i * count};
        pthread_create(&threads[i], NULL, worker_run, &workers[i]);
    }
    int failures = 0;
    for (int i = 0; i < connections; i++) {
        pthread_join(threads[i], NULL);
        failures += workers[i].failures;
    }
    double seconds = (double)(now_us() - start) / 1e6;
    size_t total = (size_t)connections * (size_t)count;
    qsort(latencies, total, sizeof(*latencies), compare_i64);
    printf("settle: %d connections x %d settlements: %zu in %.2f s = %.0f settlements/s; "
           "latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d failed\n",
           connections, count, total, seconds, (double)total / seconds,
           (double)latencies[total / 2] / 1000, (double)latencies[total * 99 / 100] / 1000,
           (double)latencies[total - 1] / 1000, failures);
    free(latencies);
    return failures ? 1 : 0;
}
