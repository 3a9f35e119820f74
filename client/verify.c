/* verify.c -- an independent check of a famledgerd ledger: replay the log from its first entry,
 * recompute every hash of the chain and the balances, statuses, bindings and settlement totals,
 * and compare them with the derived state the daemon stores.
 *
 * Everything is read from one snapshot the daemon holds open for this connection (an LMDB read
 * transaction), in pages: the log up to the snapshot's head and the derived state as it stood
 * then, so the comparison is exact however busy the daemon is, and the daemon keeps settling
 * while this runs. Memory grows with the number of persons and settlements, never with the
 * number of entries.
 */
#include "verify_internal.h"

#include "entry_check.h"
#include "model_memory.h"
#include "sha256.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct verify_index_table verify_indexes[INDEX_COUNT] = {
    [INDEX_ACCOUNT_LINKS] = {"account_links", FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS},
    [INDEX_MERCHANT_LINKS] = {"merchant_links", FAMLEDGER__STATE_TABLE__STATE_MERCHANT_LINKS},
    [INDEX_REFERENCES] = {"references", FAMLEDGER__STATE_TABLE__STATE_REFERENCES},
    [INDEX_FUNDED] = {"funded", FAMLEDGER__STATE_TABLE__STATE_FUNDED},
    [INDEX_MERCHANTS] = {"merchants", FAMLEDGER__STATE_TABLE__STATE_MERCHANTS},
    [INDEX_BALANCES] = {"balances", FAMLEDGER__STATE_TABLE__STATE_BALANCES},
    [INDEX_DAY_TOTALS] = {"day_totals", FAMLEDGER__STATE_TABLE__STATE_DAY_TOTALS},
    [INDEX_MERCHANT_DAYS] = {"merchant_days", FAMLEDGER__STATE_TABLE__STATE_MERCHANT_DAYS},
    [INDEX_PATIENT_LINKS] = {"patient_links", FAMLEDGER__STATE_TABLE__STATE_PATIENT_LINKS},
    [INDEX_WALLET_LINKS] = {"wallet_links", FAMLEDGER__STATE_TABLE__STATE_WALLET_LINKS},
    [INDEX_WALLETS] = {"wallets", FAMLEDGER__STATE_TABLE__STATE_WALLETS},
    [INDEX_WALLET_SENDS] = {"wallet_sends", FAMLEDGER__STATE_TABLE__STATE_WALLET_SENDS},
    [INDEX_HOLDS] = {"holds", FAMLEDGER__STATE_TABLE__STATE_HOLDS},
    [INDEX_TIMERS] = {"timers", FAMLEDGER__STATE_TABLE__STATE_TIMERS},
    [INDEX_AID_LIMITS] = {"aid_limits", FAMLEDGER__STATE_TABLE__STATE_AID_LIMITS},
    [INDEX_EMERGENCY_CLAIMS] = {"emergency_claims",
                                FAMLEDGER__STATE_TABLE__STATE_EMERGENCY_CLAIMS},
    [INDEX_CALENDARS] = {"calendars", FAMLEDGER__STATE_TABLE__STATE_CALENDARS},
    [INDEX_PERSONS] = {"persons", FAMLEDGER__STATE_TABLE__STATE_PERSONS},
    [INDEX_ACCOUNTS] = {"accounts", FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS},
    [INDEX_SETTLEMENTS] = {"settlements", FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS},
};

/* The daemon's names of the account classes, as its balance keys spell them. */
const char *verify_class_name(Famledger__AccountClass account_class)
{
    switch (account_class) {
    case FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL:
        return "personal";
    case FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND:
        return "fund";
    case FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_MERCHANT_PAYABLE:
        return "merchant_payable";
    case FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE:
        return "cash_refund_due";
    case FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CLEARING:
        return "clearing";
    case FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET:
        return "wallet";
    case FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET_PENDING:
        return "wallet_pending";
    default:
        return NULL;
    }
}


int verify_problem(struct verify *v, uint64_t seq, const char *format, ...)
{
    if (!v->report->ok)
        return 1; /* keep the first */
    v->report->ok = false;
    v->report->first_bad_seq = seq;
    va_list args;
    va_start(args, format);
    vsnprintf(v->report->problem, sizeof(v->report->problem), format, args);
    va_end(args);
    return 1;
}

uint64_t verify_text_hash(const char *text)
{
    return table_digest_hash(text, strlen(text));
}

uint64_t verify_text_item(const struct verify *v, const char *text)
{
    return table_digest_text(&v->digest_key, text);
}

struct table_digest_item verify_merchant_item(const struct verify *v,
                                              const Famledger__Merchant *merchant,
                                              uint64_t added_seq)
{
    return (struct table_digest_item){
        .count = 4,
        .fields = {verify_text_item(v, merchant->code), verify_text_item(v, merchant->name),
                   (uint64_t)merchant->kind, added_seq},
        .text = merchant->region};
}

struct table_digest_item verify_merchant_status_item(bool suspended)
{
    return table_digest_one(1 + (uint64_t)suspended);
}

/* Entry `seq` is the newest line of the person's statement: its link back to the line before
 * is expected, once, under the person. */
static void verify_account_line(struct verify *v, struct model_person *person, uint64_t seq)
{
    uint64_t last_seq = model_seq_get(person->last_seq);
    if (last_seq == seq)
        return;
    verify_expect_item(v, INDEX_ACCOUNT_LINKS, person->person_no, strlen(person->person_no),
                       table_digest_link(seq, last_seq));
    model_seq_set(&person->last_seq, seq);
}

/* An expected item of an index: the replay says `key` holds `item`. */
void verify_expect_item(struct verify *v, enum verify_index index, const void *key,
                        size_t key_bytes, struct table_digest_item item)
{
    if (digest_add(&v->indexes[index], key, key_bytes, &item, false) != 0)
        v->out_of_memory = true;
}

/* "YYYYMMDD" of a time in the business time zone (TZ is set to the daemon's while verifying). */
void verify_business_day(struct verify *v, int64_t time_us, char day[9])
{
    time_t seconds = (time_t)(time_us / 1000000);
    if (!v->day_of_second[0] || seconds != v->day_second) {
        struct tm local;
        localtime_r(&seconds, &local);
        if (strftime(v->day_of_second, 9, "%Y%m%d", &local) != 8)
            strcpy(v->day_of_second, "00000000");
        v->day_second = seconds;
    }
    memcpy(day, v->day_of_second, 9);
}

/* Append `text` to the key being built in key[0 .. *used): false when it would not fit. Keys
 * are built a few times an entry; snprintf was a twentieth of verify's time. */
static bool key_append(char *key, size_t key_max, size_t *used, const char *text)
{
    size_t bytes = strlen(text);
    if (bytes > key_max - *used)
        return false;
    memcpy(key + *used, text, bytes);
    *used += bytes;
    return true;
}

/* The balance key of a class total ("personal") or of a system account ("clearing:P1") into
 * key[BALANCE_KEY_MAX]: its length, or 0 when it does not fit. */
#define BALANCE_KEY_MAX 96
static size_t balance_key(char key[BALANCE_KEY_MAX], const char *name, const char *id)
{
    size_t used = 0;
    if (!key_append(key, BALANCE_KEY_MAX, &used, name) ||
        (*id && !(key_append(key, BALANCE_KEY_MAX, &used, ":") &&
                  key_append(key, BALANCE_KEY_MAX, &used, id))))
        return 0;
    return used;
}

/* A reference key as the daemon stores it: scope '\0' owner '\0' reference. */
void verify_expect_reference(struct verify *v, char scope, const char *owner,
                             const char *reference, uint64_t seq)
{
    char key[256] = {scope, '\0'};
    size_t used = 2;
    if (!key_append(key, sizeof(key), &used, owner) || used == sizeof(key))
        return;
    key[used++] = '\0';
    if (key_append(key, sizeof(key), &used, reference))
        verify_expect_item(v, INDEX_REFERENCES, key, used, table_digest_one(seq));
}

/* The key of a day's totals, "YYYYMMDD" merchant, with a byte after it for the figure: its
 * length with that byte, or 0 for a merchant code too long to be one (refused at the replay). */
#define DAY_TOTALS_KEY_MAX (8 + FL_PERSON_NO_MAX + 1)
static size_t day_totals_key(struct verify *v, const char *merchant, int64_t time_us,
                             char key[DAY_TOTALS_KEY_MAX])
{
    size_t merchant_bytes = strlen(merchant);
    if (merchant_bytes > FL_PERSON_NO_MAX)
        return 0;
    char day[9];
    verify_business_day(v, time_us, day);
    memcpy(key, day, 8);
    memcpy(key + 8, merchant, merchant_bytes);
    return 8 + merchant_bytes + 1;
}

/* The expected record of figure `kind` of a day's totals: 's', 'r' or 'p' in fen, or 'l', the
 * day's last link. A stored day holds all four figures and is one of the merchant's days: the
 * first figure the log moves makes the others, moving by nothing, and the day's row, so that
 * every later move of the day finds just its own. NULL when out of memory. */
