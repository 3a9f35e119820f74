/* aid.c -- mutual-aid limits per holder and relative, and the usage they are checked against. */
#include "aid.h"

#include "family.h"
#include "fl_limits.h"
#include "ledger.h"
#include "person.h"
#include "require.h"
#include "state.h"
#include "validate.h"

#include <string.h>

#define AID_KEY_BYTES (2 * (PERSON_NO_BYTES_MAX + 1) + 8)

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

/* The usage key of the month ("YYYYMM", period_bytes 6) or year ("YYYY", 4) of `time_us`. */
static size_t usage_key(uint8_t *key, const char *holder, const char *beneficiary,
                        int64_t time_us, size_t period_bytes)
{
    char day[9];
    ledger_business_day(time_us, day);
    size_t bytes = pair_key(key, holder, beneficiary);
    key[bytes++] = '\0';
    memcpy(key + bytes, day, period_bytes);
    return bytes + period_bytes;
}

static int usage_get(struct request_ctx *ctx, const uint8_t *key, size_t key_bytes,
                     int64_t *used_fen)
{
    struct store_bytes value;
    int rc = store_get(ctx->txn, STORE_DB_AID_USAGE, key, key_bytes, &value);
    *used_fen = 0;
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read mutual-aid usage");
    if (rc == 1 && value.size != 8)
        return request_fail(ctx, FL_ERR_INTERNAL, "a stored mutual-aid usage is damaged");
    if (rc == 1)
        *used_fen = (int64_t)store_u64_decode(value.data);
    return *used_fen < 0 ? request_fail(ctx, FL_ERR_INTERNAL, "a stored mutual-aid usage is "
                                        "damaged")
                         : 0;
}

int aid_usage_move(struct request_ctx *ctx, const char *holder, const char *beneficiary,
                   int64_t time_us, int64_t delta_fen)
{
    static const size_t periods[2] = {6, 4};
    int rc = pair_check(ctx, holder, beneficiary);
    if (rc)
        return rc;
    for (int i = 0; i < 2 && delta_fen != 0; i++) {
        uint8_t key[AID_KEY_BYTES];
        size_t key_bytes = usage_key(key, holder, beneficiary, time_us, periods[i]);
        int64_t used;
        if ((rc = usage_get(ctx, key, key_bytes, &used)))
            return rc;
        /* Never below zero: a refund of a settlement made before aid was counted (a ledger of
         * format 2) gives back nothing that was counted. verify replays the same rule. */
        used = used + delta_fen < 0 ? 0 : used + delta_fen;
        uint8_t value[8];
        store_u64_encode(value, (uint64_t)used);
        if ((rc = store_put(ctx->txn, STORE_DB_AID_USAGE, key, key_bytes, value, sizeof(value))))
            return request_fail(ctx, rc, "cannot record mutual-aid usage");
    }
    return 0;
}

int aid_limit_get(struct request_ctx *ctx, const char *holder, const char *beneficiary,
                  Famledger__AidLimit **limit)
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
    /* Per period: the family's limit where they set one, else the region's default. */
    int64_t monthly = family && family->monthly_fen
                          ? family->monthly_fen
                          : (int64_t)ctx->config->aid_monthly_limit_default_fen;
    int64_t yearly = family && family->yearly_fen
                         ? family->yearly_fen
                         : (int64_t)ctx->config->aid_yearly_limit_default_fen;
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

int aid_room(struct request_ctx *ctx, const char *holder, const char *beneficiary,
             int64_t time_us, int64_t *room_fen)
{
    Famledger__AidLimit *limit;
    int rc = aid_limit_get(ctx, holder, beneficiary, &limit);
    *room_fen = INT64_MAX;
    if (rc || !limit)
        return rc;
    const int64_t caps[2] = {limit->monthly_fen, limit->yearly_fen};
    static const size_t periods[2] = {6, 4};
    for (int i = 0; i < 2; i++) {
        if (caps[i] <= 0)
            continue;
        uint8_t key[AID_KEY_BYTES];
        size_t key_bytes = usage_key(key, holder, beneficiary, time_us, periods[i]);
        int64_t used;
        if ((rc = usage_get(ctx, key, key_bytes, &used)))
            return rc;
        int64_t room = used >= caps[i] ? 0 : caps[i] - used;
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
