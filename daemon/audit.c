/* audit.c -- bounded pages of the log, of derived state and of a merchant's day. */
#include "audit.h"

#include "clearing.h"
#include "entry_check.h"
#include "fl_limits.h"
#include "ledger.h"
#include "prefetch.h"
#include "table_digest.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

static size_t page_limit(uint32_t asked, size_t max)
{
    return asked == 0 || asked > max ? max : asked;
}

/* Where a page of business day `day` starts: a cursor inside the day resumes there; any other
 * start is the day's first entry, found by halving (a day is one run of the log, entries being
 * in time order). *seq is 0 when the day has no entry there. */
static int day_start(struct request_ctx *ctx, const char day[9], uint64_t from_seq,
                     uint64_t head_seq, uint64_t *seq)
{
    *seq = 0;
    if (from_seq > head_seq)
        return 0;
    if (from_seq) {
        char from_day[9];
        int rc = ledger_entry_day(ctx->txn, ctx->arena, from_seq, from_day);
        if (rc <= 0)
            return rc ? rc : FL_ERR_INTERNAL;
        int order = memcmp(from_day, day, 8);
        if (order >= 0) {
            *seq = order == 0 ? from_seq : 0;
            return 0;
        }
    }
    return ledger_day_first(ctx->txn, ctx->arena, day, head_seq, seq);
}

/* A page of the log, read by one cursor: the whole log (what verify reads, entry after entry)
 * or one business day's run of it (exports). The records are served as stored: the reader
 * checks each against the chain and decodes it (verify names an entry that does not decode);
 * a day's page decodes each entry too, for its time. */
struct log_scan {
    struct request_ctx *ctx;
    Famledger__LogPageReply *reply;
    uint64_t seq, head_seq; /* the entry due next; the last to serve */
    size_t limit, page_bytes;
    const char *day;        /* NULL: the whole log; else "YYYYMMDD" */
    bool day_ended;         /* the entry due next is of a later day */
};

#define LOG_SCAN_FULL (-1) /* the page is full: not an error */

static int log_scan_visit(void *context, struct store_bytes key, struct store_bytes value)
{
    struct log_scan *scan = context;
    if (scan->seq > scan->head_seq)
        return LOG_SCAN_FULL;
    if (key.size != 8 || store_u64_decode(key.data) != scan->seq || value.size < HASH_BYTES) {
        if (scan->reply->n_records > 0) /* the page ends before the damage; the next is refused */
            return LOG_SCAN_FULL;
        log_error("log: entry %llu is missing or damaged: the ledger is damaged (ledgerctl "
                  "verify names it)", (unsigned long long)scan->seq);
        return FL_ERR_INTERNAL;
    }
    if (scan->day) {
        Famledger__Entry *entry = famledger__entry__unpack(
            &scan->ctx->arena->protobuf, value.size - HASH_BYTES,
            (const uint8_t *)value.data + HASH_BYTES);
        if (!entry) {
            log_error("log: entry %llu does not decode: the ledger is damaged (ledgerctl "
                      "verify names it)", (unsigned long long)scan->seq);
            return FL_ERR_INTERNAL;
        }
        char entry_day[9];
        ledger_business_day(entry->time_us, entry_day);
        if (memcmp(entry_day, scan->day, 8) != 0) {
            scan->day_ended = true;
            return LOG_SCAN_FULL;
        }
    }
    if (scan->reply->n_records == scan->limit || scan->page_bytes >= PAGE_BYTES_MAX)
        return LOG_SCAN_FULL;
    Famledger__LogRecord *record = ARENA_NEW(scan->ctx->arena, Famledger__LogRecord);
    famledger__log_record__init(record);
    record->seq = scan->seq++;
    record->hash.len = HASH_BYTES;
    record->hash.data = arena_alloc(scan->ctx->arena, value.size);
    memcpy(record->hash.data, value.data, value.size);
    record->entry_bytes.data = record->hash.data + HASH_BYTES;
    record->entry_bytes.len = value.size - HASH_BYTES;
    scan->reply->records[scan->reply->n_records++] = record;
    scan->page_bytes += value.size + 32;
    return 0;
}

