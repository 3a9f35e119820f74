/* overlay.c -- records held in memory until a sweep writes them to their tree (overlay.h). */
#include "overlay.h"

#include "famledger_status.h"
#include "require.h"

#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* One version of a record, newest first. */
struct version {
    struct version *older;
    uint64_t tag;
    size_t bytes;
    bool deleted;
    uint8_t value[];
};

struct record {
    struct version *newest;
    size_t hash;          /* record_hash of its table and key, kept for moves in the table */
    uint64_t written_tag; /* the commit that last wrote it to the tree; 0: none */
    uint32_t queued;      /* its entries in the queue of written records */
    bool dirty;           /* its newest version is not in the tree */
    bool pending;         /* on the next sweep's list, or in the sweep under way and not yet
                           * written: every dirty record is (and only those) */
    uint8_t table;
    size_t key_bytes;
    uint8_t key[];
};

/* A place in the table: the record and its hash, so that a probe passing other keys reads
 * none of their records (each would be a miss of the CPU's cache). */
struct slot {
    size_t hash;
    struct record *record; /* NULL: empty */
};

/* A record the open publication changed, and what it was before. */
struct touched {
    struct record *record;
    bool was_dirty;
    bool created;
    bool appended; /* to the next sweep's list */
};

/* A record the sweep wrote, in the order written: forgotten when no reader needs it. */
struct written {
    struct record *record;
    uint64_t tag;
};

struct overlay {
    pthread_mutex_t lock; /* held to change what readers look at, and by readers */
    atomic_uint lock_waiting; /* threads waiting for it (overlay_lock) */
    struct slot *slots; /* open addressing, linear probing; a power of two */
    size_t capacity, count, versions, dirty;
    uint8_t hash_key[crypto_shorthash_KEYBYTES]; /* keys are clients' references: keyed */
    uint64_t committed;      /* the last durable commit */
    uint64_t published;      /* the largest tag published */
    uint64_t published_before; /* what it was before the open publication */
    bool publication_open;   /* published, neither committed nor withdrawn yet */
    struct touched *touched; /* the open publication's records */
    size_t touched_count, touched_capacity;
    uint64_t *readers; /* registrations, unordered */
    size_t reader_count, reader_capacity;
    /* readers_oldest as of the last reader's end or commit, for the writer to look at without
     * the lock (overlay_tidy_due: the writer asks while it holds the commit queue's mutex). */
    _Atomic uint64_t oldest_seen;
    struct written *queue; /* a ring */
    size_t queue_head, queue_count, queue_capacity;
    size_t queue_pushed; /* entries queued since overlay_committed last went through it */
    /* Versions no reader can see any more, unlinked under the lock and freed by the writer a
     * share at a time, outside it (graves_free): chains linked by `older`. */
    struct version **graves;
    size_t grave_count, grave_capacity;
    size_t published_since; /* versions published since overlay_committed last freed some */
    /* The records made dirty since the last sweep started, in the order they were: the next
     * sweep's, taken whole when it starts, so that no pass over the table finds them. */
    struct record **next;
    size_t next_count, next_capacity;
    size_t next_before; /* next_count before the open publication */
    struct record **sweep; /* the sweep under way, in key order; NULL: none */
    size_t sweep_count, sweep_capacity, sweep_at, sweep_given;
    pthread_t sorter;     /* puts a new sweep's records in order */
    bool sorting;         /* a sorter runs or has not been joined yet */
    atomic_bool sorted;   /* the sorter is done */
    uint64_t sweep_from;      /* it covers the versions tagged up to this */
    bool sweep_in_publication; /* it started after the open publication */
    uint64_t covered;
    uint64_t forgotten_tag; /* overlay_forgotten_tag */
    /* Views being made, which look at the table a share at a time (overlay_view_make): while
     * any is, the writer forgets nothing. `reshapes` counts changes that may move records to
     * other slots (a record taken out, the table grown): a view under way that sees it change
     * begins again. */
    unsigned viewers;
    uint64_t reshapes;
    size_t view_share; /* VIEW_SHARE, or what a test asks for */
    void (*view_pause)(void *arg); /* a test's, run while a view has let the lock go */
    void *view_pause_arg;
};

/* ---- The lock ---- */

static void overlay_lock(struct overlay *overlay)
{
    atomic_fetch_add_explicit(&overlay->lock_waiting, 1, memory_order_relaxed);
    pthread_mutex_lock(&overlay->lock);
    atomic_fetch_sub_explicit(&overlay->lock_waiting, 1, memory_order_relaxed);
}

/* Let the lock go between two shares of a long pass (a view, forgetting a backlog), and take
 * it again once the threads that waited for it have had it: a mutex let go and taken again at
 * once is most often taken again by the same thread, and the writer then waited for a whole
 * view. The wait is bounded, so that readers coming one after another cannot hold it up. */
#define YIELD_TRIES 64

static void overlay_yield(struct overlay *overlay)
{
    pthread_mutex_unlock(&overlay->lock);
    for (int tries = 0; tries < YIELD_TRIES &&
                        atomic_load_explicit(&overlay->lock_waiting, memory_order_relaxed) > 0;
         tries++)
        sched_yield();
    overlay_lock(overlay);
}

