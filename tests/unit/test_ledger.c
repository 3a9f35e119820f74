/* test_ledger.c -- persons, accounts, credits and the hash-chained log, through the handlers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "ledger.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_person_numbers_are_unique(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_person_add(f, "P1", "110101", FAMLEDGER__SCHEME__SCHEME_EMPLOYEE), 0);
    assert_int_equal(fixture_person_add(f, "P1", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT),
                     FL_ERR_PERSON_EXISTS);
}

static void test_person_fields_are_validated(void **state)
{
    struct fixture *f = *state;
    Famledger__Scheme employee = FAMLEDGER__SCHEME__SCHEME_EMPLOYEE;
    assert_int_equal(fixture_person_add(f, "", "110101", employee), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_person_add(f, "P-1", "110101", employee), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_person_add(f, "P1234567890123456789012345678901X", "110101",
                                        employee),
                     FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_person_add(f, "P1", "11010", employee), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_person_add(f, "P1", "11010a", employee), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_person_add(f, "P1", "110101", FAMLEDGER__SCHEME__SCHEME_UNSPECIFIED),
                     FL_ERR_INVALID_ARGUMENT);
}

static void test_only_employees_get_one_account(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_person_add(f, "R1", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT), 0);
    assert_int_equal(fixture_account_open(f, "R1"), FL_ERR_NOT_EMPLOYEE);
    assert_int_equal(fixture_account_open(f, "NOBODY"), FL_ERR_UNKNOWN_PERSON);
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);
    assert_int_equal(fixture_account_open(f, "E1"), FL_ERR_ACCOUNT_EXISTS);
    assert_int_equal(fixture_balance(f, "E1"), 0);
}

static void test_credit_retry_with_same_reference_replays_without_moving_money(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);
    Famledger__Response *first = NULL, *retry = NULL;
    assert_int_equal(fixture_credit(f, "E1", 12050, "alloc-202611-E1", &first), 0);
    assert_false(first->replayed);
    assert_int_equal(fixture_credit(f, "E1", 12050, "alloc-202611-E1", &retry), 0);
    assert_true(retry->replayed);
    assert_int_equal(retry->credit->seq, first->credit->seq);
    assert_int_equal(retry->credit->balance_after_fen, 12050);
    assert_int_equal(fixture_balance(f, "E1"), 12050);
}

static void test_credit_reference_reused_with_other_content_is_a_conflict(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);
    assert_int_equal(fixture_employee(f, "E2", "110101"), 0);
    assert_int_equal(fixture_credit(f, "E1", 100, "ref-1", NULL), 0);
    assert_int_equal(fixture_credit(f, "E1", 101, "ref-1", NULL), FL_ERR_CONFLICT);
    assert_int_equal(fixture_credit(f, "E2", 100, "ref-1", NULL), FL_ERR_CONFLICT);
    assert_int_equal(fixture_balance(f, "E1"), 100);
    assert_int_equal(fixture_balance(f, "E2"), 0);
}

static void test_credit_rejects_bad_amounts_and_unknown_accounts(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);
    assert_int_equal(fixture_person_add(f, "R1", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT), 0);
    assert_int_equal(fixture_credit(f, "E1", 0, "a", NULL), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_credit(f, "E1", -5, "b", NULL), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_credit(f, "E1", INT64_C(10000000001), "c", NULL),
                     FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_credit(f, "E1", 5, "", NULL), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_credit(f, "R1", 5, "d", NULL), FL_ERR_NO_ACCOUNT);
    assert_int_equal(fixture_credit(f, "X", 5, "e", NULL), FL_ERR_UNKNOWN_PERSON);
    assert_int_equal(fixture_balance(f, "E1"), 0);
}

/* Walk the log from the first entry, recomputing every hash of the chain. */
static void assert_chain_intact(struct fixture *f, uint64_t expected_seq)
{
    struct store_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    uint8_t prev[HASH_BYTES] = {0};
    for (uint64_t seq = 1; seq <= expected_seq; seq++) {
        Famledger__Entry *entry;
        ProtobufCBinaryData bytes;
        uint8_t stored[HASH_BYTES], computed[HASH_BYTES];
        assert_int_equal(ledger_entry_get(txn, &f->arena, seq, &entry, &bytes, stored), 1);
        assert_int_equal(entry->seq, seq);
        assert_memory_equal(entry->prev_hash.data, prev, HASH_BYTES);
        chain_hash(prev, bytes.data, bytes.len, computed);
        assert_memory_equal(computed, stored, HASH_BYTES);
        memcpy(prev, stored, HASH_BYTES);
    }
    struct ledger_head head;
    assert_int_equal(ledger_head_get(txn, &head), 0);
    assert_int_equal(head.seq, expected_seq);
    assert_memory_equal(head.hash, prev, HASH_BYTES);
    store_read_end(txn);
}

