/* batch.c -- many requests that write, in one frame and one commit (BatchRequest).
 *
 * A settlement gateway sends its settlements together. Each item is checked and run exactly as
 * if it had come in a frame of its own: its route, the peer's role for it, its operator_id,
 * then its handler in a nested transaction, so that a refused item undoes only its own writes
 * and the others keep theirs. The reply holds one Response per item, in order.
 */
#include "batch.h"

#include "dispatch.h"
#include "fl_limits.h"
#include "validate.h"

/* Items that cannot be batched: a batch (no nesting), a credit batch (its reply could pass
 * the reply limit a thousand times over), the long reads and every read: a batch commits. */
static bool batch_item_allowed(const struct dispatch_route *route)
{
    return route->writes && !route->background &&
           route->body_case != FAMLEDGER__REQUEST__BODY_BATCH &&
           route->body_case != FAMLEDGER__REQUEST__BODY_CREDIT_BATCH;
}

/* Run one item into `response`: in a nested transaction of its own when `careful`, else straight
 * in ctx->txn, setting *redo when it failed after writing (its writes cannot be undone alone).
 * Returns < 0 only when the whole batch must stop: the map or the disk is full, or a nested
 * transaction cannot be opened or kept. */
static int batch_item_run(struct request_ctx *ctx, const Famledger__Request *item,
                          Famledger__Response *response, bool careful, bool *redo)
{
    char roles[64];
    struct request_ctx one = *ctx;
    one.response = response;
    const struct dispatch_route *route = dispatch_route_find(item->body_case);
    if (!route || !batch_item_allowed(route)) {
        request_fail(&one, FL_ERR_UNSUPPORTED, "%s cannot be part of a batch: a batch holds "
                     "requests that write, one at a time",
                     route ? route->name : "a request without a body");
        return 0;
    }
    if (!(ctx->peer->roles & route->roles)) {
        request_fail(&one, FL_ERR_PERMISSION_DENIED, "%s needs the %s role; uid %u gid %u has "
                     "none of them", route->name,
                     dispatch_roles_text(route->roles, roles, sizeof(roles)), ctx->peer_uid,
                     ctx->peer_gid);
        return 0;
    }
    if (!validate_operator_id(item->operator_id)) {
        request_fail(&one, FL_ERR_INVALID_ARGUMENT,
                     "operator_id must be at most 64 printable ASCII characters");
        return 0;
    }
    if (*item->operator_id)
        one.operator_id = item->operator_id;
    if (!careful) {
        uint64_t writes = store_txn_writes(ctx->txn);
        int rc = dispatch_execute(route, &one, item);
        if (rc == FL_ERR_OUT_OF_SPACE)
            return rc;
        *redo = rc < 0 && store_txn_writes(ctx->txn) != writes;
        return 0;
    }
    int rc = store_nested_begin(ctx->txn, &one.txn);
    if (rc)
        return rc;
    rc = dispatch_execute(route, &one, item);
    if (rc == FL_ERR_OUT_OF_SPACE) {
        /* The map is full (the batch runs again after it grows) or the disk is: no item of
         * this batch is written. */
        store_abort(one.txn);
        return rc;
    }
    if (rc < 0) {
        store_abort(one.txn);
        return 0;
    }
    return store_commit(one.txn);
}

/* Run every item in `txn`, answering each in reply. *redo: a fast pass must be run again. */
static int batch_pass(struct request_ctx *ctx, struct store_txn *txn,
                      const Famledger__BatchRequest *batch, Famledger__BatchReply *reply,
                      bool careful, bool *redo)
{
    struct request_ctx pass = *ctx;
    pass.txn = txn;
    reply->n_replies = 0;
    for (size_t i = 0; i < batch->n_requests && !*redo; i++) {
        Famledger__Response *response = ARENA_NEW(ctx->arena, Famledger__Response);
        famledger__response__init(response);
        response->request_id = batch->requests[i]->request_id;
        /* prefetch_request gave the batch's items consecutive tickets. */
        pass.ahead_ticket = ctx->ahead_ticket ? ctx->ahead_ticket + i : 0;
        int rc = batch_item_run(&pass, batch->requests[i], response, careful, redo);
        if (rc)
            return request_fail(ctx, rc, "the batch stopped at request %zu: %s", i + 1,
                                fl_strerror(rc));
        reply->replies[reply->n_replies++] = response;
    }
    return 0;
}

int batch_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__BatchRequest *batch = request->batch;
    if (batch->n_requests == 0 || batch->n_requests > BATCH_ITEMS_MAX)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a batch holds 1 to %d requests",
                            BATCH_ITEMS_MAX);
    Famledger__BatchReply *reply = ARENA_NEW(ctx->arena, Famledger__BatchReply);
    famledger__batch_reply__init(reply);
    reply->replies = ARENA_ARRAY(ctx->arena, Famledger__Response *, batch->n_requests);
    struct store_txn *fast;
    bool redo = false;
    int rc = store_nested_begin(ctx->txn, &fast);
    if (rc)
        return request_fail(ctx, rc, "cannot start the batch");
    if ((rc = batch_pass(ctx, fast, batch, reply, false, &redo)) != 0 || redo)
        store_abort(fast);
    else if ((rc = store_commit(fast)) != 0)
        return request_fail(ctx, rc, "cannot keep the batch");
    if (rc)
        return rc;
    bool careful_redo = false; /* a careful pass undoes each item alone: never set */
    if (redo && (rc = batch_pass(ctx, ctx->txn, batch, reply, true, &careful_redo)) != 0)
        return rc;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_BATCH;
    ctx->response->batch = reply;
    return 0;
}

unsigned batch_weight(const Famledger__Request *request)
{
    if (request->body_case != FAMLEDGER__REQUEST__BODY_BATCH)
        return 1;
    return request->batch->n_requests ? (unsigned)request->batch->n_requests : 1;
}