/* Slots a view looks at under the lock at a time: a millisecond or two. A view of a table of
 * a million records held the lock for 30-60 ms in one pass, and the writer, the loop thread
 * and every other reader with it (docs/DECISIONS.md, twenty-sixth part). */
#define VIEW_SHARE 4096
/* Times a view begins again because the table changed under it (it grew, or a failed commit
 * took a record out) before it makes the rest in one pass under the lock. */
#define VIEW_TRIES 4

/* ---- The table of records ---- */

_Static_assert(OVERLAY_HASH_KEY_BYTES == crypto_shorthash_KEYBYTES, "SipHash's key");

size_t overlay_key_hash(const uint8_t hash_key[OVERLAY_HASH_KEY_BYTES], uint8_t table,
                        const void *key, size_t key_bytes)
{
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, key, key_bytes, hash_key);
    uint64_t hash;
    memcpy(&hash, out, sizeof(hash));
    return (size_t)(hash ^ ((uint64_t)table * UINT64_C(0x9E3779B97F4A7C15)));
}

static size_t record_hash(const struct overlay *overlay, uint8_t table, const void *key,
                          size_t key_bytes)
{
    return overlay_key_hash(overlay->hash_key, table, key, key_bytes);
}

static bool record_is(const struct record *record, uint8_t table, const void *key,
                      size_t key_bytes)
{
    return record->table == table && record->key_bytes == key_bytes &&
           memcmp(record->key, key, key_bytes) == 0;
}

/* The slot of the key whose record_hash is `hash`, or the empty slot where it would go. */
static size_t slot_find_hashed(const struct overlay *overlay, size_t hash, uint8_t table,
                               const void *key, size_t key_bytes)
{
    size_t mask = overlay->capacity - 1;
    size_t slot = hash & mask;
    for (;; slot = (slot + 1) & mask) {
        const struct slot *at = &overlay->slots[slot];
        if (!at->record || (at->hash == hash && record_is(at->record, table, key, key_bytes)))
            return slot;
    }
}

static size_t slot_find(const struct overlay *overlay, uint8_t table, const void *key,
                        size_t key_bytes)
{
    return slot_find_hashed(overlay, record_hash(overlay, table, key, key_bytes), table, key,
                            key_bytes);
}

static struct record *record_find(const struct overlay *overlay, uint8_t table, const void *key,
                                  size_t key_bytes)
{
    return overlay->slots[slot_find(overlay, table, key, key_bytes)].record;
}

/* The table's records in a new table of `capacity` slots, or NULL when out of memory. The
 * writer builds it without the lock (readers only read the table, and only the writer changes
 * it), and puts it in place under the lock: a table of millions of records takes tens of ms to
 * build, and a reader or the loop thread waiting that long for the lock would hold up replies. */
static struct slot *table_rebuilt(const struct overlay *overlay, size_t capacity)
{
    struct slot *slots = calloc(capacity, sizeof(*slots));
    if (!slots)
        return NULL;
    /* Each record's hash is kept: a table of a million records grows without hashing a key
     * again or comparing one (the keys are distinct), on the writer's path. */
    size_t mask = capacity - 1;
    for (size_t i = 0; i < overlay->capacity; i++) {
        const struct slot *old = &overlay->slots[i];
        if (!old->record)
            continue;
        size_t slot = old->hash & mask;
        while (slots[slot].record)
            slot = (slot + 1) & mask;
        slots[slot] = *old;
    }
    return slots;
}

/* Room for `more` records within a load of one half: 0, or FL_ERR_INTERNAL when out of memory.
 * Under the lock when `locked`; else the new table is built without it, and put in place
 * under it. */
static int table_reserve(struct overlay *overlay, size_t more, bool locked)
{
    size_t capacity = overlay->capacity;
    while ((overlay->count + more) * 2 > capacity)
        capacity *= 2;
    if (capacity == overlay->capacity)
        return 0;
    struct slot *slots = table_rebuilt(overlay, capacity), *old = overlay->slots;
    if (!slots)
        return FL_ERR_INTERNAL;
    if (!locked)
        overlay_lock(overlay);
    overlay->slots = slots;
    overlay->capacity = capacity;
    overlay->reshapes++;
    if (!locked)
        pthread_mutex_unlock(&overlay->lock);
    free(old);
    return 0;
}

/* ---- Versions no reader needs: freed a share at a time ---- */

/* Put a chain of versions no reader can reach any more among those to free. Out of memory for
 * the list, they are freed at once. */
static void graves_add(struct overlay *overlay, struct version *chain)
{
    if (!chain)
        return;
    if (overlay->grave_count == overlay->grave_capacity) {
        size_t capacity = overlay->grave_capacity ? overlay->grave_capacity * 2 : 256;
        struct version **graves = realloc(overlay->graves, capacity * sizeof(*graves));
        if (!graves) {
            for (struct version *older; chain; chain = older) {
                older = chain->older;
                free(chain);
                overlay->versions--;
            }
            return;
        }
        overlay->graves = graves;
        overlay->grave_capacity = capacity;
    }
    overlay->graves[overlay->grave_count++] = chain;
}

/* Free up to `max` of them: the writer, without the lock (no reader can reach them). A reader
 * that held its snapshot through a long audit under load kept a version of a fund's account
 * for every settlement made meanwhile; freed in one commit they would hold it up. */
