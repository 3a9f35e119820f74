/* emergency.h -- emergency claims (急诊垫付): claimed, then returned to the patient's account or
 * rejected after review, due within 7 working days (docs/POLICY.md, "Emergency claims"). */
#ifndef FAMLEDGER_EMERGENCY_H
#define FAMLEDGER_EMERGENCY_H

#include "request.h"

/* Handler: EmergencyClaimRequest (admin). Records a claim, open, idempotent on its reference. */
int emergency_claim_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Handler: EmergencyCloseRequest (admin). Returns the claim (or part of it) to the account, or
 * rejects it; a retry of the same close replays it. */
int emergency_close_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Handler: EmergencyListRequest (admin, audit). Claims in the order made, filtered. */
int emergency_list_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Handlers: a year's calendar of days off and weekend days worked (set: admin, replacing the
 * one before, for claims made after it; the same days again record nothing), and read (admin,
 * audit). */
int calendar_set_handle(struct request_ctx *ctx, const Famledger__Request *request);
int calendar_get_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
