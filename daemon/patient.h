/* patient.h -- the settlements made for a patient, a chain (format 8).
 *
 * Each settlement is a link in patient_links, (seq, patient) -> the patient's settlement
 * before it, appended at the end of the tree with the rest of the commit's links. The chain's
 * head lives in a record keyed by the patient that the settlement usually writes anyway: their
 * account when they have one (Account.patient_last_seq), their person record when they have
 * none (Person.patient_last_seq). Opening an account moves the head into it.
 */
#ifndef FAMLEDGER_PATIENT_H
#define FAMLEDGER_PATIENT_H

#include "request.h"

/* Make settlement `seq` the newest of the patient's chain. `person` and `account` are the
 * patient's records as the caller read them in this transaction (NULL: not read, read here if
 * needed). With `account_stored` the account is a leg of the settlement: its head is set here
 * and the account stored by its move; otherwise the record that keeps the head is set and
 * stored here. Returns 0 or a storage error (FL_ERR_INTERNAL, logged, when the records
 * disagree). */
int patient_chain(struct request_ctx *ctx, const char *patient_no, Famledger__Person *person,
                  Famledger__Account *account, bool account_stored, uint64_t seq);

/* The head of the chain of `person` (0: no settlement), from their account or themselves. 0,
 * or an error after request_fail. */
int patient_head(struct request_ctx *ctx, const Famledger__Person *person, uint64_t *head);

/* A page of the patient's settlements, newest first from `cursor` (0: the newest; a cursor
 * this returned is found at once, any other is the first settlement at or below it):
 * store_chain_page. 0, or an error after request_fail. */
int patient_page(struct request_ctx *ctx, const Famledger__Person *person, uint64_t cursor,
                 uint64_t *seqs, size_t seqs_max, size_t *count, uint64_t *next_cursor);

/* The upgrade to format 8 (upgrade.c): each patient's sorted seqs in patient_settlements
 * become links, the last one the head in their account or person record, and the index is
 * dropped. 0, or an error after a log line. */
int patient_settlements_fold(struct store_txn *txn);

#endif