static void graves_free(struct overlay *overlay, size_t max)
{
    for (size_t freed = 0; overlay->grave_count > 0 && freed < max;) {
        struct version **chain = &overlay->graves[overlay->grave_count - 1];
        while (*chain && freed < max) {
            struct version *older = (*chain)->older;
            free(*chain);
            *chain = older;
            overlay->versions--;
            freed++;
        }
        if (!*chain)
            overlay->grave_count--;
    }
}

/* Take the record out of the table and free it (backward-shift deletion: the records of the
 * probe run after it move up, so that every lookup still finds them). */
static void record_forget(struct overlay *overlay, struct record *record)
{
    REQUIRE(!record->pending); /* no list of the sweep's holds it */
    overlay->reshapes++;
    size_t mask = overlay->capacity - 1;
    size_t hole = record->hash & mask;
    while (overlay->slots[hole].record && overlay->slots[hole].record != record)
        hole = (hole + 1) & mask;
    REQUIRE(overlay->slots[hole].record == record);
    overlay->slots[hole] = (struct slot){0};
    for (size_t next = (hole + 1) & mask; overlay->slots[next].record; next = (next + 1) & mask) {
        size_t home = overlay->slots[next].hash & mask;
        /* It may fill the hole when its home is not cyclically within (hole, next]. */
        bool home_after_hole = hole <= next ? (home > hole && home <= next)
                                            : (home > hole || home <= next);
        if (!home_after_hole) {
            overlay->slots[hole] = overlay->slots[next];
            overlay->slots[next] = (struct slot){0};
            hole = next;
        }
    }
    /* A record a failed publication made has no version left: it changed nothing. */
    if (record->newest && record->newest->tag > overlay->forgotten_tag)
        overlay->forgotten_tag = record->newest->tag;
    graves_add(overlay, record->newest);
    if (record->dirty)
        overlay->dirty--;
    overlay->count--;
    free(record);
}

/* Room in the queue of written records for `more` entries: false when out of memory. */
static bool queue_reserve(struct overlay *overlay, size_t more)
{
    if (overlay->queue_count + more <= overlay->queue_capacity)
        return true;
    size_t capacity = overlay->queue_capacity ? overlay->queue_capacity : 1024;
    while (overlay->queue_count + more > capacity)
        capacity *= 2;
    struct written *queue = malloc(capacity * sizeof(*queue));
    if (!queue)
        return false;
    for (size_t q = 0; q < overlay->queue_count; q++)
        queue[q] = overlay->queue[(overlay->queue_head + q) % overlay->queue_capacity];
    free(overlay->queue);
    overlay->queue = queue;
    overlay->queue_head = 0;
    overlay->queue_capacity = capacity;
    return true;
}

/* Queue a written record, to be forgotten once no reader needs it; entries are in the order
 * their records were written. Out of memory, the record is kept instead: readers find it, as
 * they would the tree's, and it is queued again when it is written again. */
static void queue_push(struct overlay *overlay, struct record *record, uint64_t tag)
{
    if (!queue_reserve(overlay, 1))
        return;
    size_t tail = (overlay->queue_head + overlay->queue_count) % overlay->queue_capacity;
    overlay->queue[tail] = (struct written){.record = record, .tag = tag};
    overlay->queue_count++;
    overlay->queue_pushed++;
    record->queued++;
}

/* How much of the queue of written records one pass goes through: overlay_committed's pass
 * takes TIDY_SHARE more entries than twice what the sweep queued since the last, so that the
 * queue shrinks whatever the load, and the lock is let go after every TIDY_SHARE entries. A
 * snapshot held through a long audit under load leaves a backlog of a million records behind
 * it; forgotten in one pass, under the lock that readers and the loop thread take too, they
 * held the writer and every reply for 0.7 s (docs/DECISIONS.md, twenty-sixth part). */
#define TIDY_SHARE 1024

/* Go through up to `max` entries of the queue, oldest first, forgetting the records that every
 * reader, present or to come, finds in the tree: written at or before `oldest`, the oldest
 * registration when the pass began (a reader registering meanwhile has a later snapshot), and
 * clean since. The lock is held, and let go now and then. */
static void queue_tidy(struct overlay *overlay, uint64_t oldest, size_t max)
{
    for (size_t done = 0; done < max && overlay->queue_count > 0; done++) {
        struct written *written = &overlay->queue[overlay->queue_head];
        if (written->tag > oldest)
            break;
        if (done > 0 && done % TIDY_SHARE == 0)
            overlay_yield(overlay);
        if (overlay->viewers) /* records stay where they are until the views are made */
            break;
        struct record *record = written->record;
        overlay->queue_head = (overlay->queue_head + 1) % overlay->queue_capacity;
        overlay->queue_count--;
        record->queued--;
        /* A later entry stands for it when it was written again; a dirty one waits for the
         * sweep, which queues it again. */
        if (record->queued == 0 && !record->dirty && record->written_tag <= oldest)
            record_forget(overlay, record);
    }
}

