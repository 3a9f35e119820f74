/* wallet.c -- the medical-insurance wallet: send, accept, decline, return, show. */
#include "wallet.h"

#include "account.h"
#include "books.h"
#include "due.h"
#include "family.h"
#include "fl_limits.h"
#include "ledger.h"
#include "log.h"
#include "person.h"
#include "reference.h"
#include "require.h"
#include "state.h"
#include "validate.h"

#include <string.h>
#include <time.h>

int wallet_load(struct request_ctx *ctx, const char *person_no, Famledger__Wallet **wallet)
{
    int rc = state_record_get(ctx->txn, ctx->arena, STORE_DB_WALLETS, person_no,
                              strlen(person_no), &famledger__wallet__descriptor,
                              (ProtobufCMessage **)wallet);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read the wallet of %s", person_no);
    if (rc == 0) {
        *wallet = ARENA_NEW(ctx->arena, Famledger__Wallet);
        famledger__wallet__init(*wallet);
        (*wallet)->person_no = arena_strdup(ctx->arena, person_no);
    }
    return 0;
}

int wallet_store(struct request_ctx *ctx, const Famledger__Wallet *wallet)
{
    return state_message_put(ctx->txn, ctx->arena, STORE_DB_WALLETS, wallet->person_no,
                             strlen(wallet->person_no), &wallet->base);
}

int wallet_available(struct request_ctx *ctx, const char *person_no, int64_t *balance_fen,
                     int64_t *available_fen)
{
    Famledger__Wallet *wallet;
    int rc = books_balance_get(ctx->txn, ctx->arena, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET,
                               person_no, balance_fen);
    if (rc)
        return request_fail(ctx, rc, "cannot read the wallet of %s", person_no);
    *available_fen = 0;
    if (*balance_fen == 0) /* most people: no wallet money, nothing held, no second read */
        return 0;
    if ((rc = wallet_load(ctx, person_no, &wallet)))
        return rc;
    *available_fen = *balance_fen - wallet->held_fen;
    if (*available_fen < 0 || wallet->held_fen < 0)
        return request_fail(ctx, FL_ERR_INTERNAL, "the wallet of %s holds %lld fen of %lld: "
                            "damaged", person_no, (long long)wallet->held_fen,
                            (long long)*balance_fen);
    return 0;
}

static int send_load(struct request_ctx *ctx, uint64_t send_id, Famledger__WalletSend **send)
{
    uint8_t key[8];
    store_u64_encode(key, send_id);
    int rc = state_record_get(ctx->txn, ctx->arena, STORE_DB_WALLET_SENDS, key, sizeof(key),
                              &famledger__wallet_send__descriptor, (ProtobufCMessage **)send);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read wallet send %llu", (unsigned long long)send_id);
    if (rc == 0)
        return request_fail(ctx, FL_ERR_UNKNOWN_WALLET_SEND, "no wallet send %llu",
                            (unsigned long long)send_id);
    /* Data read from disk is checked, not trusted: its amount moves money when it closes. */
    if ((*send)->send_id != send_id || !validate_amount_fen((*send)->amount_fen) ||
        !validate_person_no((*send)->holder) || !validate_person_no((*send)->beneficiary)) {
        log_error("wallet: the stored wallet send %llu is damaged (ledgerctl verify names it)",
                  (unsigned long long)send_id);
        return request_fail(ctx, FL_ERR_INTERNAL, "wallet send %llu is damaged",
                            (unsigned long long)send_id);
    }
    return 0;
}

static int send_store(struct request_ctx *ctx, const Famledger__WalletSend *send)
{
    uint8_t key[8];
    store_u64_encode(key, send->send_id);
    return state_message_put(ctx->txn, ctx->arena, STORE_DB_WALLET_SENDS, key, sizeof(key),
                             &send->base);
}

/* Business time: minutes after midnight, and the moment the return time comes on the next
 * calendar day (mktime handles month ends and daylight saving, where a zone has it). */
