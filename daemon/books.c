/* books.c -- double entry: postings, system account balances, class totals, trial balance. */
#include "books.h"

#include "clearing.h"
#include "log.h"
#include "require.h"
#include "state.h"

#include <string.h>

#define CLASS_COUNT (FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET_PENDING + 1)

const char *books_class_name(Famledger__AccountClass account_class)
{
    static const char *const names[CLASS_COUNT] = {
        [FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL] = "personal",
        [FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND] = "fund",
        [FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_MERCHANT_PAYABLE] = "merchant_payable",
        [FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE] = "cash_refund_due",
        [FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CLEARING] = "clearing",
        [FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET] = "wallet",
        [FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET_PENDING] = "wallet_pending",
    };
    if ((int)account_class <= 0 || (int)account_class >= CLASS_COUNT)
        return "unknown";
    return names[account_class];
}

void books_post(struct request_ctx *ctx, Famledger__Entry *entry,
                Famledger__AccountClass account_class, const char *id, int64_t amount_fen)
{
    if (amount_fen == 0)
        return;
    REQUIRE(account_class > 0 && (int)account_class < CLASS_COUNT);
    if (!entry->postings)
        entry->postings = ARENA_ARRAY(ctx->arena, Famledger__Posting *, POSTINGS_MAX);
    REQUIRE(entry->n_postings < POSTINGS_MAX);
    Famledger__Posting *posting = ARENA_NEW(ctx->arena, Famledger__Posting);
    famledger__posting__init(posting);
    posting->account_class = account_class;
    posting->id = (char *)id;
    posting->amount_fen = amount_fen;
    entry->postings[entry->n_postings++] = posting;
}

/* The key of a system account ("fund:310100") or, with an empty id, of a class total; not
 * terminated. Put together by hand: snprintf was 2 % of the writer's time, five keys a
 * settlement. */
static size_t balance_key(char *key, size_t key_bytes, Famledger__AccountClass account_class,
                          const char *id)
{
    const char *name = books_class_name(account_class);
    size_t name_bytes = strlen(name), id_bytes = strlen(id);
    size_t bytes = name_bytes + (id_bytes ? 1 + id_bytes : 0);
    REQUIRE(bytes < key_bytes);
    memcpy(key, name, name_bytes);
    if (id_bytes) {
        key[name_bytes] = ':';
        memcpy(key + name_bytes + 1, id, id_bytes);
    }
    return bytes;
}

static int balance_read(struct store_txn *txn, struct arena *arena, const char *key,
                        size_t key_bytes, Famledger__Balance **balance)
{
    struct store_bytes value;
    int rc = store_get(txn, STORE_DB_BALANCES, key, key_bytes, &value);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        *balance = NULL;
        return 0;
    }
    *balance = famledger__balance__unpack(&arena->protobuf, value.size, value.data);
    if (!*balance) {
        log_error("books: the stored balance %.*s is damaged", (int)key_bytes, key);
        return FL_ERR_INTERNAL;
    }
    return 0;
}

int books_balance_last(struct store_txn *txn, struct arena *arena,
                       Famledger__AccountClass account_class, const char *id,
                       int64_t *balance_fen, uint64_t *last_seq)
{
    char key[96];
    size_t key_bytes = balance_key(key, sizeof(key), account_class, id);
    Famledger__Balance *balance;
    int rc = balance_read(txn, arena, key, key_bytes, &balance);
    *balance_fen = rc == 0 && balance ? balance->balance_fen : 0;
    if (last_seq)
        *last_seq = rc == 0 && balance ? balance->last_seq : 0;
    return rc;
}

int books_balance_get(struct store_txn *txn, struct arena *arena,
                      Famledger__AccountClass account_class, const char *id,
                      int64_t *balance_fen)
{
    return books_balance_last(txn, arena, account_class, id, balance_fen, NULL);
}

