/* aid.h -- mutual-aid limits chosen by the family, and what each relative has taken.
 *
 * A holder may cap what one relative takes from their account in a calendar month and year of
 * business time (family limit). Without one, the region's default applies (settings
 * aid_monthly_limit_default, aid_yearly_limit_default; 0: none). Settlement takes at most the
 * room left under the limit and goes on to the next funder (settle.c); usage counts each
 * mutual-aid leg when it is taken (or held: its capture carries it to the capture's month),
 * and refunds give it back. The counts live in the holder's account record, which the same
 * change writes anyway.
 */
#ifndef FAMLEDGER_AID_H
#define FAMLEDGER_AID_H

#include "request.h"

/* Handler: FamilyLimitRequest (admin). */
int aid_limit_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* The limit in force on (holder, beneficiary), per period the family's where set (non-zero),
 * else the default of the holder's region (`holder_region`); *limit is NULL when nothing
 * limits the pair. 0 or < 0 after request_fail. */
int aid_limit_get(struct request_ctx *ctx, const char *holder, const char *holder_region,
                  const char *beneficiary, Famledger__AidLimit **limit);

/* What the holder's account may still give the beneficiary in the month and year of
 * `time_us`: INT64_MAX without a limit. 0 or < 0 after request_fail. */
int aid_room(struct request_ctx *ctx, const Famledger__Account *account,
             const char *holder_region, const char *beneficiary, int64_t time_us,
             int64_t *room_fen);

/* Count `delta_fen` (negative: given back) of mutual aid from the holder's account to the
 * beneficiary in the month and year of `time_us`, in the account's aid_usage (since format 5):
 * per relative the latest month and year counted, none once both are back at zero, none of an
 * earlier year than `time_us`'s. The caller stores the account. 0 or < 0 after request_fail. */
int aid_usage_move(struct request_ctx *ctx, Famledger__Account *account,
                   const char *beneficiary, int64_t time_us, int64_t delta_fen);

/* Carry `fen` of mutual aid counted in the month and year of `from_us` to those of `to_us`
 * when they differ: a hold placed in one month and captured in a later one counts where its
 * settlement is dated, so that a refund gives it back there. The caller stores the account.
 * 0 or < 0 after request_fail. */
int aid_usage_carry(struct request_ctx *ctx, Famledger__Account *account,
                    const char *beneficiary, int64_t from_us, int64_t to_us, int64_t fen);

/* The upgrade to format 5, in the opening transaction: the rows of the aid_usage table (a
 * ledger of format 3 or 4 has one when `required`) become the holders' accounts' aid_usage,
 * as aid_usage_move would have left them, and the table is dropped. 0, or an error after a
 * log line. */
int aid_usage_fold(struct store_txn *txn, bool required);

#endif
