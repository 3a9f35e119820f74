/* aid.c -- mutual-aid limits per holder and relative, and the usage they are checked against. */
#include "aid.h"

#include "family.h"
#include "fl_limits.h"
#include "log.h"
#include "ledger.h"
#include "person.h"
#include "require.h"
#include "state.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

#define AID_KEY_BYTES (2 * PERSON_NO_BYTES_MAX + 1) /* holder '\0' beneficiary */

static size_t pair_key(uint8_t *key, const char *holder, const char *beneficiary)
{
    size_t holder_bytes = strlen(holder), beneficiary_bytes = strlen(beneficiary);
    REQUIRE(holder_bytes <= PERSON_NO_BYTES_MAX && beneficiary_bytes <= PERSON_NO_BYTES_MAX);
    memcpy(key, holder, holder_bytes);
    key[holder_bytes] = '\0';
    memcpy(key + holder_bytes + 1, beneficiary, beneficiary_bytes);
    return holder_bytes + 1 + beneficiary_bytes;
}

/* Person numbers come from requests (validated) and from stored bindings and legs: a damaged
 * one is refused here rather than overflow a key. */
static int pair_check(struct request_ctx *ctx, const char *holder, const char *beneficiary)
{
    if (validate_person_no(holder) && validate_person_no(beneficiary))
        return 0;
    return request_fail(ctx, FL_ERR_INTERNAL, "a stored person number is damaged (%.40s, %.40s)",
                        holder, beneficiary);
}

/* The month (YYYYMM) and year (YYYY) of business time `time_us`. */
static void usage_periods(int64_t time_us, uint32_t *month, uint32_t *year)
{
    *month = ledger_business_month(time_us);
    *year = *month / 100;
}

static Famledger__AidUsage *usage_find(const Famledger__Account *account, const char *beneficiary)
{
    for (size_t i = 0; i < account->n_aid_usage; i++)
        if (strcmp(account->aid_usage[i]->beneficiary, beneficiary) == 0)
            return account->aid_usage[i];
    return NULL;
}

/* Count `delta_fen` in `period` against a count held for `*held`: a later period starts anew,
 * an earlier one is no longer counted against anything. Never below zero: a refund of a
 * settlement made before aid was counted (format 2) gives back nothing that was counted. */
static void usage_count(uint32_t *held, int64_t *fen, uint32_t period, int64_t delta_fen)
{
    if (period < *held)
        return;
    int64_t from = period == *held ? *fen : 0;
    *held = period;
    *fen = from + delta_fen < 0 ? 0 : from + delta_fen;
}

int aid_usage_move(struct request_ctx *ctx, Famledger__Account *account,
                   const char *beneficiary, int64_t time_us, int64_t delta_fen)
{
    int rc = pair_check(ctx, account->person_no, beneficiary);
    if (rc || delta_fen == 0)
        return rc;
    REQUIRE(delta_fen >= -AMOUNT_FEN_MAX && delta_fen <= AMOUNT_FEN_MAX);
    uint32_t month, year;
    usage_periods(time_us, &month, &year);
    Famledger__AidUsage *usage = usage_find(account, beneficiary);
    if (usage && (usage->month_fen < 0 || usage->year_fen < 0 ||
                  usage->month_fen > INT64_MAX - AMOUNT_FEN_MAX ||
                  usage->year_fen > INT64_MAX - AMOUNT_FEN_MAX))
        return request_fail(ctx, FL_ERR_INTERNAL, "the mutual-aid usage stored in the account "
                            "of %s is damaged", account->person_no);
    if (!usage && delta_fen > 0) {
        Famledger__AidUsage **grown = ARENA_ARRAY(ctx->arena, Famledger__AidUsage *,
                                                  account->n_aid_usage + 1);
        if (account->n_aid_usage)
            memcpy(grown, account->aid_usage, account->n_aid_usage * sizeof(*grown));
        usage = ARENA_NEW(ctx->arena, Famledger__AidUsage);
        famledger__aid_usage__init(usage);
        usage->beneficiary = arena_strdup(ctx->arena, beneficiary);
        grown[account->n_aid_usage++] = usage;
        account->aid_usage = grown;
    }
    if (usage) {
        usage_count(&usage->month, &usage->month_fen, month, delta_fen);
        usage_count(&usage->year, &usage->year_fen, year, delta_fen);
    }
    /* What no limit can count again goes: counts of an earlier year (aid is counted in time
     * order, so they are behind for good), and relatives whose counts are both back at zero. */
    size_t kept = 0;
    for (size_t i = 0; i < account->n_aid_usage; i++) {
        Famledger__AidUsage *each = account->aid_usage[i];
        if (each->year >= year && (each->month_fen != 0 || each->year_fen != 0))
            account->aid_usage[kept++] = each;
    }
    account->n_aid_usage = kept;
    return 0;
}