/* LMDB's default order of two keys: their bytes, then the shorter first. */
static int key_order(const uint8_t *a, size_t a_bytes, const uint8_t *b, size_t b_bytes)
{
    int order = memcmp(a, b, a_bytes < b_bytes ? a_bytes : b_bytes);
    if (order)
        return order;
    return (a_bytes > b_bytes) - (a_bytes < b_bytes);
}

/* The version a reader at `snapshot` sees, or NULL: the tree is right for it. */
static const struct version *version_at(const struct record *record, uint64_t snapshot)
{
    const struct version *version = record->newest;
    while (version && version->tag > snapshot)
        version = version->older;
    return version;
}

/* ---- Life ---- */

int overlay_new(struct overlay **out)
{
    *out = NULL;
    struct overlay *overlay = calloc(1, sizeof(*overlay));
    if (!overlay || sodium_init() < 0)
        goto fail;
    overlay->capacity = 1024;
    overlay->view_share = VIEW_SHARE;
    overlay->slots = calloc(overlay->capacity, sizeof(*overlay->slots));
    overlay->next_capacity = 1024;
    overlay->next = malloc(overlay->next_capacity * sizeof(*overlay->next));
    if (!overlay->slots || !overlay->next)
        goto fail;
    randombytes_buf(overlay->hash_key, sizeof(overlay->hash_key));
    pthread_mutex_init(&overlay->lock, NULL);
    atomic_init(&overlay->sorted, false);
    atomic_init(&overlay->lock_waiting, 0);
    atomic_init(&overlay->oldest_seen, 0);
    *out = overlay;
    return 0;
fail:
    if (overlay) {
        free(overlay->slots);
        free(overlay->next);
    }
    free(overlay);
    return FL_ERR_INTERNAL;
}

static void sweep_join(struct overlay *overlay);

void overlay_free(struct overlay *overlay)
{
    if (!overlay)
        return;
    sweep_join(overlay);
    for (size_t i = 0; i < overlay->capacity; i++) {
        struct record *record = overlay->slots[i].record;
        if (!record)
            continue;
        for (struct version *version = record->newest, *older; version; version = older) {
            older = version->older;
            free(version);
        }
        free(record);
    }
    graves_free(overlay, SIZE_MAX);
    pthread_mutex_destroy(&overlay->lock);
    free(overlay->graves);
    free(overlay->slots);
    free(overlay->touched);
    free(overlay->readers);
    free(overlay->queue);
    free(overlay->next);
    free(overlay->sweep);
    free(overlay);
}

/* ---- Readers ---- */

/* The oldest registration, or the last commit when no reader is registered: no reader,
 * present or to come, has a snapshot older. */
static uint64_t readers_oldest(const struct overlay *overlay)
{
    uint64_t oldest = overlay->committed;
    for (size_t i = 0; i < overlay->reader_count; i++)
        if (overlay->readers[i] < oldest)
            oldest = overlay->readers[i];
    return oldest;
}

int overlay_reader_begin(struct overlay *overlay, uint64_t *registration)
{
    int rc = 0;
    overlay_lock(overlay);
    *registration = overlay->committed;
    if (overlay->reader_count == overlay->reader_capacity) {
        size_t capacity = overlay->reader_capacity ? overlay->reader_capacity * 2 : 64;
        uint64_t *readers = realloc(overlay->readers, capacity * sizeof(*readers));
        if (readers) {
            overlay->readers = readers;
            overlay->reader_capacity = capacity;
        } else {
            rc = FL_ERR_INTERNAL; /* unregistered, it must not read: its versions may go */
        }
    }
    if (rc == 0)
        overlay->readers[overlay->reader_count++] = *registration;
    pthread_mutex_unlock(&overlay->lock);
    return rc;
}

void overlay_reader_end(struct overlay *overlay, uint64_t registration)
{
    overlay_lock(overlay);
    size_t i = 0;
    while (i < overlay->reader_count && overlay->readers[i] != registration)
        i++;
    REQUIRE(i < overlay->reader_count); /* ended twice, or never begun */
    overlay->readers[i] = overlay->readers[--overlay->reader_count];
    atomic_store_explicit(&overlay->oldest_seen, readers_oldest(overlay), memory_order_relaxed);
    pthread_mutex_unlock(&overlay->lock);
}

int overlay_get(struct overlay *overlay, uint64_t snapshot, uint8_t table, const void *key,
                size_t key_bytes, uint8_t **copy, size_t *bytes)
{
    REQUIRE(table < OVERLAY_TABLES_MAX);
    *copy = NULL;
    *bytes = 0;
    int rc = 0;
    overlay_lock(overlay);
    const struct record *record = record_find(overlay, table, key, key_bytes);
    const struct version *version = record ? version_at(record, snapshot) : NULL;
    if (version && version->deleted) {
        rc = 2;
    } else if (version) {
        *copy = malloc(version->bytes ? version->bytes : 1);
        if (*copy) {
            memcpy(*copy, version->value, version->bytes);
            *bytes = version->bytes;
            rc = 1;
        } else {
            rc = FL_ERR_INTERNAL;
        }
    }
    pthread_mutex_unlock(&overlay->lock);
    return rc;
}

static int view_record_order(const void *a, const void *b)
{
    const struct overlay_record *x = a, *y = b;
    return key_order(x->key, x->key_bytes, y->key, y->key_bytes);
}

/* A record of a view while it is made: where its key and value are in the bytes, which may
 * move as they grow. */