static struct digest_record *day_totals_record(struct verify *v, char key[DAY_TOTALS_KEY_MAX],
                                               size_t key_bytes, char kind)
{
    /* Entries come in time order: no entry moves the totals of a day the log has passed. */
    if (memcmp(key, v->totals_day, 8) != 0) {
        digest_fold(&v->indexes[INDEX_DAY_TOTALS]);
        digest_fold(&v->indexes[INDEX_MERCHANT_DAYS]);
        memcpy(v->totals_day, key, 8);
    }
    struct digest_map *totals = &v->indexes[INDEX_DAY_TOTALS];
    key[key_bytes - 1] = kind;
    bool created;
    struct digest_record *record = digest_amount_record(totals, key, key_bytes, &created);
    if (!record || !created)
        return record;
    static const char kinds[4] = {'s', 'r', 'p', 'l'};
    for (int i = 0; i < 4; i++) {
        key[key_bytes - 1] = kinds[i];
        if (kinds[i] != kind && digest_add_amount(totals, key, key_bytes, 0, false) != 0)
            return NULL;
    }
    key[key_bytes - 1] = kind;
    /* merchant '\0' "YYYYMMDD" */
    char days_key[FL_PERSON_NO_MAX + 1 + 8];
    size_t merchant_bytes = key_bytes - 9;
    memcpy(days_key, key + 8, merchant_bytes);
    days_key[merchant_bytes] = '\0';
    memcpy(days_key + merchant_bytes + 1, key, 8);
    if (digest_add_amount(&v->indexes[INDEX_MERCHANT_DAYS], days_key, merchant_bytes + 9, 0,
                          false) != 0)
        return NULL;
    return record;
}

/* A figure of a day's totals moves by `amount`. */
static void expect_day_totals(struct verify *v, char key[DAY_TOTALS_KEY_MAX], size_t key_bytes,
                              char kind, int64_t amount)
{
    struct digest_record *record = day_totals_record(v, key, key_bytes, kind);
    if (record)
        record->expected.sum += (uint64_t)amount;
    else
        v->out_of_memory = true;
}

/* Entry `seq` joins its merchant's day: linked to the day's last entry so far. */
static void expect_merchant_link(struct verify *v, const char *merchant, int64_t time_us,
                                 uint64_t seq)
{
    char key[DAY_TOTALS_KEY_MAX];
    size_t key_bytes = day_totals_key(v, merchant, time_us, key);
    if (!key_bytes)
        return;
    struct digest_record *last = day_totals_record(v, key, key_bytes, 'l');
    if (!last) {
        v->out_of_memory = true;
        return;
    }
    uint64_t prev = last->expected.sum; /* 0, then each seq in turn */
    last->expected.sum = seq;
    verify_expect_item(v, INDEX_MERCHANT_LINKS, merchant, strlen(merchant),
                       table_digest_link(seq, prev));
}

_Static_assert(sizeof(struct model_person) <= 88, "a person of the model stays small: there "
               "are millions");

struct model_person_extra *verify_person_extra(struct model_person *person)
{
    if (!person->extra)
        person->extra = calloc(1, sizeof(*person->extra));
    return person->extra;
}

struct model_person *verify_person_at(const struct verify *v, size_t index)
{
    return record_table_at(&v->persons, index);
}

static bool person_same(const void *record, const void *key, size_t key_bytes)
{
    (void)key_bytes;
    return strcmp(((const struct model_person *)record)->person_no, key) == 0;
}

static struct verify_name_hash *name_hash_slot(struct verify *v, const char *name)
{
    uint64_t at = (uint64_t)(uintptr_t)name * 0x9e3779b97f4a7c15u;
    return &v->name_hashes[at >> (64 - 12)];
}
_Static_assert(VERIFY_NAME_HASHES == 1 << 12, "the slot is the top 12 bits");

/* The hash of a name: from this page's slots when a hint pass computed it. */
static uint64_t name_hash(struct verify *v, const char *name)
{
    if (v->name_hashes) {
        const struct verify_name_hash *slot = name_hash_slot(v, name);
        if (slot->page == v->name_page && slot->name == name)
            return slot->hash;
    }
    return verify_text_hash(name);
}

struct model_person *verify_person_find(struct verify *v, const char *person_no, bool create)
{
    if (v->persons.record_bytes == 0)
        record_table_init(&v->persons, sizeof(struct model_person));
    bool created;
    struct model_person *person =
        record_table_find(&v->persons, name_hash(v, person_no), person_no,
                          strlen(person_no), person_same, create, &created);
    if (person && created)
        client_copy(person->person_no, sizeof(person->person_no), person_no);
    return person;
}

void verify_person_prefetch(const struct verify *v, const void *person_no, size_t size,
                            bool record)
{
    record_table_prefetch(&v->persons, table_digest_hash(person_no, size), record);
}

/* verify_person_prefetch for a name of the page's entries: the first pass computes its hash
 * and keeps it for the second pass and the replay (name_hash). */
static void name_prefetch(struct verify *v, const char *name, bool record)
{
    uint64_t hash;
    if (!record) {
        hash = verify_text_hash(name);
        if (v->name_hashes)
            *name_hash_slot(v, name) =
                (struct verify_name_hash){.name = name, .hash = hash, .page = v->name_page};
    } else {
        hash = name_hash(v, name);
    }
    record_table_prefetch(&v->persons, hash, record);
}

_Static_assert(TABLE_DIGEST_LEGS_MAX == FL_LEGS_MAX, "a settlement's fingerprint holds every leg");

static size_t settlement_slot(uint64_t id, size_t capacity)
{
    return (id * 11400714819323198485u) & (capacity - 1);
}

uint64_t verify_refund_weight(const struct verify *v, const char *holder, bool wallet)
{
    const uint64_t in[2] = {table_digest_text(&v->digest_key, holder), wallet};
    return table_digest_keyed(&v->digest_key, in, sizeof(in)) | 1;
}

void verify_settlement_prefetch(const struct verify *v, uint64_t id)
{
    if (v->settlement_capacity)
        __builtin_prefetch(&v->settlements[settlement_slot(id, v->settlement_capacity)]);
}

struct model_settlement *verify_settlement_find(struct verify *v, uint64_t id, bool create)
{
    if (create && (v->settlement_count + 1) * 2 > v->settlement_capacity) {
        size_t capacity = v->settlement_capacity ? v->settlement_capacity * 2 : 1024;
        struct model_settlement *grown = model_memory_zeroed(capacity * sizeof(*grown));
        if (!grown)
            return NULL;
        for (size_t i = 0; i < v->settlement_capacity; i++) {
            if (!v->settlements[i].id)
                continue;
            size_t slot = settlement_slot(v->settlements[i].id, capacity);
            while (grown[slot].id)
                slot = (slot + 1) & (capacity - 1);
            grown[slot] = v->settlements[i];
        }
        model_memory_release(v->settlements, v->settlement_capacity * sizeof(*v->settlements));
        v->settlements = grown;
        v->settlement_capacity = capacity;
    }
    if (!v->settlement_capacity)
        return NULL;
    size_t slot = settlement_slot(id, v->settlement_capacity);
    while (v->settlements[slot].id) {
        if (v->settlements[slot].id == id)
            return &v->settlements[slot];
        slot = (slot + 1) & (v->settlement_capacity - 1);
    }
    if (!create)
        return NULL;
    v->settlements[slot].id = id;
    v->settlement_count++;
    return &v->settlements[slot];
}

/* ---- settlements, when the daemon digests the stored ones ---- */

/* Add `seq` to `bits`: 0, or -1 when out of memory. */
static int seq_bits_add(struct seq_bits *bits, uint64_t seq)
{
    uint64_t word = seq / 64;
    if (word >= bits->word_count) {
        size_t count = bits->word_count ? bits->word_count : 1024;
        while (count <= word && count <= SIZE_MAX / 2 / sizeof(*bits->words))
            count *= 2;
        uint64_t *grown = count > word ? realloc(bits->words, count * sizeof(*grown)) : NULL;
        if (!grown)
            return -1;
        memset(grown + bits->word_count, 0, (count - bits->word_count) * sizeof(*grown));
        bits->words = grown;
        bits->word_count = count;
    }
    bits->words[word] |= 1ull << (seq % 64);
    return 0;
}

static bool seq_bits_has(const struct seq_bits *bits, uint64_t seq)
{
    return seq / 64 < bits->word_count && (bits->words[seq / 64] >> (seq % 64) & 1);
}

/* An item the stored record of settlement `id` must hold (table_digest_items). */
static void expect_settlement_part(struct verify *v, uint64_t id,
                                   enum table_digest_settlement_part part, uint64_t hash)
{
    uint8_t key[8];
    for (int i = 7; i >= 0; i--, id >>= 8)
        key[i] = (uint8_t)id;
    verify_expect_item(v, INDEX_SETTLEMENTS, key, sizeof(key),
                       table_digest_settlement_part(part, hash));
}

/* Settlement `id` is cancelled, `cancelled` whether it was already: in its record of the model
 * (`settlement`), or as a bit and an item. 0, or -1 when out of memory. */
