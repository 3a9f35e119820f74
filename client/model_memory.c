/* model_memory.c -- zeroed memory, large pieces on huge pages (model_memory.h). */
#include "model_memory.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE_BYTES ((size_t)2 << 20)

/* Mapped lengths are whole huge pages, so that the tail can be one too; the kernel maps a
 * page only once it is touched. */
static size_t mapped_bytes(size_t bytes)
{
    return (bytes + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
}

void *model_memory_zeroed(size_t bytes)
{
    if (bytes < HUGE_PAGE_BYTES)
        return calloc(1, bytes);
    void *memory = mmap(NULL, mapped_bytes(bytes), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(memory, mapped_bytes(bytes), MADV_HUGEPAGE); /* a hint: else 4 KiB pages */
#endif
    return memory;
}

void model_memory_release(void *memory, size_t bytes)
{
    if (!memory)
        return;
    if (bytes < HUGE_PAGE_BYTES)
        free(memory);
    else
        (void)munmap(memory, mapped_bytes(bytes));
}
