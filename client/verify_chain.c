/* verify_chain.c -- the hash chain of each log page checked on a thread of its own
 * (verify_chain.h). */
#include "verify_chain.h"

#include "sha256.h"

#include <string.h>

int verify_chain_link(const uint8_t prev[FL_HASH_BYTES], const Famledger__LogRecord *record)
{
    uint8_t computed[FL_HASH_BYTES];
    if (sha256_pair(prev, FL_HASH_BYTES, record->entry_bytes.data, record->entry_bytes.len,
                    computed) != 0)
        return -1;
    return record->hash.len == FL_HASH_BYTES &&
                   memcmp(computed, record->hash.data, FL_HASH_BYTES) == 0
               ? 0
               : 1;
}

/* Check the page handed over from its first entry until one does not link, or the replay
 * abandons it; publish each entry that links as it goes. */
static int chain_check(struct verify_chain *chain)
{
    const uint8_t *prev = chain->start;
    for (size_t i = 0; i < chain->count; i++) {
        if (atomic_load_explicit(&chain->abandon, memory_order_relaxed))
            return 0;
        int verdict = verify_chain_link(prev, chain->records[i]);
        if (verdict != 0)
            return verdict;
        prev = chain->records[i]->hash.data;
        atomic_store(&chain->checked, i + 1);
        /* The replay waits under the lock once it sees no progress; it set `waiting` first. */
        if (atomic_load(&chain->waiting)) {
            pthread_mutex_lock(&chain->lock);
            pthread_cond_broadcast(&chain->changed);
            pthread_mutex_unlock(&chain->lock);
        }
    }
    return 0;
}

static void *chain_main(void *context)
{
    struct verify_chain *chain = context;
    pthread_mutex_lock(&chain->lock);
    for (;;) {
        while (!chain->pending && !chain->stop)
            pthread_cond_wait(&chain->changed, &chain->lock);
        if (chain->stop)
            break;
        chain->pending = false;
        pthread_mutex_unlock(&chain->lock);
        int verdict = chain_check(chain);
        pthread_mutex_lock(&chain->lock);
        chain->verdict = verdict;
        chain->busy = false;
        pthread_cond_broadcast(&chain->changed);
    }
    pthread_mutex_unlock(&chain->lock);
    return NULL;
}

int verify_chain_start(struct verify_chain *chain)
{
    memset(chain, 0, sizeof(*chain));
    if (pthread_mutex_init(&chain->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&chain->changed, NULL) != 0) {
        pthread_mutex_destroy(&chain->lock);
        return -1;
    }
    if (pthread_create(&chain->thread, NULL, chain_main, chain) != 0) {
        pthread_cond_destroy(&chain->changed);
        pthread_mutex_destroy(&chain->lock);
        return -1;
    }
    chain->running = true;
    return 0;
}

void verify_chain_page(struct verify_chain *chain, Famledger__LogRecord **records, size_t count,
                       const uint8_t start[FL_HASH_BYTES])
{
    pthread_mutex_lock(&chain->lock);
    chain->records = records;
    chain->count = count;
    memcpy(chain->start, start, FL_HASH_BYTES);
    atomic_store(&chain->checked, 0);
    atomic_store(&chain->abandon, false);
    chain->verdict = 0;
    chain->pending = chain->busy = true;
    pthread_cond_broadcast(&chain->changed);
    pthread_mutex_unlock(&chain->lock);
}

int verify_chain_verdict(struct verify_chain *chain, size_t index)
{
    if (atomic_load(&chain->checked) > index)
        return 0;
    pthread_mutex_lock(&chain->lock);
    atomic_store(&chain->waiting, true);
    while (atomic_load(&chain->checked) <= index && chain->busy)
        pthread_cond_wait(&chain->changed, &chain->lock);
    atomic_store(&chain->waiting, false);
    int verdict = 0;
    if (atomic_load(&chain->checked) <= index)
        /* The thread stopped at or before this entry: the first that does not link. Asked past
         * it, or of a page it abandoned, no entry is taken as linking that was not checked. */
        verdict = chain->verdict ? chain->verdict : 1;
    pthread_mutex_unlock(&chain->lock);
    return verdict;
}

void verify_chain_page_end(struct verify_chain *chain)
{
    atomic_store(&chain->abandon, true);
    pthread_mutex_lock(&chain->lock);
    while (chain->busy)
        pthread_cond_wait(&chain->changed, &chain->lock);
    pthread_mutex_unlock(&chain->lock);
}

void verify_chain_stop(struct verify_chain *chain)
{
    if (!chain->running)
        return;
    pthread_mutex_lock(&chain->lock);
    chain->stop = true;
    pthread_cond_broadcast(&chain->changed);
    pthread_mutex_unlock(&chain->lock);
    pthread_join(chain->thread, NULL);
    pthread_cond_destroy(&chain->changed);
    pthread_mutex_destroy(&chain->lock);
    chain->running = false;
}
