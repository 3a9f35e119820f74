/* staged.c -- a write transaction's changes to the tables kept in memory (staged.h). */
#include "staged.h"

#include "arena.h"
#include "famledger_status.h"
#include "require.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* One version of a key, put at one depth; older: the version an outer transaction put. */
struct staged_version {
    struct staged_version *older;
    struct staged_version *next; /* in its depth's list */
    struct staged_key *owner;
    uint8_t *value; /* in the arena; NULL when deleted */
    size_t bytes;
    unsigned depth;
    bool deleted;
};

struct staged_key {
    struct staged_version *top; /* the innermost version; NULL: none now */
    uint8_t table;
    size_t key_bytes;
    uint8_t key[];
};

/* Keys, versions and values live in an arena until the top-level transaction ends: a batch's
 * hundreds of records are not each taken from the heap and given back. A version replaced or
 * aborted leaves its bytes there until then. */
struct staged {
    struct staged_key **slots; /* open addressing, linear probing; a power of two */
    size_t capacity, count;
    struct arena arena;
    uint8_t hash_key[OVERLAY_HASH_KEY_BYTES];
};

#define STAGED_CAPACITY_FIRST 1024
/* What the arena keeps for the next transaction: a batch of a few hundred settlements. */
#define STAGED_ARENA_KEEP_BYTES (1u << 20)

int staged_new(struct staged **out)
{
    struct staged *staged = calloc(1, sizeof(*staged));
    if (staged)
        staged->slots = calloc(STAGED_CAPACITY_FIRST, sizeof(*staged->slots));
    if (!staged || !staged->slots) {
        free(staged);
        return FL_ERR_INTERNAL;
    }
    staged->capacity = STAGED_CAPACITY_FIRST;
    arena_init(&staged->arena);
    crypto_shorthash_keygen(staged->hash_key);
    *out = staged;
    return 0;
}

void staged_free(struct staged *staged)
{
    if (!staged)
        return;
    staged_clear(staged);
    arena_free(&staged->arena);
    free(staged->slots);
    free(staged);
}

/* The slot of the key, or the empty slot where it would go. */
static size_t staged_slot(const struct staged *staged, uint8_t table, const void *key,
                          size_t key_bytes)
{
    size_t mask = staged->capacity - 1;
    size_t slot = overlay_key_hash(staged->hash_key, table, key, key_bytes) & mask;
    for (const struct staged_key *at; (at = staged->slots[slot]) != NULL;
         slot = (slot + 1) & mask)
        if (at->table == table && at->key_bytes == key_bytes &&
            memcmp(at->key, key, key_bytes) == 0)
            break;
    return slot;
}

static int staged_grow(struct staged *staged)
{
    struct staged_key **old = staged->slots;
    size_t old_capacity = staged->capacity;
    struct staged_key **slots = calloc(old_capacity * 2, sizeof(*slots));
    if (!slots)
        return FL_ERR_INTERNAL;
    staged->slots = slots;
    staged->capacity = old_capacity * 2;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i])
            slots[staged_slot(staged, old[i]->table, old[i]->key, old[i]->key_bytes)] = old[i];
    free(old);
    return 0;
}

int staged_get(const struct staged *staged, uint8_t table, const void *key, size_t key_bytes,
               struct overlay_record *out)
{
    const struct staged_key *found = staged->slots[staged_slot(staged, table, key, key_bytes)];
    if (!found || !found->top)
        return 0;
    const struct staged_version *top = found->top;
    *out = (struct overlay_record){.table = table,
                                   .key = found->key,
                                   .key_bytes = found->key_bytes,
                                   .value = top->value,
                                   .value_bytes = top->bytes,
                                   .deleted = top->deleted};
    return 1;
}

int staged_put(struct staged *staged, struct staged_version **level, unsigned depth,
               const struct overlay_record *record)
{
    REQUIRE(record->deleted ? record->value == NULL : record->value || !record->value_bytes);
    if ((staged->count + 1) * 2 > staged->capacity && staged_grow(staged) != 0)
        return FL_ERR_INTERNAL;
    size_t slot = staged_slot(staged, record->table, record->key, record->key_bytes);
    struct staged_key *key = staged->slots[slot];
    struct staged_version *top = key ? key->top : NULL;
    bool replace = top && top->depth == depth;
    REQUIRE(!top || top->depth <= depth); /* a deeper transaction ended before this put */
    size_t bytes = record->deleted ? 0 : record->value_bytes;
    uint8_t *value = record->deleted ? NULL : arena_try_alloc(&staged->arena, bytes ? bytes : 1);
    struct staged_version *version =
        replace ? top : arena_try_alloc(&staged->arena, sizeof(*version));
    struct staged_key *made =
        key ? NULL : arena_try_alloc(&staged->arena, sizeof(*made) + record->key_bytes);
    if ((!record->deleted && !value) || !version || (!key && !made))
        return FL_ERR_INTERNAL; /* what was taken stays in the arena until staged_clear */
    if (made) {
        *made = (struct staged_key){.table = record->table, .key_bytes = record->key_bytes};
        memcpy(made->key, record->key, record->key_bytes);
        staged->slots[slot] = key = made;
        staged->count++;
    }
    if (bytes)
        memcpy(value, record->value, bytes);
    if (!replace) {
        *version = (struct staged_version){.older = top, .next = *level, .owner = key,
                                           .depth = depth};
        *level = version;
        key->top = version;
    }
    version->value = value;
    version->bytes = bytes;
    version->deleted = record->deleted;
    return 0;
}