/* Fill the page from scan->seq; the next page starts at the entry due next, if any is. */
static int log_scan_page(struct log_scan *scan)
{
    uint8_t after[8];
    store_u64_encode(after, scan->seq - 1);
    int rc = 0;
    if (scan->seq <= scan->head_seq)
        rc = store_scan(scan->ctx->txn, STORE_DB_LOG, scan->seq > 1 ? after : NULL,
                        sizeof(after), (struct store_bytes){0}, scan->limit + 1, log_scan_visit,
                        scan);
    if (rc == 0 && scan->seq <= scan->head_seq && scan->reply->n_records == 0) {
        log_error("log: entry %llu is missing: the ledger is damaged (ledgerctl verify names "
                  "it)", (unsigned long long)scan->seq); /* the log ended early */
        rc = FL_ERR_INTERNAL;
    }
    if (rc && rc != LOG_SCAN_FULL)
        return rc;
    scan->reply->next_seq = !scan->day_ended && scan->seq <= scan->head_seq ? scan->seq : 0;
    return 0;
}

static int log_whole_page(struct request_ctx *ctx, Famledger__LogPageReply *reply,
                          uint64_t from_seq, uint64_t head_seq, size_t limit)
{
    struct log_scan scan = {.ctx = ctx, .reply = reply, .seq = from_seq ? from_seq : 1,
                            .head_seq = head_seq, .limit = limit};
    return log_scan_page(&scan);
}

/* A page of the entries of business day `day`, from the cursor `from_seq`. */
static int log_day_page(struct request_ctx *ctx, Famledger__LogPageReply *reply,
                        const char day[9], uint64_t from_seq, uint64_t head_seq, size_t limit)
{
    struct log_scan scan = {.ctx = ctx, .reply = reply, .head_seq = head_seq, .limit = limit,
                            .day = day};
    int rc = day_start(ctx, day, from_seq, head_seq, &scan.seq);
    if (rc || scan.seq == 0)
        return rc;
    return log_scan_page(&scan);
}

int audit_log_page_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__LogPageRequest *page = request->log_page;
    size_t limit = page_limit(page->limit, LOG_PAGE_MAX);
    struct ledger_head head;
    int rc = ledger_head_get(ctx->txn, &head);
    if (rc)
        return request_fail(ctx, rc, "cannot read the head");
    Famledger__LogPageReply *reply = ARENA_NEW(ctx->arena, Famledger__LogPageReply);
    famledger__log_page_reply__init(reply);
    reply->head_seq = head.seq;
    reply->records = ARENA_ARRAY(ctx->arena, Famledger__LogRecord *, limit);
    if (*page->date) {
        char day[9];
        if (!entry_day_parse(page->date, day))
            return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "date must be YYYY-MM-DD");
        rc = log_day_page(ctx, reply, day, page->from_seq, head.seq, limit);
    } else {
        rc = log_whole_page(ctx, reply, page->from_seq, head.seq, limit);
    }
    if (rc)
        return request_fail(ctx, rc, "cannot read the log");
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_LOG_PAGE;
    ctx->response->log_page = reply;
    return 0;
}

struct state_page {
    struct request_ctx *ctx;
    Famledger__StatePageReply *reply;
    size_t bytes;
};

static int state_page_visit_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    struct state_page *page = context;
    struct arena *arena = page->ctx->arena;
    Famledger__StatePageReply *reply = page->reply;
    if (page->bytes >= PAGE_BYTES_MAX) {
        reply->more = 1; /* cut by bytes: this record starts the next page */
        return 1;
    }
    page->bytes += key.size + value.size + 16;
    ProtobufCBinaryData *k = &reply->keys[reply->n_keys++];
    ProtobufCBinaryData *v = &reply->values[reply->n_values++];
    k->len = key.size;
    k->data = memcpy(arena_alloc(arena, key.size + 1), key.data, key.size);
    v->len = value.size;
    v->data = memcpy(arena_alloc(arena, value.size + 1), value.data, value.size);
    return 0;
}

/* The store's table for a page or digest of `table` after (after_key, after_value); fails the
 * request (a negative status) when there is none or the cursor is too long. */
