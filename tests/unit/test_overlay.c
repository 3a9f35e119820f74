/* test_overlay.c -- records in memory until a sweep writes them (daemon/overlay.h): readers at
 * a snapshot see the version of that snapshot or, when the overlay has none, what the tree held
 * then, key by key and in a walk's view of a table; a failed commit leaves no trace; the sweep
 * hands out every dirty record once, in LMDB's order; records are forgotten only when no
 * registered reader needs them; and readers on other threads read safely while the writer
 * publishes, sweeps and forgets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_wrap.h"
#include "famledger_status.h"
#include "overlay.h"

static struct overlay_record text_record(uint8_t table, const char *key, const char *value)
{
    return (struct overlay_record){.table = table,
                                   .key = (const uint8_t *)key,
                                   .key_bytes = strlen(key),
                                   .value = (const uint8_t *)value,
                                   .value_bytes = value ? strlen(value) : 0,
                                   .deleted = value == NULL};
}

/* What a reader at `snapshot` gets, as text: "" for none (the tree), "-" for deleted. */
static const char *seen(struct overlay *overlay, uint64_t snapshot, uint8_t table,
                        const char *key)
{
    static char text[256];
    uint8_t *copy;
    size_t bytes;
    int rc = overlay_get(overlay, snapshot, table, key, strlen(key), &copy, &bytes);
    assert_true(rc >= 0);
    if (rc == 0)
        return "";
    if (rc == 2)
        return "-";
    assert_true(bytes < sizeof(text));
    memcpy(text, copy, bytes);
    text[bytes] = '\0';
    free(copy);
    return text;
}

/* Allocations fail through the linker (Makefile: --wrap; alloc_wrap.h). */

static uint64_t reader_begin(struct overlay *overlay)
{
    uint64_t registration;
    assert_int_equal(overlay_reader_begin(overlay, &registration), 0);
    return registration;
}

static void publish_commit(struct overlay *overlay, uint64_t tag, struct overlay_record record)
{
    assert_int_equal(overlay_publish(overlay, tag, &record, 1), 0);
    overlay_committed(overlay, tag);
}

static void test_readers_see_their_snapshot(void **state)
{
    (void)state;
    struct overlay *overlay;
    assert_int_equal(overlay_new(&overlay), 0);
    uint64_t early = reader_begin(overlay); /* snapshot 0 */
    publish_commit(overlay, 5, text_record(0, "A", "five"));
    uint64_t middle = reader_begin(overlay);
    assert_int_equal(middle, 5);
    publish_commit(overlay, 7, text_record(0, "A", "seven"));
    publish_commit(overlay, 8, text_record(1, "A", "other table"));
    publish_commit(overlay, 9, text_record(0, "A", NULL));

    assert_string_equal(seen(overlay, early, 0, "A"), ""); /* before it: the tree */
    assert_string_equal(seen(overlay, middle, 0, "A"), "five");
    assert_string_equal(seen(overlay, 7, 0, "A"), "seven");
    assert_string_equal(seen(overlay, 8, 1, "A"), "other table");
    assert_string_equal(seen(overlay, 9, 0, "A"), "-");
    assert_string_equal(seen(overlay, 9, 0, "B"), "");
    struct overlay_record latest;
    assert_int_equal(overlay_latest(overlay, 0, "A", 1, &latest), 1);
    assert_true(latest.deleted);
    assert_int_equal(overlay_latest(overlay, 0, "B", 1, &latest), 0);

    /* The early reader holds versions 5 and 7 of A back from being dropped. */
    assert_int_equal(overlay_versions(overlay), 4);
    overlay_reader_end(overlay, early);
    overlay_reader_end(overlay, middle);
    publish_commit(overlay, 10, text_record(0, "A", "ten"));
    assert_int_equal(overlay_versions(overlay), 2); /* A's newest, and the other table's */
    overlay_free(overlay);
}

static void test_a_walk_merges_a_view_in_key_order(void **state)
{
    (void)state;
    struct overlay *overlay;
    assert_int_equal(overlay_new(&overlay), 0);
    struct overlay_record records[] = {text_record(0, "b", "1"), text_record(0, "ab", "1"),
                                       text_record(0, "a", NULL), text_record(1, "a", "x")};
    assert_int_equal(overlay_publish(overlay, 1, records, 4), 0);
    overlay_committed(overlay, 1);
    publish_commit(overlay, 2, text_record(0, "c", "2"));
    struct overlay_view *view;
    assert_int_equal(overlay_view_make(overlay, 1, 0, &view), 0);
    assert_int_equal(view->count, 3); /* not "c", made after the snapshot; not table 1 */
    assert_memory_equal(view->records[0].key, "a", 1);
    assert_true(view->records[0].deleted);
    assert_memory_equal(view->records[1].key, "ab", 2);
    assert_memory_equal(view->records[2].key, "b", 1);
    assert_memory_equal(view->records[2].value, "1", 1);
    assert_int_equal(overlay_view_after(view, "", 0), 0);
    assert_int_equal(overlay_view_after(view, "a", 1), 1);
    assert_int_equal(overlay_view_after(view, "aa", 2), 1);
    assert_int_equal(overlay_view_after(view, "b", 1), 3);
    overlay_view_free(view);
    overlay_free(overlay);
}

/* What a view's pause does to the table, once: publish a commit of `count` new records (enough
 * to grow the table, which moves every record), failed or not. */
struct view_change {
    struct overlay *overlay;
    uint64_t tag;
    size_t count;
    bool fails;
    unsigned pauses;
};

