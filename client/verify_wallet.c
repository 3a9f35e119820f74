/* verify_wallet.c -- verify's replay of two-phase money: wallet sends, holds, aid limits.
 *
 * The replay keeps what is open (waiting sends, open holds, reservations, each person's wallet
 * state) and expects, as keyed digests, every record of the wallets, wallet_sends, holds,
 * timers and aid_limits tables; verify_compare reads the stored ones and names any key that
 * differs, both ways. The mutual-aid counts are kept with the holder's person, and compared
 * with the aid_usage of their stored account.
 */
#include "verify_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMER_KEY_BYTES 17
#define PAIR_KEY_BYTES (2 * (FL_PERSON_NO_MAX + 1) + 8)

static void u64_encode(uint8_t out[8], uint64_t value)
{
    for (int i = 7; i >= 0; i--, value >>= 8)
        out[i] = (uint8_t)value;
}


#define TEXT_MAX 2048 /* a wallet lists up to 64 waiting sends */

static void render(char text[TEXT_MAX], const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* The fields of a record as one text, '|' between them, each text after its length: a stored
 * record may hold any bytes in its texts, '|' too, and no two records render alike. */
static void render(char text[TEXT_MAX], const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(text, TEXT_MAX, format, args);
    va_end(args);
}

/* ---- the digests, the same on both sides: an item of one field, the record's text under
 * the verify's key ---- */

static struct table_digest_item send_digest(const struct verify *v,
                                            const Famledger__WalletSend *send,
                                            uint64_t closed_seq)
{
    char text[TEXT_MAX];
    render(text, "%zu:%s|%zu:%s|%lld|%zu:%s|%lld|%lld|%d|%llu|%d", strlen(send->holder),
           send->holder, strlen(send->beneficiary), send->beneficiary,
           (long long)send->amount_fen, strlen(send->reference), send->reference,
           (long long)send->sent_us, (long long)send->return_at_us, (int)send->state,
           (unsigned long long)closed_seq, (int)send->cash_refund_due);
    return table_digest_one(verify_text_item(v, text));
}

static struct table_digest_item hold_digest(const struct verify *v, int state,
                                            uint64_t closed_seq, uint64_t whole)
{
    char text[TEXT_MAX];
    render(text, "%d|%llu|%llu", state, (unsigned long long)closed_seq,
           (unsigned long long)whole);
    return table_digest_one(verify_text_item(v, text));
}

/* The keyed hash of a hold as it was placed, its id `hold_id`: its request, quote and expiry,
 * which no later entry changes (its state and closing are the digest's other fields). */
static uint64_t hold_whole(const struct verify *v, const Famledger__Hold *hold, uint64_t hold_id)
{
    Famledger__Hold placed = *hold;
    placed.hold_id = hold_id;
    placed.state = FAMLEDGER__HOLD_STATE__HOLD_OPEN;
    placed.closed_seq = 0;
    return table_digest_message(&v->digest_key, &placed.base);
}

static struct table_digest_item limit_digest(int64_t monthly_fen, int64_t yearly_fen)
{
    return (struct table_digest_item){.count = 2,
                                      .fields = {(uint64_t)monthly_fen, (uint64_t)yearly_fen}};
}

static struct table_digest_item wallet_digest(const struct verify *v, uint64_t pending_out,
                                              const uint64_t *pending_in, size_t count,
                                              const char *send_day, unsigned sends_on_day,
                                              int64_t held_fen)
{
    char in[FL_WALLET_PENDING_MAX * 21 + 1] = "";
    size_t used = 0;
    for (size_t i = 0; i < count && used < sizeof(in) - 22; i++)
        used += (size_t)snprintf(in + used, sizeof(in) - used, "%llu,",
                                 (unsigned long long)pending_in[i]);
    char text[TEXT_MAX];
    /* The count, in case a damaged record lists more sends than the text holds. */
    render(text, "%llu|%zu:%s|%zu:%s|%u|%lld", (unsigned long long)pending_out, count, in,
           strlen(send_day), send_day, sends_on_day, (long long)held_fen);
    return table_digest_one(verify_text_item(v, text));
}

/* The legs of a settlement, to match a hold's capture with its placing: both come from the
 * log, whose chain covers them, so this hash is not keyed. */
static uint64_t legs_digest(const Famledger__Settlement *settlement)
{
    uint64_t hash = 0;
    for (size_t i = 0; i < settlement->n_legs; i++) {
        const Famledger__Leg *leg = settlement->legs[i];
        char text[TEXT_MAX];
        render(text, "%s|%lld|%d|%d", leg->holder, (long long)leg->amount_fen, (int)leg->wallet,
               (int)leg->mutual_aid);
        hash = hash * 31 + verify_text_hash(text);
    }
    return hash;
}

static size_t pair_key(uint8_t *key, const char *holder, const char *beneficiary)
{
    int bytes = snprintf((char *)key, PAIR_KEY_BYTES, "%s%c%s", holder, '\0', beneficiary);
    return bytes > 0 ? (size_t)bytes : 0;
}

static void timer_key(uint8_t key[TIMER_KEY_BYTES], int64_t due_us, char kind, uint64_t id)
{
    u64_encode(key, (uint64_t)due_us);
    key[8] = (uint8_t)kind;
    u64_encode(key + 9, id);
}

/* ---- the model ---- */

static struct model_person *person_of(struct verify *v, uint64_t seq, const char *person_no)
{
    struct model_person *person = verify_person_find(v, person_no, false);
    if (!person)
        verify_problem(v, seq, "entry names %s, who is not registered", person_no);
    return person;
}

/* The person's wallet, made empty when the log first touches it; NULL when out of memory. */
static struct model_wallet *wallet_of(struct verify *v, struct model_person *person)
{
    struct model_person_extra *extra = verify_person_extra(person);
    if (extra && !extra->wallet)
        extra->wallet = calloc(1, sizeof(*extra->wallet));
    if (!extra || !extra->wallet)
        v->out_of_memory = true;
    return extra ? extra->wallet : NULL;
}

static int wallet_move(struct verify *v, uint64_t seq, struct model_person *person,
                       int64_t delta_fen, const int64_t *balance_after_fen)
{
    struct model_wallet *wallet = wallet_of(v, person);
    if (!wallet)
        return -1;
    if (__builtin_add_overflow(wallet->fen, delta_fen, &wallet->fen))
        return verify_problem(v, seq, "the wallet of %s would pass the largest amount",
                              person->person_no);
    if (wallet->fen < wallet->held_fen)
        return verify_problem(v, seq, "the wallet of %s would hold %lld fen, less than the %lld "
                              "its holds reserve", person->person_no, (long long)wallet->fen,
                              (long long)wallet->held_fen);
    if (balance_after_fen && *balance_after_fen != wallet->fen)
        return verify_problem(v, seq, "entry says the wallet of %s holds %lld fen after it; "
                              "replay gives %lld", person->person_no,
                              (long long)*balance_after_fen, (long long)wallet->fen);
    /* Each entry that moves the wallet is a link of its statement (a move of nothing posts
     * nothing), once: the daemon's books link it as they move the balance. */
    if (delta_fen == 0)
        return 0;
    if (wallet->last_seq >= seq)
        return verify_problem(v, seq, "entry moves the wallet of %s a second time",
                              person->person_no);
    verify_expect_item(v, INDEX_WALLET_LINKS, person->person_no, strlen(person->person_no),
                       table_digest_wallet_link(seq, wallet->last_seq, wallet->fen));
    wallet->last_seq = seq;
    return 0;
}

/* Count `delta_fen` in `period` against a count held for `*held` (daemon/aid.c). */
static void usage_count(uint32_t *held, int64_t *fen, uint32_t period, int64_t delta_fen)
{
    if (period < *held)
        return;
    int64_t from = period == *held ? *fen : 0, sum;
    *held = period;
    /* Past INT64_MAX (a forged log's amounts) it stays there: no daemon stores that much, so
     * the comparison names it. */
    if (__builtin_add_overflow(from, delta_fen, &sum))
        sum = delta_fen > 0 ? INT64_MAX : 0;
    *fen = sum < 0 ? 0 : sum;
}

/* Room for one more of the holder's mutual-aid counts: 0, or -1 when out of memory. Most
 * holders fund one relative, whose count is in the extra itself (aid_first), a cache line fewer
 * a leg than an array of its own; a second moves them to one. */
static int aid_grow(struct model_person_extra *extra)
{
    if (!extra->aid || (extra->aid == &extra->aid_first && extra->aid_count == 0)) {
        extra->aid = &extra->aid_first;
        return 0;
    }
    size_t bytes = (extra->aid_count + 1) * sizeof(*extra->aid);
    struct model_aid *grown;
    if (extra->aid == &extra->aid_first) {
        if ((grown = malloc(bytes)))
            memcpy(grown, &extra->aid_first, sizeof(extra->aid_first));
    } else {
        grown = realloc(extra->aid, bytes);
    }
    if (!grown)
        return -1;
    extra->aid = grown;
    return 0;
}

/* Mutual aid counted (delta > 0) or given back, in the month and year of `time_us`, as the
 * daemon keeps it in the holder's account: the latest month and year per relative, never below
 * zero, none once both are zero, none of an earlier year than the move's (daemon/aid.c). */
static void usage_move(struct verify *v, const char *holder_no, const char *beneficiary_no,
                       int64_t time_us, int64_t delta_fen)
{
    struct model_person *holder = verify_person_find(v, holder_no, false);
    const struct model_person *beneficiary = verify_person_find(v, beneficiary_no, false);
    if (!holder || !beneficiary || delta_fen == 0)
        return; /* an unknown person is named where the leg is replayed */
    char day[9];
    verify_business_day(v, time_us, day);
    uint32_t month = 0;
    for (int i = 0; i < 6; i++)
        month = month * 10 + (uint32_t)(day[i] - '0');
    uint32_t year = month / 100;
    /* Nothing to count against or give back to: no extra is made for it. */
    if (!holder->extra && delta_fen <= 0)
        return;
    struct model_person_extra *extra = verify_person_extra(holder);
    if (!extra) {
        v->out_of_memory = true;
        return;
    }
    struct model_aid *usage = NULL;
    for (size_t i = 0; i < extra->aid_count && !usage; i++)
        if (extra->aid[i].beneficiary == beneficiary)
            usage = &extra->aid[i];
    if (!usage && delta_fen > 0 && aid_grow(extra) != 0) {
        v->out_of_memory = true;
        return;
    }
    if (!usage && delta_fen > 0) {
        usage = &extra->aid[extra->aid_count++];
        *usage = (struct model_aid){.beneficiary = beneficiary};
    }
    if (usage) {
        usage_count(&usage->month, &usage->month_fen, month, delta_fen);
        usage_count(&usage->year, &usage->year_fen, year, delta_fen);
    }
    size_t kept = 0;
    for (size_t i = 0; i < extra->aid_count; i++)
        if (extra->aid[i].year >= year &&
            (extra->aid[i].month_fen != 0 || extra->aid[i].year_fen != 0))
            extra->aid[kept++] = extra->aid[i];
    extra->aid_count = kept;
}

int verify_aid_compare(struct verify *v, const struct model_person *holder,
                       const Famledger__Account *stored)
{
    const struct model_aid *aid = holder->extra ? holder->extra->aid : NULL;
    size_t aid_count = holder->extra ? holder->extra->aid_count : 0;
    for (size_t i = 0; i < stored->n_aid_usage; i++) {
        const Famledger__AidUsage *usage = stored->aid_usage[i];
        const struct model_aid *model = NULL;
        for (size_t j = 0; j < aid_count && !model; j++)
            if (strcmp(aid[j].beneficiary->person_no, usage->beneficiary) == 0)
                model = &aid[j];
        if (!model)
            return verify_problem(v, stored->last_seq, "account %s: mutual aid to %s stored as "
                                  "counted; the log counts none", holder->person_no,
                                  usage->beneficiary);
        if (model->month != usage->month || model->month_fen != usage->month_fen ||
            model->year != usage->year || model->year_fen != usage->year_fen)
            return verify_problem(v, stored->last_seq, "account %s: mutual aid to %s stored as "
                                  "%lld fen in %u and %lld fen in %u; the log gives %lld fen "
                                  "in %u and %lld fen in %u",
                                  holder->person_no, usage->beneficiary,
                                  (long long)usage->month_fen, usage->month,
                                  (long long)usage->year_fen, usage->year,
                                  (long long)model->month_fen, model->month,
                                  (long long)model->year_fen, model->year);
    }
    /* Each stored count matched one of the log's; the log's that are left are missing. */
    for (size_t j = 0; j < aid_count; j++) {
        bool found = false;
        for (size_t i = 0; i < stored->n_aid_usage && !found; i++)
            found = strcmp(aid[j].beneficiary->person_no, stored->aid_usage[i]->beneficiary) == 0;
        if (!found || stored->n_aid_usage != aid_count)
            return verify_problem(v, stored->last_seq, "account %s: %zu relatives' mutual aid "
                                  "stored; the log counts %zu (%s %s)", holder->person_no,
                                  stored->n_aid_usage, aid_count, aid[j].beneficiary->person_no,
                                  found ? "among them" : "missing");
    }
    return 0;
}

static int pending_in_add(struct model_wallet *wallet, uint64_t id)
{
    uint64_t *grown = realloc(wallet->pending_in, (wallet->pending_in_count + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    wallet->pending_in = grown;
    wallet->pending_in[wallet->pending_in_count++] = id;
    return 0;
}

static void pending_in_remove(struct model_wallet *wallet, uint64_t id)
{
    size_t kept = 0;
    for (size_t i = 0; i < wallet->pending_in_count; i++)
        if (wallet->pending_in[i] != id)
            wallet->pending_in[kept++] = wallet->pending_in[i];
    wallet->pending_in_count = kept;
}

static void *array_grow(void *array, size_t *capacity, size_t count, size_t item_bytes)
{
    if (count < *capacity)
        return array;
    size_t grown_capacity = *capacity ? *capacity * 2 : 16;
    void *grown = realloc(array, grown_capacity * item_bytes);
    if (grown)
        *capacity = grown_capacity;
    return grown;
}

static void send_expect(struct verify *v, uint64_t id, const Famledger__WalletSend *send,
                        uint64_t closed_seq)
{
    uint8_t key[8];
    u64_encode(key, id);
    struct table_digest_item item = send_digest(v, send, closed_seq);
    if (digest_set(&v->indexes[INDEX_WALLET_SENDS], key, sizeof(key), &item))
        v->out_of_memory = true;
}

static int apply_wallet_sent(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__WalletSent *sent = entry->wallet_sent;
    const Famledger__WalletSend *send = sent->send;
    struct model_person *holder = person_of(v, entry->seq, send->holder);
    struct model_person *beneficiary = person_of(v, entry->seq, send->beneficiary);
    if (!holder || !beneficiary)
        return 1;
    struct model_wallet *out = wallet_of(v, holder), *in = wallet_of(v, beneficiary);
    if (!out || !in)
        return -1;
    if (out->pending_out)
        return verify_problem(v, entry->seq, "%s sends again while send %llu waits",
                              holder->person_no, (unsigned long long)out->pending_out);
    if (send->amount_fen <= 0 || send->state != FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_PENDING)
        return verify_problem(v, entry->seq, "a wallet send of %lld fen in state %d",
                              (long long)send->amount_fen, (int)send->state);
    if (verify_move(v, entry->seq, send->holder, -send->amount_fen, sent->balance_after_fen))
        return 1;
    verify_expect_reference(v, 'E', "", send->reference, entry->seq);
    char day[9];
    verify_business_day(v, entry->time_us, day);
    if (strcmp(out->send_day, day) != 0) {
        memcpy(out->send_day, day, sizeof(day));
        out->sends_on_day = 0;
    }
    out->sends_on_day++;
    /* A holder has one waiting send at most: the model keeps it on the holder. */
    out->pending_out = entry->seq;
    out->pending_out_fen = send->amount_fen;
    out->pending_out_return_us = send->return_at_us;
    out->pending_out_to = verify_text_hash(send->beneficiary);
    out->record = in->record = true;
    if (pending_in_add(in, entry->seq))
        return -1;
    send_expect(v, entry->seq, send, 0);
    return 0;
}

static int apply_wallet_closed(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__WalletSendClosed *closed = entry->wallet_send_closed;
    const Famledger__WalletSend *send = closed->send;
    struct model_person *holder = person_of(v, entry->seq, send->holder);
    struct model_person *beneficiary = person_of(v, entry->seq, send->beneficiary);
    if (!holder || !beneficiary)
        return 1;
    struct model_wallet *out = wallet_of(v, holder), *in = wallet_of(v, beneficiary);
    if (!out || !in)
        return -1;
    if (!send->send_id || out->pending_out != send->send_id ||
        out->pending_out_fen != send->amount_fen ||
        out->pending_out_return_us != send->return_at_us ||
        out->pending_out_to != verify_text_hash(send->beneficiary))
        return verify_problem(v, entry->seq, "entry closes a wallet send that does not wait, or "
                              "is not the one sent");
    int rc = 0;
    switch (send->state) {
    case FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_ACCEPTED:
        rc = wallet_move(v, entry->seq, beneficiary, send->amount_fen, NULL);
        break;
    case FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_DECLINED:
    case FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_RETURNED:
        if (send->cash_refund_due && holder->status != FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
            return verify_problem(v, entry->seq, "a send owed in cash to %s, whose account is "
                                  "open", holder->person_no);
        if (!send->cash_refund_due)
            rc = verify_move(v, entry->seq, send->holder, send->amount_fen,
                             closed->balance_after_fen);
        break;
    default:
        return verify_problem(v, entry->seq, "a wallet send closed in state %d", (int)send->state);
    }
    if (rc)
        return rc;
    out->pending_out = 0;
    pending_in_remove(in, send->send_id);
    out->record = in->record = true;
    send_expect(v, send->send_id, send, entry->seq);
    return 0;
}

/* Reserve (sign +1) or free (-1) the legs of a hold. */
static int hold_reserve(struct verify *v, uint64_t seq, const Famledger__Settlement *quote,
                        int sign, bool count_aid)
{
    for (size_t i = 0; i < quote->n_legs; i++) {
        const Famledger__Leg *leg = quote->legs[i];
        struct model_person *person = person_of(v, seq, leg->holder);
        if (!person)
            return 1;
        int64_t amount = sign * leg->amount_fen;
        struct model_wallet *wallet = leg->wallet ? wallet_of(v, person) : NULL;
        if (leg->wallet && !wallet)
            return -1;
        /* An amount of the log's (forged, at worst) is added with a check: what it would make
         * is a problem to name, never an overflow (held at the largest amount, to be named). */
        if (wallet) {
            if (__builtin_add_overflow(wallet->held_fen, amount, &wallet->held_fen))
                wallet->held_fen = INT64_MAX;
            wallet->record = true;
            if (wallet->held_fen < 0 || wallet->held_fen > wallet->fen)
                return verify_problem(v, seq, "the wallet of %s would reserve %lld fen of %lld",
                                      person->person_no, (long long)wallet->held_fen,
                                      (long long)wallet->fen);
        } else {
            struct model_person_extra *extra = verify_person_extra(person);
            if (!extra)
                return -1;
            if (__builtin_add_overflow(extra->held_fen, amount, &extra->held_fen))
                extra->held_fen = INT64_MAX;
            if (!person->has_account || extra->held_fen < 0 ||
                extra->held_fen > model_person_balance(person))
                return verify_problem(v, seq, "the account of %s would reserve %lld fen of %lld",
                                      person->person_no, (long long)extra->held_fen,
                                      (long long)model_person_balance(person));
        }
        if (count_aid && leg->mutual_aid)
            usage_move(v, leg->holder, quote->patient, quote->time_us, amount);
    }
    return 0;
}

static void hold_expect(struct verify *v, uint64_t id, int state, uint64_t closed_seq,
                        const struct model_hold *model)
{
    uint8_t key[8];
    u64_encode(key, id);
    struct table_digest_item item = hold_digest(v, state, closed_seq, model->whole);
    if (digest_set(&v->indexes[INDEX_HOLDS], key, sizeof(key), &item))
        v->out_of_memory = true;
}

static int apply_hold_placed(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__Hold *hold = entry->hold_placed->hold;
    if (hold->state != FAMLEDGER__HOLD_STATE__HOLD_OPEN)
        return verify_problem(v, entry->seq, "a hold placed that is not open");
    const Famledger__Settlement *quote = hold->quote;
    verify_expect_reference(v, 'H', hold->request->merchant_code,
                            hold->request->merchant_reference, entry->seq);
    if (hold_reserve(v, entry->seq, quote, +1, true))
        return 1;
    struct model_hold *holds = array_grow(v->holds, &v->hold_capacity, v->hold_count,
                                          sizeof(*v->holds));
    if (!holds)
        return -1; /* v->holds is kept, and freed with the rest */
    v->holds = holds;
    struct model_hold *model = &v->holds[v->hold_count++];
    *model = (struct model_hold){.id = entry->seq, .amount_fen = hold->request->amount_fen,
                                 .expires_at_us = hold->expires_at_us,
                                 .placed_us = quote->time_us,
                                 .legs_hash = legs_digest(quote),
                                 .whole = hold_whole(v, hold, entry->seq)};
    client_copy(model->merchant, sizeof(model->merchant), hold->request->merchant_code);
    client_copy(model->patient, sizeof(model->patient), hold->request->patient);
    hold_expect(v, entry->seq, FAMLEDGER__HOLD_STATE__HOLD_OPEN, 0, model);
    return 0;
}

static struct model_hold *hold_find(struct verify *v, uint64_t id)
{
    for (size_t i = 0; i < v->hold_count; i++)
        if (v->holds[i].id == id)
            return &v->holds[i];
    return NULL;
}

static int apply_hold_closed(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__Hold *hold = entry->hold_closed->hold;
    struct model_hold *model = hold_find(v, hold->hold_id);
    if (!model || model->legs_hash != legs_digest(hold->quote))
        return verify_problem(v, entry->seq, "entry ends a hold that is not open, or not as held");
    if (hold->state != FAMLEDGER__HOLD_STATE__HOLD_RELEASED &&
        hold->state != FAMLEDGER__HOLD_STATE__HOLD_EXPIRED)
        return verify_problem(v, entry->seq, "a hold ended in state %d", (int)hold->state);
    if (hold->state == FAMLEDGER__HOLD_STATE__HOLD_EXPIRED &&
        entry->time_us < model->expires_at_us)
        return verify_problem(v, entry->seq, "hold %llu expired before its time",
                              (unsigned long long)model->id);
    if (hold_reserve(v, entry->seq, hold->quote, -1, true))
        return 1;
    hold_expect(v, model->id, hold->state, entry->seq, model);
    *model = v->holds[--v->hold_count];
    return 0;
}

/* Mutual aid counted in the month and year of `from_us`, carried to those of `to_us` when
 * they differ, as the daemon carries a hold's to its capture (daemon/aid.c). */
static void usage_carry(struct verify *v, const char *holder_no, const char *beneficiary_no,
                        int64_t from_us, int64_t to_us, int64_t fen)
{
    char from[9], to[9];
    verify_business_day(v, from_us, from);
    verify_business_day(v, to_us, to);
    if (memcmp(from, to, 6) == 0)
        return; /* the same month is the same year */
    usage_move(v, holder_no, beneficiary_no, from_us, -fen);
    usage_move(v, holder_no, beneficiary_no, to_us, fen);
}

int verify_settled_twophase(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__Settlement *s = entry->settled->settlement;
    int64_t held_us = 0;
    if (s->hold_id) {
        struct model_hold *model = hold_find(v, s->hold_id);
        if (!model || model->legs_hash != legs_digest(s) ||
            strcmp(model->merchant, s->merchant_code) != 0 ||
            strcmp(model->patient, s->patient) != 0 || model->amount_fen != s->amount_fen)
            return verify_problem(v, entry->seq, "settlement captures hold %llu, which is not "
                                  "open or holds other legs", (unsigned long long)s->hold_id);
        if (entry->time_us >= model->expires_at_us)
            return verify_problem(v, entry->seq, "settlement captures hold %llu after it expired",
                                  (unsigned long long)s->hold_id);
        if (hold_reserve(v, entry->seq, s, -1, false))
            return 1;
        hold_expect(v, model->id, FAMLEDGER__HOLD_STATE__HOLD_CAPTURED, entry->seq, model);
        held_us = model->placed_us;
        *model = v->holds[--v->hold_count];
    }
    for (size_t i = 0; i < s->n_legs; i++) {
        const Famledger__Leg *leg = s->legs[i];
        if (leg->wallet) {
            struct model_person *patient = person_of(v, entry->seq, leg->holder);
            if (!patient || strcmp(leg->holder, s->patient) != 0 || leg->mutual_aid ||
                wallet_move(v, entry->seq, patient, -leg->amount_fen, &leg->balance_after_fen))
                return patient ? verify_problem(v, entry->seq, "a wallet leg that is not the "
                                                "patient's own")
                               : 1;
        } else if (leg->mutual_aid && !s->hold_id && s->aid_counted) {
            usage_move(v, leg->holder, s->patient, entry->time_us, leg->amount_fen);
        } else if (leg->mutual_aid && s->aid_at_capture) {
            usage_carry(v, leg->holder, s->patient, held_us, entry->time_us, leg->amount_fen);
        }
    }
    return 0;
}

int verify_refund_wallet_leg(struct verify *v, uint64_t seq, const Famledger__RefundLeg *leg)
{
    if (!leg->wallet)
        return 0;
    struct model_person *person = person_of(v, seq, leg->holder);
    if (!person)
        return 1;
    if (!leg->cash_refund_due) {
        wallet_move(v, seq, person, leg->amount_fen, &leg->balance_after_fen);
        return 1;
    }
    /* Owed in cash, as the daemon owes it once the wallet's owner has gone (daemon/refund.c:
     * refund_patient_gone); a refund to a gone owner's wallet is what daemons before it did. */
    if (person->person_status != FAMLEDGER__PERSON_STATUS__PERSON_DECEASED &&
        person->person_status != FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT &&
        person->person_status != FAMLEDGER__PERSON_STATUS__PERSON_OPTED_OUT)
        verify_problem(v, seq, "a refund owes %s in cash what their wallet, still theirs, "
                       "should take back", person->person_no);
    return 1;
}

int verify_wallet_take(struct verify *v, uint64_t seq, struct model_person *person,
                       int64_t amount_fen)
{
    struct model_wallet *wallet = wallet_of(v, person);
    if (!wallet)
        return -1;
    if (amount_fen != wallet->fen || wallet->held_fen != 0)
        return verify_problem(v, seq, "entry pays out %lld fen of the wallet of %s, which holds "
                              "%lld (%lld of it held): a wallet is paid out whole and free",
                              (long long)amount_fen, person->person_no, (long long)wallet->fen,
                              (long long)wallet->held_fen);
    return wallet_move(v, seq, person, -amount_fen, NULL);
}

void verify_refund_aid(struct verify *v, const char *patient, int64_t settled_us,
                       const Famledger__Refund *refund)
{
    /* Every leg of a relative (not the patient's own account or wallet) was mutual aid. */
    for (size_t i = 0; i < refund->n_legs; i++)
        if (strcmp(refund->legs[i]->holder, patient) != 0)
            usage_move(v, refund->legs[i]->holder, patient, settled_us,
                       -refund->legs[i]->amount_fen);
}

static int apply_aid_limit(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__AidLimit *limit = entry->aid_limit_set->limit;
    struct model_person *beneficiary = person_of(v, entry->seq, limit->beneficiary);
    if (!beneficiary)
        return 1;
    bool bound = false;
    for (size_t i = 0; i < beneficiary->funder_count; i++)
        bound = bound || strcmp(beneficiary->funders[i].holder->person_no, limit->holder) == 0;
    if (!bound || limit->monthly_fen < 0 || limit->yearly_fen < 0)
        return verify_problem(v, entry->seq, "a limit on %s for %s, who is not bound to them",
                              limit->holder, limit->beneficiary);
    uint8_t key[PAIR_KEY_BYTES];
    size_t bytes = pair_key(key, limit->holder, limit->beneficiary);
    struct table_digest_item item = limit_digest(limit->monthly_fen, limit->yearly_fen);
    if (digest_set(&v->indexes[INDEX_AID_LIMITS], key, bytes, &item))
        v->out_of_memory = true;
    return 0;
}

int verify_apply_twophase(struct verify *v, const Famledger__Entry *entry)
{
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_WALLET_SENT:
        return apply_wallet_sent(v, entry);
    case FAMLEDGER__ENTRY__BODY_WALLET_SEND_CLOSED:
        return apply_wallet_closed(v, entry);
    case FAMLEDGER__ENTRY__BODY_HOLD_PLACED:
        return apply_hold_placed(v, entry);
    case FAMLEDGER__ENTRY__BODY_HOLD_CLOSED:
        return apply_hold_closed(v, entry);
    case FAMLEDGER__ENTRY__BODY_AID_LIMIT_SET:
        return apply_aid_limit(v, entry);
    default:
        return verify_problem(v, entry->seq, "entry of an unknown type %d", entry->body_case);
    }
}

int verify_twophase_finish(struct verify *v)
{
    uint8_t key[TIMER_KEY_BYTES];
    for (size_t i = 0; i < v->hold_count; i++) {
        timer_key(key, v->holds[i].expires_at_us, 'H', v->holds[i].id);
        verify_expect_item(v, INDEX_TIMERS, key, sizeof(key), table_digest_one(1));
    }
    for (size_t i = 0; i < v->persons.count && v->report->ok; i++) {
        struct model_person *person = verify_person_at(v, i);
        const struct model_wallet none = {.send_day = ""};
        const struct model_wallet *wallet =
            person->extra && person->extra->wallet ? person->extra->wallet : &none;
        if (wallet->pending_out) {
            timer_key(key, wallet->pending_out_return_us, 'W', wallet->pending_out);
            verify_expect_item(v, INDEX_TIMERS, key, sizeof(key), table_digest_one(1));
        }
        if (wallet->record) {
            struct table_digest_item item =
                wallet_digest(v, wallet->pending_out, wallet->pending_in,
                              wallet->pending_in_count, wallet->send_day, wallet->sends_on_day,
                              wallet->held_fen);
            if (digest_set(&v->indexes[INDEX_WALLETS], person->person_no,
                           strlen(person->person_no), &item))
                return client_fail(v->client, FL_ERR_PROTOCOL_ERROR,
                                   "out of memory while verifying");
        }
        /* The wallet's books are its postings; its legs and sends must say the same. */
        char balance_key[FL_PERSON_NO_MAX + 8];
        int bytes = snprintf(balance_key, sizeof(balance_key), "wallet:%s", person->person_no);
        int64_t posted = digest_expected_amount(&v->indexes[INDEX_BALANCES], balance_key,
                                                (size_t)bytes);
        if (posted != wallet->fen)
            verify_problem(v, v->seq, "the wallet of %s: its postings give %lld fen, its sends "
                           "and legs %lld", person->person_no, (long long)posted,
                           (long long)wallet->fen);
    }
    return 0;
}

static int stored_unpack_fail(struct verify *v, const char *table)
{
    return verify_problem(v, v->seq, "a stored %s record does not decode", table);
}

int verify_twophase_stored(struct verify *v, enum verify_index index,
                           const ProtobufCBinaryData *key, const ProtobufCBinaryData *value)
{
    struct digest_map *map = &v->indexes[index];
    struct table_digest_item item = table_digest_one(1);
    switch (index) {
    case INDEX_WALLETS: {
        Famledger__Wallet *wallet = famledger__wallet__unpack(NULL, value->len, value->data);
        if (!wallet)
            return stored_unpack_fail(v, "wallets");
        if (strlen(wallet->person_no) != key->len ||
            memcmp(wallet->person_no, key->data, key->len) != 0) {
            verify_problem(v, v->seq, "the stored wallet of %.*s names %s (table wallets)",
                           (int)key->len, (const char *)key->data, wallet->person_no);
            famledger__wallet__free_unpacked(wallet, NULL);
            return 1;
        }
        item = wallet_digest(v, wallet->pending_out, wallet->pending_in, wallet->n_pending_in,
                             wallet->send_day, wallet->sends_on_day, wallet->held_fen);
        famledger__wallet__free_unpacked(wallet, NULL);
        break;
    }
    case INDEX_WALLET_SENDS: {
        Famledger__WalletSend *send = famledger__wallet_send__unpack(NULL, value->len, value->data);
        if (!send || key->len != 8 || table_digest_u64(key->data) != send->send_id) {
            if (send)
                famledger__wallet_send__free_unpacked(send, NULL);
            return stored_unpack_fail(v, "wallet_sends");
        }
        item = send_digest(v, send, send->closed_seq);
        famledger__wallet_send__free_unpacked(send, NULL);
        break;
    }
    case INDEX_HOLDS: {
        Famledger__Hold *hold = famledger__hold__unpack(NULL, value->len, value->data);
        if (!hold || !hold->request || key->len != 8 ||
            table_digest_u64(key->data) != hold->hold_id) {
            if (hold)
                famledger__hold__free_unpacked(hold, NULL);
            return stored_unpack_fail(v, "holds");
        }
        item = hold_digest(v, hold->state, hold->closed_seq, hold_whole(v, hold, hold->hold_id));
        famledger__hold__free_unpacked(hold, NULL);
        break;
    }
    case INDEX_AID_LIMITS: {
        Famledger__AidLimit *limit = famledger__aid_limit__unpack(NULL, value->len, value->data);
        if (!limit)
            return stored_unpack_fail(v, "aid_limits");
        /* The record names the pair its key does. */
        uint8_t pair[PAIR_KEY_BYTES];
        size_t pair_bytes = pair_key(pair, limit->holder, limit->beneficiary);
        if (pair_bytes >= sizeof(pair) || pair_bytes != key->len ||
            memcmp(pair, key->data, pair_bytes) != 0) {
            verify_problem(v, v->seq, "a stored aid limit names %s and %s, not the pair of "
                           "its key (table aid_limits)", limit->holder, limit->beneficiary);
            famledger__aid_limit__free_unpacked(limit, NULL);
            return 1;
        }
        item = limit_digest(limit->monthly_fen, limit->yearly_fen);
        famledger__aid_limit__free_unpacked(limit, NULL);
        break;
    }
    case INDEX_EMERGENCY_CLAIMS:
    case INDEX_CALENDARS:
        return verify_emergency_stored(v, index, key, value);
    default: /* INDEX_TIMERS: the key is all */
        break;
    }
    if (digest_add(map, key->data, key->len, &item, true))
        v->out_of_memory = true;
    return 0;
}

void verify_twophase_free(struct verify *v)
{
    free(v->holds);
    v->holds = NULL;
}
