/* wallet.h -- the medical-insurance wallet (医保钱包): two-phase sends between relatives.
 *
 * A holder sends money from their personal account to a relative's wallet. The send waits in
 * the holder's wallet_pending account until the relative accepts it (into the wallet) or
 * declines it, or until it returns by itself at the return time of the next business day
 * (due.c). The wallet is spent like its owner's own account, right after it (settle.c). The
 * limits are settings with the national defaults (docs/POLICY.md, "The wallet").
 */
#ifndef FAMLEDGER_WALLET_H
#define FAMLEDGER_WALLET_H

#include "request.h"

/* Handlers: WalletSendRequest, accept and decline (WalletSendCloseRequest), WalletGetRequest. */
int wallet_send_handle(struct request_ctx *ctx, const Famledger__Request *request);
int wallet_accept_handle(struct request_ctx *ctx, const Famledger__Request *request);
int wallet_decline_handle(struct request_ctx *ctx, const Famledger__Request *request);
int wallet_get_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* The scheduler: return send `send_id` to its holder if it still waits. 0, or < 0 after
 * request_fail. */
int wallet_send_return(struct request_ctx *ctx, uint64_t send_id);

/* The wallet record of `person_no` (a new, empty one when there is none): 0 or < 0. */
int wallet_load(struct request_ctx *ctx, const char *person_no, Famledger__Wallet **wallet);
int wallet_store(struct request_ctx *ctx, const Famledger__Wallet *wallet);

/* What `person_no` may spend from the wallet now: its balance less what holds reserve.
 * 0 or < 0 (after request_fail). */
int wallet_available(struct request_ctx *ctx, const char *person_no, int64_t *balance_fen,
                     int64_t *available_fen);

#endif