static void view_change_once(void *argument)
{
    struct view_change *change = argument;
    if (change->pauses++ != 2) /* two shares looked at already */
        return;
    static char keys[1024][48];
    static struct overlay_record records[1024];
    for (size_t i = 0; i < change->count; i++) {
        snprintf(keys[i], sizeof(keys[i]), "n%04zu-%llu", i, (unsigned long long)change->tag);
        records[i] = text_record(0, keys[i], "new");
    }
    assert_int_equal(overlay_publish(change->overlay, change->tag, records, change->count), 0);
    if (change->fails)
        overlay_withdraw(change->overlay); /* its records are taken out: others move back */
    else
        overlay_committed(change->overlay, change->tag);
}

/* The table changes while a view has let the lock go: it grows (every record moves), or a
 * failed commit takes records out (records after them move back). The view begins again, and
 * holds each record of its snapshot once. */
static void test_a_view_begins_again_when_the_table_changes_under_it(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        struct overlay *overlay;
        assert_int_equal(overlay_new(&overlay), 0);
        overlay_view_share_set(overlay, 16);
        static char keys[400][16];
        static struct overlay_record records[400];
        for (size_t i = 0; i < 400; i++) {
            snprintf(keys[i], sizeof(keys[i]), "k%04zu", i);
            records[i] = text_record(0, keys[i], "old");
        }
        assert_int_equal(overlay_publish(overlay, 1, records, 400), 0);
        overlay_committed(overlay, 1);
        uint64_t registration = reader_begin(overlay);
        struct view_change change = {
            .overlay = overlay, .tag = 2, .count = round == 0 ? 300 : 120, .fails = round == 1};
        overlay_view_pause_set(overlay, view_change_once, &change);
        struct overlay_view *view;
        assert_int_equal(overlay_view_make(overlay, 1, 0, &view), 0);
        assert_true(change.pauses > 2);
        assert_int_equal(view->count, 400);
        for (size_t i = 0; i < 400; i++) {
            assert_int_equal(view->records[i].key_bytes, 5);
            assert_memory_equal(view->records[i].key, keys[i], 5);
        }
        overlay_view_free(view);
        overlay_reader_end(overlay, registration);
        overlay_free(overlay);
    }
}

static void test_a_failed_commit_leaves_no_trace(void **state)
{
    (void)state;
    struct overlay *overlay;
    assert_int_equal(overlay_new(&overlay), 0);
    publish_commit(overlay, 3, text_record(0, "kept", "three"));
    struct overlay_record records[] = {text_record(0, "kept", "four"),
                                       text_record(0, "new", "four")};
    assert_int_equal(overlay_publish(overlay, 4, records, 2), 0);
    assert_int_equal(overlay_dirty(overlay), 2);
    overlay_withdraw(overlay);
    assert_int_equal(overlay_records(overlay), 1);
    assert_int_equal(overlay_versions(overlay), 1);
    assert_int_equal(overlay_dirty(overlay), 1);
    struct overlay_record latest;
    assert_int_equal(overlay_latest(overlay, 0, "new", 3, &latest), 0);
    assert_int_equal(overlay_latest(overlay, 0, "kept", 4, &latest), 1);
    assert_memory_equal(latest.value, "three", 5);
    /* The same tag again, once it committed nothing. */
    publish_commit(overlay, 4, text_record(0, "new", "four"));
    assert_string_equal(seen(overlay, 4, 0, "new"), "four");
    overlay_free(overlay);
}

/* overlay_sweep_next, waiting for a new sweep's sort instead of taking nothing meanwhile. */
static void sweep_next_ready(struct overlay *overlay, size_t max, struct overlay_record *out,
                             size_t *count)
{
    assert_int_equal(overlay_sweep_next(overlay, max, out, count), 0);
    if (*count == 0 && max > 0 && overlay_dirty(overlay) > 0) {
        overlay_sweep_ready(overlay);
        assert_int_equal(overlay_sweep_next(overlay, max, out, count), 0);
    }
}

/* Written by a sweep in a commit; what the sweep gave, in order, into `keys`. */
static size_t sweep_step(struct overlay *overlay, uint64_t tag, size_t max, char keys[][16])
{
    struct overlay_record out[64];
    size_t count;
    assert_true(max <= 64);
    sweep_next_ready(overlay, max, out, &count);
    for (size_t i = 0; i < count; i++) {
        assert_true(out[i].key_bytes < 15);
        keys[i][0] = (char)('0' + out[i].table);
        memcpy(keys[i] + 1, out[i].key, out[i].key_bytes);
        keys[i][out[i].key_bytes + 1] = '\0';
    }
    overlay_committed(overlay, tag);
    if (count)
        overlay_sweep_written(overlay, tag);
    return count;
}

/* Keys as LMDB orders them: by their bytes, zeros and 0xff among them, then the shorter first;
 * long keys that share their first 15, 31 or 47 bytes (the sweep's sort looks at 16 at a time),
 * and tables above each other. */
