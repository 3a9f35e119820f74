/* record_table.c -- records in blocks, found through a compact index (record_table.h). */
#include "record_table.h"

#include "model_memory.h"

/* Block b holds RECORD_TABLE_FIRST << b records: each block as large as all before it, so a
 * record's block and place follow from its number, and a table of millions of records lives in
 * a few dozen blocks. */
#define RECORD_TABLE_FIRST 1024

/* A record is stored after its key's full hash, which growing the index needs. */
static size_t record_stride(const struct record_table *table)
{
    return sizeof(uint64_t) + (table->record_bytes + 7) / 8 * 8;
}

static size_t block_records(size_t block)
{
    return (size_t)RECORD_TABLE_FIRST << block;
}

/* The hash before record `index`: block b starts at record FIRST * (2^b - 1). */
static uint64_t *record_hash(const struct record_table *table, size_t index)
{
    size_t ordinal = index / RECORD_TABLE_FIRST + 1; /* in [2^b, 2^(b+1)) */
    size_t block = (size_t)(63 - __builtin_clzll(ordinal));
    size_t within = index - RECORD_TABLE_FIRST * (((size_t)1 << block) - 1);
    return (uint64_t *)(void *)(table->blocks[block] + within * record_stride(table));
}

void record_table_init(struct record_table *table, size_t record_bytes)
{
    *table = (struct record_table){.record_bytes = record_bytes};
}

void *record_table_at(const struct record_table *table, size_t index)
{
    return record_hash(table, index) + 1;
}

size_t record_table_index(const struct record_table *table, const void *record)
{
    uintptr_t at = (uintptr_t)record - sizeof(uint64_t); /* its hash comes first */
    size_t stride = record_stride(table);
    for (size_t block = 0; block < table->block_count; block++) {
        uintptr_t start = (uintptr_t)table->blocks[block];
        if (at >= start && at < start + block_records(block) * stride)
            return RECORD_TABLE_FIRST * (((size_t)1 << block) - 1) + (at - start) / stride;
    }
    return SIZE_MAX; /* not a record of the table: a caller's mistake */
}

/* Room for one more record: a new block when the last is full, a twice larger index when it
 * would be half full (every slot placed again; no record moves). Returns 0 or -1. */
static int record_table_reserve(struct record_table *table)
{
    if (table->count == RECORD_TABLE_FIRST * (((size_t)1 << table->block_count) - 1)) {
        if (table->block_count == RECORD_TABLE_BLOCKS_MAX)
            return -1;
        char *block = model_memory_zeroed(block_records(table->block_count) * record_stride(table));
        if (!block)
            return -1;
        table->blocks[table->block_count++] = block;
    }
    if ((table->count + 1) * 2 <= table->capacity)
        return 0;
    size_t capacity = table->capacity ? table->capacity * 2 : 256;
    uint64_t *slots = model_memory_zeroed(capacity * sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < table->count; i++) {
        uint64_t hash = *record_hash(table, i);
        size_t slot = hash & (capacity - 1);
        while (slots[slot])
            slot = (slot + 1) & (capacity - 1);
        slots[slot] = (hash >> 32 << 32) | (i + 1);
    }
    model_memory_release(table->slots, table->capacity * sizeof(*table->slots));
    table->slots = slots;
    table->capacity = capacity;
    return 0;
}

void *record_table_find(struct record_table *table, uint64_t hash, const void *key,
                        size_t key_bytes, record_same same, bool create, bool *created)
{
    if (created)
        *created = false;
    if (create && record_table_reserve(table) != 0)
        return NULL;
    if (table->capacity == 0)
        return NULL;
    size_t mask = table->capacity - 1, slot = hash & mask;
    for (; table->slots[slot]; slot = (slot + 1) & mask) {
        uint64_t entry = table->slots[slot];
        if (entry >> 32 != hash >> 32)
            continue;
        void *record = record_table_at(table, (entry & 0xffffffffu) - 1);
        if (same(record, key, key_bytes))
            return record;
    }
    if (!create)
        return NULL;
    *record_hash(table, table->count) = hash;
    table->slots[slot] = (hash >> 32 << 32) | ++table->count;
    if (created)
        *created = true;
    return record_table_at(table, table->count - 1);
}

void record_table_prefetch(const struct record_table *table, uint64_t hash, bool record)
{
    if (table->capacity == 0)
        return;
    size_t mask = table->capacity - 1, slot = hash & mask;
    if (!record) {
        __builtin_prefetch(&table->slots[slot]);
        return;
    }
    for (; table->slots[slot]; slot = (slot + 1) & mask) {
        uint64_t entry = table->slots[slot];
        if (entry >> 32 == hash >> 32) {
            const char *at = record_table_at(table, (entry & 0xffffffffu) - 1);
            __builtin_prefetch(at);
            __builtin_prefetch(at + table->record_bytes - 1);
            return;
        }
    }
}

void record_table_free(struct record_table *table)
{
    for (size_t block = 0; block < table->block_count; block++)
        model_memory_release(table->blocks[block], block_records(block) * record_stride(table));
    model_memory_release(table->slots, table->capacity * sizeof(*table->slots));
    record_table_init(table, table->record_bytes);
}
