/* arena.c -- per-request bump allocation. */
#include "arena.h"

#include "poison.h"
#include "require.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_BYTES 8192

struct arena_block {
    struct arena_block *next;
    size_t used_bytes;
    size_t capacity_bytes;
    max_align_t data[];
};

static void *arena_protobuf_alloc(void *context, size_t bytes)
{
    return arena_alloc(context, bytes);
}

static void arena_protobuf_free(void *context, void *pointer)
{
    /* Arena memory is released all at once by arena_reset or arena_free. */
    (void)context;
    (void)pointer;
}

void arena_init(struct arena *arena)
{
    arena->blocks = NULL;
    arena->spare = NULL;
    arena->spare_bytes = 0;
    arena->protobuf.alloc = arena_protobuf_alloc;
    arena->protobuf.free = arena_protobuf_free;
    arena->protobuf.allocator_data = arena;
}

static void blocks_free(struct arena_block *block)
{
    while (block) {
        struct arena_block *next = block->next;
        free(block);
        block = next;
    }
}

void arena_free(struct arena *arena)
{
    blocks_free(arena->blocks);
    blocks_free(arena->spare);
    arena->blocks = arena->spare = NULL;
    arena->spare_bytes = 0;
}

void arena_rewind(struct arena *arena, size_t keep_bytes)
{
    struct arena_block *block = arena->blocks, *next;
    for (; block; block = next) {
        next = block->next;
        if (block->capacity_bytes != ARENA_BLOCK_BYTES || arena->spare_bytes >= keep_bytes) {
            free(block);
            continue;
        }
        block->used_bytes = 0;
        block->next = arena->spare;
        arena->spare = block;
        arena->spare_bytes += block->capacity_bytes;
        POISON(block->data, block->capacity_bytes); /* until handed out again */
    }
    arena->blocks = NULL;
}

void arena_reset(struct arena *arena)
{
    arena_rewind(arena, ARENA_BLOCK_BYTES); /* most requests fit in one block */
}

void *arena_alloc(struct arena *arena, size_t bytes)
{
    void *pointer = arena_try_alloc(arena, bytes);
    REQUIRE(pointer != NULL);
    return pointer;
}

void *arena_try_alloc(struct arena *arena, size_t bytes)
{
    size_t align = sizeof(max_align_t);
    if (bytes > SIZE_MAX / 2)
        return NULL;
    bytes = (bytes + align - 1) / align * align;
    struct arena_block *block = arena->blocks;
    if (!block || block->capacity_bytes - block->used_bytes < bytes) {
        if (bytes <= ARENA_BLOCK_BYTES && arena->spare) {
            block = arena->spare;
            arena->spare = block->next;
            arena->spare_bytes -= block->capacity_bytes;
        } else {
            size_t capacity = bytes > ARENA_BLOCK_BYTES ? bytes : ARENA_BLOCK_BYTES;
            block = malloc(sizeof(*block) + capacity);
            if (!block)
                return NULL;
            block->used_bytes = 0;
            block->capacity_bytes = capacity;
        }
        block->next = arena->blocks;
        arena->blocks = block;
    }
    void *pointer = (char *)block->data + block->used_bytes;
    block->used_bytes += bytes;
    UNPOISON(pointer, bytes);
    return pointer;
}

void *arena_zalloc(struct arena *arena, size_t bytes)
{
    return memset(arena_alloc(arena, bytes), 0, bytes);
}

char *arena_strdup(struct arena *arena, const char *text)
{
    size_t bytes = strlen(text) + 1;
    return memcpy(arena_alloc(arena, bytes), text, bytes);
}

char *arena_printf(struct arena *arena, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    REQUIRE(length >= 0);
    char *text = arena_alloc(arena, (size_t)length + 1);
    va_start(args, format);
    vsnprintf(text, (size_t)length + 1, format, args);
    va_end(args);
    return text;
}
