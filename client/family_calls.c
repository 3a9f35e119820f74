/* family_calls.c -- client calls for bindings, merchants and settlements. */
#include "client_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static void binding_copy(fl_binding *out, const Famledger__Binding *binding)
{
    memset(out, 0, sizeof(*out));
    client_copy(out->holder, sizeof(out->holder), binding->holder);
    client_copy(out->beneficiary, sizeof(out->beneficiary), binding->beneficiary);
    out->relation = (fl_relation)binding->relation;
    out->bound_seq = binding->bound_seq;
}

/* The limit in force on a binding, from the reply's list of limits. */
static void binding_limit(fl_binding *binding, const Famledger__FamilyReply *family)
{
    for (size_t i = 0; i < family->n_limits; i++)
        if (strcmp(family->limits[i]->holder, binding->holder) == 0 &&
            strcmp(family->limits[i]->beneficiary, binding->beneficiary) == 0) {
            binding->monthly_limit_fen = family->limits[i]->monthly_fen;
            binding->yearly_limit_fen = family->limits[i]->yearly_fen;
        }
}

static void family_copy(fl_family *out, const Famledger__FamilyReply *family)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < family->n_funds && i < FL_FUNDS_MAX; i++) {
        binding_copy(&out->funds[out->funds_count], family->funds[i]);
        binding_limit(&out->funds[out->funds_count++], family);
    }
    for (size_t i = 0; i < family->n_funded_by && i < FL_FUNDERS_MAX; i++) {
        binding_copy(&out->funded_by[out->funded_by_count], family->funded_by[i]);
        binding_limit(&out->funded_by[out->funded_by_count++], family);
    }
}

static void merchant_copy(fl_merchant *out, const Famledger__Merchant *merchant)
{
    memset(out, 0, sizeof(*out));
    client_copy(out->code, sizeof(out->code), merchant->code);
    client_copy(out->name, sizeof(out->name), merchant->name);
    out->kind = (fl_merchant_kind)merchant->kind;
    client_copy(out->region, sizeof(out->region), merchant->region);
    out->suspended = merchant->suspended;
    out->added_seq = merchant->added_seq;
}

void client_refund_copy(fl_refund *out, const Famledger__Refund *refund, bool replayed)
{
    memset(out, 0, sizeof(*out));
    out->refund_id = refund->refund_id;
    client_copy(out->reference, sizeof(out->reference), refund->reference);
    out->cancel = refund->cancel;
    out->amount_fen = refund->amount_fen;
    for (size_t i = 0; i < refund->n_legs && i < FL_LEGS_MAX; i++) {
        fl_refund_leg *leg = &out->legs[out->leg_count++];
        client_copy(leg->holder, sizeof(leg->holder), refund->legs[i]->holder);
        leg->amount_fen = refund->legs[i]->amount_fen;
        leg->balance_after_fen = refund->legs[i]->balance_after_fen;
        leg->cash_refund_due = refund->legs[i]->cash_refund_due;
        leg->wallet = refund->legs[i]->wallet;
    }
    out->time_us = refund->time_us;
    out->replayed = replayed;
}

void client_settlement_copy(fl_settlement *out, const Famledger__Settlement *settlement,
                            bool replayed)
{
    /* Everything but the refunds, each written whole below: zeroing the 32 a settlement may
     * hold (40 KB) was 9 % of a pipelining client's CPU, for a settlement that has none. */
    memset(out, 0, offsetof(fl_settlement, refunds));
    out->settlement_id = settlement->settlement_id;
    client_copy(out->merchant_code, sizeof(out->merchant_code), settlement->merchant_code);
    client_copy(out->merchant_reference, sizeof(out->merchant_reference),
                settlement->merchant_reference);
    client_copy(out->patient, sizeof(out->patient), settlement->patient);
    out->amount_fen = settlement->amount_fen;
    out->category = (fl_category)settlement->category;
    for (size_t i = 0; i < settlement->n_legs && i < FL_LEGS_MAX; i++) {
        fl_leg *leg = &out->legs[out->leg_count++];
        client_copy(leg->holder, sizeof(leg->holder), settlement->legs[i]->holder);
        leg->amount_fen = settlement->legs[i]->amount_fen;
        leg->balance_after_fen = settlement->legs[i]->balance_after_fen;
        leg->mutual_aid = settlement->legs[i]->mutual_aid;
        leg->refunded_fen = settlement->legs[i]->refunded_fen;
        leg->wallet = settlement->legs[i]->wallet;
    }
    out->cancelled = settlement->cancelled;
    out->refunded_fen = settlement->refunded_fen;
    /* A daemon before 5 December 2026 let a cancel follow 32 partial refunds: one more than
     * fits. The cancel, last, is kept in the last place; a partial refund before it is still
     * counted in refunded_fen and in its legs. */
    size_t kept = settlement->n_refunds < FL_REFUNDS_MAX ? settlement->n_refunds : FL_REFUNDS_MAX;
    for (size_t i = 0; i < kept; i++) {
        size_t from = i == kept - 1 ? settlement->n_refunds - 1 : i;
        client_refund_copy(&out->refunds[out->refund_count++], settlement->refunds[from], false);
    }
    out->acct_pay_fen = settlement->acct_pay_fen;
    out->acct_mulaid_pay_fen = settlement->acct_mulaid_pay_fen;
    out->cash_pay_fen = settlement->cash_pay_fen;
    out->balc_fen = settlement->balc_fen;
    out->time_us = settlement->time_us;
    out->hold_id = settlement->hold_id;
    out->replayed = replayed;
}

