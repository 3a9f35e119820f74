/* record_table.h -- records in the order they came, in blocks that never move (a pointer to a
 * record stays valid), each block twice the one before and the large ones on huge pages; found
 * by key through a compact open-addressing index: a slot is 8 bytes, the top 32 bits of the
 * key's hash and the record's number, so a probe touches a record only when the hash matches,
 * and growing the index moves no record. verify keeps its persons and the digests of every
 * index it rebuilds in these. */
#ifndef FAMLEDGER_RECORD_TABLE_H
#define FAMLEDGER_RECORD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Blocks of 1024, 2048, ... records: 22 of them hold 2^32 - 1024 records, fewer than the
 * 2^32 - 1 a slot can number. */
#define RECORD_TABLE_BLOCKS_MAX 22

struct record_table {
    size_t record_bytes;
    char *blocks[RECORD_TABLE_BLOCKS_MAX]; /* records, each after its key's hash */
    size_t block_count, count;
    uint64_t *slots;     /* top 32 bits of the hash | the record's number + 1; 0: empty */
    size_t capacity;     /* of slots, a power of two */
};

/* Whether `record` is the one of `key`. */
typedef bool (*record_same)(const void *record, const void *key, size_t key_bytes);

void record_table_init(struct record_table *table, size_t record_bytes);
/* The record that came `index`th (0 .. count - 1). */
void *record_table_at(const struct record_table *table, size_t index);
/* The number of `record`, a record of the table (record_table_at's inverse). */
size_t record_table_index(const struct record_table *table, const void *record);
/* The record of `key` (whose hash is `hash`), or NULL. With `create`, a missing key gets a
 * zeroed record (the caller fills in its key; *created says so), and NULL means out of memory. */
void *record_table_find(struct record_table *table, uint64_t hash, const void *key,
                        size_t key_bytes, record_same same, bool create, bool *created);
/* A hint, ahead of finding the record of `hash`: ask the CPU for its slot (`record` false),
 * then, once the slot has come, for the record it leads to (`record` true): its first and last
 * byte, since a record (verify's person is 88 bytes) mostly spans two cache lines. Finding a
 * page of keys after both passes over it overlaps their cache misses instead of waiting. */
void record_table_prefetch(const struct record_table *table, uint64_t hash, bool record);
void record_table_free(struct record_table *table);

#endif