static unsigned business_minute(int64_t time_us)
{
    time_t seconds = (time_t)(time_us / 1000000);
    struct tm local;
    localtime_r(&seconds, &local);
    return (unsigned)(local.tm_hour * 60 + local.tm_min);
}

static int64_t next_day_at(int64_t time_us, unsigned minute)
{
    time_t seconds = (time_t)(time_us / 1000000);
    struct tm local;
    localtime_r(&seconds, &local);
    local.tm_mday += 1;
    local.tm_hour = (int)(minute / 60);
    local.tm_min = (int)(minute % 60);
    local.tm_sec = 0;
    local.tm_isdst = -1;
    return (int64_t)mktime(&local) * 1000000;
}

/* Whether `now` (minutes after midnight) falls in the quiet hours from `start` to `end`. */
static bool quiet_at(unsigned start, unsigned end, unsigned now)
{
    if (start == end)
        return false;
    return start < end ? now >= start && now < end : now >= start || now < end;
}

static int wallet_send_reply(struct request_ctx *ctx, Famledger__WalletSend *send)
{
    Famledger__WalletSendReply *reply = ARENA_NEW(ctx->arena, Famledger__WalletSendReply);
    famledger__wallet_send_reply__init(reply);
    reply->send = send;
    Famledger__Account *account;
    int rc = state_account_get(ctx->txn, ctx->arena, send->holder, &account);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read the account of %s", send->holder);
    reply->holder_balance_fen = rc ? account->balance_fen : 0;
    if ((rc = books_balance_get(ctx->txn, ctx->arena, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET,
                                send->beneficiary, &reply->wallet_balance_fen)))
        return request_fail(ctx, rc, "cannot read the wallet of %s", send->beneficiary);
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_WALLET_SEND;
    ctx->response->wallet_send = reply;
    return 0;
}

static int send_validate(struct request_ctx *ctx, const Famledger__WalletSendRequest *in)
{
    if (!validate_person_no(in->holder) || !validate_person_no(in->beneficiary))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "holder and beneficiary must be 1 to 32 letters or digits");
    if (strcmp(in->holder, in->beneficiary) == 0)
        return request_fail(ctx, FL_ERR_SELF_BINDING, "a holder cannot send to their own wallet");
    if (!validate_reference(in->reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "reference must be 1 to 64 printable ASCII characters");
    if (!validate_amount_fen(in->amount_fen))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "amount must be positive and at most 100000000.00 yuan");
    return 0;
}

/* The national rules, in the order a holder meets them (docs/POLICY.md, "The wallet"), as
 * the region of the holder sets them. */
static int send_rules(struct request_ctx *ctx, const Famledger__WalletSendRequest *send,
                      const char *region, const Famledger__Wallet *holder_wallet,
                      unsigned sends_today)
{
    const struct config *config = ctx->config;
    uint64_t send_max = CONFIG_REGIONAL(config, wallet_send_max_fen, region);
    if ((uint64_t)send->amount_fen > send_max)
        return request_fail(ctx, FL_ERR_WALLET_SEND_LIMIT, "a wallet send carries at most %s "
                            "yuan", request_yuan(ctx, (int64_t)send_max));
    unsigned start = (unsigned)CONFIG_REGIONAL(config, wallet_quiet_start_min, region);
    unsigned end = (unsigned)CONFIG_REGIONAL(config, wallet_quiet_end_min, region);
    if (quiet_at(start, end, business_minute(ctx->time_us)))
        return request_fail(ctx, FL_ERR_WALLET_QUIET_HOURS, "no wallet sends from %02u:%02u to "
                            "%02u:%02u", start / 60, start % 60, end / 60, end % 60);
    if (holder_wallet->pending_out)
        return request_fail(ctx, FL_ERR_WALLET_SEND_PENDING, "send %llu of %s still waits to be "
                            "accepted; another may start when it is accepted, declined or "
                            "returned", (unsigned long long)holder_wallet->pending_out,
                            send->holder);
    if (sends_today >= CONFIG_REGIONAL(config, wallet_sends_per_day, region))
        return request_fail(ctx, FL_ERR_WALLET_DAILY_LIMIT, "%s made %u wallet sends today, the "
                            "most a day allows", send->holder, sends_today);
    return 0;
}

