/* family.c -- family mutual aid bindings: who funds whom, and in what order.
 *
 * A binding lives twice in derived state: in the beneficiary's funding order (STORE_DB_FUNDERS,
 * the order settlements deduct in) and in the holder's list (STORE_DB_FUNDED). Both change in
 * the same transaction as the entry that changes them.
 */
#include "family.h"

#include "aid.h"

#include "account.h"
#include "ledger.h"
#include "person.h"
#include "state.h"
#include "validate.h"

#include <string.h>

uint32_t family_province(const char *region)
{
    return (uint32_t)((region[0] - '0') * 10 + (region[1] - '0'));
}

static bool relation_known(Famledger__Relation relation)
{
    return relation >= FAMLEDGER__RELATION__RELATION_SPOUSE &&
           relation <= FAMLEDGER__RELATION__RELATION_MATERNAL_GRANDCHILD;
}

static ssize_t bindings_find(const Famledger__BindingList *list, const char *holder,
                             const char *beneficiary)
{
    for (size_t i = 0; i < list->n_bindings; i++)
        if (list->bindings[i] && strcmp(list->bindings[i]->holder, holder) == 0 &&
            strcmp(list->bindings[i]->beneficiary, beneficiary) == 0)
            return (ssize_t)i;
    return -1;
}

int family_bound(struct store_txn *txn, struct arena *arena, const char *holder,
                 const char *beneficiary)
{
    Famledger__BindingList *funded;
    int rc = state_bindings_get(txn, arena, STORE_DB_FUNDED, holder, &funded);
    if (rc)
        return rc;
    return bindings_find(funded, holder, beneficiary) >= 0;
}

static void bindings_append(struct arena *arena, Famledger__BindingList *list,
                            Famledger__Binding *binding)
{
    Famledger__Binding **bindings = ARENA_ARRAY(arena, Famledger__Binding *, list->n_bindings + 1);
    if (list->n_bindings)
        memcpy(bindings, list->bindings, list->n_bindings * sizeof(*bindings));
    bindings[list->n_bindings++] = binding;
    list->bindings = bindings;
}

static void bindings_remove(Famledger__BindingList *list, size_t index)
{
    memmove(&list->bindings[index], &list->bindings[index + 1],
            (list->n_bindings - index - 1) * sizeof(*list->bindings));
    list->n_bindings--;
}

static int binding_reply(struct request_ctx *ctx, Famledger__Binding *binding)
{
    Famledger__BindingReply *reply = ARENA_NEW(ctx->arena, Famledger__BindingReply);
    famledger__binding_reply__init(reply);
    reply->binding = binding;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_BINDING;
    ctx->response->binding = reply;
    return 0;
}

/* The relation the holder is to the beneficiary, when the beneficiary is the holder's
 * `relation`: parent and child, grandparent and grandchild (on the same side), and spouse and
 * sibling, which are their own converse. */
static Famledger__Relation relation_converse(Famledger__Relation relation)
{
    switch (relation) {
    case FAMLEDGER__RELATION__RELATION_PARENT:
        return FAMLEDGER__RELATION__RELATION_CHILD;
    case FAMLEDGER__RELATION__RELATION_CHILD:
        return FAMLEDGER__RELATION__RELATION_PARENT;
    case FAMLEDGER__RELATION__RELATION_PATERNAL_GRANDPARENT:
        return FAMLEDGER__RELATION__RELATION_PATERNAL_GRANDCHILD;
    case FAMLEDGER__RELATION__RELATION_PATERNAL_GRANDCHILD:
        return FAMLEDGER__RELATION__RELATION_PATERNAL_GRANDPARENT;
    case FAMLEDGER__RELATION__RELATION_MATERNAL_GRANDPARENT:
        return FAMLEDGER__RELATION__RELATION_MATERNAL_GRANDCHILD;
    case FAMLEDGER__RELATION__RELATION_MATERNAL_GRANDCHILD:
        return FAMLEDGER__RELATION__RELATION_MATERNAL_GRANDPARENT;
    default:
        return relation;
    }
}

/* The spouse `list` records for `person` other than `partner`, or NULL. */
static const char *spouse_other(const Famledger__BindingList *list, const char *person,
                                const char *partner)
{
    for (size_t i = 0; i < list->n_bindings; i++) {
        const Famledger__Binding *binding = list->bindings[i];
        const char *other = strcmp(binding->holder, person) == 0 ? binding->beneficiary
                                                                 : binding->holder;
        if (binding->relation == FAMLEDGER__RELATION__RELATION_SPOUSE &&
            strcmp(other, partner) != 0)
            return other;
    }
    return NULL;
}