int aid_usage_carry(struct request_ctx *ctx, Famledger__Account *account,
                    const char *beneficiary, int64_t from_us, int64_t to_us, int64_t fen)
{
    uint32_t from_month, from_year, to_month, to_year;
    usage_periods(from_us, &from_month, &from_year);
    usage_periods(to_us, &to_month, &to_year);
    if (from_month == to_month)
        return 0; /* the same month is the same year */
    int rc = aid_usage_move(ctx, account, beneficiary, from_us, -fen);
    return rc ? rc : aid_usage_move(ctx, account, beneficiary, to_us, fen);
}

/* What `account` has given `beneficiary` in the month and the year of `time_us`. */
static void usage_in(const Famledger__Account *account, const char *beneficiary,
                     int64_t time_us, int64_t used_fen[2])
{
    uint32_t month, year;
    usage_periods(time_us, &month, &year);
    const Famledger__AidUsage *usage = usage_find(account, beneficiary);
    used_fen[0] = usage && usage->month >= month ? usage->month_fen : 0;
    used_fen[1] = usage && usage->year >= year ? usage->year_fen : 0;
}

int aid_limit_get(struct request_ctx *ctx, const char *holder, const char *holder_region,
                  const char *beneficiary, Famledger__AidLimit **limit)
{
    int rc = pair_check(ctx, holder, beneficiary);
    if (rc)
        return rc;
    uint8_t key[AID_KEY_BYTES];
    size_t key_bytes = pair_key(key, holder, beneficiary);
    Famledger__AidLimit *family = NULL;
    rc = state_record_get(ctx->txn, ctx->arena, STORE_DB_AID_LIMITS, key, key_bytes,
                              &famledger__aid_limit__descriptor, (ProtobufCMessage **)&family);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read the aid limit of %s for %s", holder,
                            beneficiary);
    /* Per period: the family's limit where they set one, else the holder's region's default. */
    const struct config *config = ctx->config;
    int64_t monthly =
        family && family->monthly_fen
            ? family->monthly_fen
            : (int64_t)CONFIG_REGIONAL(config, aid_monthly_limit_default_fen, holder_region);
    int64_t yearly =
        family && family->yearly_fen
            ? family->yearly_fen
            : (int64_t)CONFIG_REGIONAL(config, aid_yearly_limit_default_fen, holder_region);
    *limit = NULL;
    if (!monthly && !yearly)
        return 0;
    *limit = ARENA_NEW(ctx->arena, Famledger__AidLimit);
    famledger__aid_limit__init(*limit);
    (*limit)->holder = (char *)holder;
    (*limit)->beneficiary = (char *)beneficiary;
    (*limit)->monthly_fen = monthly;
    (*limit)->yearly_fen = yearly;
    return 0;
}

int aid_room(struct request_ctx *ctx, const Famledger__Account *account,
             const char *holder_region, const char *beneficiary, int64_t time_us,
             int64_t *room_fen)
{
    Famledger__AidLimit *limit;
    int rc = aid_limit_get(ctx, account->person_no, holder_region, beneficiary, &limit);
    *room_fen = INT64_MAX;
    if (rc || !limit)
        return rc;
    const int64_t caps[2] = {limit->monthly_fen, limit->yearly_fen};
    int64_t used[2];
    usage_in(account, beneficiary, time_us, used);
    for (int i = 0; i < 2; i++) {
        if (caps[i] <= 0)
            continue;
        if (used[i] < 0)
            return request_fail(ctx, FL_ERR_INTERNAL, "the mutual-aid usage stored in the "
                                "account of %s is damaged", account->person_no);
        int64_t room = used[i] >= caps[i] ? 0 : caps[i] - used[i];
        *room_fen = room < *room_fen ? room : *room_fen;
    }
    return 0;
}