static int settlement_cancel(struct verify *v, struct model_settlement *settlement, uint64_t id,
                             bool cancelled)
{
    if (settlement) {
        settlement->cancelled = true;
        return 0;
    }
    if (cancelled)
        return 0;
    if (seq_bits_add(&v->cancelled, id) != 0)
        return -1;
    expect_settlement_part(v, id, TABLE_DIGEST_CANCELLED, 0);
    return 0;
}

/* ---- applying entries to the model ---- */

int verify_move(struct verify *v, uint64_t seq, const char *person_no, int64_t delta_fen,
                int64_t balance_after_fen)
{
    struct model_person *person = verify_person_find(v, person_no, false);
    if (!person || !person->has_account)
        return verify_problem(v, seq, "entry moves money of %s, who has no account", person_no);
    if (person->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED && delta_fen > 0)
        return verify_problem(v, seq, "entry credits the closed account of %s", person_no);
    verify_account_line(v, person, seq);
    if (delta_fen != 0 && v->move_count < sizeof(v->moves) / sizeof(v->moves[0])) {
        v->moves[v->move_count].person_no = person->person_no;
        v->moves[v->move_count++].delta_fen = delta_fen;
    }
    /* A log no daemon wrote may carry any amount: one past what an account can count is
     * named, and the counts are left as they were rather than wrapped. */
    int64_t credited = person->credited_fen, debited = person->debited_fen;
    if (delta_fen >= 0 ? __builtin_add_overflow(credited, delta_fen, &credited)
                       : delta_fen == INT64_MIN ||
                             __builtin_add_overflow(debited, -delta_fen, &debited))
        return verify_problem(v, seq, "entry moves %lld fen of %s: more than an account can "
                              "count", (long long)delta_fen, person_no);
    person->credited_fen = credited;
    person->debited_fen = debited;
    int64_t balance_fen = model_person_balance(person);
    if (balance_fen < 0)
        return verify_problem(v, seq, "the balance of %s would be negative (%lld fen)", person_no,
                              (long long)balance_fen);
    if (balance_fen < model_person_held(person))
        return verify_problem(v, seq, "entry takes money of %s that a hold reserves (%lld of "
                              "%lld fen held)", person_no, (long long)model_person_held(person),
                              (long long)balance_fen);
    if (balance_fen != balance_after_fen)
        return verify_problem(v, seq, "entry says %s has %lld fen after it; replay gives %lld",
                              person_no, (long long)balance_after_fen, (long long)balance_fen);
    return 0;
}

/* Append `holder` to the funding order of `person`, bound as `binding` says (its keyed hash).
 * Returns 0 or -1 (out of memory). */
static int funders_add(struct model_person *person, struct model_person *holder,
                       uint64_t binding)
{
    struct model_funder *funders =
        realloc(person->funders, (person->funder_count + 1) * sizeof(*funders));
    if (!funders)
        return -1;
    funders[person->funder_count++] = (struct model_funder){holder, binding};
    person->funders = funders;
    return 0;
}

static int apply_binding(struct verify *v, const Famledger__Entry *entry)
{
    if (entry->body_case == FAMLEDGER__ENTRY__BODY_BINDING_ADDED) {
        const Famledger__Binding *binding = entry->binding_added->binding;
        struct model_person *beneficiary = verify_person_find(v, binding->beneficiary, false);
        struct model_person *holder = verify_person_find(v, binding->holder, false);
        if (!beneficiary || !holder)
            return verify_problem(v, entry->seq, "binding of unregistered persons");
        if (beneficiary->funder_count >= FL_FUNDERS_MAX)
            return verify_problem(v, entry->seq, "too many funders for %s", binding->beneficiary);
        uint64_t bound = table_digest_binding(&v->digest_key, binding, entry->seq);
        return funders_add(beneficiary, holder, bound) ||
                       verify_funded_add(v, holder, beneficiary)
                   ? -1
                   : 0;
    }
    if (entry->body_case == FAMLEDGER__ENTRY__BODY_BINDING_REMOVED) {
        struct model_person *beneficiary =
            verify_person_find(v, entry->binding_removed->beneficiary, false);
        struct model_person *holder = verify_person_find(v, entry->binding_removed->holder, false);
        if (beneficiary && holder)
            verify_funders_remove(beneficiary, holder);
        return 0;
    }
    const Famledger__FundingOrderSet *order = entry->funding_order_set;
    struct model_person *beneficiary = verify_person_find(v, order->beneficiary, false);
    if (!beneficiary || order->n_holders != beneficiary->funder_count)
        return verify_problem(v, entry->seq, "funding order does not list the bound holders");
    /* The order's holders are found first: a name the log never registered leaves the order
     * as it was. */
    struct model_funder ordered[FL_FUNDERS_MAX];
    bool taken[FL_FUNDERS_MAX] = {false};
    for (size_t i = 0; i < order->n_holders; i++) {
        const struct model_person *holder = verify_person_find(v, order->holders[i], false);
        size_t at = 0;
        while (at < beneficiary->funder_count && beneficiary->funders[at].holder != holder)
            at++;
        if (!holder || at == beneficiary->funder_count || taken[at])
            return verify_problem(v, entry->seq, "funding order names %s, who does not fund %s "
                                  "or is named twice", order->holders[i], order->beneficiary);
        taken[at] = true;
        ordered[i] = beneficiary->funders[at];
    }
    if (order->n_holders) /* none bound: funders may be NULL */
        memcpy(beneficiary->funders, ordered, order->n_holders * sizeof(*ordered));
    return 0;
}

static int apply_settled(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__Settlement *s = entry->settled->settlement;
    int64_t legs = 0;
    /* A captured hold frees its reservations before its legs are taken. */
    if (verify_settled_twophase(v, entry))
        return 1;
    bool past = false; /* a sum past int64: only a log no daemon wrote has one */
    for (size_t i = 0; i < s->n_legs; i++) {
        past |= __builtin_add_overflow(legs, s->legs[i]->amount_fen, &legs);
        if (!s->legs[i]->wallet &&
            verify_move(v, entry->seq, s->legs[i]->holder, -s->legs[i]->amount_fen,
                        s->legs[i]->balance_after_fen))
            return 1;
    }
    int64_t accounts, total;
    past |= __builtin_add_overflow(s->acct_pay_fen, s->acct_mulaid_pay_fen, &accounts);
    past |= __builtin_add_overflow(accounts, s->cash_pay_fen, &total);
    if (past || legs != accounts || total != s->amount_fen)
        return verify_problem(v, entry->seq, "settlement totals do not add up");
    expect_merchant_link(v, s->merchant_code, entry->time_us, entry->seq);
    verify_expect_reference(v, 'S', s->merchant_code, s->merchant_reference, entry->seq);
    struct model_person *patient = verify_person_find(v, s->patient, false);
    if (!patient)
        return verify_problem(v, entry->seq, "settlement for %s, who was never registered",
                              s->patient);
    verify_expect_item(v, INDEX_PATIENT_LINKS, s->patient, strlen(s->patient),
                       table_digest_link(entry->seq, model_seq_get(patient->patient_last_seq)));
    model_seq_set(&patient->patient_last_seq, entry->seq);
    uint64_t fingerprint = table_digest_settlement(&v->digest_key, s);
    if (v->settlements_digested) {
        /* Three bits are all a refund needs of it; its stored record is in the digest. */
        if (seq_bits_add(&v->settled, entry->seq) != 0 ||
            (s->aid_counted && seq_bits_add(&v->aid_counted, entry->seq) != 0))
            return -1;
        v->settlement_count++;
        expect_settlement_part(v, entry->seq, TABLE_DIGEST_SETTLED, fingerprint);
        return 0;
    }
    struct model_settlement *settlement = verify_settlement_find(v, entry->seq, true);
    if (!settlement)
        return -1;
    settlement->aid_counted = s->aid_counted;
    settlement->fingerprint = fingerprint;
    return 0;
}

/* A refund, cancel or reversal of `settlement_id` at `merchant` giving `refund` (may be NULL:
 * a reversal of a settlement with nothing left). */