/* Relations agree with those already recorded between the two, and nobody has two spouses. */
static int bind_check_relations(struct request_ctx *ctx, const Famledger__BindRequest *bind,
                                const Famledger__BindingList *funders,
                                const Famledger__BindingList *funded)
{
    Famledger__BindingList *holder_funders, *beneficiary_funded;
    int rc;
    if ((rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDERS, bind->holder,
                                 &holder_funders)) ||
        (rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDED, bind->beneficiary,
                                 &beneficiary_funded)))
        return request_fail(ctx, rc, "cannot read bindings");
    ssize_t reverse = bindings_find(holder_funders, bind->beneficiary, bind->holder);
    if (reverse >= 0 &&
        holder_funders->bindings[reverse]->relation != relation_converse(bind->relation))
        return request_fail(ctx, FL_ERR_RELATION_CONFLICT, "%s already funds %s as a relation "
                            "that contradicts this one", bind->beneficiary, bind->holder);
    if (bind->relation != FAMLEDGER__RELATION__RELATION_SPOUSE)
        return 0;
    const Famledger__BindingList *lists[4] = {funded, holder_funders, funders,
                                              beneficiary_funded};
    for (int i = 0; i < 4; i++) {
        const char *person = i < 2 ? bind->holder : bind->beneficiary;
        const char *partner = i < 2 ? bind->beneficiary : bind->holder;
        const char *other = spouse_other(lists[i], person, partner);
        if (other)
            return request_fail(ctx, FL_ERR_RELATION_CONFLICT, "%s already has a spouse "
                                "recorded (%s)", person, other);
    }
    return 0;
}

/* The evidence and channel of a binding, as the rules want them. */
static int bind_check_evidence(struct request_ctx *ctx, const Famledger__BindRequest *bind)
{
    if (*bind->evidence && !validate_reference(bind->evidence))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "evidence must be 1 to 64 printable ASCII characters");
    if (bind->channel > FAMLEDGER__BIND_CHANNEL__BIND_CHANNEL_COUNTER)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "channel must be app or counter");
    return 0;
}

/* Every rule a new binding must pass, each with its own status; loads both binding lists. */
static int bind_check(struct request_ctx *ctx, const Famledger__BindRequest *bind,
                      Famledger__BindingList **funders_out, Famledger__BindingList **funded_out)
{
    Famledger__Account *account;
    Famledger__Person *holder, *beneficiary;
    int rc;
    if ((rc = bind_check_evidence(ctx, bind)) ||
        (rc = account_require(ctx, bind->holder, "holder", &holder, &account)) ||
        (rc = person_require(ctx, bind->beneficiary, "beneficiary", &beneficiary)))
        return rc;
    /* The region's own rules: the holder's decides the evidence and how many relatives one
     * account funds, the beneficiary's how many accounts fund one relative. */
    const struct config *config = ctx->config;
    if (!*bind->evidence && CONFIG_REGIONAL(config, binding_evidence_required, holder->region))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a binding must name the evidence it "
                            "was accepted on (a household-register or certificate number)");
    uint64_t holder_max = CONFIG_REGIONAL(config, bindings_per_holder_max, holder->region);
    uint64_t beneficiary_max =
        CONFIG_REGIONAL(config, bindings_per_beneficiary_max, beneficiary->region);
    const Famledger__Person *deceased =
        holder->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED        ? holder
        : beneficiary->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED ? beneficiary
                                                                           : NULL;
    if (deceased)
        return request_fail(ctx, FL_ERR_PERSON_DECEASED, "%s is deceased", deceased->person_no);
    /* A beneficiary is insured in their own right (DOMAIN.md): here, not opted or moved out. */
    if ((rc = person_require_insured(ctx, beneficiary)))
        return rc;
    if ((rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDERS, bind->beneficiary,
                                 funders_out)) ||
        (rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDED, bind->holder,
                                 funded_out)))
        return request_fail(ctx, rc, "cannot read bindings");
    const Famledger__BindingList *funders = *funders_out, *funded = *funded_out;
    if (account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return request_fail(ctx, FL_ERR_ACCOUNT_CLOSED, "the account of holder %s is closed",
                            bind->holder);
    if (strcmp(bind->holder, bind->beneficiary) == 0)
        return request_fail(ctx, FL_ERR_SELF_BINDING, "%s cannot bind their own account",
                            bind->holder);
    if (!relation_known(bind->relation))
        return request_fail(ctx, FL_ERR_UNKNOWN_RELATION,
                            "relation must be one of the eight close relations");
    if (bindings_find(funders, bind->holder, bind->beneficiary) >= 0)
        return request_fail(ctx, FL_ERR_BINDING_EXISTS, "%s already funds %s", bind->holder,
                            bind->beneficiary);
    if (funded->n_bindings >= holder_max)
        return request_fail(ctx, FL_ERR_HOLDER_BINDING_LIMIT, "%s already funds %zu relatives "
                            "(limit %llu in region %s)", bind->holder, funded->n_bindings,
                            (unsigned long long)holder_max, holder->region);
    if (funders->n_bindings >= beneficiary_max)
        return request_fail(ctx, FL_ERR_BENEFICIARY_BINDING_LIMIT, "%s already has %zu funders "
                            "(limit %llu in region %s)", bind->beneficiary, funders->n_bindings,
                            (unsigned long long)beneficiary_max, beneficiary->region);
    uint32_t from = family_province(holder->region), to = family_province(beneficiary->region);
    if (from != to && !(config_ids_contain(&config->cross_province, from) &&
                        config_ids_contain(&config->cross_province, to)))
        return request_fail(ctx, FL_ERR_CROSS_PROVINCE_NOT_ALLOWED,
                            "provinces %02u and %02u have not both switched on cross-province "
                            "mutual aid", from, to);
    return bind_check_relations(ctx, bind, funders, funded);
}

