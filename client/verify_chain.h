/* verify_chain.h -- the hash chain of each log page checked on a thread of its own.
 *
 * Whether entry i of a page links is SHA-256 of the stored hash before it and its bytes,
 * compared with its stored hash: it needs nothing of the replay, and it was a seventh of the
 * client's time (libcrypto, with SHA-NI, about 160 ns an entry). A thread checks each page
 * from its first entry on while the replay unpacks, hints and applies it, on the core the
 * replay leaves to the daemon, and publishes how far it has got; the replay takes each entry's
 * verdict before it applies the entry, waiting only when it has caught up. So the first
 * problem found is the same, at the same entry, as when the replay hashed each entry itself,
 * which it still does when the thread cannot be started. Not part of the public API. */
#ifndef FAMLEDGER_VERIFY_CHAIN_H
#define FAMLEDGER_VERIFY_CHAIN_H

#include "famledger.h"
#include "famledger.pb-c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct verify_chain {
    bool running; /* the thread exists */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    /* The page handed over, and the hash before its first entry: set under the lock while the
     * thread is idle, read by the thread while `busy`. */
    Famledger__LogRecord **records;
    size_t count;
    uint8_t start[FL_HASH_BYTES];
    bool pending, busy, stop; /* under the lock */
    atomic_bool abandon;      /* the replay needs no more of this page */
    atomic_bool waiting;      /* the replay waits for a verdict: tell it of progress */
    /* Entries of the page known to link; once the thread is done with the page (`busy` false),
     * the entry at `checked` (if before `count`) is the first that does not, and `verdict` says
     * why: 1, its hash differs; -1, out of memory. */
    atomic_size_t checked;
    int verdict;
};

/* Whether `record` links to the entry before it, whose stored hash is `prev`: 0, it does; 1, its
 * hash is not SHA-256 of `prev` and its bytes; -1, out of memory. */
int verify_chain_link(const uint8_t prev[FL_HASH_BYTES], const Famledger__LogRecord *record);
/* Start the thread: 0, or -1 when it cannot be (the replay then hashes each entry itself). */
int verify_chain_start(struct verify_chain *chain);
/* Hand the thread a page of `count` records, `start` the stored hash of the entry before the
 * first. The records must stay until verify_chain_page_end. */
void verify_chain_page(struct verify_chain *chain, Famledger__LogRecord **records, size_t count,
                       const uint8_t start[FL_HASH_BYTES]);
/* The verdict on entry `index` of the page, once the thread has it: 0, it links to the entry
 * before it; 1, it does not; -1, out of memory. Asked in order, and not past the first that
 * does not link. */
int verify_chain_verdict(struct verify_chain *chain, size_t index);
/* The replay is done with the page: stop checking it, and return once the thread no longer
 * reads its records. */
void verify_chain_page_end(struct verify_chain *chain);
/* End the thread (nothing when it was not started). */
void verify_chain_stop(struct verify_chain *chain);

#endif
