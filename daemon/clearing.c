/* clearing.c -- clearing (清算): a merchant's payable rises with its settlements, falls with its
 * refunds, and is cleared by payouts of the fund of the merchant's region. The day totals let
 * a finance office file, per business day, what was settled, refunded, paid out and owed. */
#include "clearing.h"

#include "books.h"
#include "entry_check.h"
#include "ledger.h"
#include "log.h"
#include "merchant.h"
#include "person.h"
#include "reference.h"
#include "require.h"
#include "state.h"
#include "validate.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PAYABLE FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_MERCHANT_PAYABLE
#define CASH_DUE FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE
#define FUND FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND
#define CLEARING_DAYS_MAX 366 /* one report covers at most a year */

/* ---- a merchant's business day ----
 *
 * Three tables (format 7), so that a settlement writes only to leaves that every merchant's
 * settlements of the day share: the day's totals keyed day first (day_totals), the day's
 * settlements, refunds and reversals as a chain whose head is in those totals (merchant_links,
 * keyed by seq), and, once a day, the merchant's own list of its days (merchant_days), which its
 * balance and clearing report walk. */

#define DAY_KEY_MAX (8 + PERSON_NO_BYTES_MAX)

/* "YYYYMMDD" merchant: the key of day_totals. */
static size_t totals_key(uint8_t key[DAY_KEY_MAX], const char day[9], const char *merchant)
{
    size_t merchant_bytes = strlen(merchant);
    REQUIRE(strlen(day) == 8 && merchant_bytes <= PERSON_NO_BYTES_MAX);
    memcpy(key, day, 8);
    memcpy(key + 8, merchant, merchant_bytes);
    return 8 + merchant_bytes;
}

/* merchant '\0' "YYYYMMDD": the key of merchant_days. */
static size_t days_key(uint8_t key[DAY_KEY_MAX + 1], const char *merchant, const char day[9])
{
    size_t merchant_bytes = strlen(merchant);
    REQUIRE(strlen(day) == 8 && merchant_bytes <= PERSON_NO_BYTES_MAX);
    memcpy(key, merchant, merchant_bytes + 1);
    memcpy(key + merchant_bytes + 1, day, 8);
    return merchant_bytes + 1 + 8;
}

/* The totals of `merchant` on `day`: 1 and *totals (in `arena`), 0 and fresh zero totals, or
 * an error (a record that does not decode is logged). */
static int day_totals_get(struct store_txn *txn, struct arena *arena, const char day[9],
                          const char *merchant, Famledger__MerchantDayTotals **totals)
{
    uint8_t key[DAY_KEY_MAX];
    size_t key_bytes = totals_key(key, day, merchant);
    ProtobufCMessage *message = NULL;
    int rc = state_record_get(txn, arena, STORE_DB_DAY_TOTALS, key, key_bytes,
                              &famledger__merchant_day_totals__descriptor, &message);
    if (rc == 0) {
        *totals = ARENA_NEW(arena, Famledger__MerchantDayTotals);
        famledger__merchant_day_totals__init(*totals);
    } else if (rc == 1) {
        *totals = (Famledger__MerchantDayTotals *)message;
    }
    return rc;
}

/* Store the totals; `found` says whether day_totals had them, else the day joins the
 * merchant's days. */
static int day_totals_put(struct store_txn *txn, struct arena *arena, const char day[9],
                          const char *merchant, const Famledger__MerchantDayTotals *totals,
                          bool found)
{
    uint8_t key[DAY_KEY_MAX + 1];
    int rc = state_message_put(txn, arena, STORE_DB_DAY_TOTALS, key,
                               totals_key(key, day, merchant), &totals->base);
    return rc || found ? rc : store_put(txn, STORE_DB_MERCHANT_DAYS, key,
                                        days_key(key, merchant, day), "", 0);
}