static void test_every_change_is_one_chained_entry(void **state)
{
    struct fixture *f = *state;
    assert_chain_intact(f, 0);
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);           /* 2 entries */
    assert_int_equal(fixture_credit(f, "E1", 100, "r1", NULL), 0);      /* 1 */
    assert_int_equal(fixture_credit(f, "E1", 100, "r1", NULL), 0);      /* replay: none */
    assert_int_equal(fixture_credit(f, "E1", 999, "r1", NULL), FL_ERR_CONFLICT); /* none */
    assert_int_equal(fixture_credit(f, "E1", 200, "r2", NULL), 0);      /* 1 */
    assert_chain_intact(f, 4);
}

static void test_chain_hash_is_sha256_of_previous_hash_and_entry_bytes(void **state)
{
    (void)state;
    uint8_t zero[HASH_BYTES] = {0}, hash[HASH_BYTES];
    char hex[2 * HASH_BYTES + 1];
    chain_hash(zero, "abc", 3, hash);
    chain_hex(hash, hex);
    /* python3 -c "import hashlib; print(hashlib.sha256(bytes(32)+b'abc').hexdigest())" */
    assert_string_equal(hex, "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370");
}

static Famledger__Response *statement(struct fixture *f, const char *person_no, uint32_t limit,
                                      bool oldest_first, uint64_t cursor)
{
    Famledger__StatementRequest query = FAMLEDGER__STATEMENT_REQUEST__INIT;
    query.person_no = (char *)person_no;
    query.limit = limit;
    query.oldest_first = oldest_first;
    query.cursor = cursor;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_STATEMENT;
    request.statement = &query;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_run(f, &request, &response), 0);
    return response;
}

