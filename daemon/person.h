/* person.h -- insured persons: registration and lookup. */
#ifndef FAMLEDGER_PERSON_H
#define FAMLEDGER_PERSON_H

#include "request.h"

int person_add_handle(struct request_ctx *ctx, const Famledger__Request *request);
int person_get_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Answer with `person` (a PersonReply). Returns 0. */
int person_reply(struct request_ctx *ctx, Famledger__Person *person);

/* The fields of a registration (PersonAddRequest, MigrateRequest); 0, or INVALID_ARGUMENT
 * after request_fail. */
int person_fields_validate(struct request_ctx *ctx, const char *person_no, const char *name,
                           const char *region, Famledger__Scheme scheme);

/* Load a person for a handler, failing the request with a clear status when `person_no` is
 * malformed or unknown. `role` names the person in messages ("patient", "holder"). */
int person_require(struct request_ctx *ctx, const char *person_no, const char *role,
                   Famledger__Person **person);

/* 0 while `person` is insured here; PERSON_INACTIVE after request_fail when they opted out or
 * moved out (a death is the caller's to refuse, with PERSON_DECEASED). */
int person_require_insured(struct request_ctx *ctx, const Famledger__Person *person);

#endif
