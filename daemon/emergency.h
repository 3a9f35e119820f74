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

#endif
