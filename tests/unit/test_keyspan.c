/* test_keyspan.c -- keys as numbers (daemon/keyspan.h): the numbers never go backwards, over
 * keys of every shape, inside and outside the sample's alphabet and prefix; the keys made of
 * numbers never go backwards either; and a page of person numbers laid end to end reaches
 * about as far ahead as as many keys do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyspan.h"

#define KEYS_MAX 120000

struct key {
    uint8_t bytes[KEYSPAN_KEY_MAX];
    size_t size;
};

/* LMDB's default order: bytes, then the shorter first. */
static int key_order(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    size_t shorter = x->size < y->size ? x->size : y->size;
    int order = memcmp(x->bytes, y->bytes, shorter);
    if (order)
        return order;
    return (x->size > y->size) - (x->size < y->size);
}

static struct key key_text(const char *text)
{
    struct key key;
    key.size = strlen(text);
    memcpy(key.bytes, text, key.size);
    return key;
}

static struct store_bytes bytes_of(const struct key *key)
{
    return (struct store_bytes){key->bytes, key->size};
}

/* Keys like the benchmark's person numbers: a prefix and a number without leading zeros. */
static size_t person_numbers(struct key *keys, const char *prefix, long count)
{
    char text[64];
    for (long i = 0; i < count; i++) {
        snprintf(text, sizeof(text), "%s%ld", prefix, i);
        keys[i] = key_text(text);
    }
    qsort(keys, (size_t)count, sizeof(*keys), key_order);
    return (size_t)count;
}

static void fit_on(struct keyspan *span, const struct key *keys, size_t count)
{
    struct store_bytes *sample = calloc(count, sizeof(*sample));
    assert_non_null(sample);
    for (size_t i = 0; i < count; i++)
        sample[i] = bytes_of(&keys[i]);
    assert_true(keyspan_fit(span, sample, count));
    free(sample);
}

static uint64_t value_of(const struct keyspan *span, const struct key *key)
{
    return keyspan_value(span, key->bytes, key->size);
}

static void test_values_never_go_backwards(void **state)
{
    (void)state;
    static struct key keys[KEYS_MAX];
    size_t count = person_numbers(keys, "BP", 100000);
    /* Keys of other shapes among them: before and after the prefix, bytes outside the
     * sample's alphabet, the prefix alone, long keys, a zero byte. */
    const char *others[] = {"", "A", "BO999", "BP", "BP0", "BP1!", "BP1~", "BP1~0", "BP1:",
                            "BP5\x7f", "BP99999999999999999999999", "BQ", "C", "BP1a2b3c",
                            "BP12345678901234567890x"};
    for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++)
        keys[count++] = key_text(others[i]);
    keys[count].size = 4;
    memcpy(keys[count++].bytes, "BP3\0", 4);
    qsort(keys, count, sizeof(*keys), key_order);
    /* Fitted on pages from several places, each over every key. */
    for (size_t from = 1000; from + 1000 < count; from += 23456) {
        struct keyspan span;
        fit_on(&span, &keys[from], 1000);
        assert_true(span.ends);
        for (size_t i = 1; i < count; i++)
            assert_true(value_of(&span, &keys[i - 1]) <= value_of(&span, &keys[i]));
        assert_int_equal(value_of(&span, &keys[0]), 0);
        assert_true(value_of(&span, &keys[from]) < value_of(&span, &keys[from + 999]));
    }
    /* Fitted on keys of one length, over keys of every length. */
    static struct key fixed[1000];
    char text[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "BP%07d", 3000000 + i * 37);
        fixed[i] = key_text(text);
    }
    struct keyspan span;
    fit_on(&span, fixed, 1000);
    assert_false(span.ends);
    for (size_t i = 1; i < count; i++)
        assert_true(value_of(&span, &keys[i - 1]) <= value_of(&span, &keys[i]));
}

/* From 0 past the last number, in uneven steps, of a space fitted on `keys`. */
static void keys_of_values_checked(const struct key *keys, size_t count)
{
    struct keyspan span;
    fit_on(&span, keys, count);
    struct key previous = {.size = 0};
    srand(7);
    uint64_t value = 0;
    for (int i = 0; i < 100000 && value <= span.max; i++) {
        struct key key;
        key.size = keyspan_key(&span, value, key.bytes);
        assert_true(key_order(&previous, &key) <= 0);
        /* A key made of a number gives that number back, but for what follows an "ended". */
        uint64_t again = value_of(&span, &key);
        assert_true(again <= value);
        struct key same;
        same.size = keyspan_key(&span, again, same.bytes);
        assert_int_equal(key_order(&key, &same), 0);
        previous = key;
        value += 1 + ((uint64_t)rand() << 20) % (span.max / 50000 + 1);
    }
    /* Past the space: its last key, and never beyond the longest key. */
    struct key last;
    last.size = keyspan_key(&span, UINT64_MAX, last.bytes);
    assert_true(last.size <= KEYSPAN_KEY_MAX);
    assert_int_equal(value_of(&span, &last), span.max);
}