static void test_the_sweep_orders_any_bytes_of_any_length_as_lmdb_does(void **state)
{
    (void)state;
    enum { KEYS = 3000 };
    static uint8_t bytes[KEYS][64];
    static struct overlay_record records[KEYS];
    uint64_t random = 88172645463325252u;
    for (size_t i = 0; i < KEYS; i++) {
        random ^= random << 13, random ^= random >> 7, random ^= random << 17;
        size_t length = 1 + random % 64;
        for (size_t b = 0; b < length; b++) /* few values, so that long prefixes are shared */
            bytes[i][b] = (uint8_t[]){0x00, 0x01, 0x7f, 0xff}[(random >> (b % 28 * 2 + 8)) % 4];
        size_t shared = (size_t[]){0, 15, 31, 47, 14, 16, 30, 32}[random % 8];
        if (i > 0 && length > shared) /* as many bytes of the key before as it had */
            memcpy(bytes[i], bytes[i - 1], shared);
        records[i] = (struct overlay_record){.table = (uint8_t)(random >> 60) % 3,
                                             .key = bytes[i], .key_bytes = length,
                                             .value = (const uint8_t *)"v", .value_bytes = 1};
    }
    struct overlay *overlay;
    assert_int_equal(overlay_new(&overlay), 0);
    uint64_t tag = 2;
    for (size_t i = 0; i < KEYS; i++) /* one a commit: a key may come twice */
        publish_commit(overlay, tag++, records[i]);
    size_t distinct = overlay_dirty(overlay), seen_count = 0;
    assert_true(distinct > KEYS / 2);
    uint8_t before[64], before_table = 0;
    size_t before_bytes = 0;
    for (; seen_count < distinct; tag++) {
        struct overlay_record out[64];
        size_t count;
        sweep_next_ready(overlay, 64, out, &count);
        assert_true(count > 0);
        for (size_t i = 0; i < count; i++, seen_count++) {
            if (seen_count > 0) { /* strictly after the one before */
                size_t shorter = before_bytes < out[i].key_bytes ? before_bytes
                                                                 : out[i].key_bytes;
                int order = memcmp(before, out[i].key, shorter);
                assert_true(before_table < out[i].table ||
                            (before_table == out[i].table &&
                             (order < 0 || (order == 0 && before_bytes < out[i].key_bytes))));
            }
            before_table = out[i].table;
            memcpy(before, out[i].key, out[i].key_bytes);
            before_bytes = out[i].key_bytes;
        }
        overlay_committed(overlay, tag);
        overlay_sweep_written(overlay, tag);
    }
    assert_int_equal(overlay_dirty(overlay), 0);
    overlay_free(overlay);
}

static void test_the_sweep_writes_each_dirty_record_once_in_key_order(void **state)
{
    (void)state;
    struct overlay *overlay;
    assert_int_equal(overlay_new(&overlay), 0);
    struct overlay_record records[] = {text_record(1, "b", "1"), text_record(0, "ba", "2"),
                                       text_record(0, "b", "3"), text_record(0, "a", "4"),
                                       text_record(1, "a", NULL)};
    assert_int_equal(overlay_publish(overlay, 2, records, 5), 0);
    overlay_committed(overlay, 2);
    uint64_t reader = reader_begin(overlay); /* snapshot 2 */

    char keys[64][16];
    assert_int_equal(sweep_step(overlay, 3, 2, keys), 2);
    assert_string_equal(keys[0], "0a");
    assert_string_equal(keys[1], "0b"); /* the shorter first */
    /* Changed again after the sweep wrote it: dirty again, and in the next sweep. */
    publish_commit(overlay, 4, text_record(0, "a", "5"));
    assert_int_equal(overlay_sweep_covered(overlay), 0);
    assert_int_equal(sweep_step(overlay, 5, 64, keys), 3);
    assert_string_equal(keys[0], "0ba");
    assert_string_equal(keys[1], "1a");
    assert_string_equal(keys[2], "1b");
    assert_int_equal(overlay_sweep_covered(overlay), 2); /* the sweep began after tag 2 */
    assert_int_equal(overlay_dirty(overlay), 1);

    /* The reader at 2 still gets its versions; the written records stay for it. */
    assert_string_equal(seen(overlay, reader, 0, "b"), "3");
    assert_string_equal(seen(overlay, reader, 1, "a"), "-");
    publish_commit(overlay, 6, text_record(2, "z", "6"));
    assert_int_equal(overlay_records(overlay), 6);
    overlay_reader_end(overlay, reader);

    assert_int_equal(sweep_step(overlay, 7, 64, keys), 2);
    assert_string_equal(keys[0], "0a");
    assert_string_equal(keys[1], "2z");
    assert_int_equal(overlay_sweep_covered(overlay), 6);
    assert_int_equal(overlay_dirty(overlay), 0);
    overlay_committed(overlay, 8); /* a commit with nothing of its own: what was written goes */
    assert_int_equal(overlay_records(overlay), 0);
    assert_int_equal(overlay_versions(overlay), 0);
    struct overlay_record none[1];
    size_t none_count;
    assert_int_equal(overlay_sweep_next(overlay, 1, none, &none_count), 0);
    assert_int_equal(none_count, 0);
    overlay_free(overlay);
}

/* A reader held while a sweep writes thousands of records leaves them behind it, for it reads
 * the tree of its snapshot: once it ends, each commit forgets a share of them, never all at
 * once, and the writer forgets the rest between commits (overlay_tidy). */
