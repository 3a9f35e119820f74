/* dispatch.c -- request type -> handler, required roles, and whether it writes. */
#include "dispatch.h"

#include "account.h"
#include "aid.h"
#include "audit.h"
#include "backup.h"
#include "batch.h"
#include "books.h"
#include "clearing.h"
#include "emergency.h"
#include "family.h"
#include "hold.h"
#include "ledger.h"
#include "lifecycle.h"
#include "merchant.h"
#include "migrate.h"
#include "person.h"
#include "query.h"
#include "refund.h"
#include "settle.h"
#include "statement.h"
#include "wallet.h"
#include "wallet_statement.h"

#include <stdio.h>
#include <string.h>

/* The C status list and the .proto enum must agree, number for number. */
#define DISPATCH_CHECK_STATUS_(name, number, message)                                             \
    _Static_assert(FAMLEDGER__STATUS__STATUS_##name == (number), "status " #name);
FL_STATUS_MAP(DISPATCH_CHECK_STATUS_)
#undef DISPATCH_CHECK_STATUS_

#define ADMIN ROLE_BIT(ROLE_ADMIN)
#define SETTLE ROLE_BIT(ROLE_SETTLE)
#define AUDIT ROLE_BIT(ROLE_AUDIT)
#define ROUTE(field, roles, writes, handler)                                                      \
    {FAMLEDGER__REQUEST__BODY_##field, #field, roles, writes, handler, false}
#define BACKGROUND_ROUTE(field, roles, handler)                                                   \
    {FAMLEDGER__REQUEST__BODY_##field, #field, roles, false, handler, true}

/* A snapshot is the connection's (server.c answers it); without one there is nothing to open. */
static int snapshot_without_connection_handle(struct request_ctx *ctx,
                                              const Famledger__Request *request)
{
    const char *what = request->body_case == FAMLEDGER__REQUEST__BODY_SUBSCRIBE ? "a subscription"
                       : request->body_case == FAMLEDGER__REQUEST__BODY_STATS   ? "the daemon's counters"
                                                                                : "a snapshot";
    return request_fail(ctx, FL_ERR_UNSUPPORTED, "%s belongs to a connection", what);
}

static const struct dispatch_route routes[] = {
    ROUTE(PERSON_ADD, ADMIN, true, person_add_handle),
    ROUTE(PERSON_GET, ADMIN | SETTLE | AUDIT, false, person_get_handle),
    ROUTE(ACCOUNT_OPEN, ADMIN, true, account_open_handle),
    ROUTE(ACCOUNT_GET, ADMIN | SETTLE | AUDIT, false, account_get_handle),
    ROUTE(CREDIT, ADMIN, true, account_credit_handle),
    ROUTE(STATEMENT, ADMIN | AUDIT, false, statement_handle),
    ROUTE(CREDITS, ADMIN | AUDIT, false, statement_credits_handle),
    ROUTE(ENTRY_GET, ADMIN | AUDIT, false, ledger_entry_get_handle),
    ROUTE(HEAD, ADMIN | SETTLE | AUDIT, false, ledger_head_handle),
    ROUTE(BIND, ADMIN, true, family_bind_handle),
    ROUTE(UNBIND, ADMIN, true, family_unbind_handle),
    ROUTE(FAMILY_LIST, ADMIN | AUDIT, false, family_list_handle),
    ROUTE(FUNDING_ORDER, ADMIN, true, family_order_handle),
    ROUTE(MERCHANT_ADD, ADMIN, true, merchant_add_handle),
    ROUTE(MERCHANT_LIST, ADMIN | SETTLE | AUDIT, false, merchant_list_handle),
    ROUTE(MERCHANT_STATUS, ADMIN, true, merchant_status_handle),
    ROUTE(QUOTE, SETTLE, false, settle_quote_handle),
    ROUTE(SETTLE, SETTLE, true, settle_handle),
    ROUTE(SETTLEMENT_GET, ADMIN | SETTLE | AUDIT, false, settlement_get_handle),
    ROUTE(CANCEL, SETTLE, true, refund_cancel_handle),
    ROUTE(REFUND, SETTLE, true, refund_handle),
    ROUTE(ACCOUNT_FREEZE, ADMIN, true, lifecycle_freeze_handle),
    ROUTE(PERSON_SUSPEND, ADMIN, true, lifecycle_suspend_handle),
    ROUTE(WITHDRAW, ADMIN, true, lifecycle_withdraw_handle),
    ROUTE(TRANSFER_OUT, ADMIN, true, lifecycle_transfer_out_handle),
    ROUTE(TRANSFER_IN, ADMIN, true, lifecycle_transfer_in_handle),
    ROUTE(CREDIT_BATCH, ADMIN, true, account_credit_batch_handle),
    BACKGROUND_ROUTE(LOG_PAGE, ADMIN | AUDIT, audit_log_page_handle),
    BACKGROUND_ROUTE(STATE_PAGE, ADMIN | AUDIT, audit_state_page_handle),
    BACKGROUND_ROUTE(STATE_DIGEST, ADMIN | AUDIT, audit_state_digest_handle),
    BACKGROUND_ROUTE(MERCHANT_DAY, ADMIN | AUDIT, audit_merchant_day_handle),
    ROUTE(DAY_CLOSE, ADMIN, true, ledger_day_close_handle),
    BACKGROUND_ROUTE(BACKUP, ADMIN, backup_handle),
    ROUTE(REVERSE, SETTLE, true, refund_reverse_handle),
    ROUTE(PAYOUT, ADMIN, true, clearing_payout_handle),
    ROUTE(RECOVERY, ADMIN, true, clearing_recovery_handle),
    ROUTE(MERCHANT_BALANCE, ADMIN | SETTLE | AUDIT, false, clearing_balance_handle),
    ROUTE(CLEARING, ADMIN | SETTLE | AUDIT, false, clearing_report_handle),
    ROUTE(TRIAL_BALANCE, ADMIN | AUDIT, false, books_trial_balance_handle),
    ROUTE(SETTLEMENT_LIST, ADMIN | SETTLE | AUDIT, false, query_settlements_handle),
    ROUTE(AID, ADMIN | AUDIT, false, query_aid_handle),
    ROUTE(PERSON_DECEASED, ADMIN, true, lifecycle_deceased_handle),
    ROUTE(WALLET_SEND, ADMIN, true, wallet_send_handle),
    ROUTE(WALLET_ACCEPT, ADMIN, true, wallet_accept_handle),
    ROUTE(WALLET_DECLINE, ADMIN, true, wallet_decline_handle),
    ROUTE(WALLET_GET, ADMIN | AUDIT, false, wallet_get_handle),
    ROUTE(WALLET_STATEMENT, ADMIN | AUDIT, false, wallet_statement_handle),
    ROUTE(EMERGENCY_CLAIM, ADMIN, true, emergency_claim_handle),
    ROUTE(EMERGENCY_CLOSE, ADMIN, true, emergency_close_handle),
    ROUTE(EMERGENCY_LIST, ADMIN | AUDIT, false, emergency_list_handle),
    ROUTE(CALENDAR_SET, ADMIN, true, calendar_set_handle),
    ROUTE(CALENDAR_GET, ADMIN | AUDIT, false, calendar_get_handle),
    ROUTE(HOLD, SETTLE, true, hold_handle),
    ROUTE(HOLD_RELEASE, ADMIN | SETTLE, true, hold_release_handle),
    ROUTE(FAMILY_LIMIT, ADMIN, true, aid_limit_handle),
    /* Each item is checked against its own route's roles (batch.c). */
    ROUTE(BATCH, ADMIN | SETTLE, true, batch_handle),
    ROUTE(MIGRATE, ADMIN, true, migrate_handle),
    /* Connection state, answered by server.c (server_snapshot_run, stream.c); never
     * dispatched. */
    ROUTE(SNAPSHOT, ADMIN | AUDIT, false, snapshot_without_connection_handle),
    ROUTE(SUBSCRIBE, ADMIN | AUDIT, false, snapshot_without_connection_handle),
    ROUTE(STATS, ADMIN | AUDIT, false, snapshot_without_connection_handle),
};

const struct dispatch_route *dispatch_route_find(Famledger__Request__BodyCase body_case)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].body_case == body_case)
            return &routes[i];
    return NULL;
}