/* Move one balance row (an account, or with id "" a class total) by `amount_fen`. */
static int balance_move(struct request_ctx *ctx, Famledger__AccountClass account_class,
                        const char *id, int64_t amount_fen, uint64_t seq)
{
    char key[96];
    size_t key_bytes = balance_key(key, sizeof(key), account_class, id);
    Famledger__Balance *balance;
    int rc = balance_read(ctx->txn, ctx->arena, key, key_bytes, &balance);
    if (rc)
        return rc;
    if (!balance) {
        balance = ARENA_NEW(ctx->arena, Famledger__Balance);
        famledger__balance__init(balance);
        balance->account_class = account_class;
        balance->id = (char *)id;
    }
    /* A class total, or a merchant never paid out, only grows: after some 900 million
     * movements of the largest amount it would overflow, and the entry is refused instead. */
    int64_t after_fen;
    if (__builtin_add_overflow(balance->balance_fen, amount_fen, &after_fen))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "%s %.*s holds %s yuan, and %s more "
                            "would overflow it", *id ? "the balance" : "the class total",
                            (int)key_bytes, key,
                            request_yuan(ctx, balance->balance_fen),
                            request_yuan(ctx, amount_fen));
    /* A wallet's statement is a chain whose head is its balance's last_seq: the entry links
     * to the one that moved the wallet before it. Each entry moves a wallet once at most. */
    if (*id && account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET) {
        if (balance->last_seq >= seq) {
            log_error("books: %.*s was last moved by entry %llu, not before %llu: the stored "
                      "balance is damaged; verify names it", (int)key_bytes, key,
                      (unsigned long long)balance->last_seq, (unsigned long long)seq);
            return FL_ERR_INTERNAL;
        }
        if ((rc = store_wallet_link(ctx->txn, seq, id, balance->last_seq, after_fen)))
            return rc;
    }
    balance->balance_fen = after_fen;
    balance->last_seq = seq;
    /* A cash refund due, a wallet and a waiting send are never negative: handlers take from
     * them only what they hold. A merchant's payable may be: refunds after a payout leave the
     * merchant owing the fund, which the next clearing nets. A stored balance that says less
     * than the log put there is damage: refused, not an abort. */
    if (*id && balance->balance_fen < 0 &&
        (account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE ||
         account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET ||
         account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET_PENDING)) {
        log_error("books: %.*s would go below zero (%lld fen): the stored balance is damaged; "
                  "verify names it", (int)key_bytes, key, (long long)balance->balance_fen);
        return FL_ERR_INTERNAL;
    }
    return state_message_put(ctx->txn, ctx->arena, STORE_DB_BALANCES, key, key_bytes,
                             &balance->base);
}

int books_apply(struct request_ctx *ctx, const Famledger__Entry *entry)
{
    int64_t sum = 0, class_sums[CLASS_COUNT] = {0};
    bool class_moved[CLASS_COUNT] = {false};
    const Famledger__Posting *payable = NULL; /* a merchant's: at most one an entry */
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < entry->n_postings; i++) {
        const Famledger__Posting *posting = entry->postings[i];
        sum += posting->amount_fen;
        class_sums[posting->account_class] += posting->amount_fen;
        class_moved[posting->account_class] = true;
        /* A personal account's balance lives in its account record (account_move). */
        if (posting->account_class != FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL)
            rc = balance_move(ctx, posting->account_class, posting->id, posting->amount_fen,
                              entry->seq);
        if (posting->account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_MERCHANT_PAYABLE) {
            REQUIRE(!payable);
            payable = posting;
        }
    }
    REQUIRE(rc != 0 || sum == 0); /* double entry: every entry balances */
    if (rc == 0)
        rc = clearing_day_record(ctx, entry, payable);
    /* Each class total moves once per entry, however many of its accounts moved. */
    for (int account_class = 1; rc == 0 && account_class < CLASS_COUNT; account_class++)
        if (class_moved[account_class])
            rc = balance_move(ctx, account_class, "", class_sums[account_class], entry->seq);
    return rc;
}

int books_trial_balance_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    (void)request;
    Famledger__TrialBalanceReply *reply = ARENA_NEW(ctx->arena, Famledger__TrialBalanceReply);
    famledger__trial_balance_reply__init(reply);
    reply->classes = ARENA_ARRAY(ctx->arena, Famledger__Balance *, CLASS_COUNT);
    for (int account_class = 1; account_class < CLASS_COUNT; account_class++) {
        char key[96];
        size_t key_bytes = balance_key(key, sizeof(key), account_class, "");
        Famledger__Balance *total;
        int rc = balance_read(ctx->txn, ctx->arena, key, key_bytes, &total);
        if (rc)
            return request_fail(ctx, rc, "cannot read the total of %s", key);
        if (!total) {
            total = ARENA_NEW(ctx->arena, Famledger__Balance);
            famledger__balance__init(total);
            total->account_class = account_class;
        }
        /* Each class total stays within int64 (balance_move) and they sum to zero: a sum past
         * the largest amount is a damaged total. */
        if (__builtin_add_overflow(reply->total_fen, total->balance_fen, &reply->total_fen)) {
            log_error("books: the class totals sum past the largest amount at %s: a stored total "
                      "is damaged (ledgerctl verify names it)", key);
            return request_fail(ctx, FL_ERR_INTERNAL, "the class totals are damaged");
        }
        reply->classes[reply->n_classes++] = total;
    }
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_TRIAL_BALANCE;
    ctx->response->trial_balance = reply;
    return 0;
}