static void test_statement_pages_newest_first_and_oldest_first(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0); /* seq 1, 2 */
    assert_int_equal(fixture_employee(f, "E2", "110101"), 0); /* seq 3, 4 */
    char reference[16];
    for (int i = 1; i <= 5; i++) { /* E1: 5, 7, 9, 11, 13; E2: 6, 8, ... */
        snprintf(reference, sizeof(reference), "e1-%d", i);
        assert_int_equal(fixture_credit(f, "E1", 100 * i, reference, NULL), 0);
        snprintf(reference, sizeof(reference), "e2-%d", i);
        assert_int_equal(fixture_credit(f, "E2", 1, reference, NULL), 0);
    }
    Famledger__StatementReply *page = statement(f, "E1", 2, false, 0)->statement;
    assert_int_equal(page->n_lines, 2);
    assert_int_equal(page->lines[0]->seq, 13);
    assert_int_equal(page->lines[0]->amount_fen, 500);
    assert_int_equal(page->lines[0]->balance_after_fen, 1500);
    assert_int_equal(page->lines[1]->seq, 11);
    assert_int_equal(page->next_cursor, 9);
    page = statement(f, "E1", 10, false, page->next_cursor)->statement;
    assert_int_equal(page->n_lines, 4); /* 9, 7, 5 and the opening, 2 */
    assert_int_equal(page->lines[3]->seq, 2);
    assert_string_equal(page->lines[3]->type, "account_opened");
    assert_int_equal(page->next_cursor, 0);

    page = statement(f, "E1", 3, true, 0)->statement;
    assert_int_equal(page->n_lines, 3);
    assert_int_equal(page->lines[0]->seq, 2);
    assert_int_equal(page->lines[2]->seq, 7);
    assert_int_equal(page->next_cursor, 9);
    page = statement(f, "E1", 3, true, 9)->statement;
    assert_int_equal(page->n_lines, 3);
    assert_int_equal(page->lines[2]->seq, 13);
    assert_int_equal(page->next_cursor, 0);
    /* A cursor between two entries of the account starts at the nearest one. */
    page = statement(f, "E1", 1, false, 10)->statement;
    assert_int_equal(page->lines[0]->seq, 9);
    page = statement(f, "E1", 2, true, 8)->statement;
    assert_int_equal(page->n_lines, 2);
    assert_int_equal(page->lines[0]->seq, 9);
    assert_int_equal(page->lines[1]->seq, 11);
    assert_int_equal(page->next_cursor, 13);
    /* Past the newest: from the newest. */
    page = statement(f, "E1", 1, false, 1000)->statement;
    assert_int_equal(page->lines[0]->seq, 13);
    assert_int_equal(page->next_cursor, 11);
    assert_int_equal(statement(f, "E1", 5, true, 1000)->statement->n_lines, 0);
}

/* Oldest first walks the chain back from its head into a ring of `limit` lines: every page size
 * against the six lines of one account, and every starting line. */
static void test_statement_oldest_first_every_page_size(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0); /* opened at 2 */
    assert_int_equal(fixture_employee(f, "E2", "110101"), 0);
    const uint64_t lines[] = {2, 5, 7, 9, 11, 13};
    char reference[16];
    for (int i = 1; i <= 5; i++) {
        snprintf(reference, sizeof(reference), "e1-%d", i);
        assert_int_equal(fixture_credit(f, "E1", 100 * i, reference, NULL), 0);
        snprintf(reference, sizeof(reference), "e2-%d", i);
        assert_int_equal(fixture_credit(f, "E2", 1, reference, NULL), 0);
    }
    for (uint32_t limit = 1; limit <= 7; limit++) {
        for (size_t first = 0; first < 6; first++) {
            uint64_t cursor = first ? lines[first] : 0;
            size_t at = first;
            while (cursor || at == first) {
                Famledger__StatementReply *page = statement(f, "E1", limit, true, cursor)->statement;
                size_t expected = 6 - at < limit ? 6 - at : limit;
                assert_int_equal(page->n_lines, expected);
                for (size_t i = 0; i < page->n_lines; i++)
                    assert_int_equal(page->lines[i]->seq, lines[at + i]);
                at += page->n_lines;
                assert_int_equal(page->next_cursor, at < 6 ? lines[at] : 0);
                cursor = page->next_cursor;
                if (!cursor)
                    break;
            }
            assert_int_equal(at, 6);
        }
    }
}

/* A link missing from the chain is damage: the statement fails rather than ending early. */
static void test_statement_with_a_missing_link_fails(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0); /* opened at 2 */
    assert_int_equal(fixture_credit(f, "E1", 100, "e1-1", NULL), 0); /* 3 */
    assert_int_equal(fixture_credit(f, "E1", 100, "e1-2", NULL), 0); /* 4 */
    struct store_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    uint8_t key[8 + 2];
    store_u64_encode(key, 3);
    memcpy(key + 8, "E1", 2);
    assert_int_equal(store_delete(txn, STORE_DB_ACCOUNT_LINKS, key, sizeof(key)), 1);
    assert_int_equal(store_commit(txn), 0);
    assert_int_equal(statement(f, "E1", 1, false, 0)->statement->lines[0]->seq, 4);
    for (int oldest_first = 0; oldest_first <= 1; oldest_first++) {
        Famledger__StatementRequest query = FAMLEDGER__STATEMENT_REQUEST__INIT;
        query.person_no = "E1";
        query.limit = 10;
        query.oldest_first = oldest_first;
        Famledger__Request request = FAMLEDGER__REQUEST__INIT;
        request.body_case = FAMLEDGER__REQUEST__BODY_STATEMENT;
        request.statement = &query;
        assert_int_equal(fixture_run(f, &request, NULL), FL_ERR_INTERNAL);
    }
}

