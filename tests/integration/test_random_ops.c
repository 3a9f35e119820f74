/* test_random_ops.c -- seeded random sequences of every kind of request, as settlement systems
 * and an administrator would send them together: retries and conflicting retries, refunds of
 * refunds, holds, wallet sends, bindings coming and going, accounts frozen, closed, moved out
 * and back, pipelines and batches.
 *
 * What must hold whatever the sequence:
 * - every answer is OK or a refusal a client can act on; never INTERNAL, never a lost
 *   connection, and the daemon keeps running;
 * - a settlement's legs and cash add up to its amount; a retry of an acknowledged reference
 *   answers the same settlement or credit;
 * - with one client, every balance a reply reports is the balance before it plus what the reply
 *   says moved, and the accounts and wallets read back are what the replies added up to;
 * - the trial balance is zero, and verify replays the log to exactly the stored state;
 * - after a kill -9 or a failed sync in the middle of such a run, everything acknowledged is
 *   there;
 * - under a wall clock that jumps, the books still verify; a pharmacy's peer writes and sees
 *   only its own merchant's.
 *
 * The suite runs seeds 1 and 2 of each test. A campaign: FAMLEDGER_RANDOM_SEED=S (the first)
 * and FAMLEDGER_RANDOM_SEEDS=N (how many); FAMLEDGER_RANDOM_VERBOSE=1 prints how often each
 * kind of request was taken and refused, FAMLEDGER_RANDOM_SCALE=K makes the walks K times as
 * long. A failure names its seed, worker and step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <grp.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    EMPLOYEES = 8,
    PERSONS = 12,        /* E0..E7 employees (E7 in another province), R0..R3 residents */
    MERCHANTS = 3,
    SLOTS = 48 * 16,     /* references per merchant (settlements) and in all (credits): */
    SLOTS_PER_SCALE = 48, /* this many in use, times FAMLEDGER_RANDOM_SCALE */
    KNOWN_MAX = 4096,    /* settlements, holds, wallet sends remembered to act on later */
    WORKERS = 4,
    STATUS_SLOTS = 128,
};

static const char *const person_nos[PERSONS] = {"E0", "E1", "E2", "E3", "E4", "E5",
                                                "E6", "E7", "R0", "R1", "R2", "R3"};
static const char *const merchant_codes[MERCHANTS] = {"PH1", "HO1", "PH2"};
/* The daemon as an operator might run it, with the wallet open all day so that the sequence
 * does not depend on the hour the suite runs at, and no bound on how far the wall clock may run
 * past the last entry: the clock that jumps goes weeks ahead at a step (test_clock.sh tests the
 * bound). */
static const char *const daemon_args[] = {"--wallet-quiet-start", "00:00", "--wallet-quiet-end",
                                          "00:00", "--wallet-sends-per-day", "1000",
                                          "--clock-ahead-max-days", "0", NULL};

/* ---- what the workers share ---- */

struct settle_content {
    int merchant, patient;
    int64_t amount_fen;
    fl_category category;
    bool no_account, all_or_nothing;
};

struct credit_content {
    int person;
    int64_t amount_fen;
    fl_credit_kind kind;
};

static bool settle_content_equal(const struct settle_content *a, const struct settle_content *b)
{
    return a->merchant == b->merchant && a->patient == b->patient &&
           a->amount_fen == b->amount_fen && a->category == b->category &&
           a->no_account == b->no_account && a->all_or_nothing == b->all_or_nothing;
}

static bool credit_content_equal(const struct credit_content *a, const struct credit_content *b)
{
    return a->person == b->person && a->amount_fen == b->amount_fen && a->kind == b->kind;
}

struct world {
    pthread_mutex_t lock;
    /* The content each reference is sent with (a retry sends it again; now and then other
     * content takes its place), and the first answer that acknowledged it (0: none yet). */
    bool settle_used[MERCHANTS][SLOTS];
    struct settle_content settle_sent[MERCHANTS][SLOTS];
    uint64_t settle_acked[MERCHANTS][SLOTS];
    unsigned settle_made[MERCHANTS][SLOTS]; /* answers that were not replays */
    struct settle_content settle_acked_content[MERCHANTS][SLOTS];
    bool credit_used[SLOTS];
    struct credit_content credit_sent[SLOTS];
    uint64_t credit_acked[SLOTS];
    unsigned credit_made[SLOTS];
    struct credit_content credit_acked_content[SLOTS];
    uint64_t settled[KNOWN_MAX];
    int settled_merchant[KNOWN_MAX];
    size_t settled_count;
    uint64_t holds[KNOWN_MAX];
    struct settle_content hold_content[KNOWN_MAX];
    size_t hold_count;
    char sends[KNOWN_MAX][48];
    bool send_closed[KNOWN_MAX]; /* accepted or declined, as far as this test saw */
    size_t send_count;
    uint64_t transfer_out_seq[PERSONS];
    int64_t transfer_out_fen[PERSONS];
    unsigned next_unique;
};

/* One client alone: the balances its replies must agree with. */
struct model {
    bool on;
    int64_t account_fen[PERSONS];
    int64_t wallet_fen[PERSONS];
    /* What the administrator's answered requests made of each person and merchant: money
     * must not move against it (settle_split_check, op_wallet_send). */
    bool frozen[PERSONS], closed[PERSONS], suspended[PERSONS], deceased[PERSONS];
    bool merchant_suspended[MERCHANTS];
};

enum op {
    OP_SETTLE, OP_QUOTE, OP_CAPTURE, OP_REFUND, OP_CANCEL, OP_REVERSE, OP_CREDIT,
    OP_CREDIT_BATCH, OP_BIND, OP_UNBIND, OP_ORDER, OP_LIMIT, OP_WALLET_SEND, OP_WALLET_ACCEPT,
    OP_WALLET_DECLINE, OP_HOLD, OP_HOLD_RELEASE, OP_FREEZE, OP_SUSPEND, OP_WITHDRAW,
    OP_ACCOUNT_OPEN, OP_TRANSFER_OUT, OP_TRANSFER_IN, OP_TRANSFER_LINKED, OP_DECEASED, OP_PAYOUT,
    OP_RECOVER, OP_EMERGENCY_CLAIM, OP_EMERGENCY_CLOSE, OP_CALENDAR, OP_MERCHANT_SUSPEND,
    OP_DAY_CLOSE, OP_BATCH, OP_PIPELINE, OP_READ, OPS
};

struct worker;

struct op_kind {
    const char *name;
    unsigned weight;
    void (*run)(struct worker *w);
};

static const struct op_kind op_kinds[OPS]; /* after the operations */

struct worker {
    struct world *world;
    struct model *model;
    const struct daemon_handle *daemon;
    fl_client *client;
    uint64_t seed, rng;
    int id;
    unsigned ops_wanted, ops_done;
    enum op op;         /* the kind of request being sent */
    bool crash_phase;   /* a transport error ends the worker instead of failing the test */
    bool storage_failing; /* syncs fail from some moment: INTERNAL (the batch whose sync
                           * failed) ends the worker too, its requests in doubt */
    bool pharmacy;      /* a peer with the settle role for PH1 alone: refusals of its role
                         * (PERMISSION_DENIED) are answers like any other */
    bool lost;          /* the connection was lost (crash phase only) */
    unsigned ok[OPS], refused[OPS];
    unsigned refused_by[OPS][STATUS_SLOTS]; /* by -status, for FAMLEDGER_RANDOM_VERBOSE */
    fl_settlement *settlement;
    fl_reversal *reversal;
    fl_hold *hold;
    uint64_t claim_id;  /* the worker's last emergency claim, and what it claimed */
    int64_t claim_fen;
    fl_calendar calendar;
};

/* cmocka's failures jump, which a worker thread must not: the first failure is kept, every
 * worker stops, and the test fails with it once they are joined. */
static pthread_mutex_t failure_lock = PTHREAD_MUTEX_INITIALIZER;
static char failure[768];
static volatile bool failed;