/* Who may send and receive: an open account of a living holder, a living beneficiary, bound
 * to the holder unless the policy of the holder's region allows sends without a binding. */
static int send_parties(struct request_ctx *ctx, const Famledger__WalletSendRequest *send,
                        Famledger__Person **holder, Famledger__Account **account)
{
    Famledger__Person *beneficiary;
    int rc = account_require(ctx, send->holder, "holder", holder, account);
    if (rc || (rc = person_require(ctx, send->beneficiary, "beneficiary", &beneficiary)))
        return rc;
    if ((*holder)->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED ||
        beneficiary->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED)
        return request_fail(ctx, FL_ERR_PERSON_DECEASED, "%s is deceased",
                            (*holder)->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED
                                ? send->holder
                                : send->beneficiary);
    if ((rc = person_require_insured(ctx, beneficiary)))
        return rc;
    if ((*account)->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return request_fail(ctx, FL_ERR_ACCOUNT_CLOSED, "the account of %s is closed",
                            send->holder);
    if ((*account)->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_FROZEN)
        return request_fail(ctx, FL_ERR_ACCOUNT_FROZEN, "the account of %s is frozen",
                            send->holder);
    if (CONFIG_REGIONAL(ctx->config, wallet_requires_binding, (*holder)->region) &&
        (rc = family_bound(ctx->txn, ctx->arena, send->holder, send->beneficiary)) != 1)
        return rc < 0 ? request_fail(ctx, rc, "cannot read bindings")
                      : request_fail(ctx, FL_ERR_NOT_BOUND, "%s has not bound %s; a wallet send "
                                     "goes to a bound relative", send->holder,
                                     send->beneficiary);
    int64_t available = (*account)->balance_fen - (*account)->held_fen;
    if (available < send->amount_fen)
        return request_fail(ctx, FL_ERR_INSUFFICIENT_FUNDS, "the account of %s has %s yuan "
                            "available", send->holder, request_yuan(ctx, available));
    return 0;
}

static int send_record(struct request_ctx *ctx, Famledger__WalletSendRequest *command,
                       Famledger__Account *account, Famledger__Wallet *holder_wallet,
                       Famledger__WalletSend *send)
{
    Famledger__Wallet *beneficiary_wallet;
    int rc = wallet_load(ctx, command->beneficiary, &beneficiary_wallet);
    if (rc)
        return rc;
    if (beneficiary_wallet->n_pending_in >= WALLET_PENDING_IN_MAX)
        return request_fail(ctx, FL_ERR_WALLET_SEND_PENDING, "%d sends to %s wait already",
                            WALLET_PENDING_IN_MAX, command->beneficiary);
    Famledger__WalletSent sent = FAMLEDGER__WALLET_SENT__INIT;
    sent.request = command;
    sent.send = send;
    sent.balance_after_fen = account->balance_fen - command->amount_fen;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_WALLET_SENT;
    entry.wallet_sent = &sent;
    books_post(ctx, &entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL, command->holder,
               -command->amount_fen);
    books_post(ctx, &entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET_PENDING,
               command->holder, command->amount_fen);
    if ((rc = ledger_append(ctx, &entry)) ||
        (rc = account_move(ctx, account, -command->amount_fen, entry.seq)))
        return request_fail(ctx, rc, "cannot record the wallet send");
    send->send_id = entry.seq;
    holder_wallet->pending_out = entry.seq;
    uint64_t *pending = ARENA_ARRAY(ctx->arena, uint64_t, beneficiary_wallet->n_pending_in + 1);
    if (beneficiary_wallet->n_pending_in)
        memcpy(pending, beneficiary_wallet->pending_in,
               beneficiary_wallet->n_pending_in * sizeof(*pending));
    pending[beneficiary_wallet->n_pending_in++] = entry.seq;
    beneficiary_wallet->pending_in = pending;
    if ((rc = send_store(ctx, send)) || (rc = wallet_store(ctx, holder_wallet)) ||
        (rc = wallet_store(ctx, beneficiary_wallet)) ||
        (rc = due_add(ctx->txn, send->return_at_us, DUE_WALLET_RETURN, entry.seq)))
        return request_fail(ctx, rc, "cannot record the wallet send");
    return 0;
}

int wallet_send_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__WalletSendRequest *in = request->wallet_send;
    int rc = send_validate(ctx, in);
    if (rc)
        return rc;
    Famledger__WalletSendRequest *command = ARENA_NEW(ctx->arena, Famledger__WalletSendRequest);
    famledger__wallet_send_request__init(command);
    command->holder = arena_strdup(ctx->arena, in->holder);
    command->beneficiary = arena_strdup(ctx->arena, in->beneficiary);
    command->amount_fen = in->amount_fen;
    command->reference = arena_strdup(ctx->arena, in->reference);
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    uint64_t seq;
    rc = reference_lookup(ctx, 'E', "", command->reference, &command->base, &key, fingerprint,
                          &seq);
    if (rc < 0)
        return rc;
    Famledger__WalletSend *send;
    if (rc == 1) { /* a retry: the send as it stands now */
        ctx->response->replayed = 1;
        if ((rc = send_load(ctx, seq, &send)))
            return rc;
        return wallet_send_reply(ctx, send);
    }
    Famledger__Person *holder;
    Famledger__Account *account;
    Famledger__Wallet *holder_wallet;
    if ((rc = send_parties(ctx, command, &holder, &account)) ||
        (rc = wallet_load(ctx, command->holder, &holder_wallet)))
        return rc;
    char today[9];
    ledger_business_day(ctx->time_us, today);
    bool same_day = strcmp(holder_wallet->send_day, today) == 0;
    unsigned sends_today = same_day ? holder_wallet->sends_on_day : 0;
    if ((rc = send_rules(ctx, command, holder->region, holder_wallet, sends_today)))
        return rc;
    holder_wallet->send_day = arena_strdup(ctx->arena, today);
    holder_wallet->sends_on_day = sends_today + 1;
    send = ARENA_NEW(ctx->arena, Famledger__WalletSend);
    famledger__wallet_send__init(send);
    send->holder = command->holder;
    send->beneficiary = command->beneficiary;
    send->amount_fen = command->amount_fen;
    send->reference = command->reference;
    send->sent_us = ctx->time_us;
    send->return_at_us = next_day_at(ctx->time_us, (unsigned)ctx->config->wallet_return_min);
    send->state = FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_PENDING;
    if ((rc = send_record(ctx, command, account, holder_wallet, send)))
        return rc;
    if ((rc = reference_record(ctx->txn, &key, fingerprint, send->send_id)))
        return request_fail(ctx, rc, "cannot record the wallet send");
    return wallet_send_reply(ctx, send);
}