static void test_a_long_readers_backlog_is_forgotten_in_shares(void **state)
{
    (void)state;
    enum { KEYS = 5000, SHARE = 100 };
    struct overlay *overlay;
    assert_int_equal(overlay_new(&overlay), 0);
    static char keys[KEYS][16];
    static struct overlay_record records[KEYS], out[SHARE];
    for (size_t k = 0; k < KEYS; k++) {
        snprintf(keys[k], sizeof(keys[k]), "k%04zu", k);
        records[k] = text_record(0, keys[k], "one");
    }
    assert_int_equal(overlay_publish(overlay, 1, records, KEYS), 0);
    overlay_committed(overlay, 1);
    uint64_t reader = reader_begin(overlay); /* snapshot 1: the tree does not hold them yet */
    uint64_t tag = 1;
    size_t given;
    do {
        sweep_next_ready(overlay, SHARE, out, &given);
        overlay_committed(overlay, ++tag);
        if (given)
            overlay_sweep_written(overlay, tag);
    } while (given);
    assert_int_equal(overlay_dirty(overlay), 0);
    /* Its snapshot's versions stay for it, whatever the writer does. */
    assert_int_equal(overlay_records(overlay), KEYS);
    assert_false(overlay_tidy_due(overlay, NULL));
    overlay_tidy(overlay, SIZE_MAX);
    assert_int_equal(overlay_records(overlay), KEYS);
    assert_string_equal(seen(overlay, reader, 0, "k4999"), "one");

    overlay_reader_end(overlay, reader);
    assert_true(overlay_tidy_due(overlay, NULL));
    overlay_committed(overlay, ++tag); /* a commit of nothing forgets a share */
    size_t left = overlay_records(overlay);
    assert_true(left > 0 && left < KEYS);
    overlay_committed(overlay, ++tag); /* and the next, another */
    assert_true(overlay_records(overlay) < left);
    left = overlay_records(overlay);
    overlay_tidy(overlay, 10); /* each written once: ten entries, ten records */
    assert_int_equal(overlay_records(overlay), left - 10);
    assert_true(overlay_tidy_due(overlay, NULL));
    overlay_tidy(overlay, SIZE_MAX);
    assert_int_equal(overlay_records(overlay), 0);
    assert_int_equal(overlay_versions(overlay), 0);
    assert_false(overlay_tidy_due(overlay, NULL));
    overlay_free(overlay);
}

/* A key changed in every commit while a reader holds its snapshot keeps every version for it;
 * once the reader ends, they are freed a share at a time, never all in one commit. */
static void test_versions_a_long_reader_kept_are_freed_in_shares(void **state)
{
    (void)state;
    enum { COMMITS = 10000 };
    struct overlay *overlay;
    assert_int_equal(overlay_new(&overlay), 0);
    publish_commit(overlay, 1, text_record(0, "fund", "0"));
    uint64_t reader = reader_begin(overlay);
    char value[16];
    for (uint64_t tag = 2; tag <= COMMITS; tag++) {
        snprintf(value, sizeof(value), "%llu", (unsigned long long)tag);
        publish_commit(overlay, tag, text_record(0, "fund", value));
    }
    assert_int_equal(overlay_versions(overlay), COMMITS);
    assert_string_equal(seen(overlay, reader, 0, "fund"), "0");
    overlay_reader_end(overlay, reader);
    publish_commit(overlay, COMMITS + 1, text_record(0, "fund", "last"));
    size_t left = overlay_versions(overlay);
    assert_true(left > 1 && left < COMMITS);
    assert_string_equal(seen(overlay, COMMITS + 1, 0, "fund"), "last");
    assert_true(overlay_tidy_due(overlay, NULL));
    overlay_tidy(overlay, SIZE_MAX);
    assert_int_equal(overlay_versions(overlay), 1);
    assert_false(overlay_tidy_due(overlay, NULL));
    overlay_free(overlay);
}

static void test_a_sweep_begun_in_a_failed_commit_begins_again(void **state)
{
    (void)state;
    struct overlay *overlay;
    assert_int_equal(overlay_new(&overlay), 0);
    publish_commit(overlay, 1, text_record(0, "old", "1"));
    struct overlay_record record = text_record(0, "new", "2"), out[4];
    assert_int_equal(overlay_publish(overlay, 2, &record, 1), 0);
    size_t count;
    /* Its records are likely still being sorted when the commit fails. */
    assert_int_equal(overlay_sweep_next(overlay, 4, out, &count), 0);
    assert_true(count == 0 || count == 2);
    overlay_withdraw(overlay); /* the commit failed: "new" is gone, and with it that sweep */
    assert_int_equal(overlay_publish(overlay, 2, NULL, 0), 0);
    sweep_next_ready(overlay, 4, out, &count);
    assert_int_equal(count, 1);
    assert_memory_equal(out[0].key, "old", 3);
    overlay_committed(overlay, 2);
    overlay_sweep_written(overlay, 2);
    assert_int_equal(overlay_dirty(overlay), 0);
    overlay_free(overlay);
}

/* ---- Against a model: every version ever committed, and the tree as each commit left it ---- */

#define MODEL_KEYS 3000
#define MODEL_COMMITS 400

struct model {
    /* value[c][k]: the key's value after commit c (-1 none, -2 deleted); tree[c][k] likewise for
     * what the tree held after commit c. Values are the tag that made them. */
    int32_t value[MODEL_COMMITS + 1][MODEL_KEYS];
    int32_t tree[MODEL_COMMITS + 1][MODEL_KEYS];
};

static uint64_t random_state = 88172645463325252ULL;
static uint64_t random_next(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return random_state;
}

static void key_text(size_t k, char key[16])
{
    snprintf(key, 16, "k%zu", k * 7919 % 100003); /* keys of several lengths, unordered */
}

/* The model's index of a record's key; every record the overlay holds is one of them. */
static size_t model_key_index(const struct overlay_record *record)
{
    for (size_t k = record->table; k < MODEL_KEYS; k += 3) {
        char key[16];
        key_text(k, key);
        if (strlen(key) == record->key_bytes && memcmp(key, record->key, record->key_bytes) == 0)
            return k;
    }
    fail_msg("a key the model never made");
    return 0;
}

