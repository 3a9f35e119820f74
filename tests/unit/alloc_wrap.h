/* alloc_wrap.h -- the heap's allocations counted, and failed on demand, through the linker: a
 * test linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (Makefile) includes this in
 * its one file. heap_takes counts the allocations asked of the heap;
 * allocations_before_failure, when not -1, fails the allocation that many from now (0: the
 * next), and only that one: a test sets it while no other thread allocates. */
#ifndef FAMLEDGER_ALLOC_WRAP_H
#define FAMLEDGER_ALLOC_WRAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

void *__real_malloc(size_t bytes);
void *__real_calloc(size_t count, size_t bytes);
void *__real_realloc(void *memory, size_t bytes);
void *__wrap_malloc(size_t bytes);
void *__wrap_calloc(size_t count, size_t bytes);
void *__wrap_realloc(void *memory, size_t bytes);

static atomic_long heap_takes;               /* other threads allocate too */
static long allocations_before_failure = -1; /* -1: none fails */

static bool allocation_fails(void)
{
    atomic_fetch_add_explicit(&heap_takes, 1, memory_order_relaxed);
    if (allocations_before_failure < 0)
        return false;
    return allocations_before_failure-- == 0;
}

void *__wrap_malloc(size_t bytes)
{
    return allocation_fails() ? NULL : __real_malloc(bytes);
}

void *__wrap_calloc(size_t count, size_t bytes)
{
    return allocation_fails() ? NULL : __real_calloc(count, bytes);
}

void *__wrap_realloc(void *memory, size_t bytes)
{
    return allocation_fails() ? NULL : __real_realloc(memory, bytes);
}

#endif