static int apply_refund(struct verify *v, const Famledger__Entry *entry, uint64_t settlement_id,
                        const char *merchant, const Famledger__Refund *refund, bool reversal,
                        const char *patient, int64_t settled_us)
{
    struct model_settlement *settlement = NULL;
    bool known, cancelled, aid_counted;
    if (v->settlements_digested) {
        known = seq_bits_has(&v->settled, settlement_id);
        cancelled = seq_bits_has(&v->cancelled, settlement_id);
        aid_counted = seq_bits_has(&v->aid_counted, settlement_id);
    } else {
        settlement = verify_settlement_find(v, settlement_id, false);
        known = settlement != NULL;
        cancelled = known && settlement->cancelled;
        aid_counted = known && settlement->aid_counted;
    }
    if (!known)
        return verify_problem(v, entry->seq, "refund of unknown settlement %llu",
                              (unsigned long long)settlement_id);
    if (cancelled && !reversal)
        return verify_problem(v, entry->seq, "refund of a cancelled settlement");
    if (!refund)
        return settlement_cancel(v, settlement, settlement_id, cancelled);
    int64_t legs = 0;
    bool past = false; /* a sum past int64: only a log no daemon wrote has one */
    uint64_t whole = table_digest_refund(&v->digest_key, refund, entry->seq);
    if (settlement)
        settlement->refunds += whole;
    else
        expect_settlement_part(v, settlement_id, TABLE_DIGEST_REFUND, whole);
    for (size_t i = 0; i < refund->n_legs; i++) {
        past |= __builtin_add_overflow(legs, refund->legs[i]->amount_fen, &legs);
        /* With the digest, the stored legs are checked against the stored refunds
         * (table_digest_items), and those against the log's. */
        if (settlement)
            settlement->refunds += (uint64_t)refund->legs[i]->amount_fen *
                                   verify_refund_weight(v, refund->legs[i]->holder,
                                                        refund->legs[i]->wallet);
        int wallet = verify_refund_wallet_leg(v, entry->seq, refund->legs[i]);
        if (wallet < 0 || (wallet && !v->report->ok))
            return 1;
        if (!wallet && !refund->legs[i]->cash_refund_due &&
            verify_move(v, entry->seq, refund->legs[i]->holder, refund->legs[i]->amount_fen,
                        refund->legs[i]->balance_after_fen))
            return 1;
    }
    /* A settlement made before aid limits (format 2) was never counted: nothing to free. */
    if (aid_counted)
        verify_refund_aid(v, patient, settled_us, refund);
    if (past || legs != refund->amount_fen)
        return verify_problem(v, entry->seq, "refund legs do not add up to the refund");
    /* As the daemon lists them (clearing_day_record): a refund, cancel or reversal joins its
     * merchant's day when it gave money back. The cancel of a settlement paid all in cash (or
     * refunded whole already) gives back nothing and is not listed. */
    if (refund->amount_fen != 0)
        expect_merchant_link(v, merchant, entry->time_us, entry->seq);
    if (!reversal)
        verify_expect_reference(v, 'R', merchant, refund->reference, entry->seq);
    return refund->cancel ? settlement_cancel(v, settlement, settlement_id, cancelled) : 0;
}

static int apply_reversed(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__Reversed *reversed = entry->reversed;
    const Famledger__ReverseRequest *request = reversed->request; /* whole: entry_whole */
    verify_expect_reference(v, 'V', request->merchant_code, request->merchant_reference, entry->seq);
    if (reversed->settlement_id == 0) {
        /* Nothing had arrived: the settlement reference now names the reversal. */
        verify_expect_reference(v, 'S', request->merchant_code, request->merchant_reference,
                         entry->seq);
        return entry->n_postings ? verify_problem(v, entry->seq, "a reversal of nothing moves "
                                                  "money") : 0;
    }
    return apply_refund(v, entry, reversed->settlement_id, request->merchant_code,
                        reversed->refund, true, reversed->patient, reversed->settled_us);
}

static int apply_refunded(struct verify *v, const Famledger__Entry *entry)
{
    return apply_refund(v, entry, entry->refunded->settlement_id, entry->refunded->merchant_code,
                        entry->refunded->refund, false, entry->refunded->patient,
                        entry->refunded->settled_us);
}

/* What a movement makes of the person (daemon/lifecycle.c: withdraw_status_after). */
static int movement_person_status(const Famledger__Entry *entry)
{
    if (entry->body_case == FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT)
        return FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT;
    if (entry->body_case != FAMLEDGER__ENTRY__BODY_WITHDRAWN)
        return 0;
    switch (entry->withdrawn->movement->reason) {
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH:
        return FAMLEDGER__PERSON_STATUS__PERSON_DECEASED;
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_OPT_OUT:
        return FAMLEDGER__PERSON_STATUS__PERSON_OPTED_OUT;
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_EMIGRATION:
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_TRANSFER_NOT_ACCEPTED:
        return FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT;
    default:
        return 0;
    }
}

/* What a transfer-in owed in cash posts: the person's cash_refund_due takes the amount, and
 * the account is not moved (its balance after is 0). */
static bool transfer_in_owed(const Famledger__Entry *entry, const Famledger__Movement *movement)
{
    if (movement->balance_after_fen != 0)
        return false;
    int64_t owed = 0;
    for (size_t i = 0; i < entry->n_postings; i++)
        if (entry->postings[i]->account_class ==
                FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE &&
            strcmp(entry->postings[i]->id, movement->person_no) == 0)
            owed = entry->postings[i]->amount_fen;
    return owed == movement->amount_fen;
}

/* A transfer-in may bring back a person who moved out, and move them to a new region. One
 * that completes the transfer-out of a person who died meanwhile is owed in cash to the heirs
 * (daemon/lifecycle.c: transfer_in_account), and only that one. */
static int apply_transfer_in(struct verify *v, const Famledger__Entry *entry,
                             struct model_person *person)
{
    const Famledger__TransferInRequest *request = entry->transferred_in->request;
    const Famledger__Movement *movement = entry->transferred_in->movement;
    bool deceased = person->person_status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED;
    if (movement->cash_refund_due != deceased ||
        (deceased && (!request->transfer_out_seq || !transfer_in_owed(entry, movement))))
        return verify_problem(v, entry->seq, "a transfer-in to %s%s", person->person_no,
                              deceased ? ", who is deceased, that is not the completion of "
                                         "their transfer-out owed in cash to the heirs"
                                       : " owed in cash, who is alive");
    if (person->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED &&
        person->person_status == FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT) {
        person->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
        person->person_status = FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE;
    }
    if (request->transfer_out_seq) {
        char number[24];
        snprintf(number, sizeof(number), "%llu", (unsigned long long)request->transfer_out_seq);
        verify_expect_reference(v, 'L', "", number, entry->seq);
    }
    return 0;
}

/* The region a transfer-in moves the person to: the transfer-out's, or the one it names. */
static void apply_transfer_region(const Famledger__Entry *entry, struct model_person *person)
{
    const Famledger__TransferInRequest *request = entry->transferred_in->request;
    const char *region = request->to_region;
    for (size_t i = 0; !*region && request->transfer_out_seq && i < entry->n_postings; i++)
        if (entry->postings[i]->account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CLEARING)
            region = entry->postings[i]->id;
    if (*region)
        client_copy(person->region, sizeof(person->region), region);
}

static int apply_movement(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__Movement *movement = entry_movement(entry);
    bool in = entry->body_case == FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN;
    struct model_person *person = verify_person_find(v, movement->person_no, false);
    int status = movement_person_status(entry);
    /* The death of a person without an open account pays their wallet, and nothing else
     * (daemon/lifecycle.c: withdraw_wallet_only). */
    bool wallet_only = person && status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED &&
                       (!person->has_account ||
                        person->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED);
    if (!person || (!person->has_account && !wallet_only))
        return verify_problem(v, entry->seq, "entry moves money of %s, who has no account",
                              movement->person_no);
    if (wallet_only && (movement->amount_fen != 0 || movement->account_closed ||
                        movement->wallet_fen == 0 ||
                        person->person_status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED))
        return verify_problem(v, entry->seq, "a death withdrawal of %s, who has no open account, "
                              "pays their wallet and nothing else, once", person->person_no);
    /* Only a withdrawal that ends the person's insurance here takes their wallet. */
    if (movement->wallet_fen != 0 && !movement->account_closed && !wallet_only)
        return verify_problem(v, entry->seq, "entry takes the wallet of %s and leaves their "
                              "account open", person->person_no);
    if (movement->wallet_fen != 0) {
        if (entry->body_case != FAMLEDGER__ENTRY__BODY_WITHDRAWN)
            return verify_problem(v, entry->seq, "a transfer takes the wallet of %s",
                                  person->person_no);
        int taken = verify_wallet_take(v, entry->seq, person, movement->wallet_fen);
        if (taken)
            return taken;
    }
    if (in && apply_transfer_in(v, entry, person))
        return 1;
    if (!wallet_only && !movement->cash_refund_due &&
        verify_move(v, entry->seq, movement->person_no,
                    in ? movement->amount_fen : -movement->amount_fen,
                    movement->balance_after_fen))
        return 1;
    if (in)
        apply_transfer_region(entry, person);
    verify_expect_reference(v, entry->body_case == FAMLEDGER__ENTRY__BODY_WITHDRAWN ? 'W' : 'T', "",
                     movement->reference, entry->seq);
    if (status)
        person->person_status = status;
    if (movement->account_closed || wallet_only) {
        long ended = 0;
        if (movement->account_closed) {
            person->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED;
            ended = verify_funded_end(v, person);
        }
        if (ended < 0)
            return -1;
        /* Nobody pays for the dead. */
        if (status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED) {
            ended += person->funder_count;
            person->funder_count = 0;
        }
        if (movement->bindings_ended != (unsigned long)ended)
            return verify_problem(v, entry->seq, "closing the account of %s ends %u bindings; "
                                  "the log has %ld", person->person_no,
                                  movement->bindings_ended, ended);
    }
    return 0;
}

/* What the person was registered as: the stored record must say the same (its name moves no
 * money, but it is the record's). An item of the persons' digest, added as the log replays. */