static int state_table_db(struct request_ctx *ctx, Famledger__StateTable table,
                          ProtobufCBinaryData after_key, ProtobufCBinaryData after_value,
                          enum store_db *db)
{
    static const enum store_db tables[] = {
        [FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS] = STORE_DB_ACCOUNTS,
        [FAMLEDGER__STATE_TABLE__STATE_PERSONS] = STORE_DB_PERSONS,
        [FAMLEDGER__STATE_TABLE__STATE_FUNDERS] = STORE_DB_FUNDERS,
        [FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS] = STORE_DB_SETTLEMENTS,
        [FAMLEDGER__STATE_TABLE__STATE_FUNDED] = STORE_DB_FUNDED,
        [FAMLEDGER__STATE_TABLE__STATE_MERCHANTS] = STORE_DB_MERCHANTS,
        [FAMLEDGER__STATE_TABLE__STATE_REFERENCES] = STORE_DB_REFERENCES,
        [FAMLEDGER__STATE_TABLE__STATE_BALANCES] = STORE_DB_BALANCES,
        [FAMLEDGER__STATE_TABLE__STATE_WALLETS] = STORE_DB_WALLETS,
        [FAMLEDGER__STATE_TABLE__STATE_WALLET_SENDS] = STORE_DB_WALLET_SENDS,
        [FAMLEDGER__STATE_TABLE__STATE_HOLDS] = STORE_DB_HOLDS,
        [FAMLEDGER__STATE_TABLE__STATE_TIMERS] = STORE_DB_TIMERS,
        [FAMLEDGER__STATE_TABLE__STATE_AID_LIMITS] = STORE_DB_AID_LIMITS,
        [FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS] = STORE_DB_ACCOUNT_LINKS,
        [FAMLEDGER__STATE_TABLE__STATE_MERCHANT_LINKS] = STORE_DB_MERCHANT_LINKS,
        [FAMLEDGER__STATE_TABLE__STATE_DAY_TOTALS] = STORE_DB_DAY_TOTALS,
        [FAMLEDGER__STATE_TABLE__STATE_MERCHANT_DAYS] = STORE_DB_MERCHANT_DAYS,
        [FAMLEDGER__STATE_TABLE__STATE_PATIENT_LINKS] = STORE_DB_PATIENT_LINKS,
        [FAMLEDGER__STATE_TABLE__STATE_WALLET_LINKS] = STORE_DB_WALLET_LINKS,
        [FAMLEDGER__STATE_TABLE__STATE_EMERGENCY_CLAIMS] = STORE_DB_EMERGENCY_CLAIMS,
        [FAMLEDGER__STATE_TABLE__STATE_CALENDARS] = STORE_DB_CALENDARS,
    };
    /* Tables of earlier formats (reserved in the proto), each now part of another: an older
     * ledgerctl asks for them by number. */
    static const struct {
        int table;
        const char *became;
    } retired[] = {
        {8, "account_entries is account_links since format 4"},
        {9, "day_entries is the time-ordered log itself since format 6"},
        {10, "merchant_day is merchant_links and day_totals since format 7"},
        {12, "clearing_days is day_totals since format 7"},
        {13, "patient_settlements is patient_links since format 8"},
        {19, "aid_usage is part of each account since format 5"},
    };
    for (size_t i = 0; i < sizeof(retired) / sizeof(*retired); i++)
        if ((int)table == retired[i].table)
            return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "%s: verify with a ledgerctl of "
                                "this famledgerd", retired[i].became);
    /* A value without a table (a hole of the array) would read as the log, table 0. */
    if (table < FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS ||
        table > FAMLEDGER__STATE_TABLE__STATE_CALENDARS || tables[table] == STORE_DB_LOG)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "unknown state table");
    if (after_key.len > STORE_KEY_MAX || after_value.len > 8)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "after_key or after_value too long");
    *db = tables[table];
    return 0;
}

/* Whether a walk of `db` resuming after a key of `after_key_bytes` has the prefetch threads
 * reading ahead of it: then the kernel's windows around its leaves would mostly read other
 * tables' pages, and the scan asks for none. */
static bool state_threads_ahead(struct request_ctx *ctx, enum store_db db, size_t after_key_bytes)
{
    return ctx->prefetch && after_key_bytes > 0 && prefetch_walking(ctx->prefetch, db);
}