struct view_entry {
    size_t at, key_bytes, value_bytes;
    bool deleted;
};

struct view_build {
    struct view_entry *entries;
    size_t count, capacity;
    uint8_t *bytes;
    size_t used, room;
};

/* Copy the version of `record` the view's snapshot sees. 0, or FL_ERR_INTERNAL. */
static int view_build_add(struct view_build *build, const struct record *record,
                          const struct version *version)
{
    if (build->count == build->capacity) {
        size_t capacity = build->capacity ? build->capacity * 2 : 256;
        struct view_entry *entries = realloc(build->entries, capacity * sizeof(*entries));
        if (!entries)
            return FL_ERR_INTERNAL;
        build->entries = entries;
        build->capacity = capacity;
    }
    size_t bytes = record->key_bytes + version->bytes;
    if (build->room - build->used < bytes) {
        size_t room = build->room ? build->room : 16384;
        while (room - build->used < bytes)
            room *= 2;
        uint8_t *grown = realloc(build->bytes, room);
        if (!grown)
            return FL_ERR_INTERNAL;
        build->bytes = grown;
        build->room = room;
    }
    memcpy(build->bytes + build->used, record->key, record->key_bytes);
    memcpy(build->bytes + build->used + record->key_bytes, version->value, version->bytes);
    build->entries[build->count++] = (struct view_entry){.at = build->used,
                                                         .key_bytes = record->key_bytes,
                                                         .value_bytes = version->bytes,
                                                         .deleted = version->deleted};
    build->used += bytes;
    return 0;
}

/* Copy every record of `table` a reader at `snapshot` sees, a share of the slots at a time,
 * letting the lock go between shares (unless `whole`). Held on entry and on return. 0; 1 when
 * the table changed under it (it must begin again); FL_ERR_INTERNAL.
 *
 * Between two shares the writer may publish, sweep and grow the table, but forgets nothing
 * (overlay->viewers). What the snapshot sees of a record never changes: a version a registered
 * reader may see is never dropped, and every version published from now is newer than the
 * snapshot. A record made meanwhile has none it sees, wherever it lands. So the pass misses
 * nothing unless a record moved from a slot not yet looked at to one already looked at: only a
 * record taken out (a failed commit's) moves others, and a grown table moves them all. */
static int view_build_pass(struct overlay *overlay, uint64_t snapshot, uint8_t table,
                           bool whole, struct view_build *build)
{
    uint64_t reshapes = overlay->reshapes;
    for (size_t i = 0; i < overlay->capacity; i++) {
        if (!whole && i > 0 && i % overlay->view_share == 0) {
            if (overlay->view_pause) {
                pthread_mutex_unlock(&overlay->lock);
                overlay->view_pause(overlay->view_pause_arg);
                overlay_lock(overlay);
            }
            overlay_yield(overlay);
            if (overlay->reshapes != reshapes)
                return 1;
        }
        const struct record *record = overlay->slots[i].record;
        const struct version *version =
            record && record->table == table ? version_at(record, snapshot) : NULL;
        if (version && view_build_add(build, record, version) != 0)
            return FL_ERR_INTERNAL;
    }
    return 0;
}

int overlay_view_make(struct overlay *overlay, uint64_t snapshot, uint8_t table,
                      struct overlay_view **out)
{
    REQUIRE(table < OVERLAY_TABLES_MAX);
    *out = NULL;
    struct view_build build = {0};
    int rc = 1;
    overlay_lock(overlay);
    overlay->viewers++;
    for (int tries = 0; rc == 1; tries++) {
        build.count = build.used = 0;
        rc = view_build_pass(overlay, snapshot, table, tries + 1 >= VIEW_TRIES, &build);
    }
    overlay->viewers--;
    pthread_mutex_unlock(&overlay->lock);
    struct overlay_view *view = rc == 0 ? calloc(1, sizeof(*view)) : NULL;
    if (view) {
        view->records = malloc((build.count ? build.count : 1) * sizeof(*view->records));
        view->bytes = build.bytes;
        build.bytes = NULL;
    }
    if (!view || !view->records) {
        free(build.entries);
        free(build.bytes);
        overlay_view_free(view);
        return FL_ERR_INTERNAL;
    }
    for (size_t i = 0; i < build.count; i++) {
        const struct view_entry *entry = &build.entries[i];
        uint8_t *key = view->bytes + entry->at;
        view->records[i] = (struct overlay_record){
            .table = table,
            .key = key,
            .key_bytes = entry->key_bytes,
            .value = entry->deleted ? NULL : key + entry->key_bytes,
            .value_bytes = entry->value_bytes,
            .deleted = entry->deleted};
    }
    view->count = build.count;
    free(build.entries);
    qsort(view->records, view->count, sizeof(*view->records), view_record_order);
    *out = view;
    return 0;
}

void overlay_view_free(struct overlay_view *view)
{
    if (!view)
        return;
    free(view->records);
    free(view->bytes);
    free(view);
}