static void expect_registered(struct verify *v, const struct model_person *person,
                              uint64_t seq, const char *name)
{
    verify_expect_item(v, INDEX_PERSONS, person->person_no, strlen(person->person_no),
                       table_digest_registered(seq, name));
}

/* Keep why the person is suspended (`suspension`) or their account frozen, as the entry says:
 * the stored record keeps the same text, and none once it is lifted. 0, or -1 when out of
 * memory. */
static int reason_keep(struct model_person *person, bool suspension, const char *reason)
{
    if (!*reason && !person->extra)
        return 0;
    struct model_person_extra *extra = verify_person_extra(person);
    if (!extra)
        return -1;
    char **kept = suspension ? &extra->suspend_reason : &extra->freeze_reason;
    free(*kept);
    *kept = NULL;
    if (*reason && !(*kept = strdup(reason)))
        return -1;
    return 0;
}

static int apply_person(struct verify *v, const Famledger__Entry *entry)
{
    struct model_person *person;
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_PERSON_REGISTERED:
        if (verify_person_find(v, entry->person_registered->person_no, false))
            return verify_problem(v, entry->seq, "person registered twice");
        person = verify_person_find(v, entry->person_registered->person_no, true);
        if (!person)
            return -1;
        person->person_status = FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE;
        person->employee =
            entry->person_registered->scheme == FAMLEDGER__SCHEME__SCHEME_EMPLOYEE;
        client_copy(person->region, sizeof(person->region), entry->person_registered->region);
        expect_registered(v, person, entry->seq, entry->person_registered->name);
        return 0;
    case FAMLEDGER__ENTRY__BODY_PERSON_DIED:
        person = verify_person_find(v, entry->person_died->person_no, false);
        if (!person || person->person_status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED ||
            (person->has_account && person->status != FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED))
            return verify_problem(v, entry->seq, "death of %s, who is unknown, dead already or "
                                  "holds an open account", entry->person_died->person_no);
        if (person->funder_count != entry->person_died->bindings_ended)
            return verify_problem(v, entry->seq, "death of %s ends %u bindings; the log has %zu",
                                  person->person_no, entry->person_died->bindings_ended,
                                  (size_t)person->funder_count);
        person->person_status = FAMLEDGER__PERSON_STATUS__PERSON_DECEASED;
        person->funder_count = 0;
        return 0;
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_REOPENED:
        person = verify_person_find(v, entry->account_reopened->person_no, false);
        if (!person || !person->has_account ||
            person->status != FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED ||
            model_person_balance(person) != 0)
            return verify_problem(v, entry->seq, "reopening of an account that is not closed "
                                  "and empty");
        person->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
        person->person_status = FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE;
        verify_account_line(v, person, entry->seq);
        return 0;
    case FAMLEDGER__ENTRY__BODY_PERSON_MIGRATED: {
        /* A registration, an opening (for an employee) and a credit of the opening balance. */
        const Famledger__PersonMigrated *migrated = entry->person_migrated;
        if (verify_person_find(v, migrated->person_no, false))
            return verify_problem(v, entry->seq, "person migrated after being registered");
        person = verify_person_find(v, migrated->person_no, true);
        if (!person)
            return -1;
        person->person_status = FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE;
        client_copy(person->region, sizeof(person->region), migrated->region);
        expect_registered(v, person, entry->seq, migrated->name);
        verify_expect_reference(v, 'M', "", migrated->person_no, entry->seq);
        bool employee = migrated->scheme == FAMLEDGER__SCHEME__SCHEME_EMPLOYEE;
        person->employee = employee;
        if (!employee)
            return migrated->opening_balance_fen
                       ? verify_problem(v, entry->seq, "a resident migrated with a balance")
                       : 0;
        if (migrated->opening_balance_fen < 0)
            return verify_problem(v, entry->seq, "a negative opening balance");
        person->has_account = true;
        person->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
        return verify_move(v, entry->seq, migrated->person_no, migrated->opening_balance_fen,
                           migrated->opening_balance_fen);
    }
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_OPENED:
        person = verify_person_find(v, entry->account_opened->person_no, false);
        if (!person || person->has_account)
            return verify_problem(v, entry->seq, "account opened for an unknown person or twice");
        if (!person->employee)
            return verify_problem(v, entry->seq, "account opened for %s, who is insured under "
                                  "the resident scheme", person->person_no);
        person->has_account = true;
        person->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
        verify_account_line(v, person, entry->seq);
        return 0;
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_FROZEN: {
        const Famledger__AccountFrozen *frozen = entry->account_frozen;
        person = verify_person_find(v, frozen->person_no, false);
        if (!person || !person->has_account)
            return verify_problem(v, entry->seq, "freeze of an unknown account");
        /* famledgerd writes one only when it changes the account, with a reason to freeze. */
        int from = frozen->frozen ? FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN
                                  : FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_FROZEN;
        if (person->status != from || !*frozen->reason != !frozen->frozen ||
            frozen->balance_fen != model_person_balance(person))
            return verify_problem(v, entry->seq, "a %s of %s that changes nothing, or whose "
                                  "reason or balance (%lld fen) is not the log's (%lld fen)",
                                  frozen->frozen ? "freeze" : "thaw", person->person_no,
                                  (long long)frozen->balance_fen,
                                  (long long)model_person_balance(person));
        person->status = frozen->frozen ? FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_FROZEN
                                        : FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
        verify_account_line(v, person, entry->seq);
        return reason_keep(person, false, frozen->reason);
    }
    default: /* PERSON_SUSPENDED */
        person = verify_person_find(v, entry->person_suspended->person_no, false);
        if (!person)
            return verify_problem(v, entry->seq, "suspension of an unknown person");
        if (person->suspended == (bool)entry->person_suspended->suspended ||
            !*entry->person_suspended->reason != !entry->person_suspended->suspended)
            return verify_problem(v, entry->seq, "a suspension of %s that changes nothing, or "
                                  "a reason where none is kept", person->person_no);
        person->suspended = entry->person_suspended->suspended;
        return reason_keep(person, true, entry->person_suspended->reason);
    }
}

/* A day closed: a real day, after the last one closed and before the entry's own business day
 * (daemon/ledger.c: ledger_day_close_handle writes nothing for a day closed already). */
static int apply_day_closed(struct verify *v, const Famledger__Entry *entry)
{
    char day[9], today[9];
    verify_business_day(v, entry->time_us, today);
    if (!entry_day_parse(entry->day_closed->date, day) || strcmp(day, v->closed_through) <= 0 ||
        strcmp(day, today) >= 0)
        return verify_problem(v, entry->seq, "day close of \"%s\": not a day after the last "
                              "one closed (%s) and before the entry's own (%s)",
                              entry->day_closed->date,
                              *v->closed_through ? v->closed_through : "none", today);
    memcpy(v->closed_through, day, sizeof(day));
    return 0;
}

/* A payout, or a recovery (`paid_out` the entry's body): a retry is answered from its body
 * (daemon/clearing.c: payout_replay), so the body must say what its request asked and what its
 * postings move into the fund, or out of it (verify_entry.c checks which way). */
static int apply_paid_out(struct verify *v, const Famledger__Entry *entry,
                          const Famledger__PaidOut *paid_out)
{
    bool recovery = entry->body_case == FAMLEDGER__ENTRY__BODY_RECOVERED;
    const Famledger__PayoutRequest *request = paid_out->request;
    const Famledger__Payout *payout = paid_out->payout;
    int64_t paid = 0;
    bool past = false; /* a sum past int64: only a log no daemon wrote has one */
    for (size_t i = 0; i < entry->n_postings; i++)
        if (entry->postings[i]->amount_fen > 0)
            past |= __builtin_add_overflow(paid, entry->postings[i]->amount_fen, &paid);
    if (past || payout->amount_fen != request->amount_fen || paid != payout->amount_fen ||
        strcmp(payout->merchant_code, request->merchant_code) != 0 ||
        strcmp(payout->person_no, request->person_no) != 0 ||
        strcmp(payout->reference, request->reference) != 0)
        return verify_problem(v, entry->seq, "%s %llu says %lld fen %s %s%s; its request "
                              "asked %lld fen and its postings move %lld",
                              recovery ? "recovery" : "payout", (unsigned long long)entry->seq,
                              (long long)payout->amount_fen, recovery ? "from" : "to",
                              payout->merchant_code, payout->person_no,
                              (long long)request->amount_fen, (long long)paid);
    bool merchant = *request->merchant_code != '\0';
    verify_expect_reference(v, recovery ? 'K' : merchant ? 'O' : 'Q',
                            merchant ? request->merchant_code : request->person_no,
                            request->reference, entry->seq);
    /* What was owed before it, from the postings replayed so far (the log from its first
     * entry): a payout never pays more, a recovery never takes back more than the merchant
     * owes, and the record says what is owed after (daemon/clearing.c: payout_run). */
    char key[BALANCE_KEY_MAX];
    size_t used = balance_key(key, merchant ? "merchant_payable" : "cash_refund_due",
                              merchant ? payout->merchant_code : payout->person_no);
    struct digest_record *record =
        used ? digest_amount_record(&v->indexes[INDEX_BALANCES], key, used, NULL) : NULL;
    if (!record)
        return -1;
    int64_t owed = (int64_t)record->expected.sum, after;
    if (recovery ? owed > -payout->amount_fen : payout->amount_fen > owed)
        return verify_problem(v, entry->seq, "%s %llu %s %lld fen where %lld was owed",
                              recovery ? "recovery" : "payout", (unsigned long long)entry->seq,
                              recovery ? "takes back" : "pays", (long long)payout->amount_fen,
                              (long long)owed);
    /* Within what was owed, and the amount not negative (entry_whole): no overflow. */
    after = recovery ? owed + payout->amount_fen : owed - payout->amount_fen;
    if (payout->owed_after_fen != after)
        return verify_problem(v, entry->seq, "%s %llu says %lld fen owed after it; the log "
                              "gives %lld before it", recovery ? "recovery" : "payout",
                              (unsigned long long)entry->seq, (long long)payout->owed_after_fen,
                              (long long)owed);
    return 0;
}

