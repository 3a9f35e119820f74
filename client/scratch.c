/* scratch.c -- memory for protobuf-c to unpack into, taken back whole (scratch.h). */
#include "scratch.h"

#include <stdbool.h>
#include <stdlib.h>

#define SCRATCH_FIRST_BYTES (64 * 1024)

static void *scratch_alloc(void *data, size_t bytes)
{
    struct scratch *scratch = data;
    bytes = (bytes + 15) & ~(size_t)15;
    if (scratch->capacity - scratch->used >= bytes) {
        void *memory = scratch->block + scratch->used;
        scratch->used += bytes;
        return memory;
    }
    if (scratch->spill_count == scratch->spill_capacity) {
        size_t capacity = scratch->spill_capacity ? 2 * scratch->spill_capacity : 16;
        void **grown = realloc(scratch->spills, capacity * sizeof(*grown));
        if (!grown)
            return NULL;
        scratch->spills = grown;
        scratch->spill_capacity = capacity;
    }
    void *memory = malloc(bytes);
    if (memory)
        scratch->spills[scratch->spill_count++] = memory;
    return memory;
}

static void scratch_free(void *data, void *memory)
{
    (void)data, (void)memory; /* taken back whole by scratch_reset */
}

void scratch_init(struct scratch *scratch)
{
    *scratch = (struct scratch){.allocator = {scratch_alloc, scratch_free, scratch}};
}

static void scratch_free_spills(struct scratch *scratch)
{
    for (size_t i = 0; i < scratch->spill_count; i++)
        free(scratch->spills[i]);
    scratch->spill_count = 0;
}

void scratch_reset(struct scratch *scratch)
{
    bool spilled = scratch->spill_count > 0;
    scratch_free_spills(scratch);
    scratch->used = 0;
    if (spilled || !scratch->block) {
        size_t capacity = scratch->capacity ? 2 * scratch->capacity : SCRATCH_FIRST_BYTES;
        uint8_t *grown = malloc(capacity);
        if (grown) {
            free(scratch->block);
            scratch->block = grown;
            scratch->capacity = capacity;
        }
    }
}

void scratch_release(struct scratch *scratch)
{
    scratch_free_spills(scratch);
    free(scratch->block);
    free(scratch->spills);
    scratch_init(scratch);
}