/* Send a request with one body and expect one reply body; the caller frees *response. */
static int binding_reply(fl_client *client, Famledger__Request *request, fl_binding *binding)
{
    Famledger__Response *response;
    int rc = client_call_expect(client, request, FAMLEDGER__RESPONSE__BODY_BINDING, &response);
    if (rc)
        return rc;
    if (binding && response->binding->binding)
        binding_copy(binding, response->binding->binding);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_family_bind(fl_client *client, const char *holder, const char *beneficiary,
                   fl_relation relation, fl_binding *binding)
{
    return fl_family_bind_evidence(client, holder, beneficiary, relation, NULL, 0, binding);
}

int fl_family_bind_evidence(fl_client *client, const char *holder, const char *beneficiary,
                            fl_relation relation, const char *evidence, fl_bind_channel channel,
                            fl_binding *binding)
{
    Famledger__BindRequest bind = FAMLEDGER__BIND_REQUEST__INIT;
    bind.holder = (char *)holder;
    bind.beneficiary = (char *)beneficiary;
    bind.relation = (Famledger__Relation)relation;
    bind.evidence = (char *)(evidence ? evidence : "");
    bind.channel = (Famledger__BindChannel)channel;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_BIND;
    request.bind = &bind;
    return binding_reply(client, &request, binding);
}

int fl_family_unbind(fl_client *client, const char *holder, const char *beneficiary,
                     fl_binding *binding)
{
    Famledger__UnbindRequest unbind = FAMLEDGER__UNBIND_REQUEST__INIT;
    unbind.holder = (char *)holder;
    unbind.beneficiary = (char *)beneficiary;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_UNBIND;
    request.unbind = &unbind;
    return binding_reply(client, &request, binding);
}

static int family_reply(fl_client *client, Famledger__Request *request, fl_family *family)
{
    Famledger__Response *response;
    int rc = client_call_expect(client, request, FAMLEDGER__RESPONSE__BODY_FAMILY, &response);
    if (rc)
        return rc;
    if (family)
        family_copy(family, response->family);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_family_list(fl_client *client, const char *person_no, fl_family *family)
{
    Famledger__FamilyListRequest list = FAMLEDGER__FAMILY_LIST_REQUEST__INIT;
    list.person_no = (char *)person_no;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_FAMILY_LIST;
    request.family_list = &list;
    return family_reply(client, &request, family);
}

int fl_family_order(fl_client *client, const char *beneficiary, const char *const *holders,
                    size_t holder_count, fl_family *family)
{
    Famledger__FundingOrderRequest order = FAMLEDGER__FUNDING_ORDER_REQUEST__INIT;
    order.beneficiary = (char *)beneficiary;
    order.holders = (char **)holders;
    order.n_holders = holder_count;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_FUNDING_ORDER;
    request.funding_order = &order;
    return family_reply(client, &request, family);
}

static int merchant_reply(fl_client *client, Famledger__Request *request, fl_merchant *merchant)
{
    Famledger__Response *response;
    int rc = client_call_expect(client, request, FAMLEDGER__RESPONSE__BODY_MERCHANT, &response);
    if (rc)
        return rc;
    if (merchant && response->merchant->merchant)
        merchant_copy(merchant, response->merchant->merchant);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_merchant_add(fl_client *client, const fl_merchant *merchant, fl_merchant *added)
{
    Famledger__MerchantAddRequest add = FAMLEDGER__MERCHANT_ADD_REQUEST__INIT;
    add.code = (char *)merchant->code;
    add.name = (char *)merchant->name;
    add.kind = (Famledger__MerchantKind)merchant->kind;
    add.region = (char *)merchant->region;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_MERCHANT_ADD;
    request.merchant_add = &add;
    return merchant_reply(client, &request, added);
}

int fl_merchant_set_suspended(fl_client *client, const char *code, bool suspended,
                              fl_merchant *merchant)
{
    Famledger__MerchantStatusRequest status = FAMLEDGER__MERCHANT_STATUS_REQUEST__INIT;
    status.code = (char *)code;
    status.suspended = suspended;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_MERCHANT_STATUS;
    request.merchant_status = &status;
    return merchant_reply(client, &request, merchant);
}

int fl_merchant_list_after(fl_client *client, const char *after, fl_merchant *merchants,
                           size_t merchants_max, size_t *count, bool *more)
{
    *count = 0;
    char cursor[FL_PERSON_NO_MAX + 1];
    if (after && strlen(after) >= sizeof(cursor))
        return client_fail(client, FL_ERR_INVALID_ARGUMENT, "after is not a merchant code");
    snprintf(cursor, sizeof(cursor), "%s", after ? after : "");
    bool follow = true; /* the daemon has merchants after `cursor` */
    /* The daemon answers a page at a time (1,000); ask until the caller's room is full. */
    while (follow && *count < merchants_max) {
        Famledger__MerchantListRequest list = FAMLEDGER__MERCHANT_LIST_REQUEST__INIT;
        list.after = cursor;
        Famledger__Response *response;
        int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_MERCHANT_LIST, &list,
                                  FAMLEDGER__RESPONSE__BODY_MERCHANTS, &response);
        if (rc)
            return rc;
        const Famledger__MerchantListReply *reply = response->merchants;
        size_t taken = 0;
        for (; taken < reply->n_merchants && *count < merchants_max; taken++)
            merchant_copy(&merchants[(*count)++], reply->merchants[taken]);
        follow = taken < reply->n_merchants || *reply->next_after;
        if (*count > 0)
            snprintf(cursor, sizeof(cursor), "%s", merchants[*count - 1].code);
        bool stuck = taken == 0 && *reply->next_after; /* a page of none, yet more: no progress */
        famledger__response__free_unpacked(response, NULL);
        if (stuck)
            return client_fail(client, FL_ERR_PROTOCOL_ERROR, "an empty page of merchants");
    }
    if (more)
        *more = follow;
    return 0;
}

int fl_merchant_list(fl_client *client, fl_merchant *merchants, size_t merchants_max,
                     size_t *count)
{
    return fl_merchant_list_after(client, NULL, merchants, merchants_max, count, NULL);
}

static int settle_call(fl_client *client, bool quote, const fl_settle_request *in,
                       fl_settlement *settlement)
{
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)in->merchant_code;
    settle.merchant_reference = (char *)in->merchant_reference;
    settle.patient = (char *)in->patient;
    settle.amount_fen = in->amount_fen;
    settle.category = (Famledger__Category)in->category;
    settle.no_account = in->no_account;
    settle.all_or_nothing = in->all_or_nothing;
    settle.hold_id = in->hold_id;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = quote ? FAMLEDGER__REQUEST__BODY_QUOTE : FAMLEDGER__REQUEST__BODY_SETTLE;
    request.settle = &settle; /* quote and settle share the oneof's storage */
    Famledger__Response *response;
    int rc = client_call_expect(client, &request, FAMLEDGER__RESPONSE__BODY_SETTLEMENT, &response);
    if (rc)
        return rc;
    if (settlement && response->settlement->settlement)
        client_settlement_copy(settlement, response->settlement->settlement, response->replayed);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_quote(fl_client *client, const fl_settle_request *request, fl_settlement *settlement)
{
    return settle_call(client, true, request, settlement);
}

int fl_settle(fl_client *client, const fl_settle_request *request, fl_settlement *settlement)
{
    return settle_call(client, false, request, settlement);
}

int fl_settlement_get(fl_client *client, uint64_t settlement_id, fl_settlement *settlement)
{
    Famledger__SettlementGetRequest get = FAMLEDGER__SETTLEMENT_GET_REQUEST__INIT;
    get.settlement_id = settlement_id;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_SETTLEMENT_GET;
    request.settlement_get = &get;
    Famledger__Response *response;
    int rc = client_call_expect(client, &request, FAMLEDGER__RESPONSE__BODY_SETTLEMENT, &response);
    if (rc)
        return rc;
    client_settlement_copy(settlement, response->settlement->settlement, false);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

static int refund_call(fl_client *client, bool cancel, const char *merchant_code,
                       const char *reference, uint64_t settlement_id, int64_t amount_fen,
                       fl_refund *refund, fl_settlement *settlement)
{
    Famledger__RefundRequest body = FAMLEDGER__REFUND_REQUEST__INIT;
    body.merchant_code = (char *)merchant_code;
    body.merchant_reference = (char *)reference;
    body.settlement_id = settlement_id;
    body.amount_fen = amount_fen;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = cancel ? FAMLEDGER__REQUEST__BODY_CANCEL : FAMLEDGER__REQUEST__BODY_REFUND;
    request.refund = &body; /* cancel and refund share the oneof's storage */
    Famledger__Response *response;
    int rc = client_call_expect(client, &request, FAMLEDGER__RESPONSE__BODY_REFUND, &response);
    if (rc)
        return rc;
    const Famledger__RefundReply *reply = response->refund;
    if (refund && reply->refund)
        client_refund_copy(refund, reply->refund, response->replayed);
    if (settlement && reply->settlement)
        client_settlement_copy(settlement, reply->settlement, false);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_cancel(fl_client *client, const char *merchant_code, const char *reference,
              uint64_t settlement_id, fl_refund *refund, fl_settlement *settlement)
{
    return refund_call(client, true, merchant_code, reference, settlement_id, 0, refund,
                       settlement);
}

int fl_refund_make(fl_client *client, const char *merchant_code, const char *reference,
                   uint64_t settlement_id, int64_t amount_fen, fl_refund *refund,
                   fl_settlement *settlement)
{
    return refund_call(client, false, merchant_code, reference, settlement_id, amount_fen,
                       refund, settlement);
}