static void worker_fail(struct worker *w, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
#define FAIL worker_fail

/* FAMLEDGER_RANDOM_SCALE=K makes every walk K times as long, with K times the references (a
 * campaign's longer walks meet the limits: refunds a settlement may have, sends waiting for one
 * person, bindings a holder may have). */
static unsigned random_scale(void)
{
    const char *text = getenv("FAMLEDGER_RANDOM_SCALE");
    int scale = text ? atoi(text) : 1;
    return scale < 1 ? 1 : scale > SLOTS / SLOTS_PER_SCALE ? SLOTS / SLOTS_PER_SCALE
                                                         : (unsigned)scale;
}

static unsigned slots_used(void)
{
    return SLOTS_PER_SCALE * random_scale();
}

static uint64_t rng_next(uint64_t *state)
{
    /* splitmix64 */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned pick(struct worker *w, unsigned n)
{
    return (unsigned)(rng_next(&w->rng) % n);
}

static bool chance(struct worker *w, unsigned percent)
{
    return pick(w, 100) < percent;
}

static void worker_fail(struct worker *w, const char *format, ...)
{
    char what[512];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof(what), format, args);
    va_end(args);
    pthread_mutex_lock(&failure_lock);
    if (!failed)
        snprintf(failure, sizeof(failure), "seed %" PRIu64 " worker %d op %u: %s", w->seed, w->id,
                 w->ops_done, what);
    failed = true;
    pthread_mutex_unlock(&failure_lock);
}

static void failure_report(void)
{
    if (failed)
        fail_msg("%s", failure);
}

static int person_index(struct worker *w, const char *person_no)
{
    for (int i = 0; i < PERSONS; i++)
        if (strcmp(person_nos[i], person_no) == 0)
            return i;
    FAIL(w, "a reply names person '%s', who is not of this test", person_no);
    return 0;
}


/* Whether `rc` is an answer a client could be given for a request of ours: OK, or a refusal of
 * this request. Anything else fails the test; a transport error in the crash phase ends the
 * worker. Returns true for OK. */
static bool outcome(struct worker *w, enum op op, int rc)
{
    switch (rc) {
    case 0:
        w->ok[op]++;
        return true;
    case FL_ERR_UNAVAILABLE:
    case FL_ERR_TIMEOUT:
    case FL_ERR_PROTOCOL_ERROR:
    case FL_ERR_SHUTTING_DOWN:
        if (w->crash_phase) {
            w->lost = true;
            return false;
        }
        FAIL(w, "%s: the connection failed: %s", op_kinds[op].name,
             fl_client_error(w->client));
        return false;
    case FL_ERR_PERMISSION_DENIED:
        if (w->pharmacy) {
            w->refused[op]++;
            w->refused_by[op][-rc]++;
            return false;
        }
        FAIL(w, "%s: %s: %s", op_kinds[op].name, fl_strerror(rc), fl_client_error(w->client));
        return false;
    case FL_ERR_INTERNAL:
        if (w->storage_failing) {
            w->lost = true;
            return false;
        }
        FAIL(w, "%s: %s: %s", op_kinds[op].name, fl_strerror(rc), fl_client_error(w->client));
        return false;
    case FL_ERR_MALFORMED_REQUEST:
    case FL_ERR_FRAME_TOO_LARGE:
    case FL_ERR_UNSUPPORTED:
    case FL_ERR_BUSY:
    case FL_ERR_OUT_OF_SPACE:
        FAIL(w, "%s: %s: %s", op_kinds[op].name, fl_strerror(rc), fl_client_error(w->client));
        return false;
    default:
        w->refused[op]++;
        if (-rc > 0 && -rc < STATUS_SLOTS)
            w->refused_by[op][-rc]++;
        return false;
    }
}

/* ---- the daemon's clock ---- */

/* The daemon's wall clock in Shanghai time as seconds since the epoch (as if it were UTC),
 * when a test drives it through libfaketime; 0: the real clock. */
static volatile time_t fake_now;

static void business_date(char date[11], int days_back)
{
    time_t now = fake_now ? fake_now : time(NULL) + 8 * 3600; /* Asia/Shanghai */
    now -= (time_t)days_back * 86400;
    struct tm tm;
    strftime(date, 11, "%Y-%m-%d", gmtime_r(&now, &tm));
}

/* ---- the model of one client ---- */

static void model_account(struct worker *w, const char *holder, int64_t delta, int64_t after,
                          const char *what)
{
    if (!w->model->on)
        return;
    int p = person_index(w, holder);
    if (w->model->account_fen[p] + delta != after)
        FAIL(w, "%s: %s's account held %" PRId64 " fen and moved %" PRId64
                ", but the reply says %" PRId64 " after",
             what, holder, w->model->account_fen[p], delta, after);
    w->model->account_fen[p] = after;
}

static void model_account_add(struct worker *w, const char *holder, int64_t delta)
{
    if (w->model->on)
        w->model->account_fen[person_index(w, holder)] += delta;
}

static void model_wallet_add(struct worker *w, const char *person_no, int64_t delta)
{
    if (w->model->on)
        w->model->wallet_fen[person_index(w, person_no)] += delta;
}

/* A wallet's statement, newest first and page by page, runs back from what the wallet holds to
 * nothing: each line's balance is the next older one's and its own amount. */
static void wallet_statement_check(struct worker *w, const char *person_no, int64_t balance_fen)
{
    fl_wallet_line lines[16];
    int64_t after = balance_fen;
    uint64_t cursor = 0;
    do {
        size_t count;
        if (fl_wallet_statement(w->client, person_no, cursor, false, lines, 16, &count,
                                &cursor) != 0) {
            FAIL(w, "wallet statement of %s: %s", person_no, fl_client_error(w->client));
            return;
        }
        for (size_t i = 0; i < count; i++) {
            if (lines[i].balance_after_fen != after)
                FAIL(w, "%s's wallet statement says %" PRId64 " fen after entry %" PRIu64
                     "; the lines after it give %" PRId64, person_no,
                     lines[i].balance_after_fen, lines[i].seq, after);
            after = lines[i].balance_after_fen - lines[i].amount_fen;
        }
    } while (cursor);
    if (after != 0)
        FAIL(w, "%s's wallet statement starts from %" PRId64 " fen, not from nothing", person_no,
             after);
}

/* An account's credits month by month, over every year since the daemon's first (2026), are
 * its statement's credit lines: the same money, as many of them. */
static void credits_check(struct worker *w, const char *person_no)
{
    fl_statement_line lines[64];
    int64_t listed_fen = 0, counted_fen = 0;
    uint64_t listed = 0, counted = 0, cursor = 0;
    do {
        size_t count;
        if (fl_statement(w->client, person_no, cursor, false, lines, 64, &count, &cursor) != 0) {
            FAIL(w, "statement of %s: %s", person_no, fl_client_error(w->client));
            return;
        }
        for (size_t i = 0; i < count; i++)
            if (strcmp(lines[i].type, "account_credited") == 0) {
                listed_fen += lines[i].amount_fen;
                listed++;
            }
    } while (cursor);
    /* This year's, to learn which it is; then each year from 2026 to it. */
    uint32_t now;
    fl_month_credits months[12];
    fl_credit_line credit;
    size_t count;
    if (fl_account_credits(w->client, person_no, 0, &now, months, &credit, 1, &count) != 0) {
        FAIL(w, "credits of %s this year: %s", person_no, fl_client_error(w->client));
        return;
    }
    for (uint32_t year = 2026; year <= now; year++) {
        if (fl_account_credits(w->client, person_no, year, NULL, months, &credit, 1, &count)) {
            FAIL(w, "credits of %s in %u: %s", person_no, year, fl_client_error(w->client));
            return;
        }
        for (int m = 0; m < 12; m++) {
            counted_fen += months[m].allocated_fen + months[m].deposited_fen;
            counted += months[m].count;
        }
    }
    if (listed_fen != counted_fen || listed != counted)
        FAIL(w, "%s's statement lists %" PRIu64 " credits of %" PRId64 " fen; its months count "
             "%" PRIu64 " of %" PRId64, person_no, listed, listed_fen, counted, counted_fen);
}

/* Every account and wallet read back must be what the replies added up to. */
static void model_compare(struct worker *w)
{
    if (!w->model->on)
        return;
    for (int p = 0; p < PERSONS; p++) {
        fl_account account;
        int rc = fl_account_get(w->client, person_nos[p], &account);
        int64_t stored = rc == 0 ? account.balance_fen : 0;
        if (rc != 0 && rc != FL_ERR_NO_ACCOUNT)
            FAIL(w, "account of %s: %s", person_nos[p], fl_client_error(w->client));
        if (rc == 0)
            credits_check(w, person_nos[p]);
        if (stored != w->model->account_fen[p])
            FAIL(w, "%s's account holds %" PRId64 " fen; the replies add up to %" PRId64,
                 person_nos[p], stored, w->model->account_fen[p]);
        fl_wallet wallet;
        rc = fl_wallet_get(w->client, person_nos[p], &wallet);
        if (rc != 0)
            FAIL(w, "wallet of %s: %s", person_nos[p], fl_client_error(w->client));
        if (wallet.balance_fen != w->model->wallet_fen[p])
            FAIL(w, "%s's wallet holds %" PRId64 " fen; the replies add up to %" PRId64,
                 person_nos[p], wallet.balance_fen, w->model->wallet_fen[p]);
        wallet_statement_check(w, person_nos[p], wallet.balance_fen);
    }
}

/* ---- checks of what a reply says ---- */

static void refund_check(struct worker *w, const fl_refund *refund, const char *what)
{
    int64_t legs = 0;
    for (size_t i = 0; i < refund->leg_count; i++) {
        const fl_refund_leg *leg = &refund->legs[i];
        if (leg->amount_fen <= 0)
            FAIL(w, "%s: a refund leg of %" PRId64 " fen", what, leg->amount_fen);
        legs += leg->amount_fen;
        if (refund->replayed || leg->cash_refund_due)
            continue;
        if (leg->wallet)
            model_wallet_add(w, leg->holder, leg->amount_fen);
        else
            model_account(w, leg->holder, leg->amount_fen, leg->balance_after_fen, what);
    }
    if (legs != refund->amount_fen)
        FAIL(w, "%s: refund %" PRIu64 " of %" PRId64 " fen has legs of %" PRId64, what,
             refund->refund_id, refund->amount_fen, legs);
}

static void settlement_check(struct worker *w, const fl_settlement *s,
                             const struct settle_content *sent, const char *what)
{
    if (strcmp(s->patient, person_nos[sent->patient]) != 0 || s->amount_fen != sent->amount_fen)
        FAIL(w, "%s: settlement %" PRIu64 " is for %s, %" PRId64 " fen; %s, %" PRId64
                " fen was sent",
             what, s->settlement_id, s->patient, s->amount_fen, person_nos[sent->patient],
             sent->amount_fen);
    int64_t legs = 0;
    for (size_t i = 0; i < s->leg_count; i++) {
        if (s->legs[i].amount_fen <= 0)
            FAIL(w, "%s: a leg of %" PRId64 " fen", what, s->legs[i].amount_fen);
        legs += s->legs[i].amount_fen;
    }
    if (legs != s->acct_pay_fen + s->acct_mulaid_pay_fen ||
        legs + s->cash_pay_fen != s->amount_fen || s->cash_pay_fen < 0)
        FAIL(w, "%s: settlement %" PRIu64 " of %" PRId64 " fen: legs %" PRId64 ", own %" PRId64
                ", relatives %" PRId64 ", cash %" PRId64,
             what, s->settlement_id, s->amount_fen, legs, s->acct_pay_fen,
             s->acct_mulaid_pay_fen, s->cash_pay_fen);
    if (sent->no_account && s->cash_pay_fen != s->amount_fen)
        FAIL(w, "%s: a settlement without the accounts took %" PRId64 " fen from them", what,
             legs);
    if (sent->all_or_nothing && s->cash_pay_fen != 0 && !s->replayed)
        FAIL(w, "%s: an all-or-nothing settlement left %" PRId64 " fen in cash", what,
             s->cash_pay_fen);
    if (s->replayed)
        return;
    for (size_t i = 0; i < s->leg_count; i++) {
        const fl_leg *leg = &s->legs[i];
        if (leg->wallet)
            model_wallet_add(w, leg->holder, -leg->amount_fen);
        else
            model_account(w, leg->holder, -leg->amount_fen, leg->balance_after_fen, what);
    }
}

/* ---- the world's memory ---- */

static void settled_remember(struct worker *w, uint64_t id, int merchant)
{
    pthread_mutex_lock(&w->world->lock);
    if (w->world->settled_count < KNOWN_MAX) {
        w->world->settled[w->world->settled_count] = id;
        w->world->settled_merchant[w->world->settled_count++] = merchant;
    }
    pthread_mutex_unlock(&w->world->lock);
}

/* A settlement acknowledged under a reference: the first answers it for good. */
static void settle_acked(struct worker *w, int merchant, int slot,
                         const struct settle_content *sent, const fl_settlement *s,
                         const char *what)
{
    /* Replies of racing workers are checked in the order they are read, not committed: the
     * first read may be a replay. What holds is one settlement, made once. */
    struct world *world = w->world;
    pthread_mutex_lock(&world->lock);
    uint64_t acked = world->settle_acked[merchant][slot];
    if (acked == 0) {
        world->settle_acked[merchant][slot] = s->settlement_id;
        world->settle_acked_content[merchant][slot] = *sent;
    }
    unsigned made = world->settle_made[merchant][slot] += !s->replayed;
    const struct settle_content first = world->settle_acked_content[merchant][slot];
    pthread_mutex_unlock(&world->lock);
    if ((acked != 0 && s->settlement_id != acked) || made > 1)
        FAIL(w, "%s: reference S-%d of %s answered settlement %" PRIu64 " (replayed %d, made "
                "%u times); it was acknowledged as %" PRIu64,
             what, slot, merchant_codes[merchant], s->settlement_id, s->replayed, made,
             acked ? acked : s->settlement_id);
    if (!settle_content_equal(&first, sent))
        FAIL(w, "reference S-%d of %s was answered as a replay of other content", slot,
             merchant_codes[merchant]);
    if (!s->replayed)
        settled_remember(w, s->settlement_id, merchant);
}

static bool settled_pick(struct worker *w, uint64_t *id, int *merchant)
{
    pthread_mutex_lock(&w->world->lock);
    size_t count = w->world->settled_count;
    if (count) {
        /* Mostly the recent ones, which still have money to give back. */
        size_t i = chance(w, 70) && count > 16 ? count - 1 - pick(w, 16) : pick(w, (unsigned)count);
        *id = w->world->settled[i];
        *merchant = w->world->settled_merchant[i];
    }
    pthread_mutex_unlock(&w->world->lock);
    return count != 0;
}

static void settle_content_make(struct worker *w, struct settle_content *c, int merchant)
{
    static const fl_category categories[] = {FL_CATEGORY_PHARMACY, FL_CATEGORY_PHARMACY,
                                             FL_CATEGORY_OUTPATIENT, FL_CATEGORY_INPATIENT,
                                             FL_CATEGORY_DEVICE};
    c->merchant = merchant;
    c->patient = (int)pick(w, PERSONS);
    c->amount_fen = chance(w, 10) ? 1 : 1 + (int64_t)pick(w, chance(w, 20) ? 900000 : 60000);
    c->category = categories[pick(w, 5)];
    c->no_account = chance(w, 5);
    c->all_or_nothing = chance(w, 15);
}

static fl_settle_request settle_request_of(const struct settle_content *c, const char *reference)
{
    return (fl_settle_request){.merchant_code = merchant_codes[c->merchant],
                               .merchant_reference = reference,
                               .patient = person_nos[c->patient],
                               .amount_fen = c->amount_fen,
                               .category = c->category,
                               .no_account = c->no_account,
                               .all_or_nothing = c->all_or_nothing};
}

/* A reference of a merchant and the content to send under it: mostly what was sent before
 * (a retry), sometimes other content (a conflicting retry), fresh when the slot is new. */
static void settle_slot_pick(struct worker *w, int merchant, int *slot,
                             struct settle_content *c)
{
    *slot = (int)pick(w, slots_used());
    struct settle_content fresh;
    settle_content_make(w, &fresh, merchant);
    pthread_mutex_lock(&w->world->lock);
    if (w->world->settle_used[merchant][*slot] && !chance(w, 15)) {
        *c = w->world->settle_sent[merchant][*slot];
    } else {
        *c = fresh;
        w->world->settle_used[merchant][*slot] = true;
        w->world->settle_sent[merchant][*slot] = fresh;
    }
    pthread_mutex_unlock(&w->world->lock);
}

static void unique_reference(struct worker *w, char *reference, size_t size, const char *kind)
{
    pthread_mutex_lock(&w->world->lock);
    unsigned n = ++w->world->next_unique;
    pthread_mutex_unlock(&w->world->lock);
    snprintf(reference, size, "%s-%" PRIu64 "-%u", kind, w->seed, n);
}

/* ---- the operations ---- */

/* Who may settle, as the answered requests left them: a capture is a settlement too. */
static void settle_admission_check(struct worker *w, const struct settle_content *c,
                                   const fl_settlement *s)
{
    const struct model *m = w->model;
    if (!m->on || s->replayed)
        return;
    if (m->merchant_suspended[c->merchant] || m->suspended[c->patient] ||
        m->deceased[c->patient])
        FAIL(w, "settlement %" PRIu64 " made at %s%s for %s%s%s", s->settlement_id,
             merchant_codes[c->merchant], m->merchant_suspended[c->merchant] ? " (suspended)" : "",
             person_nos[c->patient], m->suspended[c->patient] ? " (suspended)" : "",
             m->deceased[c->patient] ? " (deceased)" : "");
}

/* With one client nothing moves between a read and the next request. A settlement must then
 * split as its quote did a moment before, take from nobody but the patient and the relatives
 * bound to pay for them, and take from those relatives in their order. */
static void settle_split_check(struct worker *w, const struct settle_content *c,
                               const fl_settlement *quote, const fl_family *family)
{
    const fl_settlement *s = w->settlement;
    if (s->replayed)
        return;
    const struct model *m = w->model;
    settle_admission_check(w, c, s);
    for (size_t i = 0; i < s->leg_count; i++) {
        int holder = person_index(w, s->legs[i].holder);
        if (!s->legs[i].wallet && (m->frozen[holder] || m->closed[holder]))
            FAIL(w, "settlement %" PRIu64 " takes %" PRId64 " fen from %s's %s account",
                 s->settlement_id, s->legs[i].amount_fen, s->legs[i].holder,
                 m->frozen[holder] ? "frozen" : "closed");
    }
    if (quote && (quote->leg_count != s->leg_count || quote->cash_pay_fen != s->cash_pay_fen))
        FAIL(w, "settlement %" PRIu64 " has %zu legs and %" PRId64 " fen in cash; its quote "
                "had %zu and %" PRId64,
             s->settlement_id, s->leg_count, s->cash_pay_fen, quote->leg_count,
             quote->cash_pay_fen);
    size_t next_funder = 0;
    for (size_t i = 0; i < s->leg_count; i++) {
        const fl_leg *leg = &s->legs[i];
        if (quote && i < quote->leg_count &&
            (strcmp(quote->legs[i].holder, leg->holder) != 0 ||
             quote->legs[i].amount_fen != leg->amount_fen))
            FAIL(w, "settlement %" PRIu64 " leg %zu takes %" PRId64 " fen from %s; the quote "
                    "said %" PRId64 " from %s",
                 s->settlement_id, i, leg->amount_fen, leg->holder, quote->legs[i].amount_fen,
                 quote->legs[i].holder);
        bool own = strcmp(leg->holder, person_nos[c->patient]) == 0;
        if (own != !leg->mutual_aid)
            FAIL(w, "settlement %" PRIu64 ": a leg from %s for %s is%s marked mutual aid",
                 s->settlement_id, leg->holder, person_nos[c->patient],
                 leg->mutual_aid ? "" : " not");
        if (own)
            continue;
        while (next_funder < family->funded_by_count &&
               strcmp(family->funded_by[next_funder].holder, leg->holder) != 0)
            next_funder++;
        if (next_funder == family->funded_by_count)
            FAIL(w, "settlement %" PRIu64 " takes from %s, who is not bound to pay for %s, or "
                    "out of the family's order",
                 s->settlement_id, leg->holder, person_nos[c->patient]);
        next_funder++;
    }
}

static void op_settle(struct worker *w)
{
    int merchant = (int)pick(w, MERCHANTS), slot;
    struct settle_content c;
    settle_slot_pick(w, merchant, &slot, &c);
    char reference[32];
    snprintf(reference, sizeof(reference), "S-%d", slot);
    fl_settle_request request = settle_request_of(&c, reference);
    fl_family *family = NULL;
    fl_settlement *quote = NULL;
    if (w->model->on) {
        family = malloc(sizeof(*family));
        if (!family || fl_family_list(w->client, person_nos[c.patient], family) != 0) {
            free(family);
            family = NULL;
        }
        if (family && chance(w, 40)) {
            quote = malloc(sizeof(*quote));
            if (quote && fl_quote(w->client, &request, quote) != 0) {
                free(quote);
                quote = NULL;
            }
        }
    }
    if (outcome(w, OP_SETTLE, fl_settle(w->client, &request, w->settlement))) {
        settlement_check(w, w->settlement, &c, "settle");
        settle_acked(w, merchant, slot, &c, w->settlement, "settle");
        if (family)
            settle_split_check(w, &c, quote, family);
    }
    free(quote);
    free(family);
}

static void op_quote(struct worker *w)
{
    struct settle_content c;
    settle_content_make(w, &c, (int)pick(w, MERCHANTS));
    fl_settle_request request = settle_request_of(&c, NULL);
    if (outcome(w, OP_QUOTE, fl_quote(w->client, &request, w->settlement))) {
        w->settlement->replayed = true; /* nothing moved */
        settlement_check(w, w->settlement, &c, "quote");
    }
}

static void op_hold(struct worker *w)
{
    struct settle_content c;
    settle_content_make(w, &c, (int)pick(w, MERCHANTS));
    char reference[48];
    unique_reference(w, reference, sizeof(reference), "H");
    fl_settle_request request = settle_request_of(&c, reference);
    /* Some expire while the run goes on. */
    uint32_t seconds = chance(w, 30) ? 1 : 600;
    if (!outcome(w, OP_HOLD, fl_hold_make(w->client, &request, seconds, w->hold)))
        return;
    w->hold->quote.replayed = true;
    settlement_check(w, &w->hold->quote, &c, "hold");
    pthread_mutex_lock(&w->world->lock);
    if (w->world->hold_count < KNOWN_MAX) {
        w->world->holds[w->world->hold_count] = w->hold->hold_id;
        w->world->hold_content[w->world->hold_count++] = c;
    }
    pthread_mutex_unlock(&w->world->lock);
}

static bool hold_pick(struct worker *w, uint64_t *id, struct settle_content *c)
{
    pthread_mutex_lock(&w->world->lock);
    size_t count = w->world->hold_count;
    if (count) {
        size_t i = count > 8 && chance(w, 70) ? count - 1 - pick(w, 8) : pick(w, (unsigned)count);
        *id = w->world->holds[i];
        *c = w->world->hold_content[i];
    }
    pthread_mutex_unlock(&w->world->lock);
    return count != 0;
}

static void op_capture(struct worker *w)
{
    uint64_t hold_id;
    struct settle_content c;
    if (!hold_pick(w, &hold_id, &c))
        return;
    if (chance(w, 10))
        c.amount_fen += 1; /* not what was held */
    char reference[48];
    unique_reference(w, reference, sizeof(reference), "K");
    fl_settle_request request = settle_request_of(&c, reference);
    request.hold_id = hold_id;
    if (outcome(w, OP_CAPTURE, fl_settle(w->client, &request, w->settlement))) {
        settlement_check(w, w->settlement, &c, "capture");
        settle_admission_check(w, &c, w->settlement);
        if (w->settlement->hold_id != hold_id)
            FAIL(w, "capture of hold %" PRIu64 " says hold %" PRIu64, hold_id,
                 w->settlement->hold_id);
        settled_remember(w, w->settlement->settlement_id, c.merchant);
    }
}

static void op_hold_release(struct worker *w)
{
    uint64_t hold_id;
    struct settle_content c;
    if (hold_pick(w, &hold_id, &c))
        outcome(w, OP_HOLD_RELEASE, fl_hold_release(w->client, hold_id, w->hold));
}

static void op_refund(struct worker *w)
{
    bool cancel = w->op == OP_CANCEL;
    uint64_t id;
    int merchant;
    if (!settled_pick(w, &id, &merchant))
        return;
    if (chance(w, 5))
        merchant = (merchant + 1) % MERCHANTS; /* another merchant's settlement */
    char reference[48];
    if (chance(w, 20))
        snprintf(reference, sizeof(reference), "F-%u", pick(w, slots_used())); /* may be taken */
    else
        unique_reference(w, reference, sizeof(reference), "F");
    fl_refund refund;
    int rc;
    if (cancel)
        rc = fl_cancel(w->client, merchant_codes[merchant], reference, id, &refund,
                       w->settlement);
    else
        rc = fl_refund_make(w->client, merchant_codes[merchant], reference, id,
                            1 + (int64_t)pick(w, 30000), &refund, w->settlement);
    if (!outcome(w, cancel ? OP_CANCEL : OP_REFUND, rc))
        return;
    refund_check(w, &refund, cancel ? "cancel" : "refund");
    if (w->settlement->refunded_fen > w->settlement->acct_pay_fen +
                                          w->settlement->acct_mulaid_pay_fen)
        FAIL(w, "settlement %" PRIu64 " refunded %" PRId64 " fen of %" PRId64 " paid", id,
             w->settlement->refunded_fen,
             w->settlement->acct_pay_fen + w->settlement->acct_mulaid_pay_fen);
}

static void op_reverse(struct worker *w)
{
    int merchant = (int)pick(w, MERCHANTS);
    char reference[32];
    snprintf(reference, sizeof(reference), "S-%u", pick(w, slots_used()));
    if (!outcome(w, OP_REVERSE, fl_reverse(w->client, merchant_codes[merchant], reference,
                                           w->reversal)))
        return;
    if (w->reversal->money_returned && !w->reversal->replayed)
        refund_check(w, &w->reversal->refund, "reverse");
}

static void credit_slot_pick(struct worker *w, int *slot, struct credit_content *c)
{
    *slot = (int)pick(w, slots_used());
    struct credit_content fresh = {.person = (int)pick(w, PERSONS),
                                   .amount_fen = 1 + (int64_t)pick(w, 200000),
                                   .kind = chance(w, 50) ? FL_CREDIT_ALLOCATION
                                                         : FL_CREDIT_DEPOSIT};
    pthread_mutex_lock(&w->world->lock);
    if (w->world->credit_used[*slot] && !chance(w, 10)) {
        *c = w->world->credit_sent[*slot];
    } else {
        *c = fresh;
        w->world->credit_used[*slot] = true;
        w->world->credit_sent[*slot] = fresh;
    }
    pthread_mutex_unlock(&w->world->lock);
}

static void credit_acked(struct worker *w, int slot, const struct credit_content *c,
                         uint64_t seq, bool replayed)
{
    struct world *world = w->world;
    pthread_mutex_lock(&world->lock);
    uint64_t acked = world->credit_acked[slot];
    if (acked == 0) {
        world->credit_acked[slot] = seq;
        world->credit_acked_content[slot] = *c;
    }
    unsigned made = world->credit_made[slot] += !replayed;
    struct credit_content first = world->credit_acked_content[slot];
    pthread_mutex_unlock(&world->lock);
    if ((acked != 0 && seq != acked) || made > 1 || !credit_content_equal(&first, c))
        FAIL(w, "credit C-%d answered entry %" PRIu64 " (replayed %d, made %u times); it was "
                "acknowledged as %" PRIu64,
             slot, seq, replayed, made, acked ? acked : seq);
}

static void op_credit(struct worker *w)
{
    int slot;
    struct credit_content c;
    credit_slot_pick(w, &slot, &c);
    char reference[16];
    snprintf(reference, sizeof(reference), "C-%d", slot);
    fl_credit_result credit;
    if (!outcome(w, OP_CREDIT, fl_account_credit(w->client, person_nos[c.person], c.amount_fen,
                                                 c.kind, reference, &credit)))
        return;
    if (!credit.replayed)
        model_account(w, person_nos[c.person], c.amount_fen, credit.balance_after_fen, "credit");
    credit_acked(w, slot, &c, credit.seq, credit.replayed);
}

static void op_credit_batch(struct worker *w)
{
    enum { ITEMS = 6 };
    fl_credit_item items[ITEMS];
    fl_credit_outcome outcomes[ITEMS];
    struct credit_content contents[ITEMS];
    int slots[ITEMS];
    char references[ITEMS][16];
    for (int i = 0; i < ITEMS; i++) {
        credit_slot_pick(w, &slots[i], &contents[i]);
        snprintf(references[i], sizeof(references[i]), "C-%d", slots[i]);
        items[i] = (fl_credit_item){.person_no = person_nos[contents[i].person],
                                    .amount_fen = contents[i].amount_fen,
                                    .kind = contents[i].kind,
                                    .reference = references[i]};
    }
    if (!outcome(w, OP_CREDIT_BATCH, fl_credit_batch(w->client, items, ITEMS, outcomes)))
        return;
    for (int i = 0; i < ITEMS; i++) {
        if (outcomes[i].status != 0) {
            w->refused[OP_CREDIT]++;
            continue;
        }
        w->ok[OP_CREDIT]++;
        if (!outcomes[i].replayed)
            model_account_add(w, items[i].person_no, items[i].amount_fen);
        credit_acked(w, slots[i], &contents[i], outcomes[i].seq, outcomes[i].replayed);
    }
}

static void op_bind(struct worker *w)
{
    static const fl_relation relations[] = {FL_RELATION_SPOUSE, FL_RELATION_PARENT,
                                            FL_RELATION_CHILD, FL_RELATION_SIBLING,
                                            FL_RELATION_PATERNAL_GRANDPARENT};
    int holder = (int)pick(w, EMPLOYEES), beneficiary = (int)pick(w, PERSONS);
    outcome(w, OP_BIND, fl_family_bind(w->client, person_nos[holder], person_nos[beneficiary],
                                       relations[pick(w, 5)], NULL));
}

static void op_unbind(struct worker *w)
{
    int holder = (int)pick(w, EMPLOYEES), beneficiary = (int)pick(w, PERSONS);
    outcome(w, OP_UNBIND, fl_family_unbind(w->client, person_nos[holder],
                                           person_nos[beneficiary], NULL));
}

static void op_order(struct worker *w)
{
    int beneficiary = (int)pick(w, PERSONS);
    fl_family family;
    if (!outcome(w, OP_READ, fl_family_list(w->client, person_nos[beneficiary], &family)) ||
        family.funded_by_count < 2)
        return;
    const char *holders[FL_FUNDERS_MAX];
    size_t count = family.funded_by_count;
    for (size_t i = 0; i < count; i++)
        holders[i] = family.funded_by[count - 1 - i].holder; /* reversed */
    outcome(w, OP_ORDER, fl_family_order(w->client, person_nos[beneficiary], holders, count,
                                         &family));
}

static void op_limit(struct worker *w)
{
    int holder = (int)pick(w, EMPLOYEES), beneficiary = (int)pick(w, PERSONS);
    int64_t monthly = chance(w, 30) ? 0 : 1 + (int64_t)pick(w, 100000);
    int64_t yearly = chance(w, 30) ? 0 : monthly + (int64_t)pick(w, 500000);
    outcome(w, OP_LIMIT, fl_family_limit(w->client, person_nos[holder],
                                         person_nos[beneficiary], monthly, yearly));
}

static void wallet_send_check(struct worker *w, const fl_wallet_send *send, int sign_holder,
                              int sign_wallet, const char *what)
{
    if (send->replayed)
        return;
    /* Back to a holder whose account has closed since: owed in cash, not in the account. */
    if (sign_holder > 0 && send->cash_refund_due)
        sign_holder = 0;
    if (sign_holder)
        model_account(w, send->holder, sign_holder * send->amount_fen,
                      send->holder_balance_fen, what);
    if (sign_wallet) {
        model_wallet_add(w, send->beneficiary, send->amount_fen);
        if (w->model->on &&
            w->model->wallet_fen[person_index(w, send->beneficiary)] != send->wallet_balance_fen)
            FAIL(w, "%s: %s's wallet should hold %" PRId64 " fen, the reply says %" PRId64,
                 what, send->beneficiary,
                 w->model->wallet_fen[person_index(w, send->beneficiary)],
                 send->wallet_balance_fen);
    }
}

static void op_wallet_send(struct worker *w)
{
    /* Mostly along the bindings the world starts with: a holder sends only to their own. */
    static const int pairs[][2] = {{0, 8}, {1, 8}, {0, 1}, {2, 9}};
    int pair = (int)pick(w, 8);
    int holder = pair < 4 ? pairs[pair][0] : (int)pick(w, EMPLOYEES);
    int beneficiary = pair < 4 ? pairs[pair][1] : (int)pick(w, PERSONS);
    char reference[48];
    unique_reference(w, reference, sizeof(reference), "W");
    fl_wallet_send send;
    if (!outcome(w, OP_WALLET_SEND,
                 fl_wallet_send_make(w->client, person_nos[holder], person_nos[beneficiary],
                                     1 + (int64_t)pick(w, chance(w, 90) ? 30000 : 250000),
                                     reference, &send)))
        return;
    wallet_send_check(w, &send, -1, 0, "wallet send");
    if (w->model->on && !send.replayed &&
        (w->model->frozen[holder] || w->model->closed[holder] || w->model->deceased[holder]))
        FAIL(w, "wallet send %" PRIu64 " from %s, whose account is frozen or closed", send.send_id,
             person_nos[holder]);
    pthread_mutex_lock(&w->world->lock);
    if (w->world->send_count < KNOWN_MAX)
        snprintf(w->world->sends[w->world->send_count++], sizeof(w->world->sends[0]), "%s",
                 reference);
    pthread_mutex_unlock(&w->world->lock);
}

static void op_wallet_answer(struct worker *w)
{
    bool accept = w->op == OP_WALLET_ACCEPT;
    /* Mostly a send still waiting, newest first; now and then any (answered again). */
    char reference[48];
    size_t chosen = 0;
    pthread_mutex_lock(&w->world->lock);
    size_t count = w->world->send_count;
    if (count) {
        chosen = pick(w, (unsigned)count);
        for (size_t i = count; chance(w, 80) && i-- > 0;)
            if (!w->world->send_closed[i]) {
                chosen = i;
                break;
            }
        memcpy(reference, w->world->sends[chosen], sizeof(reference));
    }
    pthread_mutex_unlock(&w->world->lock);
    if (!count)
        return;
    fl_wallet_send send;
    bool answered;
    if (accept) {
        answered = outcome(w, OP_WALLET_ACCEPT, fl_wallet_accept(w->client, reference, &send));
        if (answered)
            wallet_send_check(w, &send, 0, 1, "wallet accept");
    } else {
        answered = outcome(w, OP_WALLET_DECLINE, fl_wallet_decline(w->client, reference, &send));
        if (answered)
            wallet_send_check(w, &send, 1, 0, "wallet decline");
    }
    pthread_mutex_lock(&w->world->lock);
    w->world->send_closed[chosen] |= answered;
    pthread_mutex_unlock(&w->world->lock);
}

static void op_freeze(struct worker *w)
{
    int person = (int)pick(w, EMPLOYEES);
    bool frozen = chance(w, 25);
    if (outcome(w, OP_FREEZE, fl_account_freeze(w->client, person_nos[person], frozen,
                                                "random", NULL)))
        w->model->frozen[person] = frozen;
}

static void op_suspend(struct worker *w)
{
    int person = (int)pick(w, PERSONS);
    bool suspended = chance(w, 40);
    fl_person updated;
    if (outcome(w, OP_SUSPEND, fl_person_suspend(w->client, person_nos[person], suspended,
                                                 "random", &updated)))
        w->model->suspended[person] = suspended;
}

static void movement_check(struct worker *w, const fl_movement *movement, int sign,
                           const char *what)
{
    if (movement->replayed)
        return;
    model_account(w, movement->person_no, sign * movement->amount_fen,
                  movement->balance_after_fen, what);
    if (movement->account_closed)
        w->model->closed[person_index(w, movement->person_no)] = true;
}

/* An account (re)opened: open, and frozen as the daemon says (a new account is not). */
static void model_account_opened(struct worker *w, int person)
{
    fl_account account;
    if (!w->model->on || fl_account_get(w->client, person_nos[person], &account) != 0)
        return;
    w->model->closed[person] = account.status == FL_ACCOUNT_CLOSED;
    w->model->frozen[person] = account.status == FL_ACCOUNT_FROZEN;
}

static void op_withdraw(struct worker *w)
{
    /* E6 may die; the others leave and come back. */
    int person = (int)pick(w, EMPLOYEES);
    /* Mostly the two reasons that leave the account open. */
    fl_withdrawal_reason reason = chance(w, 60) ? 1 + pick(w, 2) : 1 + pick(w, 6);
    if (reason == FL_WITHDRAWAL_DEATH && person != 6)
        reason = FL_WITHDRAWAL_LONG_TERM_ELSEWHERE;
    char reference[48];
    unique_reference(w, reference, sizeof(reference), "D");
    fl_movement movement;
    int64_t amount = chance(w, 50) ? 0 : 1 + (int64_t)pick(w, 50000), wallet_fen;
    /* Evidence only where the reason takes it: any other is refused, and every withdrawal
     * was, until 7 December. */
    const char *disease = reason == FL_WITHDRAWAL_MAJOR_DISEASE ? "C34" : NULL;
    const char *heir = reason == FL_WITHDRAWAL_DEATH ? "E0" : NULL;
    if (outcome(w, OP_WITHDRAW, fl_withdraw_wallet(w->client, person_nos[person], reason,
                                                   reference, amount, disease, heir, &movement,
                                                   &wallet_fen))) {
        movement_check(w, &movement, -1, "withdraw");
        /* A withdrawal that closes the account, or a death, pays the wallet out whole. */
        if (!movement.replayed)
            model_wallet_add(w, person_nos[person], -wallet_fen);
        w->model->deceased[person] |= reason == FL_WITHDRAWAL_DEATH;
    }
}

static void op_account_open(struct worker *w)
{
    int person = (int)pick(w, PERSONS);
    fl_account account;
    if (outcome(w, OP_ACCOUNT_OPEN, fl_account_open(w->client, person_nos[person], &account))) {
        model_account(w, person_nos[person], 0, account.balance_fen, "account open");
        model_account_opened(w, person);
    }
}

static void op_transfer_out(struct worker *w)
{
    /* E6, who may die, moves more often than the others: dying on the way is a path too. */
    int person = chance(w, 30) ? person_index(w, "E6") : (int)pick(w, EMPLOYEES);
    char reference[48];
    unique_reference(w, reference, sizeof(reference), "T");
    fl_movement movement;
    if (!outcome(w, OP_TRANSFER_OUT, fl_transfer_out(w->client, person_nos[person], "120101",
                                                     reference, &movement)))
        return;
    movement_check(w, &movement, -1, "transfer out");
    pthread_mutex_lock(&w->world->lock);
    w->world->transfer_out_seq[person] = movement.seq;
    w->world->transfer_out_fen[person] = movement.amount_fen;
    pthread_mutex_unlock(&w->world->lock);
}

static void op_transfer_in(struct worker *w)
{
    /* E6 now and then: they may have died since they moved (op_transfer_out). */
    int person = chance(w, 30) ? person_index(w, "E6") : (int)pick(w, EMPLOYEES);
    pthread_mutex_lock(&w->world->lock);
    uint64_t out_seq = w->world->transfer_out_seq[person];
    int64_t amount = w->world->transfer_out_fen[person];
    pthread_mutex_unlock(&w->world->lock);
    char reference[48];
    unique_reference(w, reference, sizeof(reference), "I");
    fl_movement movement;
    int rc;
    bool linked = out_seq && chance(w, 70);
    if (linked)
        rc = fl_transfer_in_linked(w->client, person_nos[person], amount, NULL, out_seq,
                                   chance(w, 50) ? "120101" : NULL, reference, &movement);
    else
        rc = fl_transfer_in(w->client, person_nos[person], 1 + (int64_t)pick(w, 80000),
                            "440101", reference, &movement);
    if (!outcome(w, linked ? OP_TRANSFER_LINKED : OP_TRANSFER_IN, rc))
        return;
    /* The person died while the money was on its way: it is owed to the heirs in cash, and the
     * account stays closed. Only the completion of a transfer-out, only for the dead. */
    if (movement.account_closed) {
        if (w->model->on && (!w->model->deceased[person] || movement.balance_after_fen != 0 ||
                             !linked || movement.amount_fen != amount))
            FAIL(w, "a transfer-in to %s left the account closed, balance after %" PRId64,
                 person_nos[person], movement.balance_after_fen);
        return;
    }
    movement_check(w, &movement, 1, "transfer in");
    model_account_opened(w, person);
}

static void op_deceased(struct worker *w)
{
    /* Only R3 and E6 die in this world; the others must stay to pay and be paid for. */
    const char *person = chance(w, 50) ? "R3" : "E6";
    fl_person updated;
    if (chance(w, 50)) {
        if (outcome(w, OP_DECEASED, fl_person_deceased(w->client, person, "DC-1", &updated)))
            w->model->deceased[person_index(w, person)] = true;
        return;
    }
    /* Without an open account, a death withdrawal pays the wallet to the heir. */
    char reference[48];
    unique_reference(w, reference, sizeof(reference), "X");
    fl_movement movement;
    int64_t wallet_fen;
    if (outcome(w, OP_DECEASED, fl_withdraw_wallet(w->client, person, FL_WITHDRAWAL_DEATH,
                                                   reference, 0, NULL, "E0", &movement,
                                                   &wallet_fen))) {
        movement_check(w, &movement, -1, "death withdrawal");
        if (!movement.replayed)
            model_wallet_add(w, person, -wallet_fen);
        w->model->deceased[person_index(w, person)] = true;
    }
}

static void op_payout(struct worker *w)
{
    char reference[48];
    unique_reference(w, reference, sizeof(reference), "P");
    fl_payout payout;
    if (chance(w, 20)) {
        /* A refund owed in cash to a holder whose account had closed: the fund pays it. */
        const char *person = person_nos[pick(w, EMPLOYEES)];
        outcome(w, OP_PAYOUT, fl_payout_make(w->client, NULL, person, 1 + (int64_t)pick(w, 5000),
                                             reference, &payout));
        return;
    }
    int merchant = (int)pick(w, MERCHANTS);
    fl_merchant_books books;
    if (!outcome(w, OP_READ, fl_merchant_balance(w->client, merchant_codes[merchant], &books)))
        return;
    if (books.payable_fen < 0 || chance(w, 5)) {
        /* Refunds after a payout: the merchant pays the fund back (追回), at most what it owes
         * but now and then more, or when it owes nothing. */
        int64_t owes = books.payable_fen < 0 ? -books.payable_fen : 0;
        int64_t amount = owes > 0 && chance(w, 80)
                             ? 1 + (int64_t)(rng_next(&w->rng) % (uint64_t)owes)
                             : 1 + owes + (int64_t)pick(w, 100);
        outcome(w, OP_RECOVER, fl_recover(w->client, merchant_codes[merchant], amount,
                                          reference, &payout));
        return;
    }
    int64_t amount = books.payable_fen > 0 && chance(w, 80)
                         ? 1 + (int64_t)(rng_next(&w->rng) % (uint64_t)books.payable_fen)
                         : 1 + (int64_t)pick(w, 1000);
    outcome(w, OP_PAYOUT, fl_payout_make(w->client, merchant_codes[merchant], NULL, amount,
                                         reference, &payout));
}

/* An emergency claim (急诊垫付) of anyone, a resident's refused; or the close of the worker's
 * last claim, or of an entry that is no claim: returned whole or in part (now and then more
 * than claimed), or rejected. A return's money is in the account's model unless owed in cash. */
static void op_emergency(struct worker *w)
{
    fl_emergency_claim claim;
    if (chance(w, 5)) {
        /* A calendar of this year or the next: a few days off, a weekend day worked. The
         * claims after it are due by it, and verify recomputes each due day. */
        char days[5][11];
        const char *listed[5];
        unsigned year = 2026 + pick(w, 2);
        for (int i = 0; i < 5; i++) {
            snprintf(days[i], sizeof(days[i]), "%u-%02u-%02u", year, 1 + pick(w, 12),
                     1 + pick(w, 28));
            listed[i] = days[i];
        }
        outcome(w, OP_CALENDAR,
                fl_calendar_set(w->client, year, listed, 4, listed + 4, 1, &w->calendar));
        return;
    }
    if (w->claim_id == 0 || chance(w, 50)) {
        char reference[48];
        unique_reference(w, reference, sizeof(reference), "E");
        const char *patient = person_nos[pick(w, PERSONS)];
        int64_t amount = 1 + (int64_t)pick(w, 20000);
        if (!outcome(w, OP_EMERGENCY_CLAIM,
                     fl_emergency_claim_make(w->client, patient, amount, "急救中心", "RC-1",
                                             reference, &claim)))
            return;
        if (claim.state != FL_EMERGENCY_OPEN || claim.amount_fen != amount ||
            strcmp(claim.patient, patient) != 0 || strcmp(claim.due_day, claim.claimed_day) <= 0)
            FAIL(w, "claim %" PRIu64 ": state %d, %" PRId64 " fen of %s, due %s after %s",
                 claim.claim_id, (int)claim.state, claim.amount_fen, claim.patient,
                 claim.due_day, claim.claimed_day);
        w->claim_id = claim.claim_id;
        w->claim_fen = amount;
        return;
    }
    uint64_t id = chance(w, 90) ? w->claim_id : w->claim_id + 1 + pick(w, 3);
    bool reject = chance(w, 20);
    int64_t amount = reject || chance(w, 40) ? 0
                     : chance(w, 95)         ? 1 + (int64_t)pick(w, (unsigned)w->claim_fen)
                                             : w->claim_fen + 1;
    const char *reason = reject || (amount && amount < w->claim_fen) ? "复核" : NULL;
    if (!outcome(w, OP_EMERGENCY_CLOSE,
                 fl_emergency_claim_close(w->client, id, amount, reject, reason, &claim)))
        return;
    /* Another worker's claim may be closed too: it claimed what this one does not know. */
    int64_t returned = reject ? 0 : amount ? amount : id == w->claim_id ? w->claim_fen : 0;
    if (claim.claim_id != id || (returned != 0 && claim.returned_fen != returned) ||
        (reject != (claim.returned_fen == 0)) ||
        claim.state != (reject ? FL_EMERGENCY_REJECTED : FL_EMERGENCY_RETURNED))
        FAIL(w, "close of claim %" PRIu64 " (%" PRId64 " fen asked back of %" PRId64
             ") answered %" PRIu64 " %d with %" PRId64, id, returned, w->claim_fen,
             claim.claim_id, (int)claim.state, claim.returned_fen);
    if (!claim.replayed && claim.returned_fen > 0 && !claim.cash_refund_due)
        model_account(w, claim.patient, claim.returned_fen, claim.balance_after_fen,
                      "emergency return");
}

static void op_merchant_suspend(struct worker *w)
{
    int merchant = (int)pick(w, MERCHANTS);
    bool suspended = chance(w, 25);
    if (outcome(w, OP_MERCHANT_SUSPEND,
                fl_merchant_set_suspended(w->client, merchant_codes[merchant], suspended, NULL)))
        w->model->merchant_suspended[merchant] = suspended;
}

/* Yesterday closes (once; again it answers the first); today has not ended and is refused. */
static void op_day_close(struct worker *w)
{
    char date[11], closed_through[11];
    business_date(date, chance(w, 30) ? 0 : 1);
    uint64_t seq;
    outcome(w, OP_DAY_CLOSE, fl_day_close(w->client, date, closed_through, &seq));
}

/* ---- pipelines and batches ---- */

struct sent;

struct sent_item {
    struct sent *sent;
    enum op op;
    int merchant, slot;
    struct settle_content content;
    bool settle;
};

struct sent {
    struct worker *worker;
    bool batch;
    struct sent_item items[16];
    size_t answered;
};

/* A pipelined request's context is its item; a batch's is the whole, and `index` the item. */
static void sent_item_done(struct sent_item *item, const fl_result *result)
{
    struct sent *sent = item->sent;
    struct worker *w = sent->worker;
    sent->answered++;
    if (result->status != 0) {
        if (w->crash_phase && (result->status == FL_ERR_PROTOCOL_ERROR ||
                               result->status == FL_ERR_UNAVAILABLE ||
                               result->status == FL_ERR_TIMEOUT ||
                               (w->storage_failing && result->status == FL_ERR_INTERNAL))) {
            w->lost = true;
            return;
        }
        outcome(w, item->op, result->status);
        return;
    }
    w->ok[item->op]++;
    if (item->settle) {
        fl_settlement s = *result->settlement; /* the result lives only during the call */
        s.replayed = result->replayed;
        const char *what = sent->batch ? "batched settle" : "pipelined settle";
        settlement_check(w, &s, &item->content, what);
        settle_acked(w, item->merchant, item->slot, &item->content, &s, what);
    } else if (result->refund) {
        fl_refund refund = *result->refund;
        refund.replayed = result->replayed;
        refund_check(w, &refund, "batched refund");
    }
}

static void pipelined_done(void *context, size_t index, const fl_result *result)
{
    (void)index;
    sent_item_done(context, result);
}

static void batch_done(void *context, size_t index, const fl_result *result)
{
    struct sent *sent = context;
    sent_item_done(&sent->items[index], result);
}

static void op_pipeline(struct worker *w)
{
    bool batch = w->op == OP_BATCH;
    struct sent sent = {.worker = w, .batch = batch};
    fl_batch *b = batch ? fl_batch_new() : NULL;
    size_t count = 2 + pick(w, 8), queued = 0;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct sent_item *item = &sent.items[i];
        char reference[48];
        uint64_t id;
        int merchant;
        if (!chance(w, 75) && settled_pick(w, &id, &merchant)) {
            bool cancel = chance(w, 30);
            *item = (struct sent_item){.sent = &sent, .op = cancel ? OP_CANCEL : OP_REFUND};
            unique_reference(w, reference, sizeof(reference), "F");
            int64_t amount = 1 + (int64_t)pick(w, 20000);
            if (batch)
                rc = cancel ? fl_batch_cancel(b, merchant_codes[merchant], reference, id)
                            : fl_batch_refund(b, merchant_codes[merchant], reference, id, amount);
            else
                rc = cancel ? fl_send_cancel(w->client, merchant_codes[merchant], reference, id,
                                             pipelined_done, item)
                            : fl_send_refund(w->client, merchant_codes[merchant], reference, id,
                                             amount, pipelined_done, item);
        } else {
            *item = (struct sent_item){.sent = &sent, .op = OP_SETTLE, .settle = true,
                                       .merchant = (int)pick(w, MERCHANTS)};
            settle_slot_pick(w, item->merchant, &item->slot, &item->content);
            snprintf(reference, sizeof(reference), "S-%d", item->slot);
            fl_settle_request request = settle_request_of(&item->content, reference);
            rc = batch ? fl_batch_settle(b, &request)
                       : fl_send_settle(w->client, &request, pipelined_done, item);
        }
        queued += rc == 0;
    }
    if (rc != 0 && !w->crash_phase)
        FAIL(w, "queueing: %s", fl_strerror(rc));
    if (batch) {
        rc = fl_batch_run(w->client, b, batch_done, &sent);
        fl_batch_free(b);
    } else {
        rc = fl_async_wait(w->client, 0);
    }
    if (!outcome(w, batch ? OP_BATCH : OP_PIPELINE, rc))
        return;
    if (sent.answered != queued)
        FAIL(w, "%zu of %zu requests answered", sent.answered, queued);
}