int audit_state_page_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__StatePageRequest *page = request->state_page;
    enum store_db db;
    int failed = state_table_db(ctx, page->table, page->after_key, page->after_value, &db);
    if (failed)
        return failed;
    size_t limit = page_limit(page->limit, STATE_PAGE_MAX);
    Famledger__StatePageReply *reply = ARENA_NEW(ctx->arena, Famledger__StatePageReply);
    famledger__state_page_reply__init(reply);
    /* One more than asked tells whether there is a further page. */
    reply->keys = ARENA_ARRAY(ctx->arena, ProtobufCBinaryData, limit + 1);
    reply->values = ARENA_ARRAY(ctx->arena, ProtobufCBinaryData, limit + 1);
    struct state_page state = {ctx, reply, 0};
    struct store_bytes after_value = {page->after_value.data, page->after_value.len};
    int rc = (state_threads_ahead(ctx, db, page->after_key.len) ? store_scan_bare : store_scan)(
        ctx->txn, db, page->after_key.data, page->after_key.len, after_value,
        limit + 1, state_page_visit_cb, &state);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read derived state");
    if (reply->n_keys > limit) {
        reply->more = 1;
        reply->n_keys = reply->n_values = limit;
    }
    if (reply->more && ctx->prefetch && reply->n_keys >= 2) {
        struct store_bytes *keys = ARENA_ARRAY(ctx->arena, struct store_bytes, reply->n_keys);
        for (size_t i = 0; i < reply->n_keys; i++)
            keys[i] = (struct store_bytes){reply->keys[i].data, reply->keys[i].len};
        prefetch_walk_ahead(ctx->prefetch, db, keys, reply->n_keys,
                            page->after_key.len == 0);
    }
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_STATE_PAGE;
    ctx->response->state_page = reply;
    return 0;
}

/* A digest of the records of a table after a cursor (StateDigestRequest). */
struct state_digest {
    Famledger__StateTable table;
    struct table_digest_key key;
    size_t limit;
    struct table_digest digest;
    Famledger__StateDigestReply *reply;
    struct store_bytes *keys; /* the records' keys in order, for the prefetch threads */
    struct store_bytes last_value;
};

static void state_digest_item(void *context, const uint8_t *owner, size_t owner_bytes,
                              const struct table_digest_item *item)
{
    struct state_digest *walk = context;
    table_digest_add(&walk->digest, &walk->key, owner, owner_bytes, item);
}

static int state_digest_visit_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    struct state_digest *walk = context;
    Famledger__StateDigestReply *reply = walk->reply;
    if (reply->records == walk->limit) {
        reply->more = 1; /* one more than asked: there is a further page */
        return 1;
    }
    if (table_digest_items(&walk->key, walk->table, key.data, key.size, value.data, value.size,
                           state_digest_item, walk) != 0)
        reply->damaged++;
    walk->keys[reply->records++] = key;
    walk->last_value = value;
    return 0;
}

int audit_state_digest_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__StateDigestRequest *asked = request->state_digest;
    enum store_db db;
    int failed = state_table_db(ctx, asked->table, asked->after_key, asked->after_value, &db);
    if (failed)
        return failed;
    if (asked->version != TABLE_DIGEST_VERSION)
        return request_fail(ctx, FL_ERR_UNSUPPORTED, "this famledgerd digests tables as version "
                            "%d, not %u: walk them", TABLE_DIGEST_VERSION, asked->version);
    if (!table_digest_known(asked->table))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "table %d has no digest: walk it",
                            asked->table);
    if (asked->key.len != TABLE_DIGEST_KEY_BYTES)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a digest's key is %d bytes, not %zu",
                            TABLE_DIGEST_KEY_BYTES, asked->key.len);
    Famledger__StateDigestReply *reply = ARENA_NEW(ctx->arena, Famledger__StateDigestReply);
    famledger__state_digest_reply__init(reply);
    struct state_digest walk = {.table = asked->table,
                                .limit = page_limit(asked->limit, STATE_DIGEST_MAX),
                                .reply = reply};
    memcpy(walk.key.bytes, asked->key.data, TABLE_DIGEST_KEY_BYTES);
    walk.keys = ARENA_ARRAY(ctx->arena, struct store_bytes, walk.limit);
    struct store_bytes after_value = {asked->after_value.data, asked->after_value.len};
    int rc = (state_threads_ahead(ctx, db, asked->after_key.len) ? store_scan_bare : store_scan)(
        ctx->txn, db, asked->after_key.data, asked->after_key.len, after_value, walk.limit + 1,
        state_digest_visit_cb, &walk);
    if (rc >= 0)
        rc = store_records(ctx->txn, db, &reply->table_records);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read derived state");
    reply->count = walk.digest.count;
    reply->sum = walk.digest.sum;
    if (reply->more) {
        /* The cursor the next page resumes after, as a page of the table would give it. */
        struct store_bytes last = walk.keys[reply->records - 1];
        reply->last_key.len = last.size;
        reply->last_key.data = memcpy(arena_alloc(ctx->arena, last.size + 1), last.data,
                                      last.size);
        /* In an index table the same key repeats, and a page resumes after the (key, seq)
         * pair; a longer value is no seq, and the key alone resumes. */
        if (walk.last_value.size <= 8) {
            reply->last_value.len = walk.last_value.size;
            reply->last_value.data = memcpy(arena_alloc(ctx->arena, walk.last_value.size + 1),
                                            walk.last_value.data, walk.last_value.size);
        }
        if (ctx->prefetch && reply->records >= 2)
            prefetch_walk_ahead(ctx->prefetch, db, walk.keys, reply->records,
                                asked->after_key.len == 0);
    }
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_STATE_DIGEST;
    ctx->response->state_digest = reply;
    return 0;
}

