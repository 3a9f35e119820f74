/* test_prefetch.c -- reading ahead for the writer (daemon/prefetch.h): what is queued is read,
 * nothing is written or changed by it, a full queue drops rather than waits, and a stop
 * returns with work still queued; and the stretches of a table ahead of a walk's page are
 * read, each once, until they keep finding the table in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <time.h>

#include "fixture.h"
#include "ledger.h"
#include "prefetch.h"
#include "state.h"

#define CHILD FAMLEDGER__RELATION__RELATION_CHILD
#define PHARMACY FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY

static void family_make(struct fixture *f)
{
    assert_int_equal(fixture_merchant(f, "PH001", PHARMACY), 0);
    assert_int_equal(fixture_employee(f, "KID", "110101"), 0);
    assert_int_equal(fixture_employee(f, "MUM", "110102"), 0);
    assert_int_equal(fixture_credit(f, "KID", 500, "c-kid", NULL), 0);
    assert_int_equal(fixture_credit(f, "MUM", 90000, "c-mum", NULL), 0);
    assert_int_equal(fixture_bind(f, "MUM", "KID", CHILD), 0);
}

static Famledger__Request *request_make(struct fixture *f, Famledger__Request__BodyCase body)
{
    Famledger__Request *request = ARENA_NEW(&f->arena, Famledger__Request);
    famledger__request__init(request);
    request->request_id = 1;
    request->body_case = body;
    return request;
}

static Famledger__Request *settle_request(struct fixture *f, const char *merchant,
                                          const char *patient, const char *reference)
{
    Famledger__SettleRequest *settle = ARENA_NEW(&f->arena, Famledger__SettleRequest);
    famledger__settle_request__init(settle);
    settle->merchant_code = (char *)merchant;
    settle->merchant_reference = (char *)reference;
    settle->patient = (char *)patient;
    settle->amount_fen = 12345;
    Famledger__Request *request = request_make(f, FAMLEDGER__REQUEST__BODY_SETTLE);
    request->settle = settle;
    return request;
}

static Famledger__Request *batch_request(struct fixture *f, Famledger__Request **items,
                                         size_t count)
{
    Famledger__BatchRequest *batch = ARENA_NEW(&f->arena, Famledger__BatchRequest);
    famledger__batch_request__init(batch);
    batch->requests = items;
    batch->n_requests = count;
    Famledger__Request *request = request_make(f, FAMLEDGER__REQUEST__BODY_BATCH);
    request->batch = batch;
    return request;
}

/* The counters once the threads have read `done` settlements and `stretches` stretches
 * ahead of walks (or after five seconds). */
static struct prefetch_stats stats_when_read(struct prefetch *prefetch, uint64_t done,
                                             uint64_t stretches)
{
    struct prefetch_stats stats = prefetch_stats(prefetch);
    for (int i = 0; i < 5000 && (stats.done < done || stats.stretches < stretches); i++) {
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
        stats = prefetch_stats(prefetch);
    }
    return stats;
}

static int64_t balance_of(struct fixture *f, const char *person_no)
{
    struct store_txn *txn;
    Famledger__Account *account = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(state_account_get(txn, &f->arena, person_no, &account), 1);
    int64_t balance = account->balance_fen;
    store_read_end(txn);
    return balance;
}

static void test_settlements_are_read_ahead_and_nothing_changes(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    struct ledger_head before, after;
    assert_int_equal(ledger_check_head(f->store, &before), 0);

    struct prefetch prefetch;
    assert_int_equal(prefetch_start(&prefetch, f->store, &f->config, 2), 0);
    prefetch_request(&prefetch, settle_request(f, "PH001", "KID", "r1"));
    /* A batch: its settlements are read ahead, a credit among them is not; an unknown
     * patient, an unknown merchant and a code no merchant may have are read as far as they
     * go, and refused by nobody (the writer refuses them). */
    Famledger__Request *credit = request_make(f, FAMLEDGER__REQUEST__BODY_CREDIT);
    Famledger__Request *items[] = {
        settle_request(f, "PH001", "KID", "r2"), credit,
        settle_request(f, "PH001", "NOBODY", "r3"), settle_request(f, "PH999", "KID", "r4"),
        settle_request(f, "PH 01", "KID", "r5"),
    };
    prefetch_request(&prefetch, batch_request(f, items, 5));
    /* Reads and writes are not prefetched. */
    prefetch_request(&prefetch, credit);
    prefetch_kick(&prefetch); /* the threads wait until they are told */

    struct prefetch_stats stats = stats_when_read(&prefetch, 5, 0);
    assert_int_equal(stats.queued, 5);
    assert_int_equal(stats.done, 5);
    assert_int_equal(stats.dropped, 0);
    prefetch_stop(&prefetch);
    prefetch_stop(&prefetch); /* once is enough; twice does nothing */

    assert_int_equal(ledger_check_head(f->store, &after), 0);
    assert_int_equal(after.seq, before.seq);
    assert_memory_equal(after.hash, before.hash, HASH_BYTES);
    assert_int_equal(balance_of(f, "KID"), 500);
    assert_int_equal(balance_of(f, "MUM"), 90000);
    /* And the settlement itself is the same as without a prefetch. */
    Famledger__Response *response = NULL;
    const Famledger__SettleRequest *settle = settle_request(f, "PH001", "KID", "r1")->settle;
    assert_int_equal(fixture_settle(f, false, settle, &response), 0);
    assert_int_equal(response->settlement->settlement->acct_pay_fen, 500);
    assert_int_equal(response->settlement->settlement->acct_mulaid_pay_fen, 11845);
}

