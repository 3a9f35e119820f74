/* test_arena.c -- memory kept for the next use (daemon/arena.h, daemon/staged.h): an arena
 * rewound keeps blocks up to what it was told and serves the next like use from them without
 * the heap; one past that, or blocks of a size no next use takes, go back. A transaction's
 * staged records come from such an arena: many transactions of one size take nothing from the
 * heap after the first, failures to allocate change nothing, and a transaction far larger than
 * the rest leaves the ones after it as right as before. Allocations are counted (and failed)
 * through the linker's --wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_wrap.h"
#include "arena.h"
#include "famledger_status.h"
#include "staged.h"

/* ---- The arena ---- */

static void fill(struct arena *arena, unsigned allocations, size_t bytes, uint8_t mark)
{
    for (unsigned i = 0; i < allocations; i++)
        memset(arena_alloc(arena, bytes), mark, bytes);
}

static void test_a_rewound_arena_serves_a_like_use_from_the_blocks_it_kept(void **state)
{
    (void)state;
    struct arena arena, fresh;
    arena_init(&arena);
    arena_init(&fresh);
    heap_takes = 0;
    fill(&fresh, 200, 200, 0);
    long twice = heap_takes;
    heap_takes = 0;
    fill(&arena, 100, 200, 1); /* about 20 KiB: three blocks */
    long first = heap_takes;
    assert_true(first >= 3 && twice > first);
    arena_rewind(&arena, 64 * 1024);
    heap_takes = 0;
    fill(&arena, 100, 200, 2);
    assert_int_equal(heap_takes, 0);
    arena_rewind(&arena, 64 * 1024);
    fill(&arena, 100, 200, 3);
    assert_int_equal(heap_takes, 0);
    /* A use twice as large takes from the heap only what the kept blocks lack. */
    arena_rewind(&arena, 64 * 1024);
    fill(&arena, 200, 200, 4);
    assert_int_equal(heap_takes, twice - first);
    arena_free(&arena);
    arena_free(&fresh);
}

static void test_an_arena_keeps_no_more_than_it_is_told(void **state)
{
    (void)state;
    struct arena arena;
    arena_init(&arena);
    fill(&arena, 400, 200, 1); /* about 80 KiB */
    arena_rewind(&arena, 8192); /* one block */
    heap_takes = 0;
    fill(&arena, 400, 200, 2);
    assert_true(heap_takes >= 8); /* all but one block came from the heap again */
    /* A block made for one large allocation is not kept: no later use of the usual size
     * would take it whole. */
    arena_reset(&arena);
    memset(arena_alloc(&arena, 100000), 5, 100000);
    arena_reset(&arena);
    heap_takes = 0;
    memset(arena_alloc(&arena, 100000), 6, 100000);
    assert_int_equal(heap_takes, 1);
    /* arena_reset keeps one block: a request's reply fits in it. */
    arena_reset(&arena);
    heap_takes = 0;
    fill(&arena, 20, 200, 7);
    assert_int_equal(heap_takes, 0);
    arena_free(&arena);
}

static void test_text_in_a_kept_block_is_whole(void **state)
{
    (void)state;
    struct arena arena;
    arena_init(&arena);
    for (int round = 0; round < 50; round++) {
        char *texts[300];
        for (int i = 0; i < 300; i++)
            texts[i] = arena_printf(&arena, "round %d text %d", round, i);
        for (int i = 0; i < 300; i++) {
            char expected[64];
            snprintf(expected, sizeof(expected), "round %d text %d", round, i);
            assert_string_equal(texts[i], expected);
        }
        arena_rewind(&arena, 16 * 1024);
    }
    arena_free(&arena);
}

/* ---- A transaction's staged records ---- */

static struct overlay_record record_of(const char *key, const char *value)
{
    return (struct overlay_record){.table = 1,
                                   .key = (const uint8_t *)key,
                                   .key_bytes = strlen(key),
                                   .value = (const uint8_t *)value,
                                   .value_bytes = value ? strlen(value) : 0,
                                   .deleted = value == NULL};
}

static void put(struct staged *staged, struct staged_version **level, unsigned depth,
                const char *key, const char *value)
{
    struct overlay_record record = record_of(key, value);
    assert_int_equal(staged_put(staged, level, depth, &record), 0);
}

/* What the innermost transaction sees of `key`: its value, "(deleted)", or NULL. */
static const char *seen(struct staged *staged, const char *key, char *buffer, size_t bytes)
{
    struct overlay_record record;
    if (!staged_get(staged, 1, key, strlen(key), &record))
        return NULL;
    if (record.deleted)
        return "(deleted)";
    snprintf(buffer, bytes, "%.*s", (int)record.value_bytes, (const char *)record.value);
    return buffer;
}