int family_bind_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__BindRequest *bind = request->bind;
    Famledger__BindingList *funders, *funded;
    int rc = bind_check(ctx, bind, &funders, &funded);
    if (rc)
        return rc;

    Famledger__Binding *binding = ARENA_NEW(ctx->arena, Famledger__Binding);
    famledger__binding__init(binding);
    binding->holder = bind->holder;
    binding->beneficiary = bind->beneficiary;
    binding->relation = bind->relation;
    binding->evidence = bind->evidence;
    binding->channel = bind->channel;
    Famledger__BindingAdded added = FAMLEDGER__BINDING_ADDED__INIT;
    added.binding = binding;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_BINDING_ADDED;
    entry.binding_added = &added;
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot append to the ledger");
    binding->bound_seq = entry.seq; /* the entry keeps 0: its own seq is its key */
    bindings_append(ctx->arena, funders, binding);
    bindings_append(ctx->arena, funded, binding);
    if ((rc = state_bindings_put(ctx->txn, ctx->arena, STORE_DB_FUNDERS, bind->beneficiary,
                                 funders)) ||
        (rc = state_bindings_put(ctx->txn, ctx->arena, STORE_DB_FUNDED, bind->holder, funded)))
        return request_fail(ctx, rc, "cannot store the binding");
    return binding_reply(ctx, binding);
}

int family_unbind_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__UnbindRequest *unbind = request->unbind;
    Famledger__Person *person;
    Famledger__BindingList *funders, *funded;
    int rc;
    if ((rc = person_require(ctx, unbind->holder, "holder", &person)) ||
        (rc = person_require(ctx, unbind->beneficiary, "beneficiary", &person)))
        return rc;
    if ((rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDERS, unbind->beneficiary,
                                 &funders)) ||
        (rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDED, unbind->holder,
                                 &funded)))
        return request_fail(ctx, rc, "cannot read bindings");
    ssize_t in_funders = bindings_find(funders, unbind->holder, unbind->beneficiary);
    ssize_t in_funded = bindings_find(funded, unbind->holder, unbind->beneficiary);
    if (in_funders < 0 || in_funded < 0)
        return request_fail(ctx, FL_ERR_NOT_BOUND, "%s does not fund %s", unbind->holder,
                            unbind->beneficiary);
    Famledger__Binding *binding = funders->bindings[in_funders];
    Famledger__BindingRemoved removed = FAMLEDGER__BINDING_REMOVED__INIT;
    removed.holder = unbind->holder;
    removed.beneficiary = unbind->beneficiary;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_BINDING_REMOVED;
    entry.binding_removed = &removed;
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot append to the ledger");
    bindings_remove(funders, (size_t)in_funders);
    bindings_remove(funded, (size_t)in_funded);
    if ((rc = state_bindings_put(ctx->txn, ctx->arena, STORE_DB_FUNDERS, unbind->beneficiary,
                                 funders)) ||
        (rc = state_bindings_put(ctx->txn, ctx->arena, STORE_DB_FUNDED, unbind->holder, funded)))
        return request_fail(ctx, rc, "cannot store the bindings");
    return binding_reply(ctx, binding);
}