static int apply(struct verify *v, const Famledger__Entry *entry)
{
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_PERSON_REGISTERED:
    case FAMLEDGER__ENTRY__BODY_PERSON_MIGRATED:
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_OPENED:
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_REOPENED:
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_FROZEN:
    case FAMLEDGER__ENTRY__BODY_PERSON_SUSPENDED:
    case FAMLEDGER__ENTRY__BODY_PERSON_DIED:
        return apply_person(v, entry);
    case FAMLEDGER__ENTRY__BODY_REVERSED:
        return apply_reversed(v, entry);
    case FAMLEDGER__ENTRY__BODY_PAID_OUT:
        return apply_paid_out(v, entry, entry->paid_out);
    case FAMLEDGER__ENTRY__BODY_RECOVERED:
        return apply_paid_out(v, entry, entry->recovered);
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_CREDITED:
        verify_expect_reference(v, 'C', "", entry->account_credited->reference, entry->seq);
        return verify_move(v, entry->seq, entry->account_credited->person_no,
                    entry->account_credited->amount_fen,
                    entry->account_credited->balance_after_fen);
    case FAMLEDGER__ENTRY__BODY_BINDING_ADDED:
    case FAMLEDGER__ENTRY__BODY_BINDING_REMOVED:
    case FAMLEDGER__ENTRY__BODY_FUNDING_ORDER_SET:
        return apply_binding(v, entry);
    case FAMLEDGER__ENTRY__BODY_SETTLED:
        return apply_settled(v, entry);
    case FAMLEDGER__ENTRY__BODY_REFUNDED:
        return apply_refunded(v, entry);
    case FAMLEDGER__ENTRY__BODY_WITHDRAWN:
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT:
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN:
        return apply_movement(v, entry);
    case FAMLEDGER__ENTRY__BODY_MERCHANT_ADDED: {
        const Famledger__Merchant *merchant = entry->merchant_added->merchant;
        struct table_digest_item added = verify_merchant_item(v, merchant, entry->seq);
        struct table_digest_item status = verify_merchant_status_item(merchant->suspended);
        struct digest_map *merchants = &v->indexes[INDEX_MERCHANTS];
        size_t code_bytes = strlen(merchant->code);
        return digest_set(merchants, merchant->code, code_bytes, &added) ||
                       digest_add(merchants, merchant->code, code_bytes, &status, false)
                   ? -1
                   : 0;
    }
    case FAMLEDGER__ENTRY__BODY_MERCHANT_STATUS_CHANGED: {
        /* A change of status always changes it (daemon/merchant.c answers a repeat without an
         * entry): the other status is the one it had. */
        const Famledger__MerchantStatusChanged *changed = entry->merchant_status_changed;
        struct table_digest_item from = verify_merchant_status_item(!changed->suspended);
        struct table_digest_item to = verify_merchant_status_item(changed->suspended);
        return digest_swap(&v->indexes[INDEX_MERCHANTS], changed->code, strlen(changed->code),
                           &from, &to);
    }
    case FAMLEDGER__ENTRY__BODY_DAY_CLOSED:
        return apply_day_closed(v, entry);
    case FAMLEDGER__ENTRY__BODY_WALLET_SENT:
    case FAMLEDGER__ENTRY__BODY_WALLET_SEND_CLOSED:
    case FAMLEDGER__ENTRY__BODY_HOLD_PLACED:
    case FAMLEDGER__ENTRY__BODY_HOLD_CLOSED:
    case FAMLEDGER__ENTRY__BODY_AID_LIMIT_SET:
        return verify_apply_twophase(v, entry);
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLAIMED:
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLOSED:
    case FAMLEDGER__ENTRY__BODY_CALENDAR_SET:
        return verify_apply_emergency(v, entry);
    default:
        return verify_problem(v, entry->seq, "entry of an unknown type %d", entry->body_case);
    }
}

/* ---- double entry ---- */

/* A merchant's payable moves by `amount_fen`: settled, refunded or paid out on that day. */
static void expect_clearing_day(struct verify *v, const Famledger__Entry *entry,
                                const char *merchant, int64_t amount_fen)
{
    char key[DAY_TOTALS_KEY_MAX];
    size_t key_bytes = day_totals_key(v, merchant, entry->time_us, key);
    char kind = entry->body_case == FAMLEDGER__ENTRY__BODY_SETTLED ? 's'
                : entry->body_case == FAMLEDGER__ENTRY__BODY_PAID_OUT ||
                          entry->body_case == FAMLEDGER__ENTRY__BODY_RECOVERED
                      ? 'p'
                      : 'r';
    if (key_bytes)
        expect_day_totals(v, key, key_bytes, kind, kind == 's' ? amount_fen : -amount_fen);
}

/* A system account or class total moves by `amount_fen` (balance_key). */
static void expect_balance(struct verify *v, const char *name, const char *id, int64_t amount_fen)
{
    char key[BALANCE_KEY_MAX];
    size_t used = balance_key(key, name, id);
    if (used && digest_add_amount(&v->indexes[INDEX_BALANCES], key, used, amount_fen, false))
        v->out_of_memory = true;
}

void verify_expect_class_totals(struct verify *v)
{
    for (int c = 0; c < VERIFY_CLASSES; c++)
        if (v->class_moved[c]) {
            expect_balance(v, verify_class_name((Famledger__AccountClass)c), "",
                           (int64_t)v->class_fen[c]);
            v->class_moved[c] = false;
            v->class_fen[c] = 0;
        }
}

/* The entry balances; its personal postings are exactly the moves its body makes; the system
 * accounts and class totals it moves are expected in the stored books. */
static int verify_postings(struct verify *v, const Famledger__Entry *entry)
{
    int64_t sum = 0;
    size_t personal = 0;
    for (size_t i = 0; i < entry->n_postings; i++) {
        const Famledger__Posting *posting = entry->postings[i];
        const char *name = verify_class_name(posting->account_class);
        if (!name || !*posting->id)
            return verify_problem(v, entry->seq, "entry %llu posts to an unknown account",
                                  (unsigned long long)entry->seq);
        if (__builtin_add_overflow(sum, posting->amount_fen, &sum))
            return verify_problem(v, entry->seq, "entry %llu does not balance: its postings "
                                  "sum past int64", (unsigned long long)entry->seq);
        /* A class total moves with most postings: summed here, expected once at the end. */
        v->class_moved[posting->account_class] = true;
        v->class_fen[posting->account_class] += (uint64_t)posting->amount_fen;
        if (posting->account_class != FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL) {
            expect_balance(v, name, posting->id, posting->amount_fen);
            if (posting->account_class ==
                FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_MERCHANT_PAYABLE)
                expect_clearing_day(v, entry, posting->id, posting->amount_fen);
            continue;
        }
        personal++;
        size_t j = 0;
        while (j < v->move_count && (strcmp(v->moves[j].person_no, posting->id) != 0 ||
                                     v->moves[j].delta_fen != posting->amount_fen))
            j++;
        if (j == v->move_count)
            return verify_problem(v, entry->seq, "entry %llu posts %lld fen to %s, which its "
                                  "body does not move", (unsigned long long)entry->seq,
                                  (long long)posting->amount_fen, posting->id);
        v->moves[j].person_no = ""; /* matched */
    }
    if (sum != 0)
        return verify_problem(v, entry->seq, "entry %llu does not balance: its postings sum to "
                              "%lld fen", (unsigned long long)entry->seq, (long long)sum);
    if (personal != v->move_count)
        return verify_problem(v, entry->seq, "entry %llu moves %zu personal accounts but posts "
                              "%zu", (unsigned long long)entry->seq, v->move_count, personal);
    return 0;
}

/* ---- the chain ---- */

/* A hint for the persons an entry will look up (name_prefetch): the accounts its
 * postings move, the persons a registration, migration or binding names. A page's entries are
 * hinted before any is applied, so that their lookups into millions of persons overlap. */