int clearing_day_record(struct request_ctx *ctx, const Famledger__Entry *entry,
                        const Famledger__Posting *payable)
{
    /* A settlement is listed under its merchant's day even when it took no account money (no
     * payable moved); a refund or reversal only when it gave money back (the payable did). */
    const char *merchant = payable ? payable->id : NULL;
    bool listed = entry->body_case == FAMLEDGER__ENTRY__BODY_SETTLED ||
                  ((entry->body_case == FAMLEDGER__ENTRY__BODY_REFUNDED ||
                    entry->body_case == FAMLEDGER__ENTRY__BODY_REVERSED) && payable);
    if (entry->body_case == FAMLEDGER__ENTRY__BODY_SETTLED)
        merchant = entry->settled->settlement->merchant_code;
    if (!merchant)
        return 0;
    char day[9];
    ledger_business_day(entry->time_us, day);
    Famledger__MerchantDayTotals *totals;
    int found = day_totals_get(ctx->txn, ctx->arena, day, merchant, &totals);
    if (found < 0)
        return found;
    int64_t amount_fen = payable ? payable->amount_fen : 0, *total_fen;
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_SETTLED:
        total_fen = &totals->settled_fen;
        break;
    case FAMLEDGER__ENTRY__BODY_REFUNDED:
    case FAMLEDGER__ENTRY__BODY_REVERSED:
        total_fen = &totals->refunded_fen;
        amount_fen = -amount_fen;
        break;
    case FAMLEDGER__ENTRY__BODY_PAID_OUT:
    case FAMLEDGER__ENTRY__BODY_RECOVERED: /* paid out net: a recovery takes it down */
        total_fen = &totals->paid_out_fen;
        amount_fen = -amount_fen;
        break;
    default:
        REQUIRE(!"an entry of this type does not move a merchant's payable");
    }
    if (__builtin_add_overflow(*total_fen, amount_fen, total_fen))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "the day %s of merchant %s would "
                            "overflow its totals", day, merchant);
    int rc = 0;
    if (listed) {
        if (totals->last_seq >= entry->seq) {
            log_error("clearing: the day %s of merchant %s ends at entry %llu, not before %llu: "
                      "the stored day is damaged (ledgerctl verify names it)", day, merchant,
                      (unsigned long long)totals->last_seq, (unsigned long long)entry->seq);
            return FL_ERR_INTERNAL;
        }
        rc = store_chain_link(ctx->txn, STORE_DB_MERCHANT_LINKS, entry->seq, merchant,
                              strlen(merchant), totals->last_seq);
        totals->last_seq = entry->seq;
    }
    return rc ? rc : day_totals_put(ctx->txn, ctx->arena, day, merchant, totals, found);
}

int clearing_day_page(struct request_ctx *ctx, const char *merchant, const char day[9],
                      uint64_t cursor, uint64_t *seqs, size_t seqs_max, size_t *count,
                      uint64_t *next_cursor)
{
    Famledger__MerchantDayTotals *totals;
    int rc = day_totals_get(ctx->txn, ctx->arena, day, merchant, &totals);
    *count = 0;
    *next_cursor = 0;
    /* A day on which the merchant was only paid out has totals and no chain: an empty page,
     * as a day without totals. */
    if (rc <= 0 || totals->last_seq == 0)
        return rc < 0 ? rc : 0;
    return store_chain_page(ctx->txn, STORE_DB_MERCHANT_LINKS, merchant, strlen(merchant),
                            totals->last_seq, cursor, true, seqs, seqs_max, count, next_cursor);
}

/* Visit the day totals of `merchant` in date order, until visit_cb returns non-zero. */
struct day_walk {
    struct request_ctx *ctx;
    const char *merchant;
    size_t merchant_bytes;
    int (*visit_cb)(struct day_walk *walk, const char day[9],
                    const Famledger__MerchantDayTotals *totals);
    void *context;
    int error;
};