static void test_keys_of_values_never_go_backwards(void **state)
{
    (void)state;
    static struct key keys[KEYS_MAX];
    person_numbers(keys, "BP", 100000);
    keys_of_values_checked(&keys[50000], 1000); /* of every length */
    char text[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "3301%014d", i * 7919);
        keys[i] = key_text(text);
    }
    keys_of_values_checked(keys, 1000); /* of one length */
}

static void test_nothing_to_fit(void **state)
{
    (void)state;
    struct keyspan span;
    struct key a = key_text("BP100"), b = key_text("BP100");
    struct store_bytes one[] = {bytes_of(&a)};
    assert_false(keyspan_fit(&span, one, 1));
    struct store_bytes same[] = {bytes_of(&a), bytes_of(&b)};
    assert_false(keyspan_fit(&span, same, 2));
    uint8_t huge[KEYSPAN_KEY_MAX + 1];
    memset(huge, 'x', sizeof(huge));
    struct store_bytes too_long[] = {bytes_of(&a), {huge, sizeof(huge)}};
    assert_false(keyspan_fit(&span, too_long, 2));
}

/* Where in `keys` the first key at or after `key` is. */
static size_t position(const struct key *keys, size_t count, const struct key *key)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (key_order(&keys[middle], key) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

/* How many keys further than page `from` (1,000 keys) the page laid end to end sixteen times
 * reaches: 16,000 when the keys ahead are as dense as the page's. */
static size_t reach(const struct key *keys, size_t count, size_t from)
{
    struct keyspan span;
    fit_on(&span, &keys[from], 1000);
    uint64_t first = value_of(&span, &keys[from]);
    uint64_t last = value_of(&span, &keys[from + 999]);
    struct key end;
    end.size = keyspan_key(&span, last + 16 * (last - first), end.bytes);
    return position(keys, count, &end) - (from + 1000);
}

static int size_order(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Person numbers of one length (as real ones are: 18 digits), denser in one half than in the
 * other: decimal digits of one length are numbers exactly, so the page laid end to end reaches
 * just the keys whose numbers lie within sixteen times its stretch, wherever it is. */
static void test_fixed_length_numbers_are_reached_exactly(void **state)
{
    (void)state;
    static struct key keys[KEYS_MAX];
    static long numbers[KEYS_MAX];
    char text[32];
    for (long i = 0; i < 100000; i++) {
        numbers[i] = i < 50000 ? i * 7919 : 50000 * 7919 + (i - 50000) * 104729;
        snprintf(text, sizeof(text), "3301%014ld", numbers[i]);
        keys[i] = key_text(text);
    }
    for (size_t from = 0; from + 1000 < 80000; from += 3917) {
        long end = numbers[from + 999] + 16 * (numbers[from + 999] - numbers[from]);
        size_t within = 0;
        for (size_t i = from + 1000; i < 100000 && numbers[i] <= end; i++)
            within++;
        assert_int_equal(reach(keys, 100000, from), within);
    }
}

/* Numbers without leading zeros (the benchmark's) sort unevenly: "BP1999" then "BP2". A page
 * that spans such a step is a poor sample, but the middle estimate is still of the right
 * size, and none reaches past the end. */
static void test_numbers_of_every_length_are_reached_roughly(void **state)
{
    (void)state;
    static struct key keys[KEYS_MAX];
    size_t count = person_numbers(keys, "BP", 100000);
    size_t reached[32], pages = 0;
    for (size_t from = 3917; from + 1000 < 80000; from += 3917)
        reached[pages++] = reach(keys, count, from);
    qsort(reached, pages, sizeof(*reached), size_order);
    assert_in_range(reached[pages / 2], 4000, 32000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_never_go_backwards),
        cmocka_unit_test(test_keys_of_values_never_go_backwards),
        cmocka_unit_test(test_nothing_to_fit),
        cmocka_unit_test(test_fixed_length_numbers_are_reached_exactly),
        cmocka_unit_test(test_numbers_of_every_length_are_reached_roughly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
