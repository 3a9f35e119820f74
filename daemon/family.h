/* family.h -- family mutual aid bindings: who funds whom, and in what order. */
#ifndef FAMLEDGER_FAMILY_H
#define FAMLEDGER_FAMILY_H

#include "request.h"

int family_bind_handle(struct request_ctx *ctx, const Famledger__Request *request);
int family_unbind_handle(struct request_ctx *ctx, const Famledger__Request *request);
int family_list_handle(struct request_ctx *ctx, const Famledger__Request *request);
int family_order_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* The province of an admdvs region code: its first two digits. */
uint32_t family_province(const char *region);

#endif
