/* model_memory.h -- zeroed memory for verify's large tables (its persons, its settlements, the
 * digests of its indexes): pieces of 2 MiB or more are mapped for themselves and given to the
 * kernel's transparent huge pages, one fault and one TLB entry for 2 MiB instead of 512 of
 * each. On a virtual machine each 4 KiB fault costs several microseconds, and verify of a
 * 10M-entry ledger faulted 330,000 times for its 1.2 GB model (docs/BENCHMARKS.md, "verify's
 * model on huge pages"). Smaller pieces come from calloc, so that a small table stays small.
 * Not part of the public API. */
#ifndef FAMLEDGER_MODEL_MEMORY_H
#define FAMLEDGER_MODEL_MEMORY_H

#include <stddef.h>

/* `bytes` of zeroed memory, or NULL when out of memory. */
void *model_memory_zeroed(size_t bytes);
/* Give back what model_memory_zeroed(bytes) returned (NULL: nothing). */
void model_memory_release(void *memory, size_t bytes);

#endif