size_t overlay_view_after(const struct overlay_view *view, const void *key, size_t key_bytes)
{
    size_t low = 0, high = view->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        const struct overlay_record *record = &view->records[middle];
        if (key_order(record->key, record->key_bytes, key, key_bytes) <= 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

const struct overlay_record *overlay_view_find(const struct overlay_view *view, const void *key,
                                               size_t key_bytes)
{
    size_t at = overlay_view_after(view, key, key_bytes);
    const struct overlay_record *record = at > 0 ? &view->records[at - 1] : NULL;
    return record && key_order(record->key, record->key_bytes, key, key_bytes) == 0 ? record
                                                                                     : NULL;
}

/* ---- The writer ---- */

static void record_view(const struct record *record, struct overlay_record *out)
{
    const struct version *version = record->newest;
    *out = (struct overlay_record){.table = record->table,
                                   .key = record->key,
                                   .key_bytes = record->key_bytes,
                                   .value = version->deleted ? NULL : version->value,
                                   .value_bytes = version->bytes,
                                   .deleted = version->deleted};
}

int overlay_latest(struct overlay *overlay, uint8_t table, const void *key, size_t key_bytes,
                   struct overlay_record *out)
{
    /* Only the writer changes the table, and this is the writer: no lock. */
    const struct record *record = record_find(overlay, table, key, key_bytes);
    if (!record)
        return 0;
    record_view(record, out);
    return 1;
}

/* Undo the open publication's first `count` records (a failed commit, or a publication that
 * ran out of memory half way). */
static void publication_undo(struct overlay *overlay, size_t count)
{
    for (size_t i = count; i-- > 0;) {
        struct touched *touched = &overlay->touched[i];
        struct record *record = touched->record;
        struct version *version = record->newest;
        REQUIRE(version && version->tag == overlay->published);
        record->newest = version->older;
        free(version);
        overlay->versions--;
        if (touched->created) {
            record_forget(overlay, record);
            continue;
        }
        /* Clean before: written, and either its entry in the queue not reached yet (reached,
         * a clean record is forgotten) or kept for want of memory (queue_push). */
        if (record->dirty && !touched->was_dirty)
            overlay->dirty--;
        record->dirty = touched->was_dirty;
    }
}

/* Take the records the open publication appended to the next sweep's list off it: they were
 * clean before it, and will be again (or forgotten, those it made). Run before
 * publication_undo. */
static void publication_unappend(struct overlay *overlay)
{
    for (size_t i = 0; i < overlay->touched_count; i++)
        if (overlay->touched[i].appended)
            overlay->touched[i].record->pending = false;
    if (!(overlay->sweep && overlay->sweep_in_publication)) {
        overlay->next_count = overlay->next_before; /* they are its last */
        return;
    }
    /* A sweep that started after the publication took the list with them: start again, its
     * records (less those) the next sweep's. Nothing was published since it started. */
    REQUIRE(overlay->next_count == 0 && overlay->sweep_at == 0);
    sweep_join(overlay); /* its sorter reads their keys */
    size_t kept = 0;
    for (size_t i = 0; i < overlay->sweep_count; i++)
        if (overlay->sweep[i]->pending)
            overlay->sweep[kept++] = overlay->sweep[i];
    free(overlay->next);
    overlay->next = overlay->sweep;
    overlay->next_capacity = overlay->sweep_capacity;
    overlay->next_count = kept;
    overlay->sweep = NULL;
}

static int touched_add(struct overlay *overlay, struct record *record, bool created)
{
    if (overlay->touched_count == overlay->touched_capacity) {
        size_t capacity = overlay->touched_capacity ? overlay->touched_capacity * 2 : 256;
        struct touched *touched = realloc(overlay->touched, capacity * sizeof(*touched));
        if (!touched)
            return FL_ERR_INTERNAL;
        overlay->touched = touched;
        overlay->touched_capacity = capacity;
    }
    overlay->touched[overlay->touched_count++] =
        (struct touched){.record = record, .was_dirty = record->dirty, .created = created};
    return 0;
}

/* Room on the next sweep's list for one more record. */
static int next_reserve(struct overlay *overlay)
{
    if (overlay->next_count < overlay->next_capacity)
        return 0;
    size_t capacity = overlay->next_capacity * 2;
    struct record **next = realloc(overlay->next, capacity * sizeof(*next));
    if (!next)
        return FL_ERR_INTERNAL;
    overlay->next = next;
    overlay->next_capacity = capacity;
    return 0;
}

/* One record of a publication: its new version, first of all. */
static int publish_one(struct overlay *overlay, uint64_t tag, const struct overlay_record *in)
{
    REQUIRE(in->table < OVERLAY_TABLES_MAX && (in->deleted || in->value || !in->value_bytes));
    if (table_reserve(overlay, 1, true) != 0) /* overlay_publish reserved it: a fallback */
        return FL_ERR_INTERNAL;
    if (next_reserve(overlay) != 0)
        return FL_ERR_INTERNAL;
    size_t hash = record_hash(overlay, in->table, in->key, in->key_bytes);
    size_t slot = slot_find_hashed(overlay, hash, in->table, in->key, in->key_bytes);
    struct record *record = overlay->slots[slot].record;
    bool created = record == NULL;
    if (created) {
        record = calloc(1, sizeof(*record) + in->key_bytes);
        if (!record)
            return FL_ERR_INTERNAL;
        record->hash = hash;
        record->table = in->table;
        record->key_bytes = in->key_bytes;
        memcpy(record->key, in->key, in->key_bytes);
    }
    REQUIRE(!record->newest || record->newest->tag < tag); /* a key once a publication */
    size_t bytes = in->deleted ? 0 : in->value_bytes;
    struct version *version = malloc(sizeof(*version) + bytes);
    if (!version || touched_add(overlay, record, created) != 0) {
        free(version);
        if (created)
            free(record);
        return FL_ERR_INTERNAL;
    }
    version->tag = tag;
    version->bytes = bytes;
    version->deleted = in->deleted;
    if (bytes)
        memcpy(version->value, in->value, bytes);
    version->older = record->newest;
    record->newest = version;
    overlay->versions++;
    overlay->published_since++;
    if (created) {
        overlay->slots[slot] = (struct slot){.hash = hash, .record = record};
        overlay->count++;
    }
    if (!record->dirty)
        overlay->dirty++;
    record->dirty = true;
    if (!record->pending) { /* clean until now: the next sweep's */
        overlay->next[overlay->next_count++] = record;
        record->pending = true;
        overlay->touched[overlay->touched_count - 1].appended = true;
    }
    return 0;
}

int overlay_publish(struct overlay *overlay, uint64_t tag, const struct overlay_record *records,
                    size_t count)
{
    REQUIRE(!overlay->publication_open && tag > overlay->published && tag > overlay->committed);
    if (table_reserve(overlay, count, false) != 0)
        return FL_ERR_INTERNAL;
    overlay_lock(overlay);
    overlay->published_before = overlay->published;
    overlay->published = tag;
    overlay->publication_open = true;
    overlay->touched_count = 0;
    overlay->next_before = overlay->next_count;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = publish_one(overlay, tag, &records[i]);
    if (rc) {
        publication_unappend(overlay);
        publication_undo(overlay, overlay->touched_count);
        overlay->touched_count = 0;
        overlay->publication_open = false;
        overlay->published = overlay->published_before;
    }
    pthread_mutex_unlock(&overlay->lock);
    return rc;
}

void overlay_withdraw(struct overlay *overlay)
{
    REQUIRE(overlay->publication_open);
    overlay_lock(overlay);
    publication_unappend(overlay);
    publication_undo(overlay, overlay->touched_count);
    overlay->touched_count = 0;
    overlay->publication_open = false;
    /* LMDB gives the next write transaction the failed one's id: it may publish under it. */
    overlay->published = overlay->published_before;
    pthread_mutex_unlock(&overlay->lock);
}

/* Drop the versions no reader can see any more: those older than the newest one tagged at
 * or before the oldest registration. */
static void versions_prune(struct overlay *overlay, struct record *record, uint64_t oldest)
{
    struct version *keep = (struct version *)version_at(record, oldest);
    if (!keep)
        return;
    graves_add(overlay, keep->older);
    keep->older = NULL;
}

void overlay_committed(struct overlay *overlay, uint64_t tag)
{
    REQUIRE(tag >= overlay->committed && (!overlay->publication_open || tag == overlay->published));
    overlay_lock(overlay);
    overlay->committed = tag;
    overlay->publication_open = false;
    overlay->sweep_in_publication = false;
    uint64_t oldest = readers_oldest(overlay);
    atomic_store_explicit(&overlay->oldest_seen, oldest, memory_order_relaxed);
    for (size_t i = 0; i < overlay->touched_count; i++)
        versions_prune(overlay, overlay->touched[i].record, oldest);
    overlay->touched_count = 0;
    queue_tidy(overlay, oldest, TIDY_SHARE + 2 * overlay->queue_pushed);
    overlay->queue_pushed = 0;
    pthread_mutex_unlock(&overlay->lock);
    /* Twice what was published since, so that they go whatever the load. */
    graves_free(overlay, TIDY_SHARE + 2 * overlay->published_since);
    overlay->published_since = 0;
}

bool overlay_tidy_due(struct overlay *overlay, bool *later)
{
    /* The queue is the writer's; the oldest registration may have moved on since it was seen,
     * which at worst leaves the tidying to the next look. */
    bool due = overlay->queue_count > 0 &&
               overlay->queue[overlay->queue_head].tag <=
                   atomic_load_explicit(&overlay->oldest_seen, memory_order_relaxed);
    if (later)
        *later = overlay->queue_count > 0 && !due;
    return due || overlay->grave_count > 0;
}

void overlay_tidy(struct overlay *overlay, size_t max)
{
    overlay_lock(overlay);
    queue_tidy(overlay, readers_oldest(overlay), max);
    pthread_mutex_unlock(&overlay->lock);
    graves_free(overlay, max);
}

/* ---- The sweep ---- */

size_t overlay_dirty(const struct overlay *overlay)
{
    return overlay->dirty;
}

/* LMDB's default order: table, then the key's bytes, then the shorter first. */
static int record_order(const void *a, const void *b)
{
    const struct record *x = *(struct record *const *)a, *y = *(struct record *const *)b;
    if (x->table != y->table)
        return x->table < y->table ? -1 : 1;
    return key_order(x->key, x->key_bytes, y->key, y->key_bytes);
}

/* The sorter: the records' tables and keys never change, and the sweep's records are dirty,
 * so never forgotten, while it runs; nothing else reads the array until it is joined. */
static void *sweep_sort(void *argument)
{
    struct overlay *overlay = argument;
    qsort(overlay->sweep, overlay->sweep_count, sizeof(*overlay->sweep), record_order);
    atomic_store_explicit(&overlay->sorted, true, memory_order_release);
    return NULL;
}

static void sweep_join(struct overlay *overlay)
{
    if (!overlay->sorting)
        return;
    pthread_join(overlay->sorter, NULL);
    overlay->sorting = false;
}

/* A new sweep over the records dirty now: the next sweep's list, taken whole, and sorted on a
 * thread of its own (sorting a million records held the writer for two thirds of a second in
 * the prototype; finding them by a pass over the table, for up to 16 ms at a million
 * patients). */
static int sweep_start(struct overlay *overlay)
{
    size_t count = overlay->next_count;
    REQUIRE(count == overlay->dirty);
    /* The list to come, the size of this one: a steady load appends as many. */
    size_t capacity = count > 1024 ? count : 1024;
    struct record **next = malloc(capacity * sizeof(*next));
    if (!next)
        return FL_ERR_INTERNAL;
    overlay->sweep = overlay->next;
    overlay->sweep_count = count;
    overlay->sweep_capacity = overlay->next_capacity;
    overlay->next = next;
    overlay->next_count = 0;
    overlay->next_capacity = capacity;
    overlay->sweep_at = 0;
    overlay->sweep_from = overlay->published;
    overlay->sweep_in_publication = overlay->publication_open;
    if (count == 0)
        return 0;
    atomic_store_explicit(&overlay->sorted, false, memory_order_relaxed);
    overlay->sorting = pthread_create(&overlay->sorter, NULL, sweep_sort, overlay) == 0;
    if (overlay->sorting) /* its CPU shown apart from the writer's, which it would be named */
        pthread_setname_np(overlay->sorter, "fl-sweep-sort");
    if (!overlay->sorting) /* no thread to be had: sort here, as the prototype did */
        sweep_sort(overlay);
    return 0;
}

void overlay_sweep_ready(struct overlay *overlay)
{
    sweep_join(overlay);
}

int overlay_sweep_next(struct overlay *overlay, size_t max, struct overlay_record *out,
                       size_t *count)
{
    *count = 0;
    /* Only the writer reads or changes the sweep and the records' flags: no lock. */
    if (!overlay->sweep) {
        if (sweep_start(overlay) != 0)
            return FL_ERR_INTERNAL;
        if (overlay->sweep_count == 0) { /* nothing dirty: every version is in the trees */
            overlay->covered = overlay->sweep_from;
            free(overlay->sweep);
            overlay->sweep = NULL;
            return 0;
        }
    }
    if (overlay->sorting) {
        if (!atomic_load_explicit(&overlay->sorted, memory_order_acquire))
            return 0; /* still sorting: nothing for this commit */
        sweep_join(overlay);
    }
    size_t left = overlay->sweep_count - overlay->sweep_at;
    size_t given = left < max ? left : max;
    for (size_t i = 0; i < given; i++)
        record_view(overlay->sweep[overlay->sweep_at + i], &out[i]);
    overlay->sweep_given = given;
    *count = given;
    return 0;
}

void overlay_sweep_written(struct overlay *overlay, uint64_t tag)
{
    REQUIRE(overlay->sweep && tag <= overlay->committed);
    queue_reserve(overlay, overlay->sweep_given); /* not under the lock; failing, queue_push says */
    overlay_lock(overlay);
    for (size_t i = 0; i < overlay->sweep_given; i++) {
        struct record *record = overlay->sweep[overlay->sweep_at + i];
        /* Its newest version was given in the commit `tag` (after that commit's publication)
         * and none is published between a commit and this call: the tree holds it now. */
        REQUIRE(record->newest->tag <= tag);
        record->written_tag = tag;
        if (record->dirty) {
            record->dirty = false;
            overlay->dirty--;
        }
        record->pending = false;
        queue_push(overlay, record, tag);
    }
    overlay->sweep_at += overlay->sweep_given;
    overlay->sweep_given = 0;
    if (overlay->sweep_at == overlay->sweep_count) {
        overlay->covered = overlay->sweep_from;
        free(overlay->sweep);
        overlay->sweep = NULL;
    }
    pthread_mutex_unlock(&overlay->lock);
}

size_t overlay_sweep_left(const struct overlay *overlay)
{
    return overlay->sweep ? overlay->sweep_count - overlay->sweep_at : 0;
}

uint64_t overlay_sweep_covered(const struct overlay *overlay)
{
    return overlay->covered;
}

uint64_t overlay_forgotten_tag(const struct overlay *overlay)
{
    return overlay->forgotten_tag;
}

size_t overlay_records(const struct overlay *overlay)
{
    return overlay->count;
}

void overlay_view_pause_set(struct overlay *overlay, void (*pause)(void *arg), void *arg)
{
    overlay->view_pause = pause;
    overlay->view_pause_arg = arg;
}

void overlay_view_share_set(struct overlay *overlay, size_t slots)
{
    REQUIRE(slots > 0);
    overlay->view_share = slots;
}

size_t overlay_versions(const struct overlay *overlay)
{
    return overlay->versions;
}
