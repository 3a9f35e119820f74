/* verify_index.c -- keyed digests of what each derived table should hold and does hold. */
#include "verify_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool digest_same(const void *record, const void *key, size_t key_bytes)
{
    const struct digest_record *digest = record;
    return digest->key_bytes == key_bytes && memcmp(digest->key, key, key_bytes) == 0;
}

/* The record of `key`, made (with empty digests) when the key is new (*made says so, when
 * asked); NULL when out of memory. */
static struct digest_record *digest_find_made(struct digest_map *map, const void *key,
                                              size_t key_bytes, bool *made)
{
    if (map->records.record_bytes == 0)
        record_table_init(&map->records, sizeof(struct digest_record));
    bool created;
    struct digest_record *record =
        record_table_find(&map->records, table_digest_hash(key, key_bytes), key, key_bytes,
                          digest_same, true, &created);
    if (record && created) {
        if (!(record->key = malloc(key_bytes ? key_bytes : 1)))
            return NULL;
        memcpy(record->key, key, key_bytes);
        record->key_bytes = key_bytes;
    }
    if (made)
        *made = created;
    return record;
}

static struct digest_record *digest_find(struct digest_map *map, const void *key,
                                         size_t key_bytes)
{
    return digest_find_made(map, key, key_bytes, NULL);
}

struct digest_record *digest_amount_record(struct digest_map *map, const void *key,
                                           size_t key_bytes, bool *created)
{
    struct digest_record *record = digest_find_made(map, key, key_bytes, created);
    if (record)
        record->expected.count = 1;
    return record;
}

void digest_map_whole(struct digest_map *map)
{
    map->whole = true;
}

void digest_map_periodic(struct digest_map *map)
{
    map->periodic = true;
}

void digest_fold(struct digest_map *map)
{
    if (!map->periodic)
        return;
    for (size_t i = 0; i < map->records.count; i++) {
        struct digest_record *record = record_table_at(&map->records, i);
        struct table_digest_item sum = table_digest_one(record->expected.sum);
        table_digest_add(&map->total.expected, map->key, record->key, record->key_bytes, &sum);
        free(record->key);
    }
    record_table_free(&map->records);
}

int digest_add(struct digest_map *map, const void *key, size_t key_bytes,
               const struct table_digest_item *item, bool stored)
{
    if (map->whole) {
        table_digest_add(stored ? &map->total.stored : &map->total.expected, map->key, key,
                         key_bytes, item);
        return 0;
    }
    struct digest_record *record = digest_find(map, key, key_bytes);
    if (!record)
        return -1;
    struct table_digest *digest = stored ? &record->stored : &record->expected;
    table_digest_add(digest, map->key, key, key_bytes, item);
    return 0;
}

int digest_add_amount(struct digest_map *map, const void *key, size_t key_bytes,
                      int64_t amount, bool stored)
{
    if (map->periodic && stored) {
        struct table_digest_item sum = table_digest_one((uint64_t)amount);
        table_digest_add(&map->total.stored, map->key, key, key_bytes, &sum);
        return 0;
    }
    struct digest_record *record = digest_find(map, key, key_bytes);
    if (!record)
        return -1;
    struct table_digest *digest = stored ? &record->stored : &record->expected;
    digest->sum += (uint64_t)amount;
    /* One stored row per key, whatever its amount: a missing row with a zero balance is still
     * missing. */
    digest->count = stored ? digest->count + 1 : 1;
    return 0;
}

int digest_swap(struct digest_map *map, const void *key, size_t key_bytes,
                const struct table_digest_item *from, const struct table_digest_item *to)
{
    struct digest_record *record = digest_find(map, key, key_bytes);
    if (!record)
        return -1;
    record->expected.sum += table_digest_term(map->key, key, key_bytes, to) -
                            table_digest_term(map->key, key, key_bytes, from);
    return 0;
}

int digest_set(struct digest_map *map, const void *key, size_t key_bytes,
               const struct table_digest_item *item)
{
    struct digest_record *record = digest_find(map, key, key_bytes);
    if (!record)
        return -1;
    record->expected = (struct table_digest){0, 0};
    table_digest_add(&record->expected, map->key, key, key_bytes, item);
    return 0;
}

int64_t digest_expected_amount(struct digest_map *map, const void *key, size_t key_bytes)
{
    const struct digest_record *record = record_table_find(
        &map->records, table_digest_hash(key, key_bytes), key, key_bytes, digest_same, false, NULL);
    return record ? (int64_t)record->expected.sum : 0;
}

const struct digest_record *digest_first_difference(const struct digest_map *map)
{
    if (map->whole || map->periodic)
        return map->total.expected.count != map->total.stored.count ||
                       map->total.expected.sum != map->total.stored.sum
                   ? &map->total
                   : NULL;
    for (size_t i = 0; i < map->records.count; i++) {
        const struct digest_record *record = record_table_at(&map->records, i);
        if (record->expected.count != record->stored.count ||
            record->expected.sum != record->stored.sum)
            return record;
    }
    return NULL;
}

void digest_key_text(const struct digest_record *record, char *text, size_t text_bytes)
{
    size_t length = record->key_bytes < text_bytes - 1 ? record->key_bytes : text_bytes - 1;
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = record->key[i];
        text[i] = byte == 0 ? '/' : byte < 0x20 ? '?' : (char)byte;
    }
    text[length] = '\0';
}

void digest_map_free(struct digest_map *map)
{
    for (size_t i = 0; i < map->records.count; i++)
        free(((struct digest_record *)record_table_at(&map->records, i))->key);
    record_table_free(&map->records);
}