static void pending_in_remove(Famledger__Wallet *wallet, uint64_t send_id)
{
    size_t kept = 0;
    for (size_t i = 0; i < wallet->n_pending_in; i++)
        if (wallet->pending_in[i] != send_id)
            wallet->pending_in[kept++] = wallet->pending_in[i];
    wallet->n_pending_in = kept;
}

/* The money of a waiting send goes where `state` says: into the beneficiary's wallet, or back
 * to the holder's account (as cash owed, when that account has closed meanwhile). */
static int send_close(struct request_ctx *ctx, Famledger__WalletSend *send,
                      Famledger__WalletSendState state)
{
    REQUIRE(send->state == FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_PENDING);
    Famledger__Account *account = NULL;
    int rc = 0;
    bool accepted = state == FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_ACCEPTED;
    if (!accepted && (rc = state_account_get(ctx->txn, ctx->arena, send->holder, &account)) < 0)
        return request_fail(ctx, rc, "cannot read the account of %s", send->holder);
    send->state = state;
    send->cash_refund_due =
        !accepted && (!account || account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED);
    if (!accepted && !send->cash_refund_due &&
        (rc = account_may_receive(ctx, account, send->amount_fen)))
        return rc;
    Famledger__WalletSendClosed closed = FAMLEDGER__WALLET_SEND_CLOSED__INIT;
    closed.send = send;
    if (!accepted && !send->cash_refund_due)
        closed.balance_after_fen = account->balance_fen + send->amount_fen;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_WALLET_SEND_CLOSED;
    entry.wallet_send_closed = &closed;
    books_post(ctx, &entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET_PENDING, send->holder,
               -send->amount_fen);
    books_post(ctx, &entry,
               accepted                ? FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET
               : send->cash_refund_due ? FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE
                                       : FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL,
               accepted ? send->beneficiary : send->holder, send->amount_fen);
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot record the wallet send");
    if (!accepted && !send->cash_refund_due &&
        (rc = account_move(ctx, account, send->amount_fen, entry.seq)))
        return request_fail(ctx, rc, "cannot return the wallet send");
    send->closed_seq = entry.seq;
    Famledger__Wallet *holder_wallet, *beneficiary_wallet;
    if ((rc = wallet_load(ctx, send->holder, &holder_wallet)) ||
        (rc = wallet_load(ctx, send->beneficiary, &beneficiary_wallet)))
        return rc;
    if (holder_wallet->pending_out == send->send_id)
        holder_wallet->pending_out = 0;
    pending_in_remove(beneficiary_wallet, send->send_id);
    if ((rc = send_store(ctx, send)) || (rc = wallet_store(ctx, holder_wallet)) ||
        (rc = wallet_store(ctx, beneficiary_wallet)) ||
        (rc = due_delete(ctx->txn, send->return_at_us, DUE_WALLET_RETURN, send->send_id)))
        return request_fail(ctx, rc, "cannot record the wallet send");
    return 0;
}