static int day_walk_visit_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    (void)value;
    struct day_walk *walk = context;
    const char *bytes = key.data;
    if (key.size != walk->merchant_bytes + 1 + 8 ||
        memcmp(bytes, walk->merchant, walk->merchant_bytes + 1) != 0)
        return 1; /* past the merchant's days */
    char day[9];
    memcpy(day, bytes + walk->merchant_bytes + 1, 8);
    day[8] = '\0';
    Famledger__MerchantDayTotals *totals;
    int rc = day_totals_get(walk->ctx->txn, walk->ctx->arena, day, walk->merchant, &totals);
    if (rc <= 0) {
        if (rc == 0)
            log_error("clearing: merchant %s has day %s without its totals: the ledger is "
                      "damaged (ledgerctl verify names it)", walk->merchant, day);
        walk->error = rc < 0 ? rc : FL_ERR_INTERNAL;
        return 1;
    }
    return walk->visit_cb(walk, day, totals);
}

/* Add (`sign` 1) or take (-1) a day's `amount_fen` to `*total_fen`. Each day stays within int64
 * (clearing_day_record), and all of a merchant's days would in any life of the fund: a sum that
 * would not is a damaged day, named in the log, and the walk ends with INTERNAL. */
static bool day_walk_add(struct day_walk *walk, const char day[9], int64_t *total_fen,
                         int64_t amount_fen, int sign)
{
    if (sign > 0 ? !__builtin_add_overflow(*total_fen, amount_fen, total_fen)
                 : !__builtin_sub_overflow(*total_fen, amount_fen, total_fen))
        return true;
    log_error("clearing: the days of merchant %s up to %s sum past the largest amount: a stored "
              "day is damaged (ledgerctl verify names it)", walk->merchant, day);
    walk->error = FL_ERR_INTERNAL;
    return false;
}

static int day_walk_run(struct day_walk *walk)
{
    char start[PERSON_NO_BYTES_MAX + 1];
    walk->merchant_bytes = strlen(walk->merchant);
    memcpy(start, walk->merchant, walk->merchant_bytes + 1); /* merchant '\0': before its days */
    struct store_bytes no_value = {NULL, 0};
    /* One key per day with movement: a merchant's days are few enough to read at once. */
    int rc = store_scan(walk->ctx->txn, STORE_DB_MERCHANT_DAYS, start, walk->merchant_bytes + 1,
                        no_value, SIZE_MAX, day_walk_visit_cb, walk);
    return rc < 0 ? rc : walk->error;
}

/* ---- the upgrade to format 7 ---- */

struct days_fold {
    struct store_txn *txn;
    struct arena arena;
    char merchant[PERSON_NO_BYTES_MAX + 1], day[9]; /* of the chain being linked */
    uint64_t last_seq;                              /* its last link, 0 before the first */
    uint64_t links, days;
};

/* A key of the retired tables, merchant '\0' "YYYYMMDD", into its parts: false when it is not
 * one (named in the log). */
static bool fold_key(const struct store_bytes *key, const char *table, char merchant[],
                     char day[9])
{
    const char *bytes = key->data;
    size_t merchant_bytes = strnlen(bytes, key->size);
    bool ok = merchant_bytes >= 1 && merchant_bytes <= PERSON_NO_BYTES_MAX &&
              key->size == merchant_bytes + 1 + 8;
    for (size_t i = merchant_bytes + 1; ok && i < key->size; i++)
        ok = bytes[i] >= '0' && bytes[i] <= '9';
    if (!ok) {
        log_error("store: a key of %s (%zu bytes) is not a merchant and a day: the ledger is "
                  "damaged. Restore it from a backup (docs/OPERATIONS.md)", table, key->size);
        return false;
    }
    memcpy(merchant, bytes, merchant_bytes + 1);
    memcpy(day, bytes + merchant_bytes + 1, 8);
    day[8] = '\0';
    return true;
}

/* The chain of the day before is complete: its head goes into the day's totals. */
static int fold_chain_end(struct days_fold *fold)
{
    if (fold->last_seq == 0)
        return 0;
    Famledger__MerchantDayTotals *totals;
    int found = day_totals_get(fold->txn, &fold->arena, fold->day, fold->merchant, &totals);
    if (found < 0)
        return found;
    totals->last_seq = fold->last_seq;
    fold->last_seq = 0;
    int rc = day_totals_put(fold->txn, &fold->arena, fold->day, fold->merchant, totals, found);
    arena_reset(&fold->arena);
    return rc;
}