/* ---- reads: each must answer, and what the books say must balance ---- */

/* A settlement a list gave: a pharmacy's peer sees only its own merchant's. */
static int settlement_seen(const fl_settlement *settlement, void *context)
{
    struct worker *w = context;
    if (w->pharmacy && strcmp(settlement->merchant_code, merchant_codes[0]) != 0)
        FAIL(w, "the pharmacy of %s was shown settlement %" PRIu64 " of %s", merchant_codes[0],
             settlement->settlement_id, settlement->merchant_code);
    return 0;
}

static void op_read(struct worker *w)
{
    const char *person = person_nos[pick(w, PERSONS)];
    char today[11];
    business_date(today, 0);
    switch (pick(w, 11)) {
    case 0: {
        fl_statement_line lines[20];
        size_t count;
        uint64_t next;
        outcome(w, OP_READ, fl_statement(w->client, person, 0, chance(w, 50), lines, 20, &count,
                                         &next));
        break;
    }
    case 1: {
        uint64_t next;
        fl_settlement_query query = {.patient = person, .limit = 10};
        outcome(w, OP_READ, fl_settlement_list(w->client, &query, settlement_seen, w, &next));
        break;
    }
    case 2: {
        fl_aid_line lines[FL_FUNDERS_MAX * 2];
        size_t count;
        uint64_t next;
        outcome(w, OP_READ, fl_aid(w->client, person, 0, lines, FL_FUNDERS_MAX * 2, &count,
                                   &next));
        break;
    }
    case 3: {
        fl_books_totals books;
        if (!outcome(w, OP_READ, fl_trial_balance(w->client, &books)))
            break;
        int64_t sum = 0;
        for (int c = 1; c <= FL_ACCOUNT_CLASSES; c++)
            sum += books.class_total_fen[c];
        if (sum != 0 || books.total_fen != 0)
            FAIL(w, "the trial balance is off: classes sum to %" PRId64 ", total %" PRId64, sum,
                 books.total_fen);
        break;
    }
    case 4: {
        fl_clearing *clearing = malloc(sizeof(*clearing));
        if (!clearing)
            break;
        if (outcome(w, OP_READ, fl_clearing_report(w->client, merchant_codes[pick(w, MERCHANTS)],
                                                   "2026-01-01", today, clearing)) &&
            clearing->day_count > 0) {
            const fl_clearing_day *day = &clearing->days[clearing->day_count - 1];
            if (day->owed_fen != clearing->closing_owed_fen)
                FAIL(w, "the clearing report closes at %" PRId64 " fen, its last day at %" PRId64,
                     clearing->closing_owed_fen, day->owed_fen);
        }
        free(clearing);
        break;
    }
    case 5: {
        fl_head head;
        if (!outcome(w, OP_READ, fl_head_get(w->client, &head)) || head.seq == 0)
            break;
        fl_entry entry;
        if (outcome(w, OP_READ, fl_entry_get(w->client, 1 + rng_next(&w->rng) % head.seq,
                                             &entry)))
            fl_entry_release(&entry);
        break;
    }
    case 6: {
        fl_account account;
        fl_aid_given given[FL_FUNDS_MAX];
        size_t count;
        outcome(w, OP_READ, fl_account_aid_given(w->client, person, &account, given,
                                                 FL_FUNDS_MAX, &count));
        break;
    }
    case 7: {
        FILE *out = fopen("/dev/null", "w");
        uint64_t count;
        if (out) {
            outcome(w, OP_READ, fl_export_day(w->client, today, chance(w, 50) ? FL_EXPORT_CSV
                                                                               : FL_EXPORT_JSONL,
                                              out, &count));
            fclose(out);
        }
        break;
    }
    case 8: {
        outcome(w, OP_READ, fl_merchant_day(w->client, merchant_codes[pick(w, MERCHANTS)], today,
                                            settlement_seen, NULL, w));
        break;
    }
    case 9: {
        uint64_t next;
        fl_settlement_query query = {.merchant_code = merchant_codes[pick(w, MERCHANTS)],
                                     .from = today, .to = today, .limit = 20};
        outcome(w, OP_READ, fl_settlement_list(w->client, &query, settlement_seen, w, &next));
        break;
    }
    default: {
        fl_wallet wallet;
        outcome(w, OP_READ, fl_wallet_get(w->client, person, &wallet));
        break;
    }
    }
}