int aid_limit_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__FamilyLimitRequest *in = request->family_limit;
    Famledger__Person *holder, *beneficiary;
    int rc;
    if ((rc = person_require(ctx, in->holder, "holder", &holder)) ||
        (rc = person_require(ctx, in->beneficiary, "beneficiary", &beneficiary)))
        return rc;
    if (in->monthly_fen < 0 || in->yearly_fen < 0 || in->monthly_fen > AMOUNT_FEN_MAX ||
        in->yearly_fen > AMOUNT_FEN_MAX)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a limit is from 0 (none) to "
                            "100000000.00 yuan");
    if ((rc = family_bound(ctx->txn, ctx->arena, in->holder, in->beneficiary)) != 1)
        return rc < 0 ? request_fail(ctx, rc, "cannot read bindings")
                      : request_fail(ctx, FL_ERR_NOT_BOUND, "%s does not fund %s", in->holder,
                                     in->beneficiary);
    Famledger__AidLimit *limit = ARENA_NEW(ctx->arena, Famledger__AidLimit);
    famledger__aid_limit__init(limit);
    limit->holder = holder->person_no;
    limit->beneficiary = beneficiary->person_no;
    limit->monthly_fen = in->monthly_fen;
    limit->yearly_fen = in->yearly_fen;
    Famledger__AidLimitSet set = FAMLEDGER__AID_LIMIT_SET__INIT;
    set.limit = limit;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_AID_LIMIT_SET;
    entry.aid_limit_set = &set;
    uint8_t key[AID_KEY_BYTES];
    size_t key_bytes = pair_key(key, limit->holder, limit->beneficiary);
    if ((rc = ledger_append(ctx, &entry)) ||
        (rc = state_message_put(ctx->txn, ctx->arena, STORE_DB_AID_LIMITS, key, key_bytes,
                                &limit->base)))
        return request_fail(ctx, rc, "cannot record the limit");
    Famledger__AidLimitReply *reply = ARENA_NEW(ctx->arena, Famledger__AidLimitReply);
    famledger__aid_limit_reply__init(reply);
    reply->limit = limit;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_AID_LIMIT;
    ctx->response->aid_limit = reply;
    return 0;
}

/* The upgrade to format 5: the usage table, holder '\0' beneficiary '\0' period -> u64be fen
 * with a row for every month ("YYYYMM") and year ("YYYY") aid was ever counted in, becomes each
 * holder's latest counts, as aid_usage_move would have left them. Its keys come sorted, so one
 * holder's rows come together. */
struct usage_fold {
    struct store_txn *txn;
    struct arena arena;
    char holder[PERSON_NO_BYTES_MAX + 1];
    Famledger__AidUsage **usage; /* one a relative the holder ever gave to */
    size_t count, capacity;
    uint32_t latest_year; /* of any row of the holder, zero counts too: what it last counted */
    uint64_t holders, rows;
};

static int fold_damaged(const char *what, const struct store_bytes *key)
{
    /* The key as text a log line can hold: its NULs as '/', anything unprintable as '?'. */
    char text[81];
    size_t bytes = key->size < sizeof(text) - 1 ? key->size : sizeof(text) - 1;
    for (size_t i = 0; i < bytes; i++) {
        unsigned char c = ((const unsigned char *)key->data)[i];
        text[i] = c == 0 ? '/' : c < 0x20 || c > 0x7e ? '?' : (char)c;
    }
    text[bytes] = '\0';
    log_error("store: a row of the mutual-aid usage (%s) %s: the ledger is damaged. Restore it "
              "from a backup (docs/OPERATIONS.md)", text, what);
    return FL_ERR_INTERNAL;
}

/* Store the holder's counts in their account, as aid_usage_move prunes them. */
static int fold_flush(struct usage_fold *fold)
{
    size_t kept = 0;
    for (size_t i = 0; i < fold->count; i++) {
        Famledger__AidUsage *usage = fold->usage[i];
        if (usage->year >= fold->latest_year && (usage->month_fen != 0 || usage->year_fen != 0))
            fold->usage[kept++] = usage;
    }
    int rc = 0;
    if (kept) {
        Famledger__Account *account;
        rc = state_account_get(fold->txn, &fold->arena, fold->holder, &account);
        if (rc == 0) {
            log_error("store: %s has counted mutual aid but no account: the ledger is damaged. "
                      "Restore it from a backup (docs/OPERATIONS.md)", fold->holder);
            rc = FL_ERR_INTERNAL;
        } else if (rc == 1) {
            account->aid_usage = fold->usage;
            account->n_aid_usage = kept;
            rc = state_account_put(fold->txn, &fold->arena, account);
            fold->holders++;
        }
    }
    fold->count = 0;
    fold->latest_year = 0;
    fold->holder[0] = '\0';
    arena_reset(&fold->arena);
    return rc;
}