static void entry_prefetch(struct verify *v, const Famledger__Entry *entry, bool record)
{
    for (size_t i = 0; i < entry->n_postings; i++)
        if (entry->postings[i]->account_class ==
            FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL)
            name_prefetch(v, entry->postings[i]->id, record);
    const char *names[2] = {NULL, NULL};
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_PERSON_REGISTERED:
        names[0] = entry->person_registered->person_no;
        break;
    case FAMLEDGER__ENTRY__BODY_PERSON_MIGRATED:
        names[0] = entry->person_migrated->person_no;
        break;
    case FAMLEDGER__ENTRY__BODY_BINDING_ADDED:
        if (entry->binding_added->binding) {
            names[0] = entry->binding_added->binding->beneficiary;
            names[1] = entry->binding_added->binding->holder;
        }
        break;
    case FAMLEDGER__ENTRY__BODY_SETTLED:
        if (entry->settled->request)
            names[0] = entry->settled->request->patient;
        break;
    default:
        break;
    }
    for (int i = 0; i < 2 && names[i]; i++)
        name_prefetch(v, names[i], record);
}

/* Check entry `record` against the chain and apply `entry`, its bytes as unpacked (NULL: they
 * do not decode). Returns 0, a problem (> 0, in the report) or -1 (out of memory). */
static int verify_record(struct verify *v, const Famledger__LogRecord *record,
                         const Famledger__Entry *entry)
{
    uint64_t seq = record->seq;
    if (seq != v->seq + 1)
        return verify_problem(v, v->seq + 1, "entry %llu is missing", (unsigned long long)(v->seq + 1));
    uint8_t computed[FL_HASH_BYTES];
    if (sha256_pair(v->hash, FL_HASH_BYTES, record->entry_bytes.data, record->entry_bytes.len,
                    computed) != 0)
        return -1; /* out of memory */
    if (record->hash.len != FL_HASH_BYTES || memcmp(computed, record->hash.data, FL_HASH_BYTES))
        return verify_problem(v, seq, "the hash of entry %llu does not match its bytes and the "
                              "previous hash: the entry or the chain was altered",
                              (unsigned long long)seq);
    if (!entry)
        return verify_problem(v, seq, "entry %llu does not decode", (unsigned long long)seq);
    int rc = 0;
    const char *differs;
    if (entry->seq != seq || entry->prev_hash.len != FL_HASH_BYTES ||
        memcmp(entry->prev_hash.data, v->hash, FL_HASH_BYTES) != 0)
        rc = verify_problem(v, seq, "entry %llu does not link to the previous one",
                            (unsigned long long)seq);
    /* Time only goes forward: the daemon finds a day's entries by it (ledger_day_first). */
    else if (seq > 1 && entry->time_us <= v->time_us)
        rc = verify_problem(v, seq, "entry %llu is not dated after entry %llu (%lld and %lld "
                            "microseconds): the log is out of time order",
                            (unsigned long long)seq, (unsigned long long)(seq - 1),
                            (long long)entry->time_us, (long long)v->time_us);
    else if (!entry_whole(entry))
        rc = verify_problem(v, seq, "entry %llu lacks a part that every entry of its kind has, "
                            "or carries a negative amount: no famledgerd wrote it",
                            (unsigned long long)seq);
    else if ((differs = verify_entry_canonical(entry)))
        rc = verify_problem(v, seq, "entry %llu is not as famledgerd writes it: %s",
                            (unsigned long long)seq, differs);
    if (rc == 0) {
        v->time_us = entry->time_us;
        v->move_count = 0;
        rc = apply(v, entry);
        if (rc == 0)
            rc = verify_postings(v, entry);
    }
    v->seq = seq;
    memcpy(v->hash, record->hash.data, FL_HASH_BYTES);
    v->report->entries++;
    return rc;
}

/* A page of the log: its entries unpacked, hinted (entry_prefetch), then checked and applied in
 * order until the first problem. Returns 0, or -1 when out of memory. */
static int verify_records(struct verify *v, Famledger__LogRecord **records, size_t count)
{
    ProtobufCAllocator *scratch = &v->scratch.allocator;
    Famledger__Entry **entries = scratch->alloc(scratch->allocator_data,
                                                (count ? count : 1) * sizeof(*entries));
    int rc = entries ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < count; i++)
        entries[i] = famledger__entry__unpack(scratch, records[i]->entry_bytes.len,
                                              records[i]->entry_bytes.data);
    if (!v->name_hashes) /* without them, every hash is computed where it is needed */
        v->name_hashes = calloc(VERIFY_NAME_HASHES, sizeof(*v->name_hashes));
    v->name_page++; /* odd: this page's names, and none of the last */
    for (int pass = 0; rc == 0 && pass < 2; pass++)
        for (size_t i = 0; i < count; i++)
            if (entries[i])
                entry_prefetch(v, entries[i], pass == 1);
    for (size_t i = 0; rc == 0 && i < count && v->report->ok; i++)
        if (verify_record(v, records[i], entries[i]) < 0)
            rc = -1;
    v->name_page++; /* even: the names' memory is about to be another page's */
    scratch_reset(&v->scratch);
    return rc;
}

/* A page's reply as verify reads it: the daemon's INTERNAL is damage it could not read past. */
static int verify_page_result(struct verify *v, int rc, Famledger__Response **response,
                              Famledger__Response__BodyCase body_case, const char *what)
{
    if (rc == 0)
        rc = client_expect(v->client, *response, body_case);
    if (rc != FL_ERR_INTERNAL)
        return rc;
    return verify_problem(v, v->seq, "the daemon cannot read its %s after entry %llu: its "
                          "storage is damaged", what, (unsigned long long)v->seq);
}

int verify_page_call(struct verify *v, Famledger__Request *request,
                     Famledger__Response__BodyCase body_case, Famledger__Response **response,
                     const char *what)
{
    verify_page_drain(v); /* a reply still in flight would be taken for this one's */
    return verify_page_result(v, client_call(v->client, request, response), response, body_case,
                              what);
}

int verify_page_ask(struct verify *v, Famledger__Request__BodyCase body_case, void *body)
{
    if (v->page_request)
        return client_fail(v->client, FL_ERR_PROTOCOL_ERROR, "verify asked for two pages");
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = body_case;
    request.person_add = body; /* every body of the oneof shares one slot (client_call_body) */
    uint64_t id;
    int rc = client_call_send(v->client, &request, &id);
    if (rc == 0)
        v->page_request = id;
    return rc;
}

int verify_page_read(struct verify *v, Famledger__Response__BodyCase body_case,
                     Famledger__Response **response, const char *what)
{
    uint64_t id = v->page_request;
    if (!id)
        return client_fail(v->client, FL_ERR_PROTOCOL_ERROR, "verify read a page not asked for");
    v->page_request = 0;
    return verify_reply_read(v, id, body_case, response, what);
}

int verify_reply_read(struct verify *v, uint64_t id, Famledger__Response__BodyCase body_case,
                      Famledger__Response **response, const char *what)
{
    return verify_page_result(v, client_call_receive(v->client, id, response), response,
                              body_case, what);
}

void verify_page_drain(struct verify *v)
{
    if (v->page_request == 0)
        return;
    Famledger__Response *response;
    if (client_call_receive(v->client, v->page_request, &response) == 0)
        client_response_free(v->client, response);
    v->page_request = 0;
}

static int log_page_ask(struct verify *v, uint64_t from_seq)
{
    Famledger__LogPageRequest page = FAMLEDGER__LOG_PAGE_REQUEST__INIT;
    page.from_seq = from_seq;
    page.limit = VERIFY_PAGE;
    return verify_page_ask(v, FAMLEDGER__REQUEST__BODY_LOG_PAGE, &page);
}

/* Replay every entry after v->seq, asking for each page before replaying the one before it.
 * Halfway through each page the digest page asked for half a page before is read and the next
 * one asked for (verify_digest.c): the daemon folds it while the client replays, after it has
 * answered the log page asked before it, so that a digest never holds back the log page the
 * client reads next. Returns 0 (problems go to the report), or a client error. */
static int verify_catch_up(struct verify *v)
{
    int rc = log_page_ask(v, v->seq + 1);
    while (rc == 0) {
        Famledger__Response *response;
        rc = verify_page_read(v, FAMLEDGER__RESPONSE__BODY_LOG_PAGE, &response, "log");
        if (rc) {
            verify_digest_drain(v);
            return rc > 0 ? 0 : rc;
        }
        const Famledger__LogPageReply *reply = response->log_page;
        bool more = reply->next_seq != 0 && reply->n_records > 0;
        if (more)
            rc = log_page_ask(v, reply->next_seq);
        size_t half = reply->n_records / 2;
        int replayed = rc == 0 ? verify_records(v, reply->records, half) : 0;
        /* Behind the log page just asked for on the wire; read even after a failed replay. */
        if (rc == 0)
            rc = verify_digest_read(v);
        if (rc == 0 && more && v->report->ok && replayed == 0)
            rc = verify_digest_ask(v);
        if (rc == 0 && replayed == 0)
            replayed = verify_records(v, reply->records + half, reply->n_records - half);
        if (rc == 0 && replayed < 0)
            rc = client_fail(v->client, FL_ERR_PROTOCOL_ERROR, "out of memory while verifying");
        uint64_t head = reply->head_seq;
        client_response_free(v->client, response);
        if (rc == 0 && v->progress_cb)
            v->progress_cb(v->seq, head, v->progress_context);
        if (rc || !more || !v->report->ok) {
            verify_page_drain(v);
            verify_digest_drain(v);
            return rc > 0 ? 0 : rc;
        }
    }
    return rc;
}