/* Each kind of request: its name, how often it is drawn (out of the sum), how it is sent. */
static const struct op_kind op_kinds[OPS] = {
    [OP_SETTLE] = {"settle", 30, op_settle},
    [OP_QUOTE] = {"quote", 3, op_quote},
    [OP_CAPTURE] = {"capture", 4, op_capture},
    [OP_REFUND] = {"refund", 8, op_refund},
    [OP_CANCEL] = {"cancel", 4, op_refund},
    [OP_REVERSE] = {"reverse", 3, op_reverse},
    [OP_CREDIT] = {"credit", 8, op_credit},
    [OP_CREDIT_BATCH] = {"credit batch", 2, op_credit_batch},
    [OP_BIND] = {"bind", 5, op_bind},
    [OP_UNBIND] = {"unbind", 2, op_unbind},
    [OP_ORDER] = {"order", 1, op_order},
    [OP_LIMIT] = {"limit", 2, op_limit},
    [OP_WALLET_SEND] = {"wallet send", 5, op_wallet_send},
    [OP_WALLET_ACCEPT] = {"wallet accept", 3, op_wallet_answer},
    [OP_WALLET_DECLINE] = {"wallet decline", 2, op_wallet_answer},
    [OP_HOLD] = {"hold", 4, op_hold},
    [OP_HOLD_RELEASE] = {"hold release", 2, op_hold_release},
    [OP_FREEZE] = {"freeze", 2, op_freeze},
    [OP_SUSPEND] = {"suspend", 2, op_suspend},
    [OP_WITHDRAW] = {"withdraw", 1, op_withdraw},
    [OP_ACCOUNT_OPEN] = {"account open", 3, op_account_open},
    [OP_TRANSFER_OUT] = {"transfer out", 1, op_transfer_out},
    [OP_TRANSFER_IN] = {"transfer in", 1, op_transfer_in},
    /* Drawn as a transfer-in: one that completes a transfer-out of this ledger. */
    [OP_TRANSFER_LINKED] = {"transfer in, linked", 0, op_transfer_in},
    [OP_DECEASED] = {"deceased", 1, op_deceased},
    [OP_PAYOUT] = {"payout", 2, op_payout},
    [OP_RECOVER] = {"recover", 0, op_payout}, /* drawn as a payout, when the merchant owes */
    [OP_EMERGENCY_CLAIM] = {"emergency claim", 2, op_emergency},
    [OP_EMERGENCY_CLOSE] = {"emergency close", 0, op_emergency}, /* drawn as a claim */
    [OP_CALENDAR] = {"calendar", 0, op_emergency},               /* drawn as a claim */
    [OP_MERCHANT_SUSPEND] = {"merchant suspend", 1, op_merchant_suspend},
    [OP_DAY_CLOSE] = {"day close", 1, op_day_close},
    [OP_BATCH] = {"batch", 3, op_pipeline},
    [OP_PIPELINE] = {"pipeline", 2, op_pipeline},
    [OP_READ] = {"read", 8, op_read},
};

