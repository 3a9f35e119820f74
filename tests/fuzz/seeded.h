/* seeded.h -- what the fuzzed ledger holds (fuzz_request.c, seed_ledger) that the seeds name
 * (seeds.c): a request for a settlement that is not there tests only the refusal. */
#ifndef FAMLEDGER_FUZZ_SEEDED_H
#define FAMLEDGER_FUZZ_SEEDED_H

#define SEEDED_SETTLEMENT 10 /* P's settlement at M, partly refunded */
#define SEEDED_CLAIM 12      /* P's emergency claim, open */

#endif
