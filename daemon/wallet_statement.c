/* wallet_statement.c -- a wallet's statement: every entry that moved it, paged by sequence,
 * with the balance after each (format 11); and the upgrade that links the entries of a ledger
 * written before. */
#include "wallet_statement.h"

#include "books.h"
#include "ledger.h"
#include "log.h"
#include "person.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* What entry `entry` did to the wallet of `person_no`: its postings on the wallet, and where
 * or from whom. A wallet pays for its owner alone: no line names a patient. */
static void wallet_line_fill(const Famledger__Entry *entry, const char *person_no,
                             Famledger__StatementLine *line)
{
    line->seq = entry->seq;
    line->time_us = entry->time_us;
    line->type = (char *)ledger_entry_type_name(entry);
    for (size_t i = 0; i < entry->n_postings; i++) {
        const Famledger__Posting *posting = entry->postings[i];
        if (posting->account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET &&
            strcmp(posting->id, person_no) == 0)
            line->amount_fen += posting->amount_fen;
    }
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_SETTLED: {
        const Famledger__Settlement *settlement = entry->settled->settlement;
        line->reference = settlement->merchant_reference;
        line->merchant = settlement->merchant_code;
        break;
    }
    case FAMLEDGER__ENTRY__BODY_REFUNDED:
        line->reference = entry->refunded->refund->reference;
        line->merchant = entry->refunded->merchant_code;
        break;
    case FAMLEDGER__ENTRY__BODY_REVERSED:
        /* A reversal that found nothing has no refund (nor a posting to link, unless forged). */
        if (entry->reversed->refund)
            line->reference = entry->reversed->refund->reference;
        line->merchant = entry->reversed->request->merchant_code;
        break;
    case FAMLEDGER__ENTRY__BODY_WALLET_SEND_CLOSED:
        line->reference = entry->wallet_send_closed->send->reference;
        line->holder = entry->wallet_send_closed->send->holder;
        break;
    case FAMLEDGER__ENTRY__BODY_WITHDRAWN:
        line->reference = entry->withdrawn->movement->reference;
        break;
    default:
        break;
    }
}

int wallet_statement_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__StatementRequest *query = request->wallet_statement;
    Famledger__Person *person;
    int rc = person_require(ctx, query->person_no, "person", &person);
    if (rc)
        return rc;
    int64_t balance_fen;
    uint64_t head;
    if ((rc = books_balance_last(ctx->txn, ctx->arena,
                                 FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET,
                                 person->person_no, &balance_fen, &head)))
        return request_fail(ctx, rc, "cannot read the wallet of %s", person->person_no);
    size_t limit = query->limit == 0 ? STATEMENT_ROWS_DEFAULT : query->limit;
    if (limit > STATEMENT_ROWS_MAX)
        limit = STATEMENT_ROWS_MAX;

    uint64_t *seqs = ARENA_ARRAY(ctx->arena, uint64_t, limit);
    size_t count = 0;
    Famledger__StatementReply *reply = ARENA_NEW(ctx->arena, Famledger__StatementReply);
    famledger__statement_reply__init(reply);
    if (head && (rc = store_chain_page(ctx->txn, STORE_DB_WALLET_LINKS, person->person_no,
                                       strlen(person->person_no), head, query->cursor,
                                       !query->oldest_first, seqs, limit, &count,
                                       &reply->next_cursor)))
        return request_fail(ctx, rc, "cannot read the wallet statement of %s",
                            person->person_no);

    reply->lines = ARENA_ARRAY(ctx->arena, Famledger__StatementLine *, count ? count : 1);
    for (size_t i = 0; i < count; i++) {
        Famledger__Entry *entry;
        Famledger__StatementLine *line = ARENA_NEW(ctx->arena, Famledger__StatementLine);
        famledger__statement_line__init(line);
        rc = ledger_entry_read(ctx->txn, ctx->arena, seqs[i], &entry);
        if (rc == 1)
            rc = store_wallet_line(ctx->txn, seqs[i], person->person_no,
                                   &line->balance_after_fen);
        if (rc <= 0)
            return request_fail(ctx, FL_ERR_INTERNAL, "entry %llu of the wallet statement of %s "
                                "is unreadable", (unsigned long long)seqs[i], person->person_no);
        wallet_line_fill(entry, person->person_no, line);
        reply->lines[reply->n_lines++] = line;
    }
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_STATEMENT;
    ctx->response->statement = reply;
    return 0;
}

/* ---- the upgrade to format 11 ---- */

/* A move of a wallet by an entry written before format 11. */
struct wallet_move {
    char person_no[PERSON_NO_BYTES_MAX + 1];
    uint64_t seq;
    int64_t amount_fen;
};

struct wallet_fold {
    struct arena arena;
    struct wallet_move *moves;
    size_t count, capacity;
    bool out_of_memory;
    uint64_t entries; /* the log's */
};


