/* settle.h -- quote and settle: sequential multi-account deduction (docs/POLICY.md). */
#ifndef FAMLEDGER_SETTLE_H
#define FAMLEDGER_SETTLE_H

#include "fl_limits.h"
#include "request.h"

/* A split, and the accounts it takes from (parallel to settlement->legs; NULL for a wallet
 * leg, whose money is the books' wallet account of the patient). */
struct settle_plan {
    Famledger__Settlement *settlement;
    Famledger__Account *accounts[LEGS_MAX];
    /* The patient and their account as the plan read them (NULL: not read, or none), which
     * the settlement's record of the patient (patient_chain) need not read again. */
    Famledger__Person *patient;
    Famledger__Account *own;
    int64_t held_us; /* a capture's: when its hold was placed, and its mutual aid counted */
};

int settle_quote_handle(struct request_ctx *ctx, const Famledger__Request *request);
int settle_handle(struct request_ctx *ctx, const Famledger__Request *request);
int settlement_get_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Validate a quote or settlement and build the command the ledger records (ours, never the
 * client's bytes). 0, or < 0 after request_fail. */
int settle_command_prepare(struct request_ctx *ctx, Famledger__SettleRequest *settle, bool quote,
                           Famledger__SettleRequest **command);

/* The split of `settle` as it would be made now: the checks (merchant, patient, policy), then
 * the patient's own account, their wallet, and each funder in order within its aid limit.
 * Writes nothing. 0, or < 0 after request_fail. */
int settle_plan_make(struct request_ctx *ctx, const Famledger__SettleRequest *settle,
                     struct settle_plan *plan);

/* For the prefetch threads (prefetch.h): the reads settle_plan_make makes for `request`, in
 * ctx's read transaction, once its fields pass settle_validate's checks (all but the peer's
 * merchants: nothing is answered). What it finds and any failure are dropped. */
void settle_prefetch(struct request_ctx *ctx, const Famledger__SettleRequest *request);

/* INSUFFICIENT_FUNDS for an all_or_nothing request the accounts do not cover. */
int settle_insufficient(struct request_ctx *ctx, const Famledger__Settlement *settlement);

/* Answer with a SettlementReply. Returns 0. */
int settlement_reply(struct request_ctx *ctx, Famledger__Settlement *settlement);

/* Load a settlement as it stands (refunds included), failing the request with
 * UNKNOWN_SETTLEMENT when there is none. */
int settlement_load(struct request_ctx *ctx, uint64_t settlement_id,
                    Famledger__Settlement **settlement);

#endif