/* A record's value as the model writes it: the tag that made it, or -2 when deleted. */
static int32_t model_value_of(const struct overlay_record *record)
{
    int32_t value = -2;
    if (!record->deleted) {
        assert_int_equal(record->value_bytes, sizeof(value));
        memcpy(&value, record->value, sizeof(value));
    }
    return value;
}

static void model_check(struct overlay *overlay, const struct model *model, uint64_t snapshot)
{
    for (size_t k = 0; k < MODEL_KEYS; k += 1 + random_next() % 5) {
        char key[16];
        key_text(k, key);
        uint8_t *copy;
        size_t bytes;
        int rc = overlay_get(overlay, snapshot, (uint8_t)(k % 3), key, strlen(key), &copy, &bytes);
        int32_t expected = model->value[snapshot][k];
        if (rc == 0) { /* the tree must be right */
            assert_int_equal(model->tree[snapshot][k], expected);
        } else if (rc == 2) {
            assert_int_equal(expected, -2);
        } else {
            assert_int_equal(rc, 1);
            int32_t value;
            assert_int_equal(bytes, sizeof(value));
            memcpy(&value, copy, sizeof(value));
            free(copy);
            assert_int_equal(value, expected);
        }
    }
}

/* A walk's view of one table: in key order, each record as the model has it at the snapshot,
 * and every key of the table it leaves out as the tree had it then. */
static void model_view_check(struct overlay *overlay, const struct model *model,
                             uint64_t snapshot, uint8_t table)
{
    struct overlay_view *view;
    assert_int_equal(overlay_view_make(overlay, snapshot, table, &view), 0);
    static bool in_view[MODEL_KEYS];
    memset(in_view, 0, sizeof(in_view));
    for (size_t i = 0; i < view->count; i++) {
        const struct overlay_record *record = &view->records[i];
        if (i > 0) { /* strictly ascending: LMDB's order, shorter first */
            const struct overlay_record *before = &view->records[i - 1];
            size_t shorter = before->key_bytes < record->key_bytes ? before->key_bytes
                                                                    : record->key_bytes;
            int order = memcmp(before->key, record->key, shorter);
            assert_true(order < 0 || (order == 0 && before->key_bytes < record->key_bytes));
        }
        assert_int_equal(overlay_view_after(view, record->key, record->key_bytes), i + 1);
        assert_ptr_equal(overlay_view_find(view, record->key, record->key_bytes), record);
        assert_int_equal(record->table, table);
        size_t k = model_key_index(record);
        in_view[k] = true;
        assert_int_equal(model_value_of(record), model->value[snapshot][k]);
    }
    for (size_t k = table; k < MODEL_KEYS; k += 3) {
        if (in_view[k])
            continue;
        char key[16];
        key_text(k, key);
        assert_null(overlay_view_find(view, key, strlen(key)));
        assert_int_equal(model->tree[snapshot][k], model->value[snapshot][k]);
    }
    overlay_view_free(view);
}

static void test_readers_agree_with_a_model_of_every_commit(void **state)
{
    (void)state;
    struct model *model = malloc(sizeof(*model));
    assert_non_null(model);
    memset(model->value[0], 0xff, sizeof(model->value[0])); /* -1: none */
    memcpy(model->tree[0], model->value[0], sizeof(model->tree[0]));
    struct overlay *overlay;
    assert_int_equal(overlay_new(&overlay), 0);
    uint64_t readers[16];
    size_t reader_count = 0;
    static struct overlay_record records[MODEL_KEYS], out[256];
    static int32_t values[MODEL_KEYS];
    static char keys[MODEL_KEYS][16];
    static bool chosen[MODEL_KEYS];
    for (uint64_t tag = 1; tag <= MODEL_COMMITS; tag++) {
        memcpy(model->value[tag], model->value[tag - 1], sizeof(model->value[tag]));
        memcpy(model->tree[tag], model->tree[tag - 1], sizeof(model->tree[tag]));
        size_t count = 0, changes = random_next() % 40;
        memset(chosen, 0, sizeof(chosen));
        for (size_t c = 0; c < changes; c++) {
            size_t k = random_next() % MODEL_KEYS;
            if (chosen[k])
                continue;
            chosen[k] = true;
            key_text(k, keys[k]);
            bool deleted = random_next() % 10 == 0;
            values[k] = (int32_t)tag;
            records[count++] = (struct overlay_record){
                .table = (uint8_t)(k % 3),
                .key = (const uint8_t *)keys[k],
                .key_bytes = strlen(keys[k]),
                .value = deleted ? NULL : (const uint8_t *)&values[k],
                .value_bytes = deleted ? 0 : sizeof(values[k]),
                .deleted = deleted};
            model->value[tag][k] = deleted ? -2 : (int32_t)tag;
        }
        assert_int_equal(overlay_publish(overlay, tag, records, count), 0);
        if (random_next() % 13 == 0) { /* the commit fails */
            overlay_withdraw(overlay);
            memcpy(model->value[tag], model->value[tag - 1], sizeof(model->value[tag]));
            assert_int_equal(overlay_publish(overlay, tag, NULL, 0), 0);
        }
        /* A share of the sweep goes into the tree with this commit. */
        size_t given;
        assert_int_equal(overlay_sweep_next(overlay, random_next() % 256, out, &given), 0);
        for (size_t i = 0; i < given; i++) {
            size_t k = model_key_index(&out[i]);
            int32_t value = model_value_of(&out[i]);
            assert_int_equal(value, model->value[tag][k]); /* its newest version */
            model->tree[tag][k] = value;
        }
        overlay_committed(overlay, tag);
        if (given)
            overlay_sweep_written(overlay, tag);
        /* Readers come and go; each checks what it sees at its snapshot. */
        if (reader_count < 16 && random_next() % 4 == 0)
            readers[reader_count++] = reader_begin(overlay);
        for (size_t r = 0; r < reader_count; r++)
            model_check(overlay, model, readers[r]);
        model_check(overlay, model, tag);
        if (tag % 10 == 0)
            model_view_check(overlay, model, reader_count ? readers[0] : tag,
                             (uint8_t)(tag / 10 % 3));
        if (reader_count && random_next() % 5 == 0) {
            size_t r = random_next() % reader_count;
            overlay_reader_end(overlay, readers[r]);
            readers[r] = readers[--reader_count];
        }
    }
    while (reader_count)
        overlay_reader_end(overlay, readers[--reader_count]);
    /* With no reader left, sweeping everything leaves nothing behind. */
    uint64_t tag = MODEL_COMMITS;
    for (int round = 0; round < 4; round++) {
        size_t given;
        do {
            tag++;
            sweep_next_ready(overlay, 256, out, &given);
            overlay_committed(overlay, tag);
            if (given)
                overlay_sweep_written(overlay, tag);
        } while (given);
    }
    overlay_committed(overlay, ++tag);
    assert_int_equal(overlay_dirty(overlay), 0);
    assert_int_equal(overlay_records(overlay), 0);
    assert_int_equal(overlay_versions(overlay), 0);
    overlay_free(overlay);
    free(model);
}