static void test_a_full_queue_drops_and_oversized_fields_are_not_queued(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    struct prefetch prefetch;
    assert_int_equal(prefetch_start(&prefetch, f->store, &f->config, 1), 0);

    /* Longer than any person number: the handler refuses it; nothing to read ahead. */
    prefetch_request(&prefetch, settle_request(f, "PH001", "P0123456789012345678901234567890123",
                                               "r1"));
    char reference[72];
    memset(reference, 'x', sizeof(reference) - 1);
    reference[sizeof(reference) - 1] = '\0';
    prefetch_request(&prefetch, settle_request(f, "PH001", "KID", reference));
    struct prefetch_stats stats = prefetch_stats(&prefetch);
    assert_int_equal(stats.queued, 0);
    assert_int_equal(stats.dropped, 0);

    /* One request is queued under one hold of the lock: the ring fills, the rest is dropped. */
    size_t count = PREFETCH_QUEUE_MAX + 100;
    Famledger__Request **items = calloc(count, sizeof(*items));
    for (size_t i = 0; i < count; i++)
        items[i] = settle_request(f, "PH001", "KID", "r2");
    prefetch_request(&prefetch, batch_request(f, items, count));
    stats = prefetch_stats(&prefetch);
    assert_int_equal(stats.queued, PREFETCH_QUEUE_MAX);
    assert_int_equal(stats.dropped, 100);
    /* Stopping with work queued drops it and returns. */
    prefetch_stop(&prefetch);
    stats = prefetch.stats;
    assert_true(stats.done <= PREFETCH_QUEUE_MAX);
    free(items);
}

static void test_without_threads_nothing_is_queued(void **state)
{
    struct fixture *f = *state;
    struct prefetch prefetch;
    assert_int_equal(prefetch_start(&prefetch, f->store, &f->config, 0), 0);
    prefetch_request(&prefetch, settle_request(f, "PH001", "KID", "r1"));
    struct store_bytes keys[] = {{"P1", 2}, {"P2", 2}};
    prefetch_walk_ahead(&prefetch, STORE_DB_PERSONS, keys, 2, true);
    struct prefetch_stats stats = prefetch_stats(&prefetch);
    assert_int_equal(stats.queued + stats.done + stats.dropped + stats.stretches, 0);
    assert_false(prefetch_walking(&prefetch, STORE_DB_PERSONS)); /* walks ask the kernel */
    prefetch_stop(&prefetch);
}

/* Keys P000000, P000003, ... as a page of a walk served them. */
static void page_keys(char texts[][8], struct store_bytes *keys, int first, int count)
{
    for (int i = 0; i < count; i++) {
        snprintf(texts[i], 8, "P%06u", (unsigned)((first + i) * 3) % 1000000u);
        keys[i] = (struct store_bytes){texts[i], 7};
    }
}

/* `count` records in the persons table, keys P000000, P000003, ... */
static void persons_put(struct fixture *f, int count)
{
    struct store_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    char text[8];
    for (int i = 0; i < count; i++) {
        snprintf(text, sizeof(text), "P%06u", (unsigned)(i * 3) % 1000000u);
        assert_int_equal(store_put(txn, STORE_DB_PERSONS, text, 7, "-", 1), 0);
    }
    assert_int_equal(store_commit(txn), 0);
}

/* A walk's page of 100 keys, 0 to 297, has the threads read the sixteen stretches of 297 after
 * it: keys 297 to 5046, 1,584 records. The next page, 300 to 597, reaches 300 further and
 * queues only that: 5049 to 5343 and 5346, 100 records in two stretches. */