static enum op op_draw(struct worker *w)
{
    unsigned total = 0;
    for (int op = 0; op < OPS; op++)
        total += op_kinds[op].weight;
    unsigned draw = pick(w, total);
    for (int op = 0; op < OPS; op++) {
        if (draw < op_kinds[op].weight)
            return (enum op)op;
        draw -= op_kinds[op].weight;
    }
    return OP_READ;
}

static void *worker_run(void *argument)
{
    struct worker *w = argument;
    int rc = fl_client_connect(w->daemon->socket_path, 10000, &w->client);
    if (rc != 0) {
        if (!w->crash_phase)
            FAIL(w, "connect: %s", fl_client_error(w->client));
        w->lost = true;
    }
    for (w->ops_done = 0; w->ops_done < w->ops_wanted && !w->lost && !failed; w->ops_done++) {
        w->op = op_draw(w);
        op_kinds[w->op].run(w);
        if (w->model->on && w->ops_done % 64 == 63)
            model_compare(w);
    }
    fl_client_close(w->client);
    return NULL;
}

/* ---- the world ---- */

static void world_make(fl_client *client, uint64_t seed)
{
    uint64_t rng = seed;
    for (int p = 0; p < PERSONS; p++) {
        if (p < EMPLOYEES)
            employee_make(client, person_nos[p], p == 7 ? "310101" : "110101",
                          (int64_t)(rng_next(&rng) % 300000));
        else
            resident_make(client, person_nos[p], "110101");
    }
    static const fl_merchant_kind kinds[MERCHANTS] = {FL_MERCHANT_PHARMACY,
                                                      FL_MERCHANT_HOSPITAL, FL_MERCHANT_PHARMACY};
    for (int m = 0; m < MERCHANTS; m++) {
        fl_merchant merchant = {.kind = kinds[m]};
        snprintf(merchant.code, sizeof(merchant.code), "%s", merchant_codes[m]);
        snprintf(merchant.name, sizeof(merchant.name), "Merchant %s", merchant_codes[m]);
        snprintf(merchant.region, sizeof(merchant.region), "%s", m == 2 ? "310101" : "110101");
        assert_int_equal(fl_merchant_add(client, &merchant, NULL), 0);
    }
    /* A family to start from: E0 and E1 pay for the residents and each other. */
    assert_int_equal(fl_family_bind(client, "E0", "R0", FL_RELATION_CHILD, NULL), 0);
    assert_int_equal(fl_family_bind(client, "E1", "R0", FL_RELATION_CHILD, NULL), 0);
    assert_int_equal(fl_family_bind(client, "E0", "E1", FL_RELATION_SPOUSE, NULL), 0);
    assert_int_equal(fl_family_bind(client, "E2", "R1", FL_RELATION_PARENT, NULL), 0);
}

