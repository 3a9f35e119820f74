/* ledger.c -- the append-only, hash-chained log of entries. */
#include "ledger.h"

#include "books.h"
#include "chain.h"
#include "entry_check.h"
#include "log.h"
#include "require.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char head_key[] = "head";
static const char closed_key[] = "closed_through"; /* "YYYYMMDD": the last closed day */
static const char zone_key[] = "timezone";         /* the business time zone, tzdata's name */

#define HEAD_VALUE_BYTES (8 + HASH_BYTES + 8) /* seq || hash || time_us */
#define LEDGER_TIME_US_END INT64_C(253402300800000000) /* 10000-01-01T00:00:00Z */
/* No famledgerd was made before 2026: a wall clock earlier than that was never set. */
#define LEDGER_TIME_FLOOR_US INT64_C(1767225600000000) /* 2026-01-01T00:00:00Z */

int ledger_head_get(struct store_txn *txn, struct ledger_head *head)
{
    struct store_bytes value;
    memset(head, 0, sizeof(*head));
    int rc = store_get(txn, STORE_DB_META, head_key, sizeof(head_key) - 1, &value);
    if (rc <= 0)
        return rc;
    /* A ledger of the first round stored no time with its head: its next entry's time is the
     * wall clock's, as every entry's was then. */
    if (value.size != HEAD_VALUE_BYTES && value.size != 8 + HASH_BYTES) {
        log_error("ledger: the stored head is %zu bytes, not %d: the ledger is damaged",
                  value.size, HEAD_VALUE_BYTES);
        return FL_ERR_INTERNAL;
    }
    const uint8_t *bytes = value.data;
    head->seq = store_u64_decode(bytes);
    memcpy(head->hash, bytes + 8, HASH_BYTES);
    if (value.size == HEAD_VALUE_BYTES)
        head->time_us = (int64_t)store_u64_decode(bytes + 8 + HASH_BYTES);
    /* The next entry is dated after the head: a head no clock could have written is damage. */
    if (head->time_us < 0 || head->time_us >= LEDGER_TIME_US_END) {
        log_error("ledger: the stored head is dated %lld µs after 1970, outside years 1970 to "
                  "9999: the ledger is damaged. Restore it from a backup (docs/OPERATIONS.md)",
                  (long long)head->time_us);
        return FL_ERR_INTERNAL;
    }
    return 0;
}