/* merchant_day: merchant '\0' day -> each seq, ascending: each becomes a link. */
static int fold_link_row(void *context, const struct store_bytes *key,
                         const struct store_bytes *value)
{
    struct days_fold *fold = context;
    char merchant[PERSON_NO_BYTES_MAX + 1], day[9];
    if (!fold_key(key, "merchant_day", merchant, day))
        return FL_ERR_INTERNAL;
    uint64_t seq = value->size == 8 ? store_u64_decode(value->data) : 0;
    if (seq == 0) {
        log_error("store: merchant_day of %s on %s holds a value of %zu bytes, not an entry: "
                  "the ledger is damaged. Restore it from a backup (docs/OPERATIONS.md)",
                  merchant, day, value->size);
        return FL_ERR_INTERNAL;
    }
    if (strcmp(merchant, fold->merchant) != 0 || strcmp(day, fold->day) != 0) {
        int rc = fold_chain_end(fold);
        if (rc)
            return rc;
        memcpy(fold->merchant, merchant, sizeof(merchant));
        memcpy(fold->day, day, sizeof(day));
    }
    if (seq <= fold->last_seq) {
        log_error("store: merchant_day of %s on %s holds entry %llu after %llu: the ledger is "
                  "damaged. Restore it from a backup (docs/OPERATIONS.md)", merchant, day,
                  (unsigned long long)seq, (unsigned long long)fold->last_seq);
        return FL_ERR_INTERNAL;
    }
    int rc = store_chain_link(fold->txn, STORE_DB_MERCHANT_LINKS, seq, merchant,
                              strlen(merchant), fold->last_seq);
    fold->last_seq = seq;
    fold->links++;
    return rc;
}

/* clearing_days: merchant '\0' day -> MerchantDayTotals, into day_totals. */
static int fold_totals_row(void *context, const struct store_bytes *key,
                           const struct store_bytes *value)
{
    struct days_fold *fold = context;
    char merchant[PERSON_NO_BYTES_MAX + 1], day[9];
    if (!fold_key(key, "clearing_days", merchant, day))
        return FL_ERR_INTERNAL;
    Famledger__MerchantDayTotals *old = famledger__merchant_day_totals__unpack(
        &fold->arena.protobuf, value->size, value->data);
    if (!old) {
        log_error("store: clearing_days of %s on %s does not decode: the ledger is damaged. "
                  "Restore it from a backup (docs/OPERATIONS.md)", merchant, day);
        return FL_ERR_INTERNAL;
    }
    Famledger__MerchantDayTotals *totals;
    int found = day_totals_get(fold->txn, &fold->arena, day, merchant, &totals);
    if (found < 0)
        return found;
    totals->settled_fen = old->settled_fen;
    totals->refunded_fen = old->refunded_fen;
    totals->paid_out_fen = old->paid_out_fen;
    int rc = day_totals_put(fold->txn, &fold->arena, day, merchant, totals, found);
    arena_reset(&fold->arena);
    fold->days++;
    return rc;
}

int clearing_days_fold(struct store_txn *txn)
{
    struct days_fold fold = {.txn = txn};
    arena_init(&fold.arena);
    int rc = store_retire(txn, "merchant_day", true, fold_link_row, &fold);
    if (rc == 0)
        rc = fold_chain_end(&fold);
    if (rc == 0)
        rc = store_retire(txn, "clearing_days", true, fold_totals_row, &fold);
    if (rc == 0)
        log_info("store: merchants' days as chains: %llu links, %llu days of totals",
                 (unsigned long long)fold.links, (unsigned long long)fold.days);
    arena_free(&fold.arena);
    return rc;
}

/* ---- merchant balance ---- */

