/* audit.h -- bounded pages of the log, of derived state and of a merchant's day, for verify,
 * export and reconciliation. Each page is one short read transaction: a long audit never holds
 * a snapshot open, so it never stalls the writer. */
#ifndef FAMLEDGER_AUDIT_H
#define FAMLEDGER_AUDIT_H

#include "request.h"

int audit_log_page_handle(struct request_ctx *ctx, const Famledger__Request *request);
int audit_state_page_handle(struct request_ctx *ctx, const Famledger__Request *request);
/* The records of a derived table after a cursor, folded into a digest (table_digest.h). */
int audit_state_digest_handle(struct request_ctx *ctx, const Famledger__Request *request);
int audit_merchant_day_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
