/* scratch.h -- memory for protobuf-c to unpack into, taken back whole: one block, doubled when
 * a message did not fit, instead of a malloc and a free for every field. For readers of many
 * messages one after another (verify's pages, entries and stored records). Not part of the
 * public API. */
#ifndef FAMLEDGER_SCRATCH_H
#define FAMLEDGER_SCRATCH_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

struct scratch {
    ProtobufCAllocator allocator; /* hands protobuf-c this scratch (scratch_init) */
    uint8_t *block;
    size_t used, capacity;
    void **spills;                /* what did not fit in the block, freed at the reset */
    size_t spill_count, spill_capacity;
};

void scratch_init(struct scratch *scratch);
/* Take back everything allocated since the last reset: whatever was unpacked into it is
 * gone. A block that was too small is doubled for what comes next. */
void scratch_reset(struct scratch *scratch);
void scratch_release(struct scratch *scratch);

#endif