/* Noon (UTC) of a day: the same business day in any time zone the tests run in. */
static int64_t noon_us(int year, int month, int day)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = 12};
    return (int64_t)timegm(&tm) * 1000000;
}

static const Famledger__LogPageReply *day_page(struct fixture *f, const char *date,
                                               uint64_t from_seq, uint32_t limit)
{
    Famledger__LogPageRequest page = FAMLEDGER__LOG_PAGE_REQUEST__INIT;
    page.date = (char *)date;
    page.from_seq = from_seq;
    page.limit = limit;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_LOG_PAGE, &page, &response), 0);
    return response->log_page;
}

static void assert_day_page(struct fixture *f, const char *date, uint64_t from_seq,
                            uint32_t limit, uint64_t first, size_t count, uint64_t next)
{
    const Famledger__LogPageReply *page = day_page(f, date, from_seq, limit);
    assert_int_equal(page->n_records, count);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(page->records[i]->seq, first + i);
    assert_int_equal(page->next_seq, next);
}

/* A day's entries are one run of the time-ordered log: found by halving, paged with a cursor,
 * ended where the next day starts; a day without entries, before the first or after the last,
 * is an empty page. */
static void test_day_pages_are_runs_of_the_log(void **state)
{
    struct fixture *f = *state;
    f->time_us = noon_us(2026, 11, 1);
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);           /* entries 1, 2 */
    assert_int_equal(fixture_credit(f, "E1", 100, "c1", NULL), 0);      /* 3 */
    f->time_us = noon_us(2026, 11, 3);
    for (int i = 0; i < 4; i++) {                                       /* 4 .. 7 */
        char reference[8];
        snprintf(reference, sizeof(reference), "d3-%d", i);
        assert_int_equal(fixture_credit(f, "E1", 100, reference, NULL), 0);
    }
    f->time_us = noon_us(2026, 11, 4);
    assert_int_equal(fixture_credit(f, "E1", 100, "d4", NULL), 0);      /* 8 */

    assert_day_page(f, "2026-11-01", 0, 2, 1, 2, 3);
    assert_day_page(f, "2026-11-01", 3, 2, 3, 1, 0);
    assert_day_page(f, "2026-11-02", 0, 10, 0, 0, 0);
    assert_day_page(f, "2026-11-03", 0, 10, 4, 4, 0);
    assert_day_page(f, "2026-11-03", 0, 4, 4, 4, 0); /* the next entry is the next day's */
    assert_day_page(f, "2026-11-03", 0, 3, 4, 3, 7);
    assert_day_page(f, "2026-11-03", 6, 10, 6, 2, 0);
    assert_day_page(f, "2026-11-03", 2, 10, 4, 4, 0); /* a cursor before the day */
    assert_day_page(f, "2026-11-03", 8, 10, 0, 0, 0); /* a cursor after it */
    assert_day_page(f, "2026-11-04", 0, 10, 8, 1, 0);
    assert_day_page(f, "2026-10-31", 0, 10, 0, 0, 0);
    assert_day_page(f, "2026-11-05", 0, 10, 0, 0, 0);
    assert_day_page(f, "2026-11-04", 99, 10, 0, 0, 0); /* beyond the head */
}

