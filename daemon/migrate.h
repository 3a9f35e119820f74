/* migrate.h -- a person brought over from a legacy system, account and balance in one entry. */
#ifndef FAMLEDGER_MIGRATE_H
#define FAMLEDGER_MIGRATE_H

#include "request.h"

/* Handler: MigrateRequest (admin). */
int migrate_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