void staged_level_commit(struct staged_version **child, unsigned depth,
                         struct staged_version **parent)
{
    REQUIRE(depth > 0);
    struct staged_version *version = *child, *next;
    for (; version; version = next) {
        next = version->next;
        struct staged_key *key = version->owner;
        REQUIRE(key->top == version && version->depth == depth);
        struct staged_version *older = version->older;
        if (older && older->depth == depth - 1) {
            /* The parent's version takes this one's value, and stays in the parent's list. */
            older->value = version->value;
            older->bytes = version->bytes;
            older->deleted = version->deleted;
            key->top = older;
        } else {
            version->depth = depth - 1;
            version->next = *parent;
            *parent = version;
        }
    }
    *child = NULL;
}

void staged_level_abort(struct staged_version **level)
{
    struct staged_version *version = *level, *next;
    for (; version; version = next) {
        next = version->next;
        REQUIRE(version->owner->top == version);
        version->owner->top = version->older;
    }
    *level = NULL;
}

size_t staged_count(const struct staged_version *level)
{
    size_t count = 0;
    for (; level; level = level->next)
        count++;
    return count;
}

void staged_records(const struct staged_version *level, struct overlay_record *out)
{
    for (; level; level = level->next, out++) {
        REQUIRE(level->depth == 0 && level->owner->top == level);
        *out = (struct overlay_record){.table = level->owner->table,
                                       .key = level->owner->key,
                                       .key_bytes = level->owner->key_bytes,
                                       .value = level->value,
                                       .value_bytes = level->bytes,
                                       .deleted = level->deleted};
    }
}

void staged_clear(struct staged *staged)
{
    /* First, as a put that failed may have taken from it without making a key. */
    arena_rewind(&staged->arena, STAGED_ARENA_KEEP_BYTES);
    if (staged->count == 0)
        return;
    struct staged_key **smaller = NULL;
    /* A transaction far larger than the usual (a migration's batch) grew the table: the next
     * would otherwise clear all of it. Kept as it is when memory is short. */
    if (staged->capacity > STAGED_CAPACITY_FIRST && staged->count * 16 < staged->capacity)
        smaller = calloc(STAGED_CAPACITY_FIRST, sizeof(*smaller));
    if (smaller) {
        free(staged->slots);
        staged->slots = smaller;
        staged->capacity = STAGED_CAPACITY_FIRST;
    } else {
        memset(staged->slots, 0, staged->capacity * sizeof(*staged->slots));
    }
    staged->count = 0;
}

/* ---- The journal's records ---- */

#define JOURNAL_HEADER_BYTES 8

size_t staged_journal_bytes(const struct overlay_record *records, size_t count)
{
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += JOURNAL_HEADER_BYTES + records[i].key_bytes +
                 (records[i].deleted ? 0 : records[i].value_bytes);
    return bytes;
}

static void put_be(uint8_t *out, uint64_t value, size_t bytes)
{
    for (size_t i = bytes; i-- > 0; value >>= 8)
        out[i] = (uint8_t)value;
}

static uint64_t get_be(const uint8_t *in, size_t bytes)
{
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; i++)
        value = value << 8 | in[i];
    return value;
}

void staged_journal_encode(const struct overlay_record *records, size_t count, uint8_t *out)
{
    for (size_t i = 0; i < count; i++) {
        const struct overlay_record *record = &records[i];
        size_t value_bytes = record->deleted ? 0 : record->value_bytes;
        REQUIRE(record->key_bytes <= UINT16_MAX && value_bytes <= UINT32_MAX);
        out[0] = record->table;
        out[1] = record->deleted;
        put_be(out + 2, record->key_bytes, 2);
        put_be(out + 4, value_bytes, 4);
        out += JOURNAL_HEADER_BYTES;
        memcpy(out, record->key, record->key_bytes);
        out += record->key_bytes;
        if (value_bytes)
            memcpy(out, record->value, value_bytes);
        out += value_bytes;
    }
}

/* The record at `*at` of `bytes`, moving `*at` past it: false when it is not one. */
static bool journal_record_read(const uint8_t *bytes, size_t size, size_t *at, uint8_t tables,
                                size_t key_bytes_max, struct overlay_record *out)
{
    if (size - *at < JOURNAL_HEADER_BYTES)
        return false;
    const uint8_t *header = bytes + *at;
    size_t key_bytes = (size_t)get_be(header + 2, 2), value_bytes = (size_t)get_be(header + 4, 4);
    size_t left = size - *at - JOURNAL_HEADER_BYTES;
    if (header[0] >= tables || header[1] > 1 || key_bytes > key_bytes_max || key_bytes > left ||
        value_bytes > left - key_bytes || (header[1] && value_bytes))
        return false;
    const uint8_t *key = header + JOURNAL_HEADER_BYTES;
    *out = (struct overlay_record){.table = header[0],
                                   .key = key,
                                   .key_bytes = key_bytes,
                                   .value = header[1] ? NULL : key + key_bytes,
                                   .value_bytes = value_bytes,
                                   .deleted = header[1]};
    *at += JOURNAL_HEADER_BYTES + key_bytes + value_bytes;
    return true;
}

int staged_journal_decode(const uint8_t *bytes, size_t size, uint8_t tables, size_t key_bytes_max,
                          int (*visit_cb)(void *context, const struct overlay_record *record),
                          void *context)
{
    struct overlay_record record;
    size_t at = 0;
    while (at < size) /* the whole record first: nothing is visited in a damaged one */
        if (!journal_record_read(bytes, size, &at, tables, key_bytes_max, &record))
            return FL_ERR_INTERNAL;
    int rc = 0;
    for (at = 0; at < size && rc == 0;) {
        journal_record_read(bytes, size, &at, tables, key_bytes_max, &record);
        rc = visit_cb(context, &record);
    }
    return rc;
}