static int settle_at(struct fixture *f, const char *merchant, const char *reference,
                     int64_t amount_fen)
{
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)merchant;
    settle.merchant_reference = (char *)reference;
    settle.patient = (char *)"E1";
    settle.amount_fen = amount_fen;
    return fixture_settle(f, false, &settle, NULL);
}

/* A page of `merchant`'s day: the references of its settlements, newest first, and the cursor
 * of the next page; or the status of a refused request. */
static int merchant_day_page(struct fixture *f, const char *merchant, const char *date,
                             uint64_t cursor, char references[64], uint64_t *next)
{
    Famledger__MerchantDayRequest query = FAMLEDGER__MERCHANT_DAY_REQUEST__INIT;
    query.merchant_code = (char *)merchant;
    query.date = (char *)date;
    query.cursor = cursor;
    query.limit = 2;
    Famledger__Response *response = NULL;
    int rc = fixture_body(f, FAMLEDGER__REQUEST__BODY_MERCHANT_DAY, &query, &response);
    *references = '\0';
    for (size_t i = 0; rc == 0 && i < response->merchant_day->n_settlements; i++)
        snprintf(references + strlen(references), 64 - strlen(references), "%s ",
                 response->merchant_day->settlements[i]->merchant_reference);
    *next = rc == 0 ? response->merchant_day->next_cursor : 0;
    return rc;
}

/* A merchant's business day is a chain of its own: newest first, paged by a cursor found at
 * once, ended at the day's first entry; another day's cursor is refused, a day without
 * settlements is empty, and the balance and clearing report still sum every day. */
static void test_a_merchant_day_is_a_chain_of_that_day(void **state)
{
    struct fixture *f = *state;
    f->time_us = noon_us(2026, 11, 1);
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);
    assert_int_equal(fixture_credit(f, "E1", 10000, "c-1", NULL), 0);
    assert_int_equal(fixture_merchant(f, "P1", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    assert_int_equal(fixture_merchant(f, "P2", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    assert_int_equal(settle_at(f, "P1", "a1", 100), 0);
    assert_int_equal(settle_at(f, "P2", "b1", 200), 0); /* between P1's, on P2's own chain */
    assert_int_equal(settle_at(f, "P1", "a2", 300), 0);
    assert_int_equal(settle_at(f, "P1", "a3", 400), 0);
    f->time_us = noon_us(2026, 11, 3);
    assert_int_equal(settle_at(f, "P1", "c1", 500), 0);
    char references[64];
    uint64_t next;
    assert_int_equal(merchant_day_page(f, "P1", "2026-11-01", 0, references, &next), 0);
    assert_string_equal(references, "a3 a2 ");
    uint64_t day_1_cursor = next;
    assert_int_equal(merchant_day_page(f, "P1", "2026-11-01", next, references, &next), 0);
    assert_string_equal(references, "a1 ");
    assert_int_equal(next, 0);
    assert_int_equal(merchant_day_page(f, "P2", "2026-11-01", 0, references, &next), 0);
    assert_string_equal(references, "b1 ");
    assert_int_equal(merchant_day_page(f, "P1", "2026-11-03", 0, references, &next), 0);
    assert_string_equal(references, "c1 ");
    assert_int_equal(next, 0);
    assert_int_equal(merchant_day_page(f, "P1", "2026-11-02", 0, references, &next), 0);
    assert_string_equal(references, "");
    assert_int_equal(merchant_day_page(f, "P1", "2026-11-03", day_1_cursor, references, &next),
                     FL_ERR_INVALID_ARGUMENT);
    Famledger__MerchantBalanceRequest balance = FAMLEDGER__MERCHANT_BALANCE_REQUEST__INIT;
    balance.code = (char *)"P1";
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_MERCHANT_BALANCE, &balance,
                                  &response), 0);
    assert_int_equal(response->merchant_balance->settled_fen, 1300);
    Famledger__ClearingRequest clearing = FAMLEDGER__CLEARING_REQUEST__INIT;
    clearing.merchant_code = (char *)"P1";
    clearing.from = (char *)"2026-11-02";
    clearing.to = (char *)"2026-11-03";
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_CLEARING, &clearing, &response), 0);
    assert_int_equal(response->clearing->opening_owed_fen, 800);
    assert_int_equal(response->clearing->n_days, 1);
    assert_string_equal(response->clearing->days[0]->date, "2026-11-03");
    assert_int_equal(response->clearing->closing_owed_fen, 1300);
}