/* Every allocation of a scenario fails in turn: each call that reports it changed nothing,
 * and the overlay then goes on as if it had not been made. */
static void test_every_allocation_that_fails_is_reported_and_changes_nothing(void **state)
{
    (void)state;
    for (long failing = 0;; failing++) {
        struct overlay *overlay;
        allocations_before_failure = failing;
        if (overlay_new(&overlay) != 0) {
            assert_null(overlay);
            continue;
        }
        bool failed = false;
        /* A publication of three, one of them new, over two committed records. */
        struct overlay_record first[] = {text_record(0, "a", "1"), text_record(0, "b", "1")};
        while (overlay_publish(overlay, 1, first, 2) != 0) {
            assert_int_equal(overlay_records(overlay), 0);
            assert_int_equal(overlay_versions(overlay), 0);
            failed = true;
        }
        overlay_committed(overlay, 1);
        struct overlay_record second[] = {text_record(0, "a", "2"), text_record(0, "c", "2"),
                                          text_record(0, "b", NULL)};
        while (overlay_publish(overlay, 2, second, 3) != 0) {
            assert_int_equal(overlay_records(overlay), 2);
            assert_int_equal(overlay_versions(overlay), 2);
            assert_int_equal(overlay_dirty(overlay), 2);
            assert_string_equal(seen(overlay, 9, 0, "a"), "1");
            assert_string_equal(seen(overlay, 9, 0, "c"), "");
            failed = true;
        }
        overlay_committed(overlay, 2);
        uint64_t reader;
        while (overlay_reader_begin(overlay, &reader) != 0)
            failed = true;
        uint8_t *copy;
        size_t bytes;
        int rc;
        while ((rc = overlay_get(overlay, reader, 0, "a", 1, &copy, &bytes)) < 0)
            failed = true;
        assert_int_equal(rc, 1);
        assert_memory_equal(copy, "2", 1);
        free(copy);
        struct overlay_view *view;
        while (overlay_view_make(overlay, reader, 0, &view) != 0)
            failed = true;
        assert_int_equal(view->count, 3); /* a, b deleted, c */
        assert_true(view->records[1].deleted);
        overlay_view_free(view);
        /* The sweep: all three written; with no room to queue one, it is kept, still right. */
        struct overlay_record out[4];
        size_t count;
        do {
            while (overlay_sweep_next(overlay, 4, out, &count) != 0)
                failed = true;
            overlay_sweep_ready(overlay);
        } while (count == 0);
        assert_int_equal(count, 3);
        overlay_committed(overlay, 3);
        overlay_sweep_written(overlay, 3);
        overlay_reader_end(overlay, reader);
        overlay_committed(overlay, 4);
        bool reached = allocations_before_failure < 0; /* the failure came */
        allocations_before_failure = -1;                 /* the checks below allocate */
        assert_int_equal(overlay_dirty(overlay), 0);
        /* Each record forgotten (the tree is right) or kept for want of room, as it is. */
        const char *keys[] = {"a", "b", "c"}, *values[] = {"2", "-", "2"};
        size_t kept = 0;
        for (int k = 0; k < 3; k++) {
            const char *value = seen(overlay, 4, 0, keys[k]);
            if (*value) {
                assert_string_equal(value, values[k]);
                kept++;
            }
        }
        assert_int_equal(overlay_records(overlay), kept);
        overlay_free(overlay);
        if (!reached && !failed)
            break; /* the scenario ran out of allocations to fail */
    }
}

/* ---- Readers on other threads ---- */

struct race {
    struct overlay *overlay;
    atomic_bool done;
    uint64_t checked[3];
};

struct race_thread {
    struct race *race;
    int index;
};

