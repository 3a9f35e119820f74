/* query.h -- the questions families and pharmacies ask: a patient's or a merchant's
 * settlements, newest first, and what relatives paid for a person. */
#ifndef FAMLEDGER_QUERY_H
#define FAMLEDGER_QUERY_H

#include "request.h"

/* Handlers: SettlementListRequest (admin, audit; a settle peer sees its own merchants'),
 * AidRequest (admin, audit). */
int query_settlements_handle(struct request_ctx *ctx, const Famledger__Request *request);
int query_aid_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