static void model_load(struct model *model, fl_client *client)
{
    memset(model, 0, sizeof(*model)); /* nothing suspended, frozen or dead in a new world */
    model->on = true;
    for (int p = 0; p < PERSONS; p++) {
        fl_account account;
        bool has = fl_account_get(client, person_nos[p], &account) == 0;
        model->account_fen[p] = has ? account.balance_fen : 0;
        model->wallet_fen[p] = 0;
        model->closed[p] = !has || account.status == FL_ACCOUNT_CLOSED;
        model->frozen[p] = has && account.status == FL_ACCOUNT_FROZEN;
    }
}

static void verify_clean(const struct daemon_handle *daemon, uint64_t seed, const char *when)
{
    fl_client *client = client_open(daemon);
    fl_verify_report report;
    assert_int_equal(fl_verify(client, &report, NULL, NULL), 0);
    if (!report.ok)
        fail_msg("seed %" PRIu64 ", %s: verify found entry %" PRIu64 ": %s", seed, when,
                 report.first_bad_seq, report.problem);
    assert_int_equal(fl_verify_walk(client, &report, NULL, NULL), 0);
    if (!report.ok)
        fail_msg("seed %" PRIu64 ", %s: verify --walk found entry %" PRIu64 ": %s", seed, when,
                 report.first_bad_seq, report.problem);
    fl_books_totals books;
    assert_int_equal(fl_trial_balance(client, &books), 0);
    assert_int_equal(books.total_fen, 0);
    fl_client_close(client);
}

static unsigned ops_scaled(unsigned ops)
{
    return ops > 10000 ? ops : ops * random_scale();
}

static struct worker *workers_make(struct world *world, struct model *model,
                                   const struct daemon_handle *daemon, uint64_t seed, int count,
                                   unsigned ops)
{
    ops = ops_scaled(ops);
    struct worker *workers = calloc((size_t)count, sizeof(*workers));
    assert_non_null(workers);
    for (int i = 0; i < count; i++) {
        struct worker *w = &workers[i];
        *w = (struct worker){.world = world, .model = model, .daemon = daemon, .seed = seed,
                             .rng = seed * 1000003 + (uint64_t)i, .id = i, .ops_wanted = ops};
        w->settlement = malloc(sizeof(*w->settlement));
        w->reversal = malloc(sizeof(*w->reversal));
        w->hold = malloc(sizeof(*w->hold));
        assert_true(w->settlement && w->reversal && w->hold);
    }
    return workers;
}

