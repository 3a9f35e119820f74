/* due.h -- what falls due by itself: wallet sends that return, holds that expire.
 *
 * A timer is a key of the timers table: the due time, a kind and the id of the send or hold.
 * Handlers add one in the transaction that opens the send or hold and delete it in the one that
 * closes it, so the table always lists exactly what is still open. The scheduler (scheduler.c)
 * runs due_run through the commit queue; a restart catches up on what fell due meanwhile, and
 * a return or expiry is applied once, because it deletes its timer in its own transaction.
 */
#ifndef FAMLEDGER_DUE_H
#define FAMLEDGER_DUE_H

#include "request.h"

enum due_kind {
    DUE_WALLET_RETURN = 'W',
    DUE_HOLD_EXPIRY = 'H',
};

/* Add or delete the timer of (kind, id) due at `due_us`. Return 0 or a storage error. */
int due_add(struct store_txn *txn, int64_t due_us, enum due_kind kind, uint64_t id);
int due_delete(struct store_txn *txn, int64_t due_us, enum due_kind kind, uint64_t id);

/* The first timer's due time: 1 with *due_us, 0 when none, < 0 on error. */
int due_next(struct store_txn *txn, int64_t *due_us);

/* Apply up to DUE_PER_RUN_MAX returns and expiries due at ctx->time_us, each in a nested
 * transaction of its own (one that fails is logged and left for the next run). *applied is how
 * many ran; *more says whether others are due already. Returns 0 or a storage error. */
int due_run(struct request_ctx *ctx, unsigned *applied, bool *more);

#endif
