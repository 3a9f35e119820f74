/* verify_index.c -- keyed digests of what each derived table should hold and does hold. */
#include "verify_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64's finaliser: items spread over 64 bits, so that sums of different sets differ. */
static uint64_t item_mix(uint64_t item)
{
    item += 0x9e3779b97f4a7c15u;
    item = (item ^ (item >> 30)) * 0xbf58476d1ce4e5b9u;
    item = (item ^ (item >> 27)) * 0x94d049bb133111ebu;
    return item ^ (item >> 31);
}

static uint64_t key_hash(const uint8_t *key, size_t bytes)
{
    uint64_t hash = 1469598103934665603u;
    for (size_t i = 0; i < bytes; i++)
        hash = (hash ^ key[i]) * 1099511628211u;
    return hash;
}

#define DIGEST_BLOCK 4096 /* records a block holds */

static struct digest_record *digest_at(const struct digest_map *map, size_t index)
{
    return &map->blocks[index / DIGEST_BLOCK][index % DIGEST_BLOCK];
}

/* Room for one more record: a new block when the last is full, a twice larger index when it
 * would be half full. Returns 0 or -1 (out of memory). */
static int digest_reserve(struct digest_map *map)
{
    if (map->count == map->block_count * DIGEST_BLOCK) {
        struct digest_record **grown =
            realloc(map->blocks, (map->block_count + 1) * sizeof(*grown));
        if (!grown)
            return -1;
        map->blocks = grown;
        if (!(grown[map->block_count] = calloc(DIGEST_BLOCK, sizeof(struct digest_record))))
            return -1;
        map->block_count++;
    }
    if ((map->count + 1) * 2 <= map->capacity)
        return 0;
    size_t capacity = map->capacity ? map->capacity * 2 : 256;
    uint64_t *slots = calloc(capacity, sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < map->count; i++) {
        uint64_t hash = digest_at(map, i)->hash;
        size_t slot = hash & (capacity - 1);
        while (slots[slot])
            slot = (slot + 1) & (capacity - 1);
        slots[slot] = (hash >> 32 << 32) | (i + 1);
    }
    free(map->slots);
    map->slots = slots;
    map->capacity = capacity;
    return 0;
}

/* The slot of `key`: its own, or the empty one where it would go. */
static size_t digest_slot(const struct digest_map *map, const void *key, size_t key_bytes,
                          uint64_t hash)
{
    size_t mask = map->capacity - 1, slot = hash & mask;
    for (; map->slots[slot]; slot = (slot + 1) & mask) {
        if (map->slots[slot] >> 32 != hash >> 32)
            continue;
        const struct digest_record *record = digest_at(map, (map->slots[slot] & 0xffffffffu) - 1);
        if (record->key_bytes == key_bytes && memcmp(record->key, key, key_bytes) == 0)
            break;
    }
    return slot;
}

/* The record of `key`, made (with empty digests) when the key is new; NULL when out of memory. */
static struct digest_record *digest_find(struct digest_map *map, const void *key,
                                         size_t key_bytes)
{
    if (digest_reserve(map) != 0)
        return NULL;
    uint64_t hash = key_hash(key, key_bytes);
    size_t slot = digest_slot(map, key, key_bytes, hash);
    if (map->slots[slot])
        return digest_at(map, (map->slots[slot] & 0xffffffffu) - 1);
    struct digest_record *record = digest_at(map, map->count);
    if (!(record->key = malloc(key_bytes ? key_bytes : 1)))
        return NULL;
    memcpy(record->key, key, key_bytes);
    record->key_bytes = key_bytes;
    record->hash = hash;
    map->slots[slot] = (hash >> 32 << 32) | ++map->count;
    return record;
}

int digest_add(struct digest_map *map, const void *key, size_t key_bytes, uint64_t item,
               bool stored)
{
    struct digest_record *record = digest_find(map, key, key_bytes);
    if (!record)
        return -1;
    struct digest *digest = stored ? &record->stored : &record->expected;
    digest->count++;
    digest->sum += item_mix(item);
    return 0;
}

int digest_add_amount(struct digest_map *map, const void *key, size_t key_bytes,
                      int64_t amount, bool stored)
{
    struct digest_record *record = digest_find(map, key, key_bytes);
    if (!record)
        return -1;
    struct digest *digest = stored ? &record->stored : &record->expected;
    digest->sum += (uint64_t)amount;
    /* One stored row per key, whatever its amount: a missing row with a zero balance is still
     * missing. */
    digest->count = stored ? digest->count + 1 : 1;
    return 0;
}

int digest_set(struct digest_map *map, const void *key, size_t key_bytes, uint64_t item)
{
    struct digest_record *record = digest_find(map, key, key_bytes);
    if (!record)
        return -1;
    record->expected = (struct digest){1, item_mix(item)};
    return 0;
}

int64_t digest_expected_amount(struct digest_map *map, const void *key, size_t key_bytes)
{
    if (map->capacity == 0)
        return 0;
    size_t slot = digest_slot(map, key, key_bytes, key_hash(key, key_bytes));
    return map->slots[slot]
               ? (int64_t)digest_at(map, (map->slots[slot] & 0xffffffffu) - 1)->expected.sum
               : 0;
}

const struct digest_record *digest_first_difference(const struct digest_map *map)
{
    for (size_t i = 0; i < map->count; i++) {
        const struct digest_record *record = digest_at(map, i);
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
    for (size_t i = 0; i < map->count; i++)
        free(digest_at(map, i)->key);
    for (size_t block = 0; block < map->block_count; block++)
        free(map->blocks[block]);
    free(map->blocks);
    free(map->slots);
    map->blocks = NULL;
    map->slots = NULL;
    map->block_count = map->count = map->capacity = 0;
}