static void verify_free(struct verify *v)
{
    free(v->name_hashes);
    for (int index = 0; index < INDEX_COUNT; index++)
        digest_map_free(&v->indexes[index]);
    for (size_t i = 0; i < v->persons.count; i++) {
        struct model_person *person = verify_person_at(v, i);
        free(person->funders);
        if (!person->extra)
            continue;
        if (person->extra->aid != &person->extra->aid_first)
            free(person->extra->aid);
        free(person->extra->suspend_reason);
        free(person->extra->freeze_reason);
        if (person->extra->wallet)
            free(person->extra->wallet->pending_in);
        free(person->extra->wallet);
        free(person->extra);
    }
    record_table_free(&v->persons);
    verify_funded_free(v);
    scratch_release(&v->scratch);
    model_memory_release(v->settlements, v->settlement_capacity * sizeof(*v->settlements));
    free(v->settled.words);
    free(v->cancelled.words);
    free(v->aid_counted.words);
    verify_twophase_free(v);
    verify_emergency_free(v);
}

/* Open (with its head and time zone) or close the connection's snapshot. */
static int snapshot_set(fl_client *client, bool open, uint64_t *seq, uint8_t hash[FL_HASH_BYTES],
                        char *timezone, size_t timezone_bytes)
{
    Famledger__SnapshotRequest body = FAMLEDGER__SNAPSHOT_REQUEST__INIT;
    body.close = !open;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_SNAPSHOT;
    request.snapshot = &body;
    Famledger__Response *response;
    int rc = client_call(client, &request, &response);
    if (rc == 0)
        rc = client_expect(client, response, FAMLEDGER__RESPONSE__BODY_SNAPSHOT);
    if (rc)
        return rc;
    if (open) {
        *seq = response->snapshot->seq;
        if (response->snapshot->hash.len == FL_HASH_BYTES)
            memcpy(hash, response->snapshot->hash.data, FL_HASH_BYTES);
        snprintf(timezone, timezone_bytes, "%s", response->snapshot->timezone);
    }
    client_response_free(client, response);
    return 0;
}

/* The tables whose items are only ever added, and whose keys grow with the ledger (a person's
 * links, a reference, a holder, a patient, a merchant's day): digested whole on the first
 * pass. */
static const enum verify_index verify_whole_indexes[] = {
    INDEX_ACCOUNT_LINKS, INDEX_MERCHANT_LINKS, INDEX_REFERENCES,
    INDEX_FUNDED,        INDEX_PATIENT_LINKS,  INDEX_WALLET_LINKS,
};
/* The tables compared record by record, with a record of the model each: digested whole by the
 * daemon on the first pass, and walked only to name a difference. */
static const enum verify_index verify_record_tables[] = {INDEX_PERSONS, INDEX_ACCOUNTS,
                                                         INDEX_SETTLEMENTS};
/* The tables summed a business day at a time, whose keys grow with the days: keyed for the
 * day being replayed, then whole. */
static const enum verify_index verify_daily_indexes[] = {INDEX_DAY_TOTALS, INDEX_MERCHANT_DAYS};

/* One replay of the snapshot and one comparison, with every whole-table index but `keyed`
 * digested whole; unless `walk`, the daemon digests the stored side of those it can. */
static int verify_pass(struct verify *v, int keyed, bool walk, uint64_t snapshot_seq,
                       const uint8_t snapshot_hash[FL_HASH_BYTES])
{
    v->unplaced = -1;
    for (int index = 0; index < INDEX_COUNT; index++)
        v->indexes[index].key = &v->digest_key;
    bool whole[INDEX_COUNT] = {false};
    for (size_t i = 0; i < sizeof(verify_whole_indexes) / sizeof(*verify_whole_indexes); i++)
        if ((int)verify_whole_indexes[i] != keyed) {
            digest_map_whole(&v->indexes[verify_whole_indexes[i]]);
            whole[verify_whole_indexes[i]] = true;
        }
    for (size_t i = 0; !walk && i < sizeof(verify_record_tables) / sizeof(*verify_record_tables);
         i++)
        if ((int)verify_record_tables[i] != keyed) {
            digest_map_whole(&v->indexes[verify_record_tables[i]]);
            whole[verify_record_tables[i]] = true;
        }
    if (walk)
        memset(whole, 0, sizeof(whole)); /* no digests of the daemon's: the client walks all */
    verify_digests_plan(v, whole);
    v->snapshot_seq = snapshot_seq;
    int rc = verify_digests_size(v);
    if (rc > 0)
        rc = 0; /* a table the daemon cannot read: the problem is in the report */
    /* Known before the first entry: whether a settlement is kept as a record or as bits. */
    v->settlements_digested = v->digests.asked[INDEX_SETTLEMENTS];
    for (size_t i = 0; i < sizeof(verify_daily_indexes) / sizeof(*verify_daily_indexes); i++)
        if ((int)verify_daily_indexes[i] != keyed)
            digest_map_periodic(&v->indexes[verify_daily_indexes[i]]);
    if (rc == 0 && v->report->ok)
        rc = verify_catch_up(v);
    if (rc == 0 && v->report->ok)
        rc = verify_twophase_finish(v);
    if (rc == 0 && v->report->ok)
        rc = verify_compare(v);
    if (rc == 0 && v->report->ok && v->seq != snapshot_seq)
        verify_problem(v, v->seq, "the log ends at entry %llu but the head says %llu",
                       (unsigned long long)v->seq, (unsigned long long)snapshot_seq);
    if (rc == 0 && v->report->ok && memcmp(snapshot_hash, v->hash, FL_HASH_BYTES) != 0)
        verify_problem(v, v->seq, "the stored head hash differs from the last entry's");
    return rc;
}

static int verify_run(fl_client *client, bool walk, fl_verify_report *report,
                      fl_progress_cb progress_cb, void *progress_context)
{
    memset(report, 0, sizeof(*report));
    report->ok = true;
    if (sha256_ready() != 0)
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "cannot load SHA-256 from libcrypto");
    /* A key nobody could know before this run: what was stored beforehand cannot have been
     * made to fold like what the log says (table_digest.h). */
    struct table_digest_key digest_key;
    if (table_digest_key_random(&digest_key) != 0)
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "cannot start libsodium");
    struct verify v = {.client = client, .digest_key = digest_key, .report = report,
                       .progress_cb = progress_cb, .progress_context = progress_context};
    scratch_init(&v.scratch);
    /* Pages come one after another, each read once: they are unpacked into one scratch. */
    struct scratch replies;
    scratch_init(&replies);
    client->replies = &replies;
    uint64_t snapshot_seq;
    uint8_t snapshot_hash[FL_HASH_BYTES];
    char timezone[256] = "", saved_tz[256] = "";
    int rc = snapshot_set(client, true, &snapshot_seq, snapshot_hash, timezone,
                          sizeof(timezone));
    /* Day indexes are dated in the daemon's business time zone; so are ours, meanwhile. */
    bool had_tz = getenv("TZ") != NULL;
    if (had_tz)
        snprintf(saved_tz, sizeof(saved_tz), "%s", getenv("TZ"));
    if (rc == 0 && *timezone) {
        setenv("TZ", timezone, 1);
        tzset();
    }
    if (rc == 0)
        rc = verify_pass(&v, -1, walk, snapshot_seq, snapshot_hash);
    if (rc == 0 && v.unplaced >= 0) {
        /* The first difference is in a table digested whole: replay the same snapshot again
         * with that table keyed, so that the report names the key, as an operator needs. */
        int keyed = v.unplaced;
        verify_free(&v);
        memset(report, 0, sizeof(*report));
        report->ok = true;
        v = (struct verify){.client = client, .digest_key = digest_key, .report = report,
                            .progress_cb = progress_cb, .progress_context = progress_context};
        scratch_init(&v.scratch);
        rc = verify_pass(&v, keyed, walk, snapshot_seq, snapshot_hash);
        /* The difference was there: a keyed pass that cannot place it must not clear it. */
        if (rc == 0 && report->ok)
            verify_problem(&v, v.seq, "the stored %s differ from the log, but no record of "
                           "them could be named", verify_indexes[keyed].name);
    }
    if (rc == 0)
        rc = snapshot_set(client, false, NULL, NULL, NULL, 0);
    if (had_tz)
        setenv("TZ", saved_tz, 1);
    else
        unsetenv("TZ");
    tzset();
    report->head_seq = v.seq;
    memcpy(report->head_hash, v.hash, FL_HASH_BYTES);
    verify_free(&v);
    client->replies = NULL;
    scratch_release(&replies);
    return rc;
}

int fl_verify(fl_client *client, fl_verify_report *report, fl_progress_cb progress_cb,
              void *progress_context)
{
    return verify_run(client, false, report, progress_cb, progress_context);
}

int fl_verify_walk(fl_client *client, fl_verify_report *report, fl_progress_cb progress_cb,
                   void *progress_context)
{
    return verify_run(client, true, report, progress_cb, progress_context);
}