static void test_walks_are_read_ahead_by_stretches(void **state)
{
    struct fixture *f = *state;
    persons_put(f, 5000);
    struct prefetch prefetch;
    assert_int_equal(prefetch_start(&prefetch, f->store, &f->config, 2), 0);
    char texts[100][8];
    struct store_bytes keys[100];
    page_keys(texts, keys, 0, 100);
    prefetch_walk_ahead(&prefetch, STORE_DB_PERSONS, keys, 100, true);
    struct prefetch_stats stats = stats_when_read(&prefetch, 0, PREFETCH_WALK_PAGES);
    assert_int_equal(stats.stretches, PREFETCH_WALK_PAGES);
    assert_int_equal(stats.stretch_records, 1584);
    page_keys(texts, keys, 100, 100);
    prefetch_walk_ahead(&prefetch, STORE_DB_PERSONS, keys, 100, false);
    stats = stats_when_read(&prefetch, 0, PREFETCH_WALK_PAGES + 2);
    assert_int_equal(stats.stretches, PREFETCH_WALK_PAGES + 2);
    assert_int_equal(stats.stretch_records, 1584 + 100);
    assert_true(prefetch_walking(&prefetch, STORE_DB_PERSONS));
    assert_false(prefetch_walking(&prefetch, STORE_DB_ACCOUNTS)); /* no walk of it */
    /* Keys that are all the same tell nothing: nothing is queued, and the walk's next page
     * asks the kernel again. */
    struct store_bytes same[] = {keys[0], keys[0]};
    prefetch_walk_ahead(&prefetch, STORE_DB_PERSONS, same, 2, false);
    assert_int_equal(prefetch.walks_count, 0);
    assert_false(prefetch_walking(&prefetch, STORE_DB_PERSONS));
    stats = prefetch_stats(&prefetch);
    assert_int_equal(stats.stretches, PREFETCH_WALK_PAGES + 2);
    assert_int_equal(stats.queued + stats.dropped, 0);
    prefetch_stop(&prefetch);
}

/* The disk as the prefetch threads see it: with `cold`, every stretch read from it. */
static atomic_bool cold;
static atomic_uint_fast64_t reads;

static uint64_t fake_disk_reads(void)
{
    return atomic_load(&cold) ? atomic_fetch_add(&reads, 1) + 1 : atomic_load(&reads);
}

/* The walk's page `page` (keys 300 * page to 300 * page + 297) served; then wait until every
 * stretch queued so far has been read. */
static struct prefetch_stats walk_page(struct prefetch *prefetch, int page)
{
    char texts[100][8];
    struct store_bytes keys[100];
    page_keys(texts, keys, page * 100, 100);
    prefetch_walk_ahead(prefetch, STORE_DB_PERSONS, keys, 100, page == 0);
    struct prefetch_stats stats = prefetch_stats(prefetch);
    return stats_when_read(prefetch, 0, stats.stretches_queued);
}

/* A walk whose stretches read nothing from the disk has its pages queue a stretch only now and
 * then; once one of those reads from the disk, the next page reads ahead in full again, and
 * so does a new walk. */
static void test_walks_found_in_memory_are_only_probed(void **state)
{
    struct fixture *f = *state;
    persons_put(f, 10000);
    struct prefetch prefetch;
    assert_int_equal(prefetch_start(&prefetch, f->store, &f->config, 2), 0);
    atomic_store(&cold, false);
    uv_mutex_lock(&prefetch.mutex);
    prefetch.disk_reads = fake_disk_reads;
    uv_mutex_unlock(&prefetch.mutex);
    /* The first page queues sixteen stretches, each page after it one or two more, until
     * PREFETCH_WARM_STRETCHES have found everything in memory. */
    struct prefetch_stats stats = walk_page(&prefetch, 0);
    assert_int_equal(stats.stretches, PREFETCH_WALK_PAGES);
    int page = 1;
    while (stats.stretches < PREFETCH_WARM_STRETCHES)
        stats = walk_page(&prefetch, page++);
    assert_in_range(page, PREFETCH_WALK_PAGES / 2, PREFETCH_WALK_PAGES + 1);
    assert_int_equal(stats.warm_pages, 0);
    /* Warm: seven pages queue nothing, the eighth its farthest stretch. */
    uint64_t warm = stats.stretches;
    for (int i = 1; i < PREFETCH_WARM_PROBE; i++)
        stats = walk_page(&prefetch, page++);
    assert_int_equal(stats.stretches, warm);
    assert_int_equal(stats.warm_pages, PREFETCH_WARM_PROBE - 1);
    /* The disk turns cold under the probe: it reads from the disk, and the next page queues
     * every stretch up to sixteen pages ahead that was not queued before. */
    atomic_store(&cold, true);
    stats = walk_page(&prefetch, page++);
    assert_int_equal(stats.stretches, warm + 1);
    stats = walk_page(&prefetch, page++);
    assert_in_range(stats.stretches, warm + 1 + PREFETCH_WARM_PROBE,
                    warm + 1 + PREFETCH_WALK_PAGES);
    assert_int_equal(stats.warm_pages, PREFETCH_WARM_PROBE - 1);
    assert_int_equal(stats.stretches, stats.stretches_queued);
    /* Warm again: the walk is probed once more, and a new walk reads ahead in full. */
    atomic_store(&cold, false);
    while (stats.warm_pages == PREFETCH_WARM_PROBE - 1)
        stats = walk_page(&prefetch, page++);
    uint64_t before = stats.stretches;
    stats = walk_page(&prefetch, 0);
    assert_int_equal(stats.stretches, before + PREFETCH_WALK_PAGES);
    prefetch_stop(&prefetch);
}