static const char *send_state_name(Famledger__WalletSendState state)
{
    switch (state) {
    case FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_PENDING: return "waiting";
    case FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_ACCEPTED: return "accepted";
    case FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_DECLINED: return "declined";
    case FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_RETURNED: return "returned";
    default: return "unknown";
    }
}

/* Whether the beneficiary may accept a waiting send: a gift is made when it is accepted, so
 * both parties and their binding must still be what the send required. A holder who died
 * since leaves it to the heirs (it returns, as cash owed once the account has closed); a
 * binding ended since (a divorce, say) withdrew it. Refused, the send returns at its time. */
static int send_acceptable(struct request_ctx *ctx, const Famledger__WalletSend *send)
{
    Famledger__Person *holder, *beneficiary;
    int rc;
    if ((rc = person_require(ctx, send->holder, "holder", &holder)) ||
        (rc = person_require(ctx, send->beneficiary, "beneficiary", &beneficiary)))
        return rc;
    const Famledger__Person *dead =
        beneficiary->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED ? beneficiary
        : holder->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED    ? holder
                                                                         : NULL;
    if (dead)
        return request_fail(ctx, FL_ERR_PERSON_DECEASED, "%s is deceased; the send returns to %s",
                            dead->person_no, dead == holder ? "the holder's heirs" : send->holder);
    if ((rc = person_require_insured(ctx, beneficiary)))
        return rc;
    if (CONFIG_REGIONAL(ctx->config, wallet_requires_binding, holder->region) &&
        (rc = family_bound(ctx->txn, ctx->arena, send->holder, send->beneficiary)) != 1)
        return rc < 0 ? request_fail(ctx, rc, "cannot read bindings")
                      : request_fail(ctx, FL_ERR_NOT_BOUND, "%s no longer funds %s; the send "
                                     "returns to %s", send->holder, send->beneficiary,
                                     send->holder);
    return 0;
}