size_t dispatch_route_count(void)
{
    return sizeof(routes) / sizeof(routes[0]);
}

const struct dispatch_route *dispatch_route_at(size_t index)
{
    return index < dispatch_route_count() ? &routes[index] : NULL;
}

size_t dispatch_route_index(const struct dispatch_route *route)
{
    return (size_t)(route - routes);
}

const char *dispatch_roles_text(unsigned roles, char *text, size_t text_bytes)
{
    static const char *const names[ROLE_COUNT] = {"admin", "settle", "audit"};
    size_t used = 0;
    text[0] = '\0';
    for (int role = 0; role < ROLE_COUNT; role++)
        if (roles & ROLE_BIT(role))
            used += (size_t)snprintf(text + used, used < text_bytes ? text_bytes - used : 0,
                                     "%s%s", used ? "|" : "", names[role]);
    return text;
}

int dispatch_execute(const struct dispatch_route *route, struct request_ctx *ctx,
                     const Famledger__Request *request)
{
    int rc = 0;
    /* Entry times only go forward, and never into a closed day (ledger_time_next). */
    if (!route->writes || (rc = ledger_time_next(ctx)) == 0)
        rc = route->handler(ctx, request);
    if (rc < 0) {
        if (ctx->response->status == FAMLEDGER__STATUS__STATUS_OK)
            request_fail(ctx, rc, "%s", fl_strerror(rc));
        ctx->response->body_case = FAMLEDGER__RESPONSE__BODY__NOT_SET;
    }
    return rc;
}