/* What a settlement's reads found is handed to the writer by ticket, and the writer takes it
 * for the reads it would make, with the same outcome as without it; once a funder's account
 * changed after the reads, the writer reads the change, and a batch's items have tickets of
 * their own. */
static void test_the_writer_is_handed_what_was_read_ahead(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    struct prefetch prefetch;
    assert_int_equal(prefetch_start(&prefetch, f->store, &f->config, 2), 0);
    static struct store_ahead ahead;
    assert_false(prefetch_take(&prefetch, 0, &ahead));
    uint64_t ticket = prefetch_request(&prefetch, settle_request(f, "PH001", "KID", "r1"));
    assert_true(ticket > 0);
    prefetch_kick(&prefetch);
    stats_when_read(&prefetch, 1, 0);
    assert_true(prefetch_take(&prefetch, ticket, &ahead));
    /* The patient, their bindings and the mother's person at least (and, with the accounts
     * and references kept in memory, the reference and the accounts memory does not hold). */
    assert_true(ahead.count >= 3);
    assert_false(prefetch_take(&prefetch, ticket + 1, &ahead)); /* not given yet */

    uint64_t taken, refused, taken_after, refused_after;
    store_ahead_counts(f->store, &taken, &refused);
    f->prefetch = &prefetch;
    f->ahead_ticket = ticket;
    Famledger__Response *response = NULL;
    const Famledger__SettleRequest *settle = settle_request(f, "PH001", "KID", "r1")->settle;
    assert_int_equal(fixture_settle(f, false, settle, &response), 0);
    assert_int_equal(response->settlement->settlement->acct_pay_fen, 500);
    assert_int_equal(response->settlement->settlement->acct_mulaid_pay_fen, 11845);
    store_ahead_counts(f->store, &taken_after, &refused_after);
    assert_true(taken_after >= taken + 3);

    /* Read ahead for r2; then r3 takes from the mother's account before r2 runs. r2 must see
     * what r3 left, not what was read ahead of it. */
    ticket = prefetch_request(&prefetch, settle_request(f, "PH001", "KID", "r2"));
    prefetch_kick(&prefetch);
    stats_when_read(&prefetch, 2, 0);
    f->ahead_ticket = 0;
    assert_int_equal(fixture_settle(f, false, settle_request(f, "PH001", "KID", "r3")->settle,
                                    &response), 0);
    assert_int_equal(response->settlement->settlement->acct_mulaid_pay_fen, 12345);
    f->ahead_ticket = ticket;
    assert_int_equal(fixture_settle(f, false, settle_request(f, "PH001", "KID", "r2")->settle,
                                    &response), 0);
    int64_t left = 90000 - 11845 - 12345;
    assert_int_equal(response->settlement->settlement->acct_mulaid_pay_fen, 12345);
    left -= 12345;
    assert_int_equal(balance_of(f, "MUM"), left);
    assert_int_equal(balance_of(f, "KID"), 0);

    /* A batch: an item's ticket is the first's plus its place; a credit has nothing. */
    Famledger__Request *items[] = {
        request_make(f, FAMLEDGER__REQUEST__BODY_CREDIT),
        settle_request(f, "PH001", "KID", "r4"),
        settle_request(f, "PH001", "KID", "r5"),
    };
    ticket = prefetch_request(&prefetch, batch_request(f, items, 3));
    prefetch_kick(&prefetch);
    stats_when_read(&prefetch, 4, 0);
    assert_false(prefetch_take(&prefetch, ticket, &ahead));
    assert_true(prefetch_take(&prefetch, ticket + 1, &ahead));
    assert_true(prefetch_take(&prefetch, ticket + 2, &ahead));
    f->prefetch = NULL;
    f->ahead_ticket = 0;
    prefetch_stop(&prefetch);
    assert_false(prefetch_take(&prefetch, ticket + 1, &ahead)); /* stopped: nothing kept */
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_settlements_are_read_ahead_and_nothing_changes),
        TEST(test_a_full_queue_drops_and_oversized_fields_are_not_queued),
        TEST(test_without_threads_nothing_is_queued),
        TEST(test_walks_are_read_ahead_by_stretches),
        TEST(test_walks_found_in_memory_are_only_probed),
        TEST(test_the_writer_is_handed_what_was_read_ahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
