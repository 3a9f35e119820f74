/* test_record_table.c -- verify's record tables (client/record_table.h): records found by key
 * across blocks of every size, from malloc and from huge-page mappings alike; a record never
 * moves while the table and its index grow; a freed table starts again empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "record_table.h"

/* Records larger than a word and not a multiple of one, like verify's persons. */
struct record {
    uint64_t key;
    char text[44];
};

/* Enough records for blocks of 1,024 to 524,288 records (up to 34 MB): the large ones are
 * mapped on huge pages. */
#define RECORDS 1000000

static bool same_key(const void *record, const void *key, size_t key_bytes)
{
    return key_bytes == sizeof(uint64_t) &&
           ((const struct record *)record)->key == *(const uint64_t *)key;
}

/* Two keys share each hash: the table tells them apart by the records themselves. */
static uint64_t key_hash(uint64_t key)
{
    return (key >> 1) * 0x9e3779b97f4a7c15u;
}

static struct record *find(struct record_table *table, uint64_t key, bool create,
                           bool *created)
{
    return record_table_find(table, key_hash(key), &key, sizeof(key), same_key, create,
                             created);
}

static void test_records_found_and_never_moved(void **state)
{
    (void)state;
    static struct record *placed[RECORDS];
    struct record_table table;
    record_table_init(&table, sizeof(struct record));
    for (uint64_t key = 0; key < RECORDS; key++) {
        bool created;
        struct record *record = find(&table, key, true, &created);
        assert_non_null(record);
        assert_true(created);
        /* Every new record comes zeroed, whichever memory its block is in. */
        assert_int_equal(record->key, 0);
        assert_int_equal(record->text[sizeof(record->text) - 1], 0);
        record->key = key;
        snprintf(record->text, sizeof(record->text), "record %llu", (unsigned long long)key);
        placed[key] = record;
    }
    assert_int_equal(table.count, RECORDS);
    for (uint64_t key = 0; key < RECORDS; key++) {
        bool created;
        struct record *record = find(&table, key, true, &created);
        assert_ptr_equal(record, placed[key]);
        assert_false(created);
        assert_ptr_equal(record_table_at(&table, key), placed[key]);
        char text[sizeof(record->text)];
        snprintf(text, sizeof(text), "record %llu", (unsigned long long)key);
        assert_string_equal(record->text, text);
    }
    assert_null(find(&table, RECORDS, false, NULL));
    assert_int_equal(table.count, RECORDS);

    record_table_free(&table);
    assert_int_equal(table.count, 0);
    assert_null(find(&table, 7, false, NULL));
    struct record *again = find(&table, 7, true, NULL);
    assert_non_null(again);
    assert_int_equal(again->key, 0);
    assert_ptr_equal(record_table_at(&table, 0), again);
    record_table_free(&table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_found_and_never_moved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