static int balance_visit_cb(struct day_walk *walk, const char day[9],
                            const Famledger__MerchantDayTotals *totals)
{
    Famledger__MerchantBalanceReply *reply = walk->context;
    return day_walk_add(walk, day, &reply->settled_fen, totals->settled_fen, 1) &&
                   day_walk_add(walk, day, &reply->refunded_fen, totals->refunded_fen, 1) &&
                   day_walk_add(walk, day, &reply->paid_out_fen, totals->paid_out_fen, 1)
               ? 0
               : 1;
}

int clearing_balance_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const char *code = request->merchant_balance->code;
    Famledger__Merchant *merchant;
    int rc;
    if ((rc = merchant_require(ctx, code, &merchant)) ||
        (rc = request_require_merchant_reader(ctx, code)))
        return rc;
    Famledger__MerchantBalanceReply *reply =
        ARENA_NEW(ctx->arena, Famledger__MerchantBalanceReply);
    famledger__merchant_balance_reply__init(reply);
    reply->code = merchant->code;
    struct day_walk walk = {.ctx = ctx, .merchant = code, .visit_cb = balance_visit_cb,
                            .context = reply};
    if ((rc = books_balance_get(ctx->txn, ctx->arena, PAYABLE, code, &reply->payable_fen)) ||
        (rc = day_walk_run(&walk)))
        return request_fail(ctx, rc, "cannot read the books of merchant %s", code);
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_MERCHANT_BALANCE;
    ctx->response->merchant_balance = reply;
    return 0;
}

/* ---- clearing report ---- */

struct report {
    Famledger__ClearingReply *reply;
    char from[9], to[9];
    int64_t owed_fen;
};

static int report_visit_cb(struct day_walk *walk, const char day[9],
                           const Famledger__MerchantDayTotals *totals)
{
    struct report *report = walk->context;
    if (strcmp(day, report->to) > 0)
        return 1;
    if (!day_walk_add(walk, day, &report->owed_fen, totals->settled_fen, 1) ||
        !day_walk_add(walk, day, &report->owed_fen, totals->refunded_fen, -1) ||
        !day_walk_add(walk, day, &report->owed_fen, totals->paid_out_fen, -1))
        return 1;
    if (strcmp(day, report->from) < 0) {
        report->reply->opening_owed_fen = report->owed_fen;
        return 0;
    }
    Famledger__ClearingReply *reply = report->reply;
    if (reply->n_days == CLEARING_DAYS_MAX) { /* keys that are not dates sort between dates */
        log_error("clearing: merchant %s has more days between %s and %s than the calendar: "
                  "a stored day is damaged (ledgerctl verify names it)", walk->merchant,
                  report->from, report->to);
        walk->error = FL_ERR_INTERNAL;
        return 1;
    }
    Famledger__ClearingDay *row = ARENA_NEW(walk->ctx->arena, Famledger__ClearingDay);
    famledger__clearing_day__init(row);
    char *date = arena_alloc(walk->ctx->arena, 11);
    snprintf(date, 11, "%.4s-%.2s-%.2s", day, day + 4, day + 6);
    row->date = date;
    row->settled_fen = totals->settled_fen;
    row->refunded_fen = totals->refunded_fen;
    row->paid_out_fen = totals->paid_out_fen;
    row->owed_fen = report->owed_fen;
    reply->days[reply->n_days++] = row;
    return 0;
}

/* The days from `from` to `to`, both real dates, in order, at most a year apart. */
static int report_range(struct request_ctx *ctx, const Famledger__ClearingRequest *query,
                        struct report *report)
{
    if (!entry_day_parse(query->from, report->from) || !entry_day_parse(query->to, report->to))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "from and to must be dates, "
                            "YYYY-MM-DD");
    struct tm from = {0}, to = {0};
    strptime(report->from, "%Y%m%d", &from);
    strptime(report->to, "%Y%m%d", &to);
    time_t from_s = timegm(&from), to_s = timegm(&to);
    if (to_s < from_s || (to_s - from_s) / 86400 >= CLEARING_DAYS_MAX)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "from must not be after to, and a "
                            "report covers at most %d days", CLEARING_DAYS_MAX);
    return 0;
}