static int fold_row(void *context, const struct store_bytes *key, const struct store_bytes *value)
{
    struct usage_fold *fold = context;
    const char *holder = key->data;
    size_t holder_bytes = strnlen(holder, key->size);
    const char *beneficiary = holder + holder_bytes + 1;
    size_t left = holder_bytes < key->size ? key->size - holder_bytes - 1 : 0;
    size_t beneficiary_bytes = strnlen(beneficiary, left);
    const char *period = beneficiary + beneficiary_bytes + 1;
    size_t period_bytes = beneficiary_bytes < left ? left - beneficiary_bytes - 1 : 0;
    uint32_t number = 0;
    bool digits = true;
    for (size_t i = 0; i < period_bytes && i < 6; i++) {
        digits = digits && period[i] >= '0' && period[i] <= '9';
        number = number * 10 + (uint32_t)(period[i] - '0');
    }
    bool month_ok = period_bytes == 4 || (number % 100 >= 1 && number % 100 <= 12);
    if (holder_bytes == 0 || holder_bytes > PERSON_NO_BYTES_MAX || beneficiary_bytes == 0 ||
        beneficiary_bytes > PERSON_NO_BYTES_MAX || (period_bytes != 4 && period_bytes != 6) ||
        !digits || !month_ok || value->size != 8 ||
        store_u64_decode(value->data) > (uint64_t)INT64_MAX / 2)
        return fold_damaged("is not a holder, relative, period and amount", key);
    if (strlen(fold->holder) != holder_bytes || memcmp(fold->holder, holder, holder_bytes)) {
        int rc = fold_flush(fold);
        if (rc)
            return rc;
        memcpy(fold->holder, holder, holder_bytes);
        fold->holder[holder_bytes] = '\0';
    }
    Famledger__AidUsage *usage = fold->count ? fold->usage[fold->count - 1] : NULL;
    if (!usage || strlen(usage->beneficiary) != beneficiary_bytes ||
        memcmp(usage->beneficiary, beneficiary, beneficiary_bytes) != 0) {
        if (fold->count == fold->capacity) {
            size_t capacity = fold->capacity ? 2 * fold->capacity : 16;
            Famledger__AidUsage **grown = realloc(fold->usage, capacity * sizeof(*grown));
            if (!grown)
                return FL_ERR_INTERNAL;
            fold->usage = grown;
            fold->capacity = capacity;
        }
        usage = ARENA_NEW(&fold->arena, Famledger__AidUsage);
        famledger__aid_usage__init(usage);
        usage->beneficiary = arena_alloc(&fold->arena, beneficiary_bytes + 1);
        memcpy(usage->beneficiary, beneficiary, beneficiary_bytes);
        usage->beneficiary[beneficiary_bytes] = '\0';
        fold->usage[fold->count++] = usage;
    }
    int64_t fen = (int64_t)store_u64_decode(value->data);
    /* "YYYY" sorts before its "YYYYMM"s: the latest of each wins. */
    if (period_bytes == 6 && number >= usage->month) {
        usage->month = number;
        usage->month_fen = fen;
    } else if (period_bytes == 4 && number >= usage->year) {
        usage->year = number;
        usage->year_fen = fen;
    }
    uint32_t year = period_bytes == 6 ? number / 100 : number;
    fold->latest_year = year > fold->latest_year ? year : fold->latest_year;
    fold->rows++;
    return 0;
}

int aid_usage_fold(struct store_txn *txn, bool required)
{
    struct usage_fold *fold = calloc(1, sizeof(*fold));
    if (!fold)
        return FL_ERR_INTERNAL;
    fold->txn = txn;
    arena_init(&fold->arena);
    int rc = store_retire(txn, "aid_usage", required, fold_row, fold);
    if (rc == 0)
        rc = fold_flush(fold);
    if (rc == 0)
        log_info("store: mutual-aid usage moved into the accounts: %llu rows, %llu holding counts",
                 (unsigned long long)fold->rows, (unsigned long long)fold->holders);
    arena_free(&fold->arena);
    free(fold->usage);
    free(fold);
    return rc;
}
