/* due.c -- the timers table: wallet returns and hold expiries, applied when they fall due. */
#include "due.h"

#include "fl_limits.h"
#include "hold.h"
#include "log.h"
#include "require.h"
#include "wallet.h"

#include <string.h>

#define DUE_KEY_BYTES 17

static void due_key(uint8_t key[DUE_KEY_BYTES], int64_t due_us, enum due_kind kind, uint64_t id)
{
    REQUIRE(due_us >= 0);
    store_u64_encode(key, (uint64_t)due_us);
    key[8] = (uint8_t)kind;
    store_u64_encode(key + 9, id);
}

int due_add(struct store_txn *txn, int64_t due_us, enum due_kind kind, uint64_t id)
{
    uint8_t key[DUE_KEY_BYTES];
    due_key(key, due_us, kind, id);
    return store_put(txn, STORE_DB_TIMERS, key, sizeof(key), "", 0);
}

int due_delete(struct store_txn *txn, int64_t due_us, enum due_kind kind, uint64_t id)
{
    uint8_t key[DUE_KEY_BYTES];
    due_key(key, due_us, kind, id);
    int rc = store_delete(txn, STORE_DB_TIMERS, key, sizeof(key));
    return rc < 0 ? rc : 0;
}

struct due_page {
    int64_t now_us;
    size_t count;
    bool more;
    struct {
        int64_t due_us;
        enum due_kind kind;
        uint64_t id;
    } items[DUE_PER_RUN_MAX];
};

static int due_visit_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    (void)value;
    struct due_page *page = context;
    if (key.size != DUE_KEY_BYTES) {
        log_error("due: a timer key of %zu bytes is damaged; verify names it", key.size);
        return 0;
    }
    int64_t due_us = (int64_t)store_u64_decode(key.data);
    if (due_us > page->now_us)
        return 1; /* keys sort by due time: nothing after it is due */
    if (page->count == DUE_PER_RUN_MAX) {
        page->more = true;
        return 1;
    }
    const uint8_t *bytes = key.data;
    page->items[page->count].due_us = due_us;
    page->items[page->count].kind = (enum due_kind)bytes[8];
    page->items[page->count].id = store_u64_decode(bytes + 9);
    page->count++;
    return 0;
}

int due_next(struct store_txn *txn, int64_t *due_us)
{
    struct due_page page = {.now_us = INT64_MAX};
    int rc = store_scan(txn, STORE_DB_TIMERS, NULL, 0, (struct store_bytes){0}, 1, due_visit_cb,
                        &page);
    if (rc < 0)
        return rc;
    if (page.count == 0)
        return 0;
    *due_us = page.items[0].due_us;
    return 1;
}

/* One return or expiry in a nested transaction: a failure undoes only it. */
static int due_apply_one(struct request_ctx *ctx, enum due_kind kind, uint64_t id,
                         int64_t due_us, bool *done)
{
    struct store_txn *child;
    int rc = store_nested_begin(ctx->txn, &child);
    if (rc)
        return rc;
    struct request_ctx one = *ctx;
    one.txn = child;
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    one.response = &response;
    if (kind == DUE_WALLET_RETURN)
        rc = wallet_send_return(&one, id);
    else if (kind == DUE_HOLD_EXPIRY)
        rc = hold_expire(&one, id);
    else
        rc = FL_ERR_INTERNAL;
    if (rc == 0) {
        *done = true;
        return store_commit(child);
    }
    store_abort(child);
    /* Tried again every tick: said once, not once a second (writer thread only). */
    static uint64_t last_failed_id;
    if (id != last_failed_id)
        log_error("due: %s %llu due at %lld could not be applied (tried again every second; "
                  "verify names the damage): %s",
                  kind == DUE_WALLET_RETURN ? "the return of wallet send" : "the expiry of hold",
                  (unsigned long long)id, (long long)due_us,
                  response.error && *response.error ? response.error : fl_strerror(rc));
    last_failed_id = id;
    return 0;
}

int due_run(struct request_ctx *ctx, unsigned *applied, bool *more)
{
    struct due_page page = {.now_us = ctx->time_us};
    *applied = 0;
    *more = false;
    int rc = store_scan(ctx->txn, STORE_DB_TIMERS, NULL, 0, (struct store_bytes){0},
                        DUE_PER_RUN_MAX + 1, due_visit_cb, &page);
    if (rc < 0)
        return rc;
    rc = 0; /* the scan stops early (1) at the first timer not yet due */
    for (size_t i = 0; i < page.count && rc == 0; i++) {
        bool done = false;
        rc = due_apply_one(ctx, page.items[i].kind, page.items[i].id, page.items[i].due_us,
                           &done);
        *applied += done;
    }
    *more = page.more;
    return rc;
}