static void workers_free(struct worker *workers, int count)
{
    for (int i = 0; i < count; i++) {
        free(workers[i].settlement);
        free(workers[i].reversal);
        free(workers[i].hold);
    }
    free(workers);
}

static void workers_run(struct worker *workers, int count)
{
    pthread_t threads[WORKERS];
    failed = false;
    for (int i = 0; i < count; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
    for (int i = 0; i < count; i++)
        pthread_join(threads[i], NULL);
    failure_report();
}

/* The walk must have done what it is for: money moved every way, not only refusals. */
/* What the requests of every run of this program did. */
static struct {
    unsigned ok[OPS], refused[OPS];
} coverage;

/* The walk must have done what it is for: money moved every way, not only refusals. The
 * common requests must succeed in every run; the rarer ones (a wallet send needs a bound,
 * funded, unfrozen holder without a send waiting; a capture an open hold of a quote still
 * covered) in the program's runs together, checked after the last (coverage_final). */
static void coverage_check(const struct worker *workers, int count, uint64_t seed)
{
    static const enum op needed[] = {OP_SETTLE, OP_REFUND, OP_CANCEL, OP_CREDIT, OP_BIND,
                                     OP_HOLD, OP_BATCH, OP_PIPELINE};
    for (int op = 0; op < OPS; op++)
        for (int i = 0; i < count; i++) {
            coverage.ok[op] += workers[i].ok[op];
            coverage.refused[op] += workers[i].refused[op];
        }
    for (size_t n = 0; n < sizeof(needed) / sizeof(needed[0]); n++) {
        unsigned ok = 0, refused = 0;
        for (int i = 0; i < count; i++) {
            ok += workers[i].ok[needed[n]];
            refused += workers[i].refused[needed[n]];
        }
        if (ok == 0)
            fail_msg("seed %" PRIu64 ": no %s succeeded (%u refused)", seed,
                     op_kinds[needed[n]].name, refused);
    }
    const char *verbose = getenv("FAMLEDGER_RANDOM_VERBOSE");
    if (verbose && *verbose)
        for (int op = 0; op < OPS; op++) {
            unsigned ok = 0, refused = 0;
            for (int i = 0; i < count; i++) {
                ok += workers[i].ok[op];
                refused += workers[i].refused[op];
            }
            printf("  %-16s %5u ok %5u refused:", op_kinds[op].name, ok, refused);
            for (int status = 1; status < STATUS_SLOTS; status++) {
                unsigned by = 0;
                for (int i = 0; i < count; i++)
                    by += workers[i].refused_by[op][status];
                if (by)
                    printf(" %s %u", fl_strerror(-status), by);
            }
            printf("\n");
        }
}

static void coverage_final(void)
{
    static const enum op needed[] = {OP_WALLET_SEND, OP_WALLET_ACCEPT, OP_CAPTURE,
                                     OP_HOLD_RELEASE, OP_PAYOUT, OP_RECOVER,
                                     OP_TRANSFER_LINKED, OP_EMERGENCY_CLOSE};
    for (size_t n = 0; n < sizeof(needed) / sizeof(needed[0]); n++)
        if (coverage.ok[needed[n]] == 0)
            fail_msg("no %s succeeded in any run (%u refused)", op_kinds[needed[n]].name,
                     coverage.refused[needed[n]]);
}

static unsigned seeds_wanted(void)
{
    const char *text = getenv("FAMLEDGER_RANDOM_SEEDS");
    return text && atoi(text) > 0 ? (unsigned)atoi(text) : 2;
}

static uint64_t seed_base(void)
{
    const char *text = getenv("FAMLEDGER_RANDOM_SEED");
    return text ? strtoull(text, NULL, 10) : 1;
}

/* ---- a daemon with a library preloaded (libfailsync, libfaketime) ---- */

static char asan_options_saved[512];
static bool asan_options_were_set;

/* Preload `library` into the daemons started from now on (the sanitizers' runtime then does
 * not come first, which they must be told is fine). environment_reset undoes it. */
static void preload_set(const char *library)
{
    const char *asan = getenv("ASAN_OPTIONS");
    asan_options_were_set = asan != NULL;
    snprintf(asan_options_saved, sizeof(asan_options_saved), "%s", asan ? asan : "");
    char options[600];
    snprintf(options, sizeof(options), "%s:verify_asan_link_order=0", asan_options_saved);
    setenv("ASAN_OPTIONS", options, 1);
    setenv("LD_PRELOAD", library, 1);
}

/* Each test starts from the environment the suite gave, whatever a failed one left. */
static int environment_reset(void **state)
{
    (void)state;
    if (getenv("LD_PRELOAD")) {
        if (asan_options_were_set)
            setenv("ASAN_OPTIONS", asan_options_saved, 1);
        else
            unsetenv("ASAN_OPTIONS");
    }
    unsetenv("LD_PRELOAD");
    unsetenv("FAILSYNC_TRIGGER");
    unsetenv("FAILSYNC_PASS");
    unsetenv("FAKETIME_TIMESTAMP_FILE");
    unsetenv("FAKETIME_NO_CACHE");
    unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
    unsetenv("TZ");
    return 0;
}

/* ---- a follower of the change stream ---- */

/* Follows the change stream from the first entry while the walk goes on: each entry must come
 * once, in order, its hash checked against the one before (fl_subscribe), until `target`. */
struct follower {
    const struct daemon_handle *daemon;
    volatile uint64_t target; /* stop once this entry has come; 0: not known yet */
    uint64_t next;            /* the entry expected next */
    unsigned resubscribed;    /* fell behind and came back */
    char problem[256];
};

static int follower_cb(void *context, const fl_stream_event *event)
{
    struct follower *follower = context;
    if (event->entry.seq != follower->next) {
        snprintf(follower->problem, sizeof(follower->problem),
                 "the stream gave entry %" PRIu64 " where %" PRIu64 " was due", event->entry.seq,
                 follower->next);
        return 2;
    }
    follower->next++;
    return follower->target && event->entry.seq >= follower->target ? 1 : 0;
}

static void *follower_run(void *argument)
{
    struct follower *follower = argument;
    follower->next = 1;
    for (;;) {
        fl_client *client;
        int rc = fl_client_connect(follower->daemon->socket_path, 10000, &client);
        if (rc == 0)
            rc = fl_subscribe(client, follower->next, true, follower_cb, follower, NULL);
        if (rc != 1 && rc != FL_ERR_SUBSCRIBER_BEHIND && !follower->problem[0])
            snprintf(follower->problem, sizeof(follower->problem), "subscribe: %s",
                     fl_client_error(client));
        fl_client_close(client);
        if (rc != FL_ERR_SUBSCRIBER_BEHIND)
            return NULL;
        follower->resubscribed++; /* again from the entry it had not had */
    }
}

/* Stop the follower at the entry after the head: one more registration makes sure there is
 * one (whatever the walk did to the accounts). */
static void follower_finish(struct follower *follower, pthread_t thread, uint64_t seed)
{
    fl_client *client = client_open(follower->daemon);
    fl_head head;
    assert_int_equal(fl_head_get(client, &head), 0);
    follower->target = head.seq + 1;
    resident_make(client, "FOLLOWER", "110101");
    fl_client_close(client);
    pthread_join(thread, NULL);
    if (follower->problem[0] || follower->next <= follower->target)
        fail_msg("seed %" PRIu64 ": the follower of the change stream: %s (had up to %" PRIu64
                 " of %" PRIu64 ")",
                 seed, follower->problem[0] ? follower->problem : "stopped early",
                 follower->next - 1, follower->target);
}

/* A daemon started with `args` on a new ledger, the world made in it, and `world` fresh.
 * Returns the administrator's client. */
static fl_client *world_start(struct daemon_handle *daemon, const char *const *args,
                              struct world *world, uint64_t seed)
{
    daemon_start(daemon, args);
    fl_client *client = client_open(daemon);
    world_make(client, seed);
    memset(world, 0, sizeof(*world));
    pthread_mutex_init(&world->lock, NULL);
    return client;
}

/* ---- the tests ---- */

static void test_one_client_sees_its_replies_add_up(void **state)
{
    (void)state;
    for (uint64_t seed = seed_base(); seed < seed_base() + seeds_wanted(); seed++) {
        struct daemon_handle daemon;
        static struct world world;
        fl_client *client = world_start(&daemon, daemon_args, &world, seed);
        static struct model model;
        model_load(&model, client);
        struct worker *workers = workers_make(&world, &model, &daemon, seed, 1, 1500);
        workers_run(workers, 1);
        workers[0].client = client;
        model_compare(&workers[0]);
        coverage_check(workers, 1, seed);
        workers_free(workers, 1);
        fl_client_close(client);
        assert_true(daemon_alive(&daemon));
        verify_clean(&daemon, seed, "after one client");
        assert_int_equal(daemon_stop(&daemon), 0);
        /* The same ledger, started again, still replays to what is stored. */
        daemon_restart(&daemon, daemon_args);
        verify_clean(&daemon, seed, "after a restart");
        daemon_remove(&daemon);
    }
}

/* Four clients at once; a follower of the change stream meanwhile gets every entry once, in
 * order. */
static void test_many_clients_leave_books_that_verify(void **state)
{
    (void)state;
    for (uint64_t seed = seed_base(); seed < seed_base() + seeds_wanted(); seed++) {
        struct daemon_handle daemon;
        static struct world world;
        fl_client_close(world_start(&daemon, daemon_args, &world, seed));
        static struct model model = {.on = false};
        struct worker *workers = workers_make(&world, &model, &daemon, seed + 7919, WORKERS, 500);
        static struct follower follower;
        follower = (struct follower){.daemon = &daemon};
        pthread_t follower_thread;
        assert_int_equal(pthread_create(&follower_thread, NULL, follower_run, &follower), 0);
        workers_run(workers, WORKERS);
        follower_finish(&follower, follower_thread, seed);
        coverage_check(workers, WORKERS, seed);
        workers_free(workers, WORKERS);
        assert_true(daemon_alive(&daemon));
        verify_clean(&daemon, seed, "after many clients");
        daemon_remove(&daemon);
    }
}

/* Every settlement and credit acknowledged before the kill is there after it, as it was. */
static void acknowledged_check(const struct daemon_handle *daemon, struct world *world,
                               uint64_t seed)
{
    fl_client *client = client_open(daemon);
    fl_settlement *settlement = malloc(sizeof(*settlement));
    assert_non_null(settlement);
    for (int m = 0; m < MERCHANTS; m++)
        for (int slot = 0; slot < SLOTS; slot++) {
            if (world->settle_acked[m][slot] == 0)
                continue;
            char reference[32];
            snprintf(reference, sizeof(reference), "S-%d", slot);
            int rc = fl_settlement_find(client, merchant_codes[m], reference, settlement);
            if (rc != 0 || settlement->settlement_id != world->settle_acked[m][slot])
                fail_msg("seed %" PRIu64 ": %s's S-%d was acknowledged as settlement %" PRIu64
                         "; after the kill: %s, settlement %" PRIu64,
                         seed, merchant_codes[m], slot, world->settle_acked[m][slot],
                         rc ? fl_client_error(client) : "found", settlement->settlement_id);
        }
    for (int slot = 0; slot < SLOTS; slot++) {
        if (world->credit_acked[slot] == 0)
            continue;
        const struct credit_content *c = &world->credit_acked_content[slot];
        char reference[16];
        snprintf(reference, sizeof(reference), "C-%d", slot);
        fl_credit_result credit;
        int rc = fl_account_credit(client, person_nos[c->person], c->amount_fen, c->kind,
                                   reference, &credit);
        if (rc != 0 || !credit.replayed || credit.seq != world->credit_acked[slot])
            fail_msg("seed %" PRIu64 ": credit C-%d was acknowledged as entry %" PRIu64
                     "; sent again after the kill: %s, entry %" PRIu64 ", replayed %d",
                     seed, slot, world->credit_acked[slot],
                     rc ? fl_client_error(client) : "OK", credit.seq, credit.replayed);
    }
    free(settlement);
    fl_client_close(client);
}

struct killer {
    struct daemon_handle *daemon;
    unsigned delay_ms;
    const char *trigger; /* NULL: SIGKILL; else create this file, and the syncs fail */
};

static void *killer_run(void *argument)
{
    struct killer *killer = argument;
    struct timespec delay = {killer->delay_ms / 1000, (long)(killer->delay_ms % 1000) * 1000000};
    nanosleep(&delay, NULL);
    if (killer->trigger) {
        FILE *file = fopen(killer->trigger, "w");
        if (file)
            fclose(file);
    } else {
        kill(killer->daemon->pid, SIGKILL);
    }
    return NULL;
}

/* Four clients' walk, interrupted by a kill -9 or, with `failing_sync`, by syncs that fail
 * from a moment on (libfailsync.so; the daemon stops with 74). Then a daemon started again
 * must hold everything acknowledged, and verify. */
static void interrupted_walk(uint64_t seed, bool failing_sync)
{
    struct daemon_handle daemon;
    char trigger[128];
    snprintf(trigger, sizeof(trigger), "/tmp/famledger-failsync-%d", (int)getpid());
    unlink(trigger);
    if (failing_sync) {
        const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
        char shim[256], pass[8];
        snprintf(shim, sizeof(shim), "%s/tests/libfailsync.so", build);
        assert_true(access(shim, R_OK) == 0);
        snprintf(pass, sizeof(pass), "%u", (unsigned)(seed % 4)); /* which flush fails */
        preload_set(shim);
        setenv("FAILSYNC_TRIGGER", trigger, 1);
        setenv("FAILSYNC_PASS", pass, 1);
    }
    static struct world world;
    fl_client_close(world_start(&daemon, daemon_args, &world, seed));
    environment_reset(NULL);
    static struct model model = {.on = false};
    struct worker *workers = workers_make(&world, &model, &daemon, seed + 104729, WORKERS,
                                          100000);
    for (int i = 0; i < WORKERS; i++) {
        workers[i].crash_phase = true;
        workers[i].storage_failing = failing_sync;
    }
    struct killer killer = {.daemon = &daemon, .delay_ms = 300 + (unsigned)(seed * 277 % 900),
                            .trigger = failing_sync ? trigger : NULL};
    pthread_t killer_thread;
    assert_int_equal(pthread_create(&killer_thread, NULL, killer_run, &killer), 0);
    workers_run(workers, WORKERS);
    pthread_join(killer_thread, NULL);
    int status;
    assert_int_equal(waitpid(daemon.pid, &status, 0), daemon.pid);
    daemon.pid = 0;
    if (failing_sync && !(WIFEXITED(status) && WEXITSTATUS(status) == 74))
        fail_msg("seed %" PRIu64 ": after a failed sync the daemon ended with status %d, not "
                 "74", seed, status);
    unlink(trigger);
    unsigned done = 0;
    for (int i = 0; i < WORKERS; i++) {
        assert_true(workers[i].lost);
        done += workers[i].ops_done;
    }
    assert_true(done > 0);
    workers_free(workers, WORKERS);
    daemon_restart(&daemon, daemon_args);
    verify_clean(&daemon, seed, failing_sync ? "after a failed sync" : "after a kill -9");
    acknowledged_check(&daemon, &world, seed);
    daemon_remove(&daemon);
}

static void test_a_kill_in_the_middle_loses_nothing_acknowledged(void **state)
{
    (void)state;
    for (uint64_t seed = seed_base(); seed < seed_base() + seeds_wanted(); seed++)
        interrupted_walk(seed, false);
}

static void test_a_failed_sync_in_the_middle_loses_nothing_acknowledged(void **state)
{
    (void)state;
    for (uint64_t seed = seed_base(); seed < seed_base() + seeds_wanted(); seed++)
        interrupted_walk(seed, true);
}

/* ---- a wall clock that jumps ---- */

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

struct clock_driver {
    char path[128];
    uint64_t rng;
    volatile bool stop;
    unsigned steps;
};

/* Write the clock file whole (libfaketime reads it at every call, FAKETIME_NO_CACHE). */
static void clock_set(struct clock_driver *clock, time_t shanghai)
{
    char text[40], temporary[140];
    struct tm tm;
    strftime(text, sizeof(text), "@%Y-%m-%d %H:%M:%S\n", gmtime_r(&shanghai, &tm));
    snprintf(temporary, sizeof(temporary), "%s.new", clock->path);
    FILE *file = fopen(temporary, "w");
    assert_non_null(file);
    fputs(text, file);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(rename(temporary, clock->path), 0);
    fake_now = shanghai;
}

/* Mostly minutes forward; now and then hours or a day (past midnight, the night's wallet
 * returns, a hold's expiry), back by up to two hours, or weeks ahead (a month's aid limits). */
static void *clock_run(void *argument)
{
    struct clock_driver *clock = argument;
    while (!clock->stop) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
        uint64_t draw = rng_next(&clock->rng) % 100, amount = rng_next(&clock->rng);
        time_t step = draw < 70   ? (time_t)(1 + amount % 600)
                      : draw < 85 ? (time_t)(3600 + amount % (36 * 3600))
                      : draw < 95 ? -(time_t)(1 + amount % 7200)
                                  : (time_t)(20 * 86400 + amount % (20 * 86400));
        clock_set(clock, fake_now + step);
        clock->steps++;
    }
    return NULL;
}