static int family_reply(struct request_ctx *ctx, const char *person_no)
{
    Famledger__BindingList *funders, *funded;
    int rc;
    if ((rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDERS, person_no, &funders)) ||
        (rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDED, person_no, &funded)))
        return request_fail(ctx, rc, "cannot read bindings");
    Famledger__FamilyReply *reply = ARENA_NEW(ctx->arena, Famledger__FamilyReply);
    famledger__family_reply__init(reply);
    reply->funds = funded->bindings;
    reply->n_funds = funded->n_bindings;
    reply->funded_by = funders->bindings;
    reply->n_funded_by = funders->n_bindings;
    reply->limits = ARENA_ARRAY(ctx->arena, Famledger__AidLimit *,
                                funded->n_bindings + funders->n_bindings + 1);
    const Famledger__BindingList *lists[2] = {funded, funders};
    for (int list = 0; list < 2; list++)
        for (size_t i = 0; i < lists[list]->n_bindings; i++) {
            const Famledger__Binding *binding = lists[list]->bindings[i];
            Famledger__Person *holder; /* whose region's default applies */
            Famledger__AidLimit *limit;
            if ((rc = person_require(ctx, binding->holder, "holder", &holder)) ||
                (rc = aid_limit_get(ctx, binding->holder, holder->region, binding->beneficiary,
                                    &limit)))
                return rc;
            if (limit)
                reply->limits[reply->n_limits++] = limit;
        }
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_FAMILY;
    ctx->response->family = reply;
    return 0;
}

int family_list_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__Person *person;
    int rc = person_require(ctx, request->family_list->person_no, "person", &person);
    return rc ? rc : family_reply(ctx, person->person_no);
}

int family_order_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__FundingOrderRequest *order = request->funding_order;
    Famledger__Person *person;
    Famledger__BindingList *funders;
    int rc;
    if ((rc = person_require(ctx, order->beneficiary, "beneficiary", &person)))
        return rc;
    /* Bound accounts pay in the order they were bound; some cities let the family change it
     * (DOMAIN.md), as the beneficiary's region says. */
    if (!CONFIG_REGIONAL(ctx->config, family_reorder_allowed, person->region))
        return request_fail(ctx, FL_ERR_FUNDING_ORDER_FIXED, "the funders of %s pay in the "
                            "order they were bound: region %s does not let families change it",
                            order->beneficiary, person->region);
    if ((rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDERS, order->beneficiary,
                                 &funders)))
        return request_fail(ctx, rc, "cannot read bindings");
    if (order->n_holders != funders->n_bindings)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "list each of the %zu bound holders "
                            "exactly once", funders->n_bindings);
    Famledger__Binding **ordered = ARENA_ARRAY(ctx->arena, Famledger__Binding *,
                                               order->n_holders + 1);
    for (size_t i = 0; i < order->n_holders; i++) {
        ssize_t found = bindings_find(funders, order->holders[i], order->beneficiary);
        if (found < 0)
            return request_fail(ctx, FL_ERR_NOT_BOUND, "%s does not fund %s, or is listed twice",
                                order->holders[i], order->beneficiary);
        ordered[i] = funders->bindings[found];
        funders->bindings[found] = NULL; /* taken: a second mention fails above */
    }
    Famledger__FundingOrderSet set = FAMLEDGER__FUNDING_ORDER_SET__INIT;
    set.beneficiary = order->beneficiary;
    set.holders = order->holders;
    set.n_holders = order->n_holders;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_FUNDING_ORDER_SET;
    entry.funding_order_set = &set;
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot append to the ledger");
    funders->bindings = ordered;
    if ((rc = state_bindings_put(ctx->txn, ctx->arena, STORE_DB_FUNDERS, order->beneficiary,
                                 funders)))
        return request_fail(ctx, rc, "cannot store the funding order");
    return family_reply(ctx, order->beneficiary);
}