int clearing_report_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__ClearingRequest *query = request->clearing;
    Famledger__Merchant *merchant;
    struct report report = {0};
    int rc;
    if ((rc = merchant_require(ctx, query->merchant_code, &merchant)) ||
        (rc = request_require_merchant_reader(ctx, query->merchant_code)) ||
        (rc = report_range(ctx, query, &report)))
        return rc;
    Famledger__ClearingReply *reply = ARENA_NEW(ctx->arena, Famledger__ClearingReply);
    famledger__clearing_reply__init(reply);
    reply->merchant_code = merchant->code;
    reply->days = ARENA_ARRAY(ctx->arena, Famledger__ClearingDay *, CLEARING_DAYS_MAX);
    report.reply = reply;
    struct day_walk walk = {.ctx = ctx, .merchant = merchant->code, .visit_cb = report_visit_cb,
                            .context = &report};
    if ((rc = day_walk_run(&walk)))
        return request_fail(ctx, rc, "cannot read the books of merchant %s", merchant->code);
    reply->closing_owed_fen = report.owed_fen;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_CLEARING;
    ctx->response->clearing = reply;
    return 0;
}

/* ---- payouts ---- */

/* The payout as the ledger records it: validated fields only. */
static int payout_command_make(struct request_ctx *ctx, const Famledger__PayoutRequest *in,
                               Famledger__PayoutRequest **out)
{
    bool to_merchant = *in->merchant_code != '\0';
    if (to_merchant == (*in->person_no != '\0'))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "a payout names a merchant or a person, exactly one");
    if (!validate_person_no(to_merchant ? in->merchant_code : in->person_no))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "the merchant code or person number must be 1 to 32 letters or "
                            "digits");
    if (!validate_amount_fen(in->amount_fen))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "amount must be positive and at most 100000000.00 yuan");
    if (!validate_reference(in->reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "reference must be 1 to 64 printable ASCII characters");
    Famledger__PayoutRequest *command = ARENA_NEW(ctx->arena, Famledger__PayoutRequest);
    famledger__payout_request__init(command);
    command->merchant_code = arena_strdup(ctx->arena, in->merchant_code);
    command->person_no = arena_strdup(ctx->arena, in->person_no);
    command->amount_fen = in->amount_fen;
    command->reference = arena_strdup(ctx->arena, in->reference);
    *out = command;
    return 0;
}

static int payout_reply(struct request_ctx *ctx, Famledger__Payout *payout)
{
    Famledger__PayoutReply *reply = ARENA_NEW(ctx->arena, Famledger__PayoutReply);
    famledger__payout_reply__init(reply);
    reply->payout = payout;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_PAYOUT;
    ctx->response->payout = reply;
    return 0;
}

static int payout_replay(struct request_ctx *ctx, uint64_t seq, bool recovery)
{
    Famledger__Entry *entry;
    int rc = ledger_entry_read(ctx->txn, ctx->arena, seq, &entry);
    Famledger__Entry__BodyCase kind =
        recovery ? FAMLEDGER__ENTRY__BODY_RECOVERED : FAMLEDGER__ENTRY__BODY_PAID_OUT;
    if (rc <= 0 || entry->body_case != kind)
        return request_fail(ctx, FL_ERR_INTERNAL, "%s entry %llu is unreadable",
                            recovery ? "recovery" : "payout", (unsigned long long)seq);
    ctx->response->replayed = 1;
    Famledger__Payout *payout = recovery ? entry->recovered->payout : entry->paid_out->payout;
    payout->seq = seq;
    return payout_reply(ctx, payout);
}