/* "YYYY-MM-DD HH:MM UTC" of a time in µs, for the log and a refusal. */
static void ledger_time_text(int64_t time_us, char text[24])
{
    time_t seconds = (time_t)(time_us / 1000000);
    struct tm tm;
    if (!gmtime_r(&seconds, &tm) || !strftime(text, 24, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(text, 24, "%lld s", (long long)seconds);
}

/* The wall clock far past the head entry: a clock set wrong (a virtual machine's, a typing
 * error) rather than a ledger silent for months. Dating by it would date every later entry
 * after it, so nothing is dated until it comes back. */
static int ledger_clock_ahead(struct request_ctx *ctx, const struct ledger_head *head)
{
    static bool said; /* writer thread only: one line per episode */
    uint64_t days = ctx->config->clock_ahead_max_days;
    int64_t ahead_us = ctx->time_us - head->time_us;
    bool ahead = days && head->seq > 0 && ahead_us > (int64_t)days * 86400 * 1000000;
    if (!ahead) {
        if (said)
            log_info("ledger: the wall clock is back within clock_ahead_max_days of the last "
                     "entry; writes go on");
        said = false;
        return 0;
    }
    char wall[24], last[24];
    ledger_time_text(ctx->time_us, wall);
    ledger_time_text(head->time_us, last);
    if (!said)
        log_error("ledger: the wall clock (%s) is %lld days past the last entry (%s), more than "
                  "clock_ahead_max_days (%llu): no write is dated by it. Set the clock right "
                  "(chrony); if the ledger was truly idle that long, raise the setting",
                  wall, (long long)(ahead_us / 86400000000LL), last, (unsigned long long)days);
    said = true;
    return request_fail(ctx, FL_ERR_INTERNAL, "the daemon's wall clock (%s) is %lld days past "
                        "the last entry (%s): nothing is written until it is set right",
                        wall, (long long)(ahead_us / 86400000000LL), last);
}

/* A wall clock before 2026 is one that was never set: a machine without a battery-backed
 * clock, before NTP has run. A new ledger's first entries dated by it would stay in 1970 for
 * ever, and once the clock was right every write would be refused as months past them
 * (ledger_clock_ahead). `next` is the time the entry would have; a ledger with entries dates on
 * from its head, so only a new one (or one of the first round, whose head has no time) meets
 * this. */
static int ledger_clock_unset(struct request_ctx *ctx, int64_t next)
{
    static bool said; /* writer thread only: one line per episode */
    if (next >= LEDGER_TIME_FLOOR_US) {
        if (said)
            log_info("ledger: the wall clock is set now; writes go on");
        said = false;
        return 0;
    }
    char wall[24];
    ledger_time_text(ctx->time_us, wall);
    if (!said)
        log_error("ledger: the wall clock (%s) is before 2026, when famledgerd was made: it was "
                  "never set (no battery-backed clock, NTP not yet run). No write is dated by "
                  "it; set the clock (chrony)", wall);
    said = true;
    return request_fail(ctx, FL_ERR_INTERNAL, "the daemon's wall clock (%s) is before 2026: it "
                        "was never set, and nothing is written until it is", wall);
}

int ledger_time_next(struct request_ctx *ctx)
{
    static bool warned; /* writer thread only: one warning per step back */
    struct ledger_head head;
    int rc = ledger_head_get(ctx->txn, &head);
    if (rc)
        return request_fail(ctx, rc, "cannot read the head of the ledger");
    if ((rc = ledger_clock_ahead(ctx, &head)))
        return rc;
    int64_t wall_us = ctx->time_us;
    int64_t next = wall_us;
    if (head.seq > 0 && next <= head.time_us) {
        if (!warned && head.time_us - wall_us > 1000000)
            log_warn("ledger: the wall clock is %.3f s behind the last entry; entry times go on "
                     "from the last one until it catches up",
                     (double)(head.time_us - wall_us) / 1e6);
        warned = true;
        next = head.time_us + 1;
    } else {
        warned = false;
    }
    if ((rc = ledger_clock_unset(ctx, next)))
        return rc;
    /* No floor for closed days is needed: a day is closed by an entry dated after it, and
     * every later entry is dated later still. */
    ctx->time_us = next;
    return 0;
}

int ledger_append(struct request_ctx *ctx, Famledger__Entry *entry)
{
    struct ledger_head head;
    int rc = ledger_head_get(ctx->txn, &head);
    if (rc)
        return rc;

    Famledger__Actor *actor = ARENA_NEW(ctx->arena, Famledger__Actor);
    famledger__actor__init(actor);
    actor->uid = ctx->peer_uid;
    actor->gid = ctx->peer_gid;
    actor->operator_id = (char *)(ctx->operator_id ? ctx->operator_id : "");

    /* A request that appends several entries (a credit batch) dates each after the last. */
    if (head.seq > 0 && ctx->time_us <= head.time_us)
        ctx->time_us = head.time_us + 1;
    entry->seq = head.seq + 1;
    entry->time_us = ctx->time_us;
    entry->prev_hash.data = arena_alloc(ctx->arena, HASH_BYTES);
    entry->prev_hash.len = HASH_BYTES;
    memcpy(entry->prev_hash.data, head.hash, HASH_BYTES);
    entry->actor = actor;

    /* Stored value: hash || entry bytes; the next head is (seq, hash). */
    size_t entry_bytes = famledger__entry__get_packed_size(entry);
    uint8_t *value = arena_alloc(ctx->arena, HASH_BYTES + entry_bytes);
    REQUIRE(famledger__entry__pack(entry, value + HASH_BYTES) == entry_bytes);
    chain_hash(head.hash, value + HASH_BYTES, entry_bytes, value);

    uint8_t key[8];
    store_u64_encode(key, entry->seq);
    rc = store_append(ctx->txn, STORE_DB_LOG, key, sizeof(key), value, HASH_BYTES + entry_bytes);
    if (rc)
        return rc;
    store_txn_tally(ctx->txn, (unsigned)entry->body_case); /* entries by type (metrics) */
    REQUIRE(head.seq == 0 || entry->time_us > head.time_us); /* time only goes forward */
    uint8_t new_head[HEAD_VALUE_BYTES];
    memcpy(new_head, key, 8);
    memcpy(new_head + 8, value, HASH_BYTES);
    store_u64_encode(new_head + 8 + HASH_BYTES, (uint64_t)entry->time_us);
    rc = store_put(ctx->txn, STORE_DB_META, head_key, sizeof(head_key) - 1, new_head,
                   sizeof(new_head));
    /* No index of days: entries are in time order, so a day is a run of the log
     * (ledger_day_first). */
    return rc ? rc : books_apply(ctx, entry);
}

void ledger_business_day(int64_t time_us, char day[9])
{
    /* glibc's localtime_r parses the zone's rule again at every call (a twentieth of the
     * writer's time); the settlements of a batch mostly share their second, and the zone is
     * set once at start, so each thread keeps the day of the last second it asked about. */
    static _Thread_local struct {
        bool known;
        time_t second;
        char day[9];
    } last;
    time_t seconds = (time_t)(time_us / 1000000);
    if (!last.known || last.second != seconds) {
        struct tm local;
        localtime_r(&seconds, &local);
        if (strftime(last.day, sizeof(last.day), "%Y%m%d", &local) != 8)
            strcpy(last.day, "00000000"); /* a year beyond 9999: not a business day of ours */
        last.second = seconds;
        last.known = true;
    }
    memcpy(day, last.day, sizeof(last.day));
}

uint32_t ledger_business_month(int64_t time_us)
{
    char day[9];
    ledger_business_day(time_us, day);
    uint32_t yyyymm = 0;
    for (int i = 0; i < 6; i++)
        yyyymm = yyyymm * 10 + (uint32_t)(day[i] - '0');
    return yyyymm;
}

int ledger_entry_get(struct store_txn *txn, struct arena *arena, uint64_t seq,
                     Famledger__Entry **entry, ProtobufCBinaryData *entry_bytes,
                     uint8_t hash[HASH_BYTES])
{
    uint8_t key[8];
    store_u64_encode(key, seq);
    struct store_bytes value;
    int rc = store_get(txn, STORE_DB_LOG, key, sizeof(key), &value);
    if (rc <= 0)
        return rc;
    if (value.size < HASH_BYTES)
        return FL_ERR_INTERNAL;
    const uint8_t *bytes = (const uint8_t *)value.data + HASH_BYTES;
    size_t bytes_count = value.size - HASH_BYTES;
    *entry = famledger__entry__unpack(&arena->protobuf, bytes_count, bytes);
    if (!*entry)
        return FL_ERR_INTERNAL; /* a stored entry that does not decode: verify will name it */
    if (entry_bytes) {
        entry_bytes->data = arena_alloc(arena, bytes_count);
        memcpy(entry_bytes->data, bytes, bytes_count);
        entry_bytes->len = bytes_count;
    }
    if (hash)
        memcpy(hash, value.data, HASH_BYTES);
    return 1;
}

int ledger_entry_read(struct store_txn *txn, struct arena *arena, uint64_t seq,
                      Famledger__Entry **entry)
{
    int rc = ledger_entry_get(txn, arena, seq, entry, NULL, NULL);
    if (rc == 1 && !entry_whole(*entry)) {
        log_error("ledger: entry %llu lacks a part or carries a negative amount: no famledgerd "
                  "wrote it, and the chain after it was rewritten. Run verify, and restore the "
                  "ledger from a backup (docs/OPERATIONS.md)", (unsigned long long)seq);
        return FL_ERR_INTERNAL;
    }
    return rc;
}

int ledger_entry_day(struct store_txn *txn, struct arena *arena, uint64_t seq, char day[9])
{
    Famledger__Entry *entry;
    int rc = ledger_entry_get(txn, arena, seq, &entry, NULL, NULL);
    if (rc == 1)
        ledger_business_day(entry->time_us, day);
    return rc;
}

int ledger_day_first(struct store_txn *txn, struct arena *arena, const char day[9],
                     uint64_t head_seq, uint64_t *seq)
{
    /* The answer is in [low, high]; high = head_seq + 1 stands for "none". */
    uint64_t low = 1, high = head_seq + 1;
    while (low < high) {
        uint64_t middle = low + (high - low) / 2;
        char probed[9];
        int rc = ledger_entry_day(txn, arena, middle, probed);
        if (rc <= 0)
            return rc < 0 ? rc : FL_ERR_INTERNAL; /* a hole in the log: verify names it */
        if (memcmp(probed, day, 8) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    *seq = low <= head_seq ? low : 0;
    return 0;
}

const char *ledger_entry_type_name(const Famledger__Entry *entry)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(&famledger__entry__descriptor,
                                                (unsigned)entry->body_case);
    return field ? field->name : "unknown";
}

int ledger_entry_get_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    uint64_t seq = request->entry_get->seq;
    Famledger__EntryReply *reply = ARENA_NEW(ctx->arena, Famledger__EntryReply);
    famledger__entry_reply__init(reply);
    reply->hash.data = arena_alloc(ctx->arena, HASH_BYTES);
    reply->hash.len = HASH_BYTES;
    int rc = ledger_entry_get(ctx->txn, ctx->arena, seq, &reply->entry, &reply->entry_bytes,
                              reply->hash.data);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read entry %llu", (unsigned long long)seq);
    if (rc == 0)
        return request_fail(ctx, FL_ERR_UNKNOWN_ENTRY, "no entry with sequence %llu",
                            (unsigned long long)seq);
    reply->seq = seq;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_ENTRY;
    ctx->response->entry = reply;
    return 0;
}

int ledger_head_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    (void)request;
    struct ledger_head head;
    int rc = ledger_head_get(ctx->txn, &head);
    if (rc)
        return request_fail(ctx, rc, "cannot read the ledger head");
    Famledger__HeadReply *reply = ARENA_NEW(ctx->arena, Famledger__HeadReply);
    famledger__head_reply__init(reply);
    reply->seq = head.seq;
    reply->hash.data = arena_alloc(ctx->arena, HASH_BYTES);
    reply->hash.len = HASH_BYTES;
    memcpy(reply->hash.data, head.hash, HASH_BYTES);
    reply->timezone = (char *)ctx->config->timezone;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_HEAD;
    ctx->response->head = reply;
    return 0;
}

int ledger_check_head(struct store *store, struct ledger_head *head)
{
    struct store_txn *txn;
    struct arena arena;
    arena_init(&arena);
    int rc = store_read_begin(store, &txn);
    if (rc)
        return -1;
    struct store_bytes last;
    int found = 0;
    rc = ledger_head_get(txn, head);
    if (rc == 0)
        found = store_last(txn, STORE_DB_LOG, &last);
    if (rc == 0 && found >= 0) {
        uint64_t last_seq = found == 1 && last.size == 8 ? store_u64_decode(last.data) : 0;
        if (last_seq != head->seq) {
            log_error("ledger: the head says entry %llu but the log ends at %llu: the ledger is "
                      "damaged. Restore it from a backup (docs/OPERATIONS.md)",
                      (unsigned long long)head->seq, (unsigned long long)last_seq);
            rc = -1;
        }
    }
    if (rc == 0 && head->seq > 0) {
        Famledger__Entry *entry = NULL;
        ProtobufCBinaryData bytes;
        uint8_t stored[HASH_BYTES], computed[HASH_BYTES];
        int got = ledger_entry_get(txn, &arena, head->seq, &entry, &bytes, stored);
        if (got == 1 && entry->prev_hash.len == HASH_BYTES)
            chain_hash(entry->prev_hash.data, bytes.data, bytes.len, computed);
        /* The head carries its entry's time (a head of the first round none: 0). */
        if (got != 1 || entry->prev_hash.len != HASH_BYTES ||
            memcmp(computed, stored, HASH_BYTES) != 0 ||
            memcmp(stored, head->hash, HASH_BYTES) != 0 ||
            (head->time_us != 0 && entry->time_us != head->time_us)) {
            log_error("ledger: the head entry %llu does not match its hash or its time: the "
                      "ledger is damaged. Restore it from a backup (docs/OPERATIONS.md)",
                      (unsigned long long)head->seq);
            rc = -1;
        }
    }
    store_read_end(txn);
    arena_free(&arena);
    return rc ? -1 : 0;
}

/* Whether a recorded zone name is one an operator could have configured: printable, short. */
static bool ledger_zone_plausible(const void *bytes, size_t size)
{
    if (size == 0 || size >= CONFIG_PATH_BYTES)
        return false;
    for (size_t i = 0; i < size; i++) {
        char c = ((const char *)bytes)[i];
        if (c <= ' ' || c > '~')
            return false;
    }
    return true;
}

/* The rule of ledger_check_timezone, given what meta holds (`found` < 0: unreadable): true
 * when a start with `zone` may go on; false with the refusal in `error`. */
static bool ledger_zone_allowed(const char *dir, int found, const void *recorded_bytes,
                                size_t recorded_size, uint64_t head_seq, const char *zone,
                                char *error, size_t error_bytes)
{
    size_t zone_bytes = strlen(zone);
    if (found == 0 || (found == 1 && recorded_size == zone_bytes &&
                       memcmp(recorded_bytes, zone, zone_bytes) == 0))
        return true;
    if (found == 1 && head_seq == 0)
        return true; /* no entry is counted in any zone yet */
    char recorded[CONFIG_PATH_BYTES] = "";
    bool plausible = found == 1 && ledger_zone_plausible(recorded_bytes, recorded_size);
    if (plausible)
        snprintf(recorded, sizeof(recorded), "%.*s", (int)recorded_size,
                 (const char *)recorded_bytes);
    if (found < 0)
        snprintf(error, error_bytes, "cannot read the business time zone of %s/data.mdb", dir);
    else if (!plausible || !config_zone_known(recorded))
        snprintf(error, error_bytes, "the business time zone recorded in %s/data.mdb is not one "
                 "of tzdata's: the ledger is damaged. Restore it from a backup "
                 "(docs/OPERATIONS.md)", dir);
    else
        snprintf(error, error_bytes, "the ledger's business days are in %s, the time zone "
                 "recorded at its first start, but the configuration says timezone %s. Its "
                 "closed days, day totals and exports are counted in %s, and entries dated in "
                 "another zone would fall into closed days: set timezone = %s "
                 "(docs/OPERATIONS.md)", recorded, zone, recorded, recorded);
    return false;
}

int ledger_check_timezone(struct store *store, const char *zone, uint64_t head_seq)
{
    struct store_txn *txn;
    if (store_write_begin(store, &txn) != 0) {
        log_error("ledger: cannot begin a transaction to read the business time zone");
        return -1;
    }
    struct store_bytes value = {0};
    int found = store_get(txn, STORE_DB_META, zone_key, sizeof(zone_key) - 1, &value);
    char error[CONFIG_PATH_BYTES * 4 + 512];
    if (!ledger_zone_allowed(store_dir(store), found, value.data, value.size, head_seq, zone,
                             error, sizeof(error))) {
        log_error("ledger: %s", error);
        store_abort(txn);
        return -1;
    }
    size_t zone_bytes = strlen(zone);
    if (found == 1 && value.size == zone_bytes && memcmp(value.data, zone, zone_bytes) == 0) {
        store_abort(txn);
        return 0;
    }
    /* A new ledger, one written before the zone was recorded, or one without entries yet. */
    int rc = store_put(txn, STORE_DB_META, zone_key, sizeof(zone_key) - 1, zone, zone_bytes);
    if (rc == 0)
        rc = store_commit(txn);
    else
        store_abort(txn);
    if (rc) {
        log_error("ledger: cannot record the business time zone in %s/data.mdb: %s",
                  store_dir(store), fl_strerror(rc));
        return -1;
    }
    if (head_seq > 0)
        log_info("ledger: recorded its business time zone, %s: a start with another is refused "
                 "from now on", zone);
    return 0;
}

int ledger_check_timezone_offline(const char *dir, const char *zone, char *error,
                                  size_t error_bytes)
{
    char recorded[CONFIG_PATH_BYTES], head[HEAD_VALUE_BYTES];
    size_t recorded_size = sizeof(recorded), head_size = sizeof(head);
    int found = store_meta_peek(dir, zone_key, recorded, &recorded_size);
    int head_found = found == 1 ? store_meta_peek(dir, head_key, head, &head_size) : 0;
    if (found < 0 || head_found < 0)
        return 1; /* not readable by this user: the start will tell */
    uint64_t head_seq = head_found == 1 && head_size >= 8 ? store_u64_decode((uint8_t *)head) : 0;
    return ledger_zone_allowed(dir, found, recorded, recorded_size, head_seq, zone, error,
                               error_bytes)
               ? 0
               : -1;
}

int ledger_day_close_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__DayCloseRequest *close = request->day_close;
    char day[9], today[9];
    if (!entry_day_parse(close->date, day))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "date must be a real day, YYYY-MM-DD");
    ledger_business_day(ctx->time_us, today);
    if (strcmp(day, today) >= 0)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "%s has not ended yet (today is "
                            "%.4s-%.2s-%.2s in the business time zone)", close->date, today,
                            today + 4, today + 6);
    struct store_bytes value;
    int rc = store_get(ctx->txn, STORE_DB_META, closed_key, sizeof(closed_key) - 1, &value);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read the closed days");
    Famledger__DayCloseReply *reply = ARENA_NEW(ctx->arena, Famledger__DayCloseReply);
    famledger__day_close_reply__init(reply);
    reply->closed_through = arena_strdup(ctx->arena, close->date);
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_DAY_CLOSE;
    ctx->response->day_close = reply;
    if (rc == 1 && value.size == 8 && memcmp(value.data, day, 8) >= 0) {
        /* Already closed (this day or a later one): nothing to write. */
        char *through = arena_alloc(ctx->arena, 11);
        const char *stored = value.data;
        snprintf(through, 11, "%.4s-%.2s-%.2s", stored, stored + 4, stored + 6);
        reply->closed_through = through;
        ctx->response->replayed = 1;
        return 0;
    }
    Famledger__DayClosed closed = FAMLEDGER__DAY_CLOSED__INIT;
    closed.date = reply->closed_through;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_DAY_CLOSED;
    entry.day_closed = &closed;
    if ((rc = ledger_append(ctx, &entry)) ||
        (rc = store_put(ctx->txn, STORE_DB_META, closed_key, sizeof(closed_key) - 1, day, 8)))
        return request_fail(ctx, rc, "cannot record the closed day");
    reply->seq = entry.seq;
    return 0;
}
