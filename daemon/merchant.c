/* merchant.c -- designated pharmacies, hospitals and agencies, and what they may settle. */
#include "merchant.h"

#include "fl_limits.h"
#include "ledger.h"
#include "state.h"
#include "validate.h"

#include <string.h>

/* A merchant's kind limits its categories (docs/POLICY.md). */
static bool merchant_may_settle(Famledger__MerchantKind kind, Famledger__Category category)
{
    switch (kind) {
    case FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY:
        return category == FAMLEDGER__CATEGORY__CATEGORY_PHARMACY ||
               category == FAMLEDGER__CATEGORY__CATEGORY_DEVICE;
    case FAMLEDGER__MERCHANT_KIND__MERCHANT_HOSPITAL:
        return category == FAMLEDGER__CATEGORY__CATEGORY_OUTPATIENT ||
               category == FAMLEDGER__CATEGORY__CATEGORY_INPATIENT ||
               category == FAMLEDGER__CATEGORY__CATEGORY_PHARMACY;
    case FAMLEDGER__MERCHANT_KIND__MERCHANT_AGENCY:
        return category == FAMLEDGER__CATEGORY__CATEGORY_RESIDENT_PREMIUM ||
               category == FAMLEDGER__CATEGORY__CATEGORY_COMMERCIAL_INSURANCE ||
               category == FAMLEDGER__CATEGORY__CATEGORY_LONG_TERM_CARE;
    default:
        return false;
    }
}

static int merchant_reply(struct request_ctx *ctx, Famledger__Merchant *merchant)
{
    Famledger__MerchantReply *reply = ARENA_NEW(ctx->arena, Famledger__MerchantReply);
    famledger__merchant_reply__init(reply);
    reply->merchant = merchant;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_MERCHANT;
    ctx->response->merchant = reply;
    return 0;
}

int merchant_require(struct request_ctx *ctx, const char *code, Famledger__Merchant **merchant)
{
    if (!validate_person_no(code))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "merchant code must be 1 to 32 letters or digits");
    int rc = state_merchant_get(ctx->txn, ctx->arena, code, merchant);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read merchant %s", code);
    if (rc == 0)
        return request_fail(ctx, FL_ERR_UNKNOWN_MERCHANT, "merchant %s is not registered", code);
    return 0;
}

int merchant_require_settling(struct request_ctx *ctx, const char *code,
                              Famledger__Category category, Famledger__Merchant **merchant)
{
    int rc = merchant_require(ctx, code, merchant);
    if (rc)
        return rc;
    if ((*merchant)->suspended)
        return request_fail(ctx, FL_ERR_MERCHANT_SUSPENDED, "merchant %s is suspended", code);
    if (!merchant_may_settle((*merchant)->kind, category))
        return request_fail(ctx, FL_ERR_CATEGORY_NOT_ALLOWED,
                            "merchant %s may not settle this category", code);
    return 0;
}

int merchant_add_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__MerchantAddRequest *add = request->merchant_add;
    if (!validate_person_no(add->code))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "code must be 1 to 32 letters or digits");
    if (!validate_name(add->name))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "name must be 1 to 128 bytes of UTF-8 without control characters");
    if (!validate_region(add->region))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "region must be a 6-digit admdvs code");
    if (add->kind < FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY ||
        add->kind > FAMLEDGER__MERCHANT_KIND__MERCHANT_AGENCY)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "kind must be pharmacy, hospital or agency");
    Famledger__Merchant *merchant;
    int rc = state_merchant_get(ctx->txn, ctx->arena, add->code, &merchant);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read merchant %s", add->code);
    if (rc == 1)
        return request_fail(ctx, FL_ERR_MERCHANT_EXISTS, "merchant %s is already registered",
                            add->code);
    merchant = ARENA_NEW(ctx->arena, Famledger__Merchant);
    famledger__merchant__init(merchant);
    merchant->code = add->code;
    merchant->name = add->name;
    merchant->kind = add->kind;
    merchant->region = add->region;
    Famledger__MerchantAdded added = FAMLEDGER__MERCHANT_ADDED__INIT;
    added.merchant = merchant;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_MERCHANT_ADDED;
    entry.merchant_added = &added;
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot append to the ledger");
    merchant->added_seq = entry.seq;
    if ((rc = state_merchant_put(ctx->txn, ctx->arena, merchant)))
        return request_fail(ctx, rc, "cannot store merchant %s", add->code);
    return merchant_reply(ctx, merchant);
}

struct merchant_list {
    struct request_ctx *ctx;
    Famledger__MerchantListReply *reply;
    bool more; /* a merchant follows the page */
};

static int merchant_list_visit_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    (void)key;
    struct merchant_list *list = context;
    if (list->reply->n_merchants == MERCHANTS_LIST_MAX) {
        list->more = true;
        return 0;
    }
    Famledger__Merchant *merchant = famledger__merchant__unpack(&list->ctx->arena->protobuf,
                                                                value.size, value.data);
    if (!merchant)
        return FL_ERR_INTERNAL;
    list->reply->merchants[list->reply->n_merchants++] = merchant;
    return 0;
}

int merchant_list_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const char *after = request->merchant_list->after;
    if (*after && !validate_person_no(after))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "after must be a merchant code: 1 to 32 letters or digits");
    Famledger__MerchantListReply *reply = ARENA_NEW(ctx->arena, Famledger__MerchantListReply);
    famledger__merchant_list_reply__init(reply);
    reply->merchants = ARENA_ARRAY(ctx->arena, Famledger__Merchant *, MERCHANTS_LIST_MAX);
    struct merchant_list list = {ctx, reply, false};
    /* One more than a page: whether another page follows is known, not guessed. */
    int rc = store_scan(ctx->txn, STORE_DB_MERCHANTS, after, strlen(after), (struct store_bytes){0},
                        MERCHANTS_LIST_MAX + 1, merchant_list_visit_cb, &list);
    if (rc)
        return request_fail(ctx, rc, "cannot list merchants");
    if (list.more)
        reply->next_after = reply->merchants[reply->n_merchants - 1]->code;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_MERCHANTS;
    ctx->response->merchants = reply;
    return 0;
}

int merchant_status_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__MerchantStatusRequest *status = request->merchant_status;
    Famledger__Merchant *merchant;
    int rc = merchant_require(ctx, status->code, &merchant);
    if (rc)
        return rc;
    if (!merchant->suspended == !status->suspended)
        return merchant_reply(ctx, merchant); /* already so: nothing to record */
    Famledger__MerchantStatusChanged changed = FAMLEDGER__MERCHANT_STATUS_CHANGED__INIT;
    changed.code = status->code;
    changed.suspended = status->suspended;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_MERCHANT_STATUS_CHANGED;
    entry.merchant_status_changed = &changed;
    merchant->suspended = status->suspended;
    if ((rc = ledger_append(ctx, &entry)) ||
        (rc = state_merchant_put(ctx->txn, ctx->arena, merchant)))
        return request_fail(ctx, rc, "cannot record the status of merchant %s", status->code);
    return merchant_reply(ctx, merchant);
}
