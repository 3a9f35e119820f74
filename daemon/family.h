/* family.h -- family mutual aid bindings: who funds whom, and in what order. */
#ifndef FAMLEDGER_FAMILY_H
#define FAMLEDGER_FAMILY_H

#include "request.h"

int family_bind_handle(struct request_ctx *ctx, const Famledger__Request *request);
int family_unbind_handle(struct request_ctx *ctx, const Famledger__Request *request);
int family_list_handle(struct request_ctx *ctx, const Famledger__Request *request);
int family_order_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Whether `holder`'s account funds `beneficiary` now: 1 bound, 0 not, < 0 storage error. */
int family_bound(struct store_txn *txn, struct arena *arena, const char *holder,
                 const char *beneficiary);

/* The province of an admdvs region code: its first two digits. */
uint32_t family_province(const char *region);

#endif