/* Accept or decline by the send's reference; a retry of what was done answers it again. */
static int send_answer(struct request_ctx *ctx, const Famledger__WalletSendCloseRequest *in,
                       Famledger__WalletSendState state)
{
    if (!validate_reference(in->reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "reference must be 1 to 64 printable ASCII characters");
    struct reference_key key;
    reference_key_make(&key, 'E', "", in->reference);
    uint64_t send_id;
    int rc = reference_seq_find(ctx->txn, &key, &send_id);
    if (rc <= 0)
        return rc < 0 ? request_fail(ctx, rc, "cannot read reference %s", in->reference)
                      : request_fail(ctx, FL_ERR_UNKNOWN_WALLET_SEND, "no wallet send %s",
                                     in->reference);
    Famledger__WalletSend *send;
    if ((rc = send_load(ctx, send_id, &send)))
        return rc;
    if (send->state == state) {
        ctx->response->replayed = 1;
        return wallet_send_reply(ctx, send);
    }
    if (send->state != FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_PENDING)
        return request_fail(ctx, FL_ERR_WALLET_SEND_CLOSED, "wallet send %s was %s (entry %llu)",
                            in->reference, send_state_name(send->state),
                            (unsigned long long)send->closed_seq);
    if (state == FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_ACCEPTED &&
        (rc = send_acceptable(ctx, send)))
        return rc;
    if ((rc = send_close(ctx, send, state)))
        return rc;
    return wallet_send_reply(ctx, send);
}

int wallet_accept_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    return send_answer(ctx, request->wallet_accept,
                       FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_ACCEPTED);
}

int wallet_decline_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    return send_answer(ctx, request->wallet_decline,
                       FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_DECLINED);
}

int wallet_send_return(struct request_ctx *ctx, uint64_t send_id)
{
    Famledger__WalletSend *send;
    int rc = send_load(ctx, send_id, &send);
    if (rc)
        return rc;
    if (send->state != FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_PENDING) {
        /* Closed already: its timer should have gone with it. Drop the stray timer. */
        rc = due_delete(ctx->txn, send->return_at_us, DUE_WALLET_RETURN, send_id);
        return rc ? request_fail(ctx, rc, "cannot drop the timer of send %llu",
                                 (unsigned long long)send_id)
                  : 0;
    }
    return send_close(ctx, send, FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_RETURNED);
}

static int sends_load(struct request_ctx *ctx, const uint64_t *ids, size_t count,
                      Famledger__WalletSend ***sends)
{
    *sends = ARENA_ARRAY(ctx->arena, Famledger__WalletSend *, count ? count : 1);
    for (size_t i = 0; i < count; i++) {
        int rc = send_load(ctx, ids[i], &(*sends)[i]);
        if (rc)
            return rc;
    }
    return 0;
}

int wallet_get_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__Person *person;
    Famledger__Wallet *wallet;
    int rc = person_require(ctx, request->wallet_get->person_no, "person", &person);
    if (rc || (rc = wallet_load(ctx, person->person_no, &wallet)))
        return rc;
    Famledger__WalletReply *reply = ARENA_NEW(ctx->arena, Famledger__WalletReply);
    famledger__wallet_reply__init(reply);
    reply->person_no = person->person_no;
    reply->held_fen = wallet->held_fen;
    if ((rc = books_balance_get(ctx->txn, ctx->arena, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET,
                                person->person_no, &reply->balance_fen)))
        return request_fail(ctx, rc, "cannot read the wallet of %s", person->person_no);
    if ((rc = sends_load(ctx, &wallet->pending_out, wallet->pending_out ? 1 : 0,
                         &reply->sends_out)) ||
        (rc = sends_load(ctx, wallet->pending_in, wallet->n_pending_in, &reply->sends_in)))
        return rc;
    reply->n_sends_out = wallet->pending_out ? 1 : 0;
    reply->n_sends_in = wallet->n_pending_in;
    char today[9];
    ledger_business_day(request_clock_us(), today);
    reply->sends_today = strcmp(wallet->send_day, today) == 0 ? wallet->sends_on_day : 0;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_WALLET;
    ctx->response->wallet = reply;
    return 0;
}