static void assert_seen(struct staged *staged, const char *key, const char *expected)
{
    char buffer[128];
    const char *value = seen(staged, key, buffer, sizeof(buffer));
    if (!expected)
        assert_null(value);
    else
        assert_string_equal(value, expected);
}

/* One batch's like transaction: 300 keys, each put twice, a nested level that commits and one
 * that aborts. */
static void batch(struct staged *staged, int round)
{
    struct staged_version *top = NULL, *child = NULL;
    char key[32], value[64];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "account-%d", i);
        snprintf(value, sizeof(value), "round %d first %d", round, i);
        put(staged, &top, 0, key, value);
        snprintf(value, sizeof(value), "round %d balance %d", round, i);
        put(staged, &top, 0, key, value);
    }
    put(staged, &child, 1, "account-1", "child kept");
    put(staged, &child, 1, "account-new", "child made");
    staged_level_commit(&child, 1, &top);
    put(staged, &child, 1, "account-2", NULL);
    put(staged, &child, 1, "account-gone", "child dropped");
    staged_level_abort(&child);
    assert_int_equal(staged_count(top), 301);
    assert_seen(staged, "account-1", "child kept");
    assert_seen(staged, "account-new", "child made");
    assert_seen(staged, "account-gone", NULL);
    snprintf(value, sizeof(value), "round %d balance %d", round, 2);
    assert_seen(staged, "account-2", value);
    snprintf(value, sizeof(value), "round %d balance %d", round, 299);
    assert_seen(staged, "account-299", value);
    staged_clear(staged);
    assert_seen(staged, "account-1", NULL);
}

static void test_like_transactions_take_nothing_from_the_heap_after_the_first(void **state)
{
    (void)state;
    struct staged *staged;
    assert_int_equal(staged_new(&staged), 0);
    batch(staged, 0);
    heap_takes = 0;
    for (int round = 1; round < 20; round++)
        batch(staged, round);
    assert_int_equal(heap_takes, 0);
    staged_free(staged);
}

static void test_a_put_that_cannot_allocate_changes_nothing(void **state)
{
    (void)state;
    struct staged *staged;
    assert_int_equal(staged_new(&staged), 0);
    struct staged_version *top = NULL;
    put(staged, &top, 0, "kept", "before");
    char key[32];
    int failed = 0;
    /* Fresh keys until their blocks run out, each put failing at its first heap take. */
    for (int i = 0; i < 2000 && failed < 3; i++) {
        snprintf(key, sizeof(key), "fresh-%d", i);
        struct overlay_record record = record_of(key, "value");
        allocations_before_failure = 0;
        int rc = staged_put(staged, &top, 0, &record);
        allocations_before_failure = -1;
        if (rc == 0) {
            assert_seen(staged, key, "value");
            continue;
        }
        assert_int_equal(rc, FL_ERR_INTERNAL);
        assert_seen(staged, key, NULL);
        failed++;
    }
    assert_int_equal(failed, 3);
    assert_seen(staged, "kept", "before");
    put(staged, &top, 0, "kept", "after");
    assert_seen(staged, "kept", "after");
    staged_clear(staged);
    staged_free(staged);
}

static void test_a_transaction_far_larger_than_the_rest_leaves_the_next_right(void **state)
{
    (void)state;
    struct staged *staged;
    assert_int_equal(staged_new(&staged), 0);
    struct staged_version *top = NULL;
    char key[32], value[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof(key), "person-%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        put(staged, &top, 0, key, value);
    }
    assert_int_equal(staged_count(top), 50000);
    assert_seen(staged, "person-49999", "v49999");
    staged_clear(staged);
    for (int round = 0; round < 3; round++) {
        top = NULL;
        put(staged, &top, 0, "person-7", "small");
        assert_seen(staged, "person-7", "small");
        assert_seen(staged, "person-8", NULL);
        assert_seen(staged, "person-49999", NULL);
        assert_int_equal(staged_count(top), 1);
        staged_clear(staged);
        batch(staged, round);
    }
    staged_free(staged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_rewound_arena_serves_a_like_use_from_the_blocks_it_kept),
        cmocka_unit_test(test_an_arena_keeps_no_more_than_it_is_told),
        cmocka_unit_test(test_text_in_a_kept_block_is_whole),
        cmocka_unit_test(test_like_transactions_take_nothing_from_the_heap_after_the_first),
        cmocka_unit_test(test_a_put_that_cannot_allocate_changes_nothing),
        cmocka_unit_test(test_a_transaction_far_larger_than_the_rest_leaves_the_next_right),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