/* The records of `db` a walk meets, and whether each key has the table's shape: a seq, then
 * an owner of letters and digits (none for a settlement). */
struct walk_count {
    size_t records;
    bool shaped;
    bool owned;
};

static int walk_count_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    (void)value;
    struct walk_count *walk = context;
    walk->records++;
    walk->shaped &= walk->owned ? key.size > 8 : key.size == 8;
    for (size_t i = 8; i < key.size; i++)
        walk->shaped &= isalnum(((const unsigned char *)key.data)[i]) != 0;
    return 0;
}

/* A walk a page at a time: the last key met, in order after the one before. */
struct page_walk {
    struct walk_count count;
    uint8_t last[64];
    size_t last_bytes;
};

static int page_walk_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    struct page_walk *walk = context;
    assert_true(key.size <= sizeof(walk->last));
    size_t common = key.size < walk->last_bytes ? key.size : walk->last_bytes;
    int order = memcmp(key.data, walk->last, common);
    assert_true(order > 0 || (order == 0 && key.size > walk->last_bytes));
    memcpy(walk->last, key.data, key.size);
    walk->last_bytes = key.size;
    return walk_count_cb(&walk->count, key, value);
}

/* Each table keyed by seq as a walk of it finds it, and as the store counts it. */
static void assert_seq_tables(struct fixture *f, const size_t expected[4])
{
    static const enum store_db tables[] = {STORE_DB_ACCOUNT_LINKS, STORE_DB_SETTLEMENTS,
                                           STORE_DB_PATIENT_LINKS, STORE_DB_MERCHANT_LINKS};
    struct store_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    for (size_t i = 0; i < 4; i++) {
        struct walk_count walk = {0, true, tables[i] != STORE_DB_SETTLEMENTS};
        assert_int_equal(store_scan(txn, tables[i], NULL, 0, (struct store_bytes){0}, SIZE_MAX,
                                    walk_count_cb, &walk), 0);
        uint64_t counted;
        assert_int_equal(store_records(txn, tables[i], &counted), 0);
        assert_int_equal(walk.records, expected[i]);
        assert_true(walk.shaped);
        assert_int_equal(counted, expected[i]);
    }
    store_read_end(txn);
}

/* The four tables keyed by seq share one tree (format 9): each walk meets its own records only,
 * a page resumes where the last ended, and each keeps its own count through nested
 * transactions committed and aborted, a record put again and one deleted. */