static void *race_reader(void *argument)
{
    const struct race_thread *thread = argument;
    struct race *race = thread->race;
    uint64_t checked = 0, random = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(thread->index + 1);
    while (!atomic_load(&race->done)) {
        uint64_t registration;
        if (overlay_reader_begin(race->overlay, &registration) != 0)
            abort();
        for (int i = 0; i < 64; i++) {
            char key[16];
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            snprintf(key, sizeof(key), "key%d", (int)(random % 500));
            uint8_t *copy;
            size_t bytes;
            int rc = overlay_get(race->overlay, registration, 0, key, strlen(key), &copy, &bytes);
            if (rc == 1) {
                uint64_t tag;
                if (bytes != sizeof(tag))
                    abort();
                memcpy(&tag, copy, sizeof(tag));
                free(copy);
                if (tag > registration) /* a version from after its snapshot */
                    abort();
                checked++;
            }
        }
        overlay_reader_end(race->overlay, registration);
    }
    race->checked[thread->index] = checked;
    return NULL;
}

static void test_readers_on_other_threads_while_the_writer_sweeps(void **state)
{
    (void)state;
    struct race race = {0};
    atomic_init(&race.done, false);
    assert_int_equal(overlay_new(&race.overlay), 0);
    pthread_t threads[3];
    struct race_thread arguments[3];
    for (int t = 0; t < 3; t++) {
        arguments[t] = (struct race_thread){.race = &race, .index = t};
        assert_int_equal(pthread_create(&threads[t], NULL, race_reader, &arguments[t]), 0);
    }
    struct overlay_record records[32], out[64];
    char keys[32][16];
    uint64_t values[32];
    for (uint64_t tag = 1; tag <= 20000; tag++) {
        for (int i = 0; i < 32; i++) {
            snprintf(keys[i], sizeof(keys[i]), "key%d", (int)((tag * 32 + (uint64_t)i) % 500));
            values[i] = tag;
            records[i] = (struct overlay_record){.key = (const uint8_t *)keys[i],
                                                 .key_bytes = strlen(keys[i]),
                                                 .value = (const uint8_t *)&values[i],
                                                 .value_bytes = sizeof(values[i])};
        }
        size_t count = tag % 500 < 16 ? 0 : 32; /* the keys of one commit differ */
        assert_int_equal(overlay_publish(race.overlay, tag, records, count), 0);
        size_t given;
        assert_int_equal(overlay_sweep_next(race.overlay, 48, out, &given), 0);
        overlay_committed(race.overlay, tag);
        if (given)
            overlay_sweep_written(race.overlay, tag);
    }
    atomic_store(&race.done, true);
    for (int t = 0; t < 3; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    assert_true(race.checked[0] + race.checked[1] + race.checked[2] > 0);
    overlay_free(race.overlay);
}

/* ---- Views made on another thread while the writer publishes, sweeps, grows and forgets ----
 *
 * A view is made a share of the table at a time, the lock let go between shares. Against a
 * model of every publication and every write to the tree: for each key, the view holds the
 * version its snapshot sees, or, when it holds none, the tree as of the snapshot is right. */

enum { VIEW_KEYS = 40000, VIEW_COMMITS = 600, VIEW_CHANGES = 256 };

struct key_history {
    uint64_t *tags; /* ascending */
    size_t count, capacity;
};

struct view_race {
    struct overlay *overlay;
    pthread_mutex_t model_lock;
    struct key_history published[VIEW_KEYS]; /* tags of the commits that changed the key */
    struct key_history written[VIEW_KEYS];   /* tags of the commits that wrote it to the tree */
    uint64_t written_value[VIEW_KEYS][64];   /* the value each of those wrote (first 64) */
    atomic_bool done;
    atomic_size_t views;
    size_t checked_in_view, checked_in_tree;
};

static void history_add(struct key_history *history, uint64_t tag)
{
    if (history->count == history->capacity) {
        history->capacity = history->capacity ? history->capacity * 2 : 8;
        history->tags = realloc(history->tags, history->capacity * sizeof(*history->tags));
        if (!history->tags)
            abort();
    }
    history->tags[history->count++] = tag;
}

/* The index of the last tag at most `snapshot`, or -1. */
static long history_at(const struct key_history *history, uint64_t snapshot)
{
    long found = -1;
    for (size_t i = 0; i < history->count && history->tags[i] <= snapshot; i++)
        found = (long)i;
    return found;
}

static void *view_race_viewer(void *argument)
{
    struct view_race *race = argument;
    while (!atomic_load(&race->done)) {
        uint64_t snapshot;
        if (overlay_reader_begin(race->overlay, &snapshot) != 0)
            abort();
        struct overlay_view *view;
        if (overlay_view_make(race->overlay, snapshot, 0, &view) != 0)
            abort();
        pthread_mutex_lock(&race->model_lock);
        size_t at = 0;
        for (size_t k = 0; k < VIEW_KEYS; k++) {
            char key[16];
            snprintf(key, sizeof(key), "v%05zu", k);
            long published = history_at(&race->published[k], snapshot);
            uint64_t expected = published < 0 ? 0 : race->published[k].tags[published];
            /* The view is in key order, and so are the keys. */
            const struct overlay_record *record = at < view->count ? &view->records[at] : NULL;
            if (record && record->key_bytes == strlen(key) &&
                memcmp(record->key, key, record->key_bytes) == 0) {
                uint64_t value;
                if (record->value_bytes != sizeof(value))
                    abort();
                memcpy(&value, record->value, sizeof(value));
                if (value != expected)
                    abort(); /* not the version its snapshot sees */
                at++;
                race->checked_in_view++;
                continue;
            }
            long written = history_at(&race->written[k], snapshot);
            if (written >= 64)
                continue; /* past what the model keeps */
            uint64_t in_tree = written < 0 ? 0 : race->written_value[k][written];
            if (in_tree != expected)
                abort(); /* missing from the view, and the tree is not right for it */
            race->checked_in_tree++;
        }
        if (at != view->count)
            abort(); /* a record the view should not hold */
        pthread_mutex_unlock(&race->model_lock);
        overlay_view_free(view);
        overlay_reader_end(race->overlay, snapshot);
        atomic_fetch_add(&race->views, 1);
    }
    return NULL;
}

static void test_views_made_while_the_writer_grows_sweeps_and_forgets(void **state)
{
    (void)state;
    struct view_race *race = calloc(1, sizeof(*race));
    assert_non_null(race);
    assert_int_equal(overlay_new(&race->overlay), 0);
    overlay_view_share_set(race->overlay, 16); /* many shares a view: the table changes between */
    pthread_mutex_init(&race->model_lock, NULL);
    atomic_init(&race->done, false);
    pthread_t viewer;
    assert_int_equal(pthread_create(&viewer, NULL, view_race_viewer, race), 0);
    static struct overlay_record records[VIEW_CHANGES], out[800];
    static char keys[VIEW_CHANGES][16];
    static uint64_t values[VIEW_CHANGES];
    static bool chosen[VIEW_KEYS];
    size_t indexes[VIEW_CHANGES];
    /* First memory fills and the table grows past a view's share; then the sweep outpaces the
     * commits, records are forgotten and made again, and a third of the commits fail, taking
     * the records they made out of the table: until the viewer has made enough views. */
    for (uint64_t tag = 1; tag <= VIEW_COMMITS || atomic_load(&race->views) < 400; tag++) {
        bool filling = tag <= VIEW_COMMITS / 3;
        memset(chosen, 0, sizeof(chosen));
        size_t count = 0;
        while (count < VIEW_CHANGES) {
            size_t k = random_next() % VIEW_KEYS;
            if (chosen[k])
                continue;
            chosen[k] = true;
            indexes[count] = k;
            snprintf(keys[count], sizeof(keys[count]), "v%05zu", k);
            values[count] = tag;
            records[count] = (struct overlay_record){.table = 0,
                                                     .key = (const uint8_t *)keys[count],
                                                     .key_bytes = strlen(keys[count]),
                                                     .value = (const uint8_t *)&values[count],
                                                     .value_bytes = sizeof(values[count])};
            count++;
        }
        assert_int_equal(overlay_publish(race->overlay, tag, records, count), 0);
        if (!filling && random_next() % 3 == 0) { /* it fails: its new records are taken out */
            overlay_withdraw(race->overlay);
            assert_int_equal(overlay_publish(race->overlay, tag, NULL, 0), 0);
            count = 0;
        }
        size_t given, share = random_next() % (filling ? 200 : 800);
        assert_int_equal(overlay_sweep_next(race->overlay, share, out, &given), 0);
        pthread_mutex_lock(&race->model_lock);
        for (size_t i = 0; i < count; i++)
            history_add(&race->published[indexes[i]], tag);
        for (size_t i = 0; i < given; i++) {
            /* The key is not terminated: its digits are copied out first. */
            char digits[16];
            snprintf(digits, sizeof(digits), "%.*s", (int)out[i].key_bytes - 1,
                     (const char *)out[i].key + 1);
            size_t k = (size_t)strtoul(digits, NULL, 10);
            assert_true(k < VIEW_KEYS);
            struct key_history *written = &race->written[k];
            if (written->count < 64)
                memcpy(&race->written_value[k][written->count], out[i].value, sizeof(uint64_t));
            history_add(written, tag);
        }
        pthread_mutex_unlock(&race->model_lock);
        overlay_committed(race->overlay, tag); /* readers see it once the model has it */
        if (given)
            overlay_sweep_written(race->overlay, tag);
    }
    atomic_store(&race->done, true);
    assert_int_equal(pthread_join(viewer, NULL), 0);
    print_message("%zu views; %zu records checked in them, %zu in the tree\n",
                  atomic_load(&race->views), race->checked_in_view, race->checked_in_tree);
    assert_true(race->checked_in_view > 0 && race->checked_in_tree > 0);
    for (size_t k = 0; k < VIEW_KEYS; k++) {
        free(race->published[k].tags);
        free(race->written[k].tags);
    }
    pthread_mutex_destroy(&race->model_lock);
    overlay_free(race->overlay);
    free(race);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_see_their_snapshot),
        cmocka_unit_test(test_a_walk_merges_a_view_in_key_order),
        cmocka_unit_test(test_a_failed_commit_leaves_no_trace),
        cmocka_unit_test(test_a_view_begins_again_when_the_table_changes_under_it),
        cmocka_unit_test(test_the_sweep_writes_each_dirty_record_once_in_key_order),
        cmocka_unit_test(test_the_sweep_orders_any_bytes_of_any_length_as_lmdb_does),
        cmocka_unit_test(test_a_sweep_begun_in_a_failed_commit_begins_again),
        cmocka_unit_test(test_a_long_readers_backlog_is_forgotten_in_shares),
        cmocka_unit_test(test_versions_a_long_reader_kept_are_freed_in_shares),
        cmocka_unit_test(test_readers_agree_with_a_model_of_every_commit),
        cmocka_unit_test(test_every_allocation_that_fails_is_reported_and_changes_nothing),
        cmocka_unit_test(test_readers_on_other_threads_while_the_writer_sweeps),
        cmocka_unit_test(test_views_made_while_the_writer_grows_sweeps_and_forgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