/* Add entry `seq` of the merchant's `day` to the page: 0, 1 when it is of another day (a
 * cursor into another day's chain), or an error. */
static int merchant_day_add(struct request_ctx *ctx, Famledger__MerchantDayReply *reply,
                            uint64_t seq, const char day[9], size_t *page_bytes)
{
    Famledger__Entry *entry;
    int rc = ledger_entry_read(ctx->txn, ctx->arena, seq, &entry);
    if (rc <= 0)
        return rc ? rc : FL_ERR_INTERNAL;
    char entry_day[9];
    ledger_business_day(entry->time_us, entry_day);
    if (strcmp(entry_day, day) != 0)
        return 1;
    /* A reversal that gave money back is a refund of the day, as the clearing report counts
     * it; one that found nothing to give back is not listed under the day. */
    bool reversal = entry->body_case == FAMLEDGER__ENTRY__BODY_REVERSED;
    if (entry->body_case == FAMLEDGER__ENTRY__BODY_REFUNDED || reversal) {
        Famledger__Refund *refund = reversal ? entry->reversed->refund : entry->refunded->refund;
        if (!refund)
            return FL_ERR_INTERNAL; /* only a reversal that moved money is indexed */
        refund->refund_id = seq;
        refund->settlement_id =
            reversal ? entry->reversed->settlement_id : entry->refunded->settlement_id;
        reply->refunds[reply->n_refunds++] = refund;
        *page_bytes += famledger__refund__get_packed_size(refund) + 8;
        return 0;
    }
    /* A settlement as it stands now, with every refund since. */
    uint8_t id[8];
    store_u64_encode(id, seq);
    struct store_bytes value;
    rc = store_get(ctx->txn, STORE_DB_SETTLEMENTS, id, sizeof(id), &value);
    if (rc <= 0)
        return rc ? rc : FL_ERR_INTERNAL;
    Famledger__Settlement *settlement =
        famledger__settlement__unpack(&ctx->arena->protobuf, value.size, value.data);
    if (!settlement)
        return FL_ERR_INTERNAL;
    reply->settlements[reply->n_settlements++] = settlement;
    *page_bytes += value.size + 8;
    return 0;
}

int audit_merchant_day_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__MerchantDayRequest *query = request->merchant_day;
    char day[9];
    if (!validate_person_no(query->merchant_code))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "merchant code is malformed");
    if (!entry_day_parse(query->date, day))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "date must be YYYY-MM-DD");
    size_t limit = page_limit(query->limit, MERCHANT_DAY_PAGE_MAX);
    uint64_t *seqs = ARENA_ARRAY(ctx->arena, uint64_t, limit);
    size_t count;
    Famledger__MerchantDayReply *reply = ARENA_NEW(ctx->arena, Famledger__MerchantDayReply);
    famledger__merchant_day_reply__init(reply);
    reply->settlements = ARENA_ARRAY(ctx->arena, Famledger__Settlement *, limit);
    reply->refunds = ARENA_ARRAY(ctx->arena, Famledger__Refund *, limit);
    /* Newest first: the day is a chain from its newest entry back. */
    int rc = clearing_day_page(ctx, query->merchant_code, day, query->cursor, seqs, limit, &count,
                               &reply->next_cursor);
    size_t page_bytes = 0, i = 0;
    for (; rc == 0 && i < count && page_bytes < PAGE_BYTES_MAX; i++)
        rc = merchant_day_add(ctx, reply, seqs[i], day, &page_bytes);
    if (rc == 1 && i == 1 && query->cursor)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "cursor %llu is not an entry of %s on "
                            "%s", (unsigned long long)query->cursor, query->merchant_code,
                            query->date);
    rc = rc == 1 ? FL_ERR_INTERNAL : rc; /* the day's chain runs into another day: damage */
    if (i < count)
        reply->next_cursor = seqs[i]; /* cut by bytes: the next page starts here */
    if (rc)
        return request_fail(ctx, rc, "cannot read the day of merchant %s", query->merchant_code);
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_MERCHANT_DAY;
    ctx->response->merchant_day = reply;
    return 0;
}
