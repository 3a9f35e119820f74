/* test_batch.c -- BatchRequest's two passes: items run straight in one transaction, and only
 * when one fails after writing is that pass undone and every item run in a child of its own.
 * An item that fails after writing is made here by failing LMDB's put of its person record
 * (this binary links with -Wl,--wrap=mdb_put). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <errno.h>
#include <lmdb.h>

int __real_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);

static const char *failing_key; /* a put of this key fails with EIO */
static unsigned failed_puts;

int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
    if (failing_key && key->mv_size == strlen(failing_key) &&
        memcmp(key->mv_data, failing_key, key->mv_size) == 0) {
        failed_puts++;
        return EIO;
    }
    return __real_mdb_put(txn, dbi, key, data, flags);
}

static Famledger__Request *migrate_item(struct fixture *f, const char *person_no)
{
    Famledger__MigrateRequest *row = ARENA_NEW(&f->arena, Famledger__MigrateRequest);
    famledger__migrate_request__init(row);
    row->person_no = (char *)person_no;
    row->name = (char *)"Migrated";
    row->region = (char *)"110101";
    row->scheme = FAMLEDGER__SCHEME__SCHEME_EMPLOYEE;
    row->opening_balance_fen = 1000;
    Famledger__Request *item = ARENA_NEW(&f->arena, Famledger__Request);
    famledger__request__init(item);
    item->body_case = FAMLEDGER__REQUEST__BODY_MIGRATE;
    item->migrate = row;
    return item;
}

static Famledger__Response *run_batch(struct fixture *f, const char *const *persons, size_t n)
{
    Famledger__Request **items = ARENA_ARRAY(&f->arena, Famledger__Request *, n);
    for (size_t i = 0; i < n; i++)
        items[i] = migrate_item(f, persons[i]);
    Famledger__BatchRequest batch = FAMLEDGER__BATCH_REQUEST__INIT;
    batch.requests = items;
    batch.n_requests = n;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_BATCH;
    request.batch = &batch;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_run(f, &request, &response), 0);
    assert_int_equal(response->body_case, FAMLEDGER__RESPONSE__BODY_BATCH);
    assert_int_equal(response->batch->n_replies, n);
    return response;
}

static int64_t head_seq(struct fixture *f)
{
    Famledger__HeadRequest body = FAMLEDGER__HEAD_REQUEST__INIT;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_HEAD;
    request.head = &body;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_run(f, &request, &response), 0);
    return (int64_t)response->head->seq;
}

static bool registered(struct fixture *f, const char *person_no)
{
    Famledger__PersonGetRequest body = FAMLEDGER__PERSON_GET_REQUEST__INIT;
    body.person_no = (char *)person_no;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_PERSON_GET;
    request.person_get = &body;
    return fixture_run(f, &request, NULL) == 0;
}

static void test_items_run_in_one_transaction_when_none_fails_after_writing(void **state)
{
    struct fixture *f = *state;
    failing_key = NULL;
    static const char *const persons[] = {"A1", "A2", "A3"};
    Famledger__Response *response = run_batch(f, persons, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(response->batch->replies[i]->status, FAMLEDGER__STATUS__STATUS_OK);
    assert_int_equal(head_seq(f), 3);
    /* A replay and a new row: refusals and replays write nothing, so one pass does. */
    static const char *const again[] = {"A1", "A4"};
    response = run_batch(f, again, 2);
    assert_true(response->batch->replies[0]->replayed);
    assert_int_equal(response->batch->replies[1]->status, FAMLEDGER__STATUS__STATUS_OK);
    assert_int_equal(head_seq(f), 4);
}

static void test_an_item_failing_after_writing_leaves_nothing_and_the_others_keep_theirs(
    void **state)
{
    struct fixture *f = *state;
    failing_key = "B2"; /* B2's log entry is written, then its person record fails */
    failed_puts = 0;
    static const char *const persons[] = {"B1", "B2", "B3"};
    Famledger__Response *response = run_batch(f, persons, 3);
    assert_int_equal(response->batch->replies[0]->status, FAMLEDGER__STATUS__STATUS_OK);
    assert_int_equal(response->batch->replies[1]->status, FAMLEDGER__STATUS__STATUS_INTERNAL);
    assert_int_equal(response->batch->replies[2]->status, FAMLEDGER__STATUS__STATUS_OK);
    /* Once in the fast pass, once more in its own child. */
    assert_int_equal(failed_puts, 2);
    failing_key = NULL;
    /* B2's entry went with it: the log holds B1's and B3's only, in order, and the next entry
     * follows them without a gap. */
    assert_int_equal(head_seq(f), 2);
    assert_true(registered(f, "B1"));
    assert_false(registered(f, "B2"));
    assert_true(registered(f, "B3"));
    static const char *const retry[] = {"B2"};
    response = run_batch(f, retry, 1);
    assert_int_equal(response->batch->replies[0]->status, FAMLEDGER__STATUS__STATUS_OK);
    assert_false(response->batch->replies[0]->replayed);
    assert_int_equal(head_seq(f), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_items_run_in_one_transaction_when_none_fails_after_writing, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_an_item_failing_after_writing_leaves_nothing_and_the_others_keep_theirs,
            fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