/* The daemon under libfaketime, its wall clock read from the driver's file. */
static void daemon_start_on_clock(struct daemon_handle *daemon, struct clock_driver *clock)
{
    assert_true(access(FAKETIME_LIB, R_OK) == 0); /* deploy/debian-packages.txt: faketime */
    snprintf(clock->path, sizeof(clock->path), "/tmp/famledger-clock-%d", (int)getpid());
    /* 2026-12-31 20:00 in Shanghai: the year, the month and the day end within the run. */
    clock_set(clock, 1798747200);
    preload_set(FAKETIME_LIB);
    setenv("FAKETIME_TIMESTAMP_FILE", clock->path, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
    setenv("TZ", "Asia/Shanghai", 1);
    daemon_start(daemon, daemon_args);
    environment_reset(NULL);
}

static void test_a_clock_that_jumps_leaves_books_that_verify(void **state)
{
    (void)state;
    for (uint64_t seed = seed_base(); seed < seed_base() + seeds_wanted(); seed++) {
        struct daemon_handle daemon;
        static struct clock_driver clock;
        memset(&clock, 0, sizeof(clock));
        clock.rng = seed;
        daemon_start_on_clock(&daemon, &clock);
        fl_client *client = client_open(&daemon);
        world_make(client, seed);
        fl_client_close(client);
        static struct world world;
        memset(&world, 0, sizeof(world));
        pthread_mutex_init(&world.lock, NULL);
        static struct model model = {.on = false};
        struct worker *workers = workers_make(&world, &model, &daemon, seed + 15485863,
                                              WORKERS, 400);
        pthread_t clock_thread;
        assert_int_equal(pthread_create(&clock_thread, NULL, clock_run, &clock), 0);
        workers_run(workers, WORKERS);
        clock.stop = true;
        pthread_join(clock_thread, NULL);
        assert_true(clock.steps > 0);
        coverage_check(workers, WORKERS, seed);
        workers_free(workers, WORKERS);
        assert_true(daemon_alive(&daemon));
        verify_clean(&daemon, seed, "after a clock that jumps");
        /* The nights the clock passed returned the sends no one took: none is older. */
        daemon_remove(&daemon);
        unlink(clock.path);
        fake_now = 0;
    }
    coverage_final(); /* the last test of the program */
}

/* ---- a pharmacy's own walk ---- */

#define NOBODY 65534

/* Entries a pharmacy's peer may make: its settlements, refunds, cancels, reversals and held
 * quotes (a hold's release closes it). */
static bool pharmacy_entry_type(const char *type)
{
    static const char *const types[] = {"settled", "refunded", "reversed", "hold_placed",
                                        "hold_closed"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(type, types[i]) == 0)
            return true;
    return false;
}

/* The child: every kind of request, as uid nobody, whose only role is to settle for PH1. */
static int pharmacy_walk(const struct daemon_handle *daemon, struct world *world, uint64_t seed)
{
    if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
        return 100;
    static struct model model = {.on = false};
    struct worker *w = workers_make(world, &model, daemon, seed + 32452843, 1, 800);
    w->pharmacy = true;
    worker_run(w);
    const char *verbose = getenv("FAMLEDGER_RANDOM_VERBOSE");
    for (int op = 0; verbose && *verbose && op < OPS; op++)
        printf("  pharmacy %-16s %5u ok %5u refused (%u not its role)\n", op_kinds[op].name,
               w->ok[op], w->refused[op], w->refused_by[op][-FL_ERR_PERMISSION_DENIED]);
    fflush(stdout); /* the child leaves by _exit */
    if (failed) {
        fprintf(stderr, "ERROR: %s\n", failure);
        return 1;
    }
    if (w->ok[OP_SETTLE] == 0 || w->refused[OP_CREDIT] == 0)
        return 2; /* the walk must have settled for PH1 and been refused an admin's act */
    return 0;
}

static void test_a_pharmacy_walks_only_its_own_merchant(void **state)
{
    (void)state;
    for (uint64_t seed = seed_base(); seed < seed_base() + seeds_wanted(); seed++) {
        struct daemon_handle daemon;
        const char *args[] = {"--wallet-quiet-start", "00:00", "--wallet-quiet-end", "00:00",
                              "--socket-mode", "0666", "--settle-uids", "0,65534",
                              "--merchant-peers", "uid:65534=PH1", NULL};
        static struct world world;
        fl_client *client = world_start(&daemon, args, &world, seed);
        assert_int_equal(chmod(daemon.dir, 0755), 0);
        /* The administrator's walk first, so that every merchant has settlements, holds and
         * references for the pharmacy to reach for. */
        static struct model model = {.on = false};
        struct worker *workers = workers_make(&world, &model, &daemon, seed, 1, 300);
        workers_run(workers, 1);
        workers_free(workers, 1);
        /* Whatever the walk suspended, the pharmacy's own merchant trades again. */
        assert_int_equal(fl_merchant_set_suspended(client, merchant_codes[0], false, NULL), 0);
        fl_head before;
        assert_int_equal(fl_head_get(client, &before), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(pharmacy_walk(&daemon, &world, seed));
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("seed %" PRIu64 ": the pharmacy's walk ended with %d", seed,
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        /* What the pharmacy wrote is of PH1 alone, and of a kind its role may write. */
        fl_head after;
        assert_int_equal(fl_head_get(client, &after), 0);
        unsigned pharmacy_entries = 0;
        for (uint64_t seq = before.seq + 1; seq <= after.seq; seq++) {
            fl_entry entry;
            assert_int_equal(fl_entry_get(client, seq, &entry), 0);
            if (entry.actor_uid == NOBODY) {
                pharmacy_entries++;
                if (!pharmacy_entry_type(entry.type) || !strstr(entry.body_json, "\"PH1\"") ||
                    strstr(entry.body_json, "\"HO1\"") || strstr(entry.body_json, "\"PH2\""))
                    fail_msg("seed %" PRIu64 ": the pharmacy of PH1 wrote entry %" PRIu64
                             " (%s): %s",
                             seed, seq, entry.type, entry.body_json);
            }
            fl_entry_release(&entry);
        }
        assert_true(pharmacy_entries > 0);
        fl_client_close(client);
        assert_true(daemon_alive(&daemon));
        verify_clean(&daemon, seed, "after a pharmacy's walk");
        daemon_remove(&daemon);
    }
}

/* Each test from the environment the suite gave (environment_reset). */
#define WALK(test) cmocka_unit_test_setup(test, environment_reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        WALK(test_one_client_sees_its_replies_add_up),
        WALK(test_many_clients_leave_books_that_verify),
        WALK(test_a_kill_in_the_middle_loses_nothing_acknowledged),
        WALK(test_a_failed_sync_in_the_middle_loses_nothing_acknowledged),
        WALK(test_a_pharmacy_walks_only_its_own_merchant),
        WALK(test_a_clock_that_jumps_leaves_books_that_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
