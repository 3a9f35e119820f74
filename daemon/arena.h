/* arena.h -- per-request bump allocation: everything a request needs is freed at once. */
#ifndef FAMLEDGER_ARENA_H
#define FAMLEDGER_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *blocks; /* the newest first: allocations come from it */
    struct arena_block *spare;  /* blocks kept by arena_rewind, used before new ones */
    size_t spare_bytes;
    ProtobufCAllocator protobuf; /* hands protobuf-c allocations to this arena */
};

void arena_init(struct arena *arena);
/* Free every allocation at once; the arena stays usable, and keeps up to `keep_bytes` of its
 * blocks for the allocations after (an arena rewound after each of many like uses allocates
 * from the heap only while the uses grow). */
void arena_rewind(struct arena *arena, size_t keep_bytes);
/* The same, keeping one block: most requests fit in it. */
void arena_reset(struct arena *arena);
void arena_free(struct arena *arena);

/* Allocate `bytes` bytes aligned for any type; aborts the daemon when memory is exhausted,
 * as the allocation sizes are bounded by the frame limit. */
void *arena_alloc(struct arena *arena, size_t bytes);
/* The same, returning NULL when memory is exhausted: for sizes a client chooses. */
void *arena_try_alloc(struct arena *arena, size_t bytes);
void *arena_zalloc(struct arena *arena, size_t bytes);
char *arena_strdup(struct arena *arena, const char *text);
char *arena_printf(struct arena *arena, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#define ARENA_NEW(arena, type) ((type *)arena_zalloc((arena), sizeof(type)))
#define ARENA_ARRAY(arena, type, count) ((type *)arena_zalloc((arena), sizeof(type) * (count)))

#endif
