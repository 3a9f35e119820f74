/* fl_limits.h -- every bound famledgerd puts on its input and its work, in one place. */
#ifndef FAMLEDGER_LIMITS_H
#define FAMLEDGER_LIMITS_H

#include <stdint.h>

/* Wire protocol. */
#define FRAME_BYTES_MAX_DEFAULT (1u << 20)
#define FRAME_BYTES_MAX_LIMIT (64u << 20)
#define CONNECTIONS_MAX_DEFAULT 1024
#define PIPELINE_MAX_DEFAULT 64  /* requests read ahead of their replies, per connection */
#define PIPELINE_MAX_LIMIT 4096
#define WRITE_QUEUE_BYTES_MAX (4u << 20) /* replies not yet written: stop running frames */
/* Replies not yet written, all connections together: past unwritten_replies_mib_max only a
 * connection holding less than a share of them runs more frames. */
#define UNWRITTEN_REPLIES_MIB_MAX_DEFAULT 256
#define UNWRITTEN_REPLIES_SHARE_BYTES (64u << 10)
#define REQUEST_BYTES_MAX (16u << 20)    /* decoded requests of one connection awaiting replies */
/* Decoded requests awaiting their replies, all connections together: past
 * pending_requests_mib_max only a connection holding less than a share of them takes another
 * frame (whatever it decodes to), so every connection goes on, and all together hold at most
 * the budget plus a share and a frame each. */
#define PENDING_REQUESTS_MIB_MAX_DEFAULT 256
#define PENDING_REQUESTS_SHARE_BYTES (256u << 10)
#define NO_ROLE_FRAME_BYTES_MAX 4096     /* a peer with no role at all can send only this much */
#define REPLY_BYTES_MAX (2u << 20)       /* the largest reply; pages are cut to stay below it */
#define PAGE_BYTES_MAX (1u << 20)        /* a page stops growing once it passes this */
#define IDLE_TIMEOUT_MS_DEFAULT 120000
#define SHUTDOWN_TIMEOUT_MS_DEFAULT 10000
#define SNAPSHOTS_MAX 8                  /* audit snapshots open at once (LMDB readers: 126) */
#define SNAPSHOT_MAX_SECONDS_DEFAULT 14400 /* four hours: a verify of a billion entries */

/* Commit queue: requests that arrive together share one write transaction and one sync. */
#define COMMIT_BATCH_MAX_DEFAULT 256
#define COMMIT_BATCH_MAX_LIMIT 4096

/* Threads that read ahead, for the writer, what queued settlements will read (prefetch.h). */
#define PREFETCH_THREADS_DEFAULT 4
#define PREFETCH_THREADS_LIMIT 64

/* The accounts and references kept in memory and swept back over this long (store.h,
 * docs/DECISIONS.md, twenty-fifth part); 0 turns it off. */
#define STATE_SWEEP_MS_DEFAULT 5000
#define STATE_SWEEP_MS_LIMIT 3600000

/* Storage. */
#define MAP_MIB_DEFAULT 64
#define MAP_MIB_MAX_DEFAULT (16 * 1024)
#define STORE_DBS_MAX 32

/* Fields. */
#define PERSON_NO_BYTES_MAX 32
#define PERSON_NAME_BYTES_MAX 128
#define REGION_BYTES 6
#define REFERENCE_BYTES_MAX 64
#define OPERATOR_ID_BYTES_MAX 64
#define HASH_BYTES 32

/* One movement is at most 100 million yuan; sums of many stay far from INT64_MAX. */
#define AMOUNT_FEN_MAX INT64_C(10000000000)

/* Family mutual aid. Regions cap bindings at 5 to 7 per holder. */
#define BINDINGS_PER_HOLDER_DEFAULT 7
#define BINDINGS_PER_HOLDER_LIMIT 32
#define BINDINGS_PER_BENEFICIARY_DEFAULT 8
#define BINDINGS_PER_BENEFICIARY_LIMIT 16
/* A settlement takes from the patient's own account, then from each funder. */
#define LEGS_MAX (2 + BINDINGS_PER_BENEFICIARY_LIMIT) /* own account, wallet, each funder */
#define MERCHANTS_LIST_MAX 1000 /* a page of merchant_list */
#define CREDIT_BATCH_MAX 1000
#define BATCH_ITEMS_MAX 1000          /* requests in one BatchRequest */
/* Partial refunds of one settlement; a cancel may follow them: 32 refunds in all, what the
 * client library's fl_settlement holds (FL_REFUNDS_MAX, fixed by its ABI; test_refund.c). */