static void test_the_tables_keyed_by_seq_share_one_tree(void **state)
{
    struct fixture *f = *state;
    assert_seq_tables(f, (const size_t[]){0, 0, 0, 0});
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);         /* a link */
    assert_int_equal(fixture_credit(f, "E1", 10000, "c-1", NULL), 0); /* a link */
    assert_int_equal(fixture_merchant(f, "P1", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    assert_int_equal(settle_at(f, "P1", "a1", 100), 0); /* one of each */
    assert_int_equal(settle_at(f, "P1", "a2", 300), 0);
    assert_seq_tables(f, (const size_t[]){4, 2, 2, 2});

    struct store_txn *txn, *child;
    uint8_t key[8 + 2], prev[8] = {0};
    store_u64_encode(key, 99);
    memcpy(key + 8, "E1", 2);
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_nested_begin(txn, &child), 0);
    assert_int_equal(store_put(child, STORE_DB_PATIENT_LINKS, key, sizeof(key), prev, 8), 0);
    store_abort(child);
    assert_int_equal(store_nested_begin(txn, &child), 0);
    assert_int_equal(store_put(child, STORE_DB_MERCHANT_LINKS, key, sizeof(key), prev, 8), 0);
    assert_int_equal(store_put(child, STORE_DB_MERCHANT_LINKS, key, sizeof(key), prev, 8), 0);
    assert_int_equal(store_commit(child), 0);
    assert_int_equal(store_commit(txn), 0);
    assert_seq_tables(f, (const size_t[]){4, 2, 2, 3});

    /* A walk a record at a time meets each of a table's records once, in order. */
    struct store_txn *reader;
    assert_int_equal(store_read_begin(f->store, &reader), 0);
    struct page_walk walk = {{0, true, true}, {0}, 0};
    size_t before;
    do {
        before = walk.count.records;
        assert_int_equal(store_scan(reader, STORE_DB_MERCHANT_LINKS, walk.last, walk.last_bytes,
                                    (struct store_bytes){0}, 1, page_walk_cb, &walk), 0);
    } while (walk.count.records > before);
    store_read_end(reader);
    assert_true(walk.count.shaped);
    assert_int_equal(walk.count.records, 3);

    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_delete(txn, STORE_DB_MERCHANT_LINKS, key, sizeof(key)), 1);
    assert_int_equal(store_delete(txn, STORE_DB_MERCHANT_LINKS, key, sizeof(key)), 0);
    assert_int_equal(store_commit(txn), 0);
    assert_seq_tables(f, (const size_t[]){4, 2, 2, 2});
}

/* The business day turns at local midnight to the second, whatever the zone's offset: here
 * India's, half an hour off UTC's hours, and its midnight at 18:30 UTC. */
static void test_the_business_day_turns_at_local_midnight(void **state)
{
    (void)state;
    const char *zone = getenv("TZ");
    char *saved = zone ? strdup(zone) : NULL;
    setenv("TZ", "IST-5:30", 1);
    tzset();
    const int64_t before = INT64_C(1796581799) * 1000000; /* 2026-12-06 23:59:59 in India */
    char day[9];
    ledger_business_day(before, day);
    assert_string_equal(day, "20261206");
    ledger_business_day(before + 999999, day); /* the same second */
    assert_string_equal(day, "20261206");
    ledger_business_day(before + 1000000, day); /* midnight */
    assert_string_equal(day, "20261207");
    ledger_business_day(before + 999999, day); /* and back */
    assert_string_equal(day, "20261206");
    ledger_business_day(before + 1000000 - INT64_C(86400) * 1000000, day);
    assert_string_equal(day, "20261206");
    ledger_business_day(before - INT64_C(86400) * 1000000, day);
    assert_string_equal(day, "20261205");
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    free(saved);
    tzset();
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_person_numbers_are_unique),
        TEST(test_person_fields_are_validated),
        TEST(test_only_employees_get_one_account),
        TEST(test_credit_retry_with_same_reference_replays_without_moving_money),
        TEST(test_credit_reference_reused_with_other_content_is_a_conflict),
        TEST(test_credit_rejects_bad_amounts_and_unknown_accounts),
        TEST(test_every_change_is_one_chained_entry),
        TEST(test_chain_hash_is_sha256_of_previous_hash_and_entry_bytes),
        TEST(test_statement_pages_newest_first_and_oldest_first),
        TEST(test_statement_oldest_first_every_page_size),
        TEST(test_statement_with_a_missing_link_fails),
        TEST(test_day_pages_are_runs_of_the_log),
        TEST(test_a_merchant_day_is_a_chain_of_that_day),
        TEST(test_the_tables_keyed_by_seq_share_one_tree),
        cmocka_unit_test(test_the_business_day_turns_at_local_midnight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