/* Every entry of the log: its postings on wallets, kept. */
static int fold_entry(void *context, struct store_bytes key, struct store_bytes value)
{
    struct wallet_fold *fold = context;
    uint64_t seq = key.size == 8 ? store_u64_decode((const uint8_t *)key.data) : 0;
    Famledger__Entry *entry =
        seq && value.size > HASH_BYTES
            ? famledger__entry__unpack(&fold->arena.protobuf, value.size - HASH_BYTES,
                                       (const uint8_t *)value.data + HASH_BYTES)
            : NULL;
    if (!entry) {
        log_error("store: log entry %llu does not decode, and the wallets' statements cannot be "
                  "linked: the ledger is damaged. Restore it from a backup "
                  "(docs/OPERATIONS.md)", (unsigned long long)seq);
        return FL_ERR_INTERNAL;
    }
    for (size_t i = 0; i < entry->n_postings; i++) {
        const Famledger__Posting *posting = entry->postings[i];
        if (posting->account_class != FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET)
            continue;
        size_t bytes = strlen(posting->id);
        if (bytes == 0 || bytes > PERSON_NO_BYTES_MAX) {
            log_error("store: entry %llu posts to the wallet \"%s\", which is no person: the "
                      "ledger is damaged. Restore it from a backup (docs/OPERATIONS.md)",
                      (unsigned long long)seq, posting->id);
            return FL_ERR_INTERNAL;
        }
        if (fold->count == fold->capacity) {
            size_t capacity = fold->capacity ? fold->capacity * 2 : 1024;
            struct wallet_move *moves = realloc(fold->moves, capacity * sizeof(*moves));
            if (!moves) {
                fold->out_of_memory = true;
                return FL_ERR_INTERNAL;
            }
            fold->moves = moves;
            fold->capacity = capacity;
        }
        struct wallet_move *move = &fold->moves[fold->count++];
        memcpy(move->person_no, posting->id, bytes + 1);
        move->seq = seq;
        move->amount_fen = posting->amount_fen;
    }
    arena_reset(&fold->arena);
    if (seq % 4096 == 0)
        upgrade_progress("reading the log for the wallets' statements", seq, fold->entries);
    return 0;
}

static int move_compare(const void *a, const void *b)
{
    const struct wallet_move *x = a, *y = b;
    int order = strcmp(x->person_no, y->person_no);
    return order ? order : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The moves of one wallet, in log order, linked; its balance's head must be the last. */
static int fold_link(struct store_txn *txn, struct arena *arena, const struct wallet_move *moves,
                     size_t count)
{
    const char *person_no = moves[0].person_no;
    uint64_t prev = 0;
    int64_t balance_fen = 0;
    for (size_t i = 0; i < count; i++) {
        if (moves[i].seq == prev || __builtin_add_overflow(balance_fen, moves[i].amount_fen,
                                                           &balance_fen)) {
            log_error("store: entry %llu moves the wallet of %s twice, or past the largest "
                      "amount: the ledger is damaged. Restore it from a backup "
                      "(docs/OPERATIONS.md)", (unsigned long long)moves[i].seq, person_no);
            return FL_ERR_INTERNAL;
        }
        int rc = store_wallet_link(txn, moves[i].seq, person_no, prev, balance_fen);
        if (rc)
            return rc;
        prev = moves[i].seq;
    }
    int64_t stored_fen;
    uint64_t head;
    int rc = books_balance_last(txn, arena, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET,
                                person_no, &stored_fen, &head);
    if (rc == 0 && (head != prev || stored_fen != balance_fen)) {
        log_error("store: the wallet of %s holds %lld fen, last moved by entry %llu; its "
                  "entries give %lld fen, last moved by %llu: the ledger is damaged. Restore it "
                  "from a backup (docs/OPERATIONS.md)", person_no, (long long)stored_fen,
                  (unsigned long long)head, (long long)balance_fen, (unsigned long long)prev);
        rc = FL_ERR_INTERNAL;
    }
    return rc;
}

int wallet_links_fold(struct store_txn *txn)
{
    struct wallet_fold fold = {.moves = NULL};
    uint64_t started_ns = uv_hrtime();
    arena_init(&fold.arena);
    int rc = store_records(txn, STORE_DB_LOG, &fold.entries);
    upgrade_progress("reading the log for the wallets' statements", 0, fold.entries);
    if (rc == 0)
        rc = store_scan(txn, STORE_DB_LOG, NULL, 0, (struct store_bytes){NULL, 0}, SIZE_MAX,
                        fold_entry, &fold);
    if (fold.out_of_memory)
        log_error("store: out of memory while linking the wallets' statements (%zu moves)",
                  fold.count);
    size_t wallets = 0;
    if (rc == 0 && fold.count) {
        qsort(fold.moves, fold.count, sizeof(*fold.moves), move_compare);
        for (size_t first = 0, i = 1; rc == 0 && i <= fold.count; i++)
            if (i == fold.count || strcmp(fold.moves[i].person_no,
                                          fold.moves[first].person_no) != 0) {
                rc = fold_link(txn, &fold.arena, fold.moves + first, i - first);
                arena_reset(&fold.arena);
                first = i;
                wallets++;
            }
    }
    if (rc == 0)
        log_info("store: wallets' statements as chains: %zu links, %zu wallets, from the log "
                 "in %llu ms", fold.count, wallets,
                 (unsigned long long)((uv_hrtime() - started_ns) / 1000000));
    free(fold.moves);
    arena_free(&fold.arena);
    return rc;
}