#define REFUNDS_PER_SETTLEMENT_MAX 31

/* The wallet and holds (docs/POLICY.md): the national defaults. */
#define WALLET_SENDS_PER_DAY_DEFAULT 3
#define WALLET_SEND_MAX_FEN_DEFAULT INT64_C(200000)
#define WALLET_PENDING_IN_MAX 64          /* sends waiting for one beneficiary */
#define HOLD_SECONDS_MAX_DEFAULT 900
#define CLOCK_AHEAD_MAX_DAYS_DEFAULT 92   /* a quarter: no region's ledger is silent that long */
#define DUE_PER_RUN_MAX 64                /* returns and expiries applied by one scheduler run */
#define SCHEDULER_TICK_MS 1000            /* how often the scheduler looks for what fell due */

/* The change stream. */
#define STREAM_BUFFER_BYTES_DEFAULT (1u << 20)
#define STREAM_STALL_MS_DEFAULT 30000
#define STREAM_FRAME_RECORDS_MAX 256      /* records per stream frame */
#define STREAM_FRAME_BYTES_MAX (256u << 10)

/* Audit pages: each is read in one short read transaction. verify reads the whole log and every
 * derived table in pages of the most allowed: at 500 a third of its system time went to waking
 * the daemon a page; 1,000 took that off, and 2,000 gained nothing more while a reader that
 * never reads held twice the memory (test_hostile). */
#define LOG_PAGE_MAX 1000
#define STATE_PAGE_MAX 1000
#define STATE_DIGEST_MAX 4096 /* records folded into one digest page: the loop thread waits on
                               * its leaves, like four state pages, when they are not in memory */
#define MERCHANT_DAY_PAGE_MAX 500

/* Pages. */
#define STATEMENT_ROWS_DEFAULT 50
#define STATEMENT_ROWS_MAX 1000

/* A page of statement rows must fit in the smallest frame a daemon may be configured with. */
#define STATEMENT_ROW_BYTES_MAX (64 + REFERENCE_BYTES_MAX + 3 * 11)
#define FRAME_BYTES_MAX_MIN (256u << 10)
_Static_assert(STATEMENT_ROWS_MAX * STATEMENT_ROW_BYTES_MAX < FRAME_BYTES_MAX_MIN,
               "a statement page must fit in a frame");
_Static_assert(PAGE_BYTES_MAX + FRAME_BYTES_MAX_MIN <= REPLY_BYTES_MAX,
               "a page, with the one record that passes its budget, fits in a reply");
_Static_assert(REPLY_BYTES_MAX <= WRITE_QUEUE_BYTES_MAX, "one reply fits in a connection's queue");
_Static_assert(FRAME_BYTES_MAX_MIN <= FRAME_BYTES_MAX_DEFAULT, "default frame below minimum");
_Static_assert(FRAME_BYTES_MAX_DEFAULT <= FRAME_BYTES_MAX_LIMIT, "default frame above limit");
_Static_assert(PIPELINE_MAX_DEFAULT <= PIPELINE_MAX_LIMIT, "default pipeline above limit");
_Static_assert(COMMIT_BATCH_MAX_DEFAULT <= COMMIT_BATCH_MAX_LIMIT, "default batch above limit");
_Static_assert(BINDINGS_PER_HOLDER_DEFAULT <= BINDINGS_PER_HOLDER_LIMIT, "holder bindings");
_Static_assert(BINDINGS_PER_BENEFICIARY_DEFAULT <= BINDINGS_PER_BENEFICIARY_LIMIT,
               "beneficiary bindings");
_Static_assert(AMOUNT_FEN_MAX < INT64_MAX / 1000000, "a million maximal amounts must not overflow");

#endif
