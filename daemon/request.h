/* request.h -- what a handler sees: the decoded request, one transaction, and where to answer.
 *
 * Handlers hold the business rules and know nothing of sockets: tests and replay call them
 * directly with a transaction of their own.
 */
#ifndef FAMLEDGER_REQUEST_H
#define FAMLEDGER_REQUEST_H

#include "arena.h"
#include "config.h"
#include "famledger.pb-c.h"
#include "famledger_status.h"
#include "store.h"

#include <stdarg.h>
#include <stdint.h>

struct prefetch;

struct request_ctx {
    struct store_txn *txn;
    struct arena *arena;       /* lives until the reply is sent */
    const struct config *config;
    int64_t time_us;           /* the time written into any entry this request appends */
    uint32_t peer_uid;
    uint32_t peer_gid;
    const struct peer *peer;   /* roles and merchants of the connection */
    const char *operator_id;   /* may be empty */
    Famledger__Response *response;
    struct prefetch *prefetch; /* reading ahead of long walks and of settlements; NULL: none */
    /* The writer: the ticket of this settlement's reads made ahead (prefetch_take), or of a
     * batch's first item; 0: none. */
    uint64_t ahead_ticket;
};

/* A handler returns 0 with response->body set, or a negative FL_ERR_* after request_fail. */
typedef int (*request_handler)(struct request_ctx *ctx, const Famledger__Request *request);

/* Record a status and a formatted message in the response; returns `status` for tail calls. */
int request_fail(struct request_ctx *ctx, int status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* The same for a response outside a handler (the server's refusals): at most 511 bytes, cut on
 * a character boundary. */
void request_response_fail(Famledger__Response *response, struct arena *arena, int status,
                           const char *format, va_list args);

int64_t request_clock_us(void);

/* `amount_fen` as yuan text with two decimals ("-12.30"), in ctx->arena: what people read in
 * error messages. */
const char *request_yuan(struct request_ctx *ctx, int64_t amount_fen);

/* PERMISSION_DENIED (after request_fail) unless the peer may act for merchant `code`
 * (config_peer_may_act_for); 0 when it may. */
int request_require_merchant(struct request_ctx *ctx, const char *code);

/* Whether the peer may read what merchant `code` did: administrators and auditors read every
 * merchant's settlements and books, a settle peer only those of the merchants it acts for. */
bool request_may_read_merchant(const struct request_ctx *ctx, const char *code);

/* request_may_read_merchant, or PERMISSION_DENIED (after request_fail). */
int request_require_merchant_reader(struct request_ctx *ctx, const char *code);

#endif