/* Who is paid, from which fund, and what is owed them. */
static int payout_payee(struct request_ctx *ctx, const Famledger__PayoutRequest *command,
                        Famledger__AccountClass *owed_class, const char **id,
                        const char **region, int64_t *owed_fen)
{
    int rc;
    if (*command->merchant_code) {
        Famledger__Merchant *merchant;
        if ((rc = merchant_require(ctx, command->merchant_code, &merchant)))
            return rc;
        *owed_class = PAYABLE;
        *id = command->merchant_code;
        *region = merchant->region;
    } else {
        Famledger__Person *person;
        if ((rc = person_require(ctx, command->person_no, "person", &person)))
            return rc;
        *owed_class = CASH_DUE;
        *id = command->person_no;
        *region = person->region;
    }
    if ((rc = books_balance_get(ctx->txn, ctx->arena, *owed_class, *id, owed_fen)))
        return request_fail(ctx, rc, "cannot read what is owed to %s", *id);
    return 0;
}

/* A payout, or (`recovery`) a merchant paying back what it owes the fund: the same record, the
 * postings the other way, its references apart from the payouts'. */
static int payout_run(struct request_ctx *ctx, const Famledger__PayoutRequest *in,
                      bool recovery)
{
    Famledger__PayoutRequest *command = NULL;
    int rc = payout_command_make(ctx, in, &command);
    if (rc)
        return rc;
    bool to_merchant = *command->merchant_code != '\0';
    if (recovery && !to_merchant)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a recovery names a merchant: a "
                            "person is never owed less than nothing");
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    uint64_t seq;
    rc = reference_lookup(ctx, recovery ? 'K' : to_merchant ? 'O' : 'Q',
                          to_merchant ? command->merchant_code : command->person_no,
                          command->reference, &command->base, &key, fingerprint, &seq);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return payout_replay(ctx, seq, recovery);
    Famledger__AccountClass owed_class;
    const char *id, *region;
    int64_t owed_fen;
    if ((rc = payout_payee(ctx, command, &owed_class, &id, &region, &owed_fen)))
        return rc;
    if (!recovery && command->amount_fen > owed_fen)
        return request_fail(ctx, FL_ERR_PAYOUT_EXCEEDS_OWED, "the fund owes %s %s yuan, less "
                            "than the payout of %s", id, request_yuan(ctx, owed_fen),
                            request_yuan(ctx, command->amount_fen));
    /* The amount is at most AMOUNT_FEN_MAX: negated, it cannot overflow, where a payable read
     * from a damaged store could. */
    if (recovery && owed_fen > -command->amount_fen)
        return request_fail(ctx, FL_ERR_PAYOUT_EXCEEDS_OWED, "%s owes the fund %s yuan, less "
                            "than the recovery of %s", id,
                            request_yuan(ctx, owed_fen < 0 ? -owed_fen : 0),
                            request_yuan(ctx, command->amount_fen));
    Famledger__Payout *payout = ARENA_NEW(ctx->arena, Famledger__Payout);
    famledger__payout__init(payout);
    payout->merchant_code = command->merchant_code;
    payout->person_no = command->person_no;
    payout->amount_fen = command->amount_fen;
    payout->reference = command->reference;
    int64_t moved_fen = recovery ? -command->amount_fen : command->amount_fen;
    payout->owed_after_fen = owed_fen - moved_fen;
    payout->region = (char *)region;
    Famledger__PaidOut paid = FAMLEDGER__PAID_OUT__INIT;
    paid.request = command;
    paid.payout = payout;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    if (recovery) {
        entry.body_case = FAMLEDGER__ENTRY__BODY_RECOVERED;
        entry.recovered = &paid;
    } else {
        entry.body_case = FAMLEDGER__ENTRY__BODY_PAID_OUT;
        entry.paid_out = &paid;
    }
    books_post(ctx, &entry, owed_class, id, -moved_fen);
    books_post(ctx, &entry, FUND, region, moved_fen);
    if ((rc = ledger_append(ctx, &entry)) ||
        (rc = reference_record(ctx->txn, &key, fingerprint, entry.seq)))
        return request_fail(ctx, rc, "cannot record the %s", recovery ? "recovery" : "payout");
    payout->seq = entry.seq;
    return payout_reply(ctx, payout);
}

int clearing_payout_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    return payout_run(ctx, request->payout, false);
}

int clearing_recovery_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    return payout_run(ctx, request->recovery, true);
}
