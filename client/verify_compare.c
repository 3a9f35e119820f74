/* verify_compare.c -- the second half of verify: the stored derived state, read from the
 * snapshot page by page, compared with what the replay of the log built, both ways. */
#include "verify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- comparing with the stored derived state ---- */

/* The report's sums of every account wrap rather than overflow: the daemon keeps each
 * account's totals within INT64_MAX and the personal class total too, but a damaged stored
 * account may say anything, and the identity credits - debits = balances holds modulo 2^64. */
static int64_t wrapping_add(int64_t total, uint64_t amount)
{
    return (int64_t)((uint64_t)total + amount);
}

static void report_add(fl_verify_report *report, int64_t balance_fen, int64_t credited_fen,
                       int64_t debited_fen)
{
    report->balances_fen = wrapping_add(report->balances_fen, (uint64_t)balance_fen);
    report->credited_fen = wrapping_add(report->credited_fen, (uint64_t)credited_fen);
    report->debited_fen = wrapping_add(report->debited_fen, (uint64_t)debited_fen);
}

/* A stored key as text, for messages: a settlement id, or the key's bytes. */
static void key_text(const ProtobufCBinaryData *key, bool id, char *text, size_t text_bytes)
{
    if (id && key->len == 8) {
        snprintf(text, text_bytes, "%llu", (unsigned long long)table_digest_u64(key->data));
        return;
    }
    size_t length = key->len < text_bytes - 1 ? key->len : text_bytes - 1;
    for (size_t i = 0; i < length; i++)
        text[i] = key->data[i] >= 0x20 && key->data[i] < 0x7f ? (char)key->data[i] : '?';
    text[length] = '\0';
}

/* A stored record that does not decode is damage, named by its table and key. */
static int undecodable(struct verify *v, const char *table, const ProtobufCBinaryData *key,
                       bool id)
{
    char text[80];
    key_text(key, id, text, sizeof(text));
    return verify_problem(v, v->seq, "the stored %s record %s does not decode: it is damaged",
                          table, text);
}

typedef int (*state_visit)(struct verify *v, const ProtobufCBinaryData *key,
                           const ProtobufCBinaryData *value);

/* A hint for a stored key, before its page is visited: each key's slot (`record` false), then
 * each key's record (true), so that the page's lookups into the model do not wait for memory
 * one after another (record_table_prefetch). */
typedef void (*state_prefetch)(const struct verify *v, const ProtobufCBinaryData *key,
                               bool record);

/* The persons, accounts and funders tables are keyed by person number. */
static void prefetch_person(const struct verify *v, const ProtobufCBinaryData *key, bool record)
{
    verify_person_prefetch(v, key->data, key->len, record);
}

/* The settlements table is keyed by id, 8 bytes big-endian; the model's slot is the record. */
static void prefetch_settlement(const struct verify *v, const ProtobufCBinaryData *key,
                                bool record)
{
    if (!record && key->len == 8)
        verify_settlement_prefetch(v, table_digest_u64(key->data));
}

static int state_page_ask(struct verify *v, Famledger__StateTable table,
                          ProtobufCBinaryData after, ProtobufCBinaryData after_value)
{
    Famledger__StatePageRequest page = FAMLEDGER__STATE_PAGE_REQUEST__INIT;
    page.table = table;
    page.after_key = after;
    page.after_value = after_value;
    page.limit = VERIFY_PAGE;
    return verify_page_ask(v, FAMLEDGER__REQUEST__BODY_STATE_PAGE, &page);
}

/* Visit every record of `table`, asking for each page before visiting the one before it. */
static int state_walk(struct verify *v, Famledger__StateTable table, state_visit visit,
                      state_prefetch prefetch)
{
    ProtobufCBinaryData after = {0, NULL}, after_value = {0, NULL};
    uint8_t after_bytes[VERIFY_KEY_MAX], after_value_bytes[8];
    const ProtobufCEnumValue *name =
        protobuf_c_enum_descriptor_get_value(&famledger__state_table__descriptor, table);
    int rc = state_page_ask(v, table, after, after_value);
    while (rc == 0) {
        Famledger__Response *response;
        rc = verify_page_read(v, FAMLEDGER__RESPONSE__BODY_STATE_PAGE, &response,
                              name ? name->name : "state");
        if (rc)
            return rc > 0 ? 0 : rc;
        const Famledger__StatePageReply *reply = response->state_page;
        bool more = reply->more && reply->n_keys > 0;
        if (more && reply->keys[reply->n_keys - 1].len > sizeof(after_bytes)) {
            /* No key of ours is that long: the page could not be resumed, and it is damage. */
            verify_problem(v, v->seq, "a stored key of %zu bytes is damaged",
                           reply->keys[reply->n_keys - 1].len);
            more = false;
        } else if (more) {
            after.len = reply->keys[reply->n_keys - 1].len;
            memcpy(after_bytes, reply->keys[reply->n_keys - 1].data, after.len);
            after.data = after_bytes;
            /* In an index table the same key repeats: resume after the (key, seq) pair. */
            const ProtobufCBinaryData *last = &reply->values[reply->n_keys - 1];
            after_value.len = last->len <= sizeof(after_value_bytes) ? last->len : 0;
            memcpy(after_value_bytes, last->data, after_value.len);
            after_value.data = after_value_bytes;
            rc = state_page_ask(v, table, after, after_value);
        }
        for (int pass = 0; prefetch && pass < 2; pass++)
            for (size_t i = 0; i < reply->n_keys; i++)
                prefetch(v, &reply->keys[i], pass == 1);
        for (size_t i = 0; i < reply->n_keys && i < reply->n_values; i++)
            visit(v, &reply->keys[i], &reply->values[i]);
        client_response_free(v->client, response);
        if (rc || !more) {
            verify_page_drain(v);
            return rc;
        }
    }
    return rc;
}

/* An item of a walked person or account that the walk does not compare itself (a name, a
 * reason): into the table's digest, beside the model's (expect_records, expect_registered). */
static void stored_beside(struct verify *v, enum verify_index index, const char *person_no,
                          struct table_digest_item item)
{
    if (digest_add(&v->indexes[index], person_no, strlen(person_no), &item, true) != 0)
        v->out_of_memory = true;
}

static int compare_account(struct verify *v, const ProtobufCBinaryData *key,
                           const ProtobufCBinaryData *value)
{
    Famledger__Account *stored =
        famledger__account__unpack(&v->scratch.allocator, value->len, value->data);
    if (!stored)
        return undecodable(v, "accounts", key, false);
    struct model_person *person = verify_person_find(v, stored->person_no, false);
    v->report->accounts++;
    if (person)
        person->stored_account = true;
    report_add(v->report, stored->balance_fen, stored->credited_fen, stored->debited_fen);
    if (!person || !person->has_account)
        verify_problem(v, stored->last_seq, "stored account %s has no account_opened entry",
                       stored->person_no);
    else if (model_person_balance(person) != stored->balance_fen ||
             person->credited_fen != stored->credited_fen ||
             person->debited_fen != stored->debited_fen || person->status != (int)stored->status)
        verify_problem(v, stored->last_seq, "account %s: stored balance %lld, credited %lld, "
                       "debited %lld, status %d; the log gives %lld, %lld, %lld, %d",
                       stored->person_no, (long long)stored->balance_fen,
                       (long long)stored->credited_fen, (long long)stored->debited_fen,
                       stored->status, (long long)model_person_balance(person),
                       (long long)person->credited_fen, (long long)person->debited_fen,
                       person->status);
    else if (model_seq_get(person->last_seq) != stored->last_seq)
        verify_problem(v, stored->last_seq, "account %s: its statement starts from entry %llu; "
                       "the log last touched it in entry %llu", stored->person_no,
                       (unsigned long long)stored->last_seq,
                       (unsigned long long)model_seq_get(person->last_seq));
    else if (model_person_held(person) != stored->held_fen)
        verify_problem(v, stored->last_seq, "account %s: %lld fen stored as held; the open holds "
                       "of the log hold %lld", stored->person_no, (long long)stored->held_fen,
                       (long long)model_person_held(person));
    else
        verify_aid_compare(v, person, stored);
    if (*stored->freeze_reason)
        stored_beside(v, INDEX_ACCOUNTS, stored->person_no,
                      table_digest_reason(stored->freeze_reason));
    if (stored->patient_last_seq)
        stored_beside(v, INDEX_ACCOUNTS, stored->person_no,
                      table_digest_patient_head(stored->patient_last_seq));
    scratch_reset(&v->scratch);
    return 0;
}

static int compare_person(struct verify *v, const ProtobufCBinaryData *key,
                          const ProtobufCBinaryData *value)
{
    Famledger__Person *stored =
        famledger__person__unpack(&v->scratch.allocator, value->len, value->data);
    if (!stored)
        return undecodable(v, "persons", key, false);
    struct model_person *person = verify_person_find(v, stored->person_no, false);
    v->stored_persons++;
    if (person)
        person->stored_person = true;
    if (!person)
        verify_problem(v, stored->registered_seq, "stored person %s was never registered",
                       stored->person_no);
    else if (person->has_account != (bool)stored->has_account ||
             person->suspended != (bool)stored->suspended)
        verify_problem(v, stored->registered_seq, "person %s: stored account/suspension flags "
                       "differ from the log", stored->person_no);
    else if (person->person_status != (stored->status ? (int)stored->status
                                                      : FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE) ||
             strcmp(person->region, stored->region) != 0)
        verify_problem(v, stored->registered_seq, "person %s: stored status %d in region %s; "
                       "the log gives %d in %s", stored->person_no, stored->status,
                       stored->region, person->person_status, person->region);
    else if ((int)stored->scheme != model_person_scheme(person))
        verify_problem(v, stored->registered_seq, "person %s: stored scheme %d; the log gives "
                       "%d", stored->person_no, stored->scheme, model_person_scheme(person));
    stored_beside(v, INDEX_PERSONS, stored->person_no,
                  table_digest_registered(stored->registered_seq, stored->name));
    if (*stored->suspend_reason)
        stored_beside(v, INDEX_PERSONS, stored->person_no,
                      table_digest_reason(stored->suspend_reason));
    if (stored->patient_last_seq)
        stored_beside(v, INDEX_PERSONS, stored->person_no,
                      table_digest_patient_head(stored->patient_last_seq));
    scratch_reset(&v->scratch);
    return 0;
}

static int compare_funders(struct verify *v, const ProtobufCBinaryData *key,
                           const ProtobufCBinaryData *value)
{
    Famledger__BindingList *stored =
        famledger__binding_list__unpack(&v->scratch.allocator, value->len,
                                                                     value->data);
    char beneficiary[FL_PERSON_NO_MAX + 1];
    size_t bytes = key->len < sizeof(beneficiary) - 1 ? key->len : sizeof(beneficiary) - 1;
    memcpy(beneficiary, key->data, bytes); /* as "%.*s" would, without printf */
    beneficiary[bytes] = '\0';
    struct model_person *person = verify_person_find(v, beneficiary, false);
    if (stored && stored->n_bindings > 0)
        v->stored_funded++;
    if (person && stored && stored->n_bindings > 0)
        person->stored_funders = true;
    bool same = stored && person && stored->n_bindings == person->funder_count;
    for (size_t i = 0; same && i < stored->n_bindings; i++)
        same = strcmp(stored->bindings[i]->holder, person->funders[i].holder->person_no) == 0;
    if (!same)
        verify_problem(v, v->seq, "the stored funding order of %s differs from the log",
                       beneficiary);
    for (size_t i = 0; same && i < stored->n_bindings; i++) {
        const Famledger__Binding *binding = stored->bindings[i];
        if (table_digest_binding(&v->digest_key, binding, binding->bound_seq) !=
            person->funders[i].binding) {
            verify_problem(v, binding->bound_seq, "the stored binding of %s to fund %s differs "
                           "from the log's (its beneficiary, relation, evidence, channel or "
                           "entry)", binding->holder, beneficiary);
            break;
        }
    }
    if (stored)
        scratch_reset(&v->scratch);
    return 0;
}

static int compare_settlement(struct verify *v, const ProtobufCBinaryData *key,
                              const ProtobufCBinaryData *value)
{
    Famledger__Settlement *stored =
        famledger__settlement__unpack(&v->scratch.allocator, value->len, value->data);
    if (!stored)
        return undecodable(v, "settlements", key, true);
    if (key->len != 8 || table_digest_u64(key->data) != stored->settlement_id) {
        char text[80];
        key_text(key, true, text, sizeof(text));
        verify_problem(v, key->len == 8 ? table_digest_u64(key->data) : v->seq,
                       "the stored settlement under key %s names settlement %llu", text,
                       (unsigned long long)stored->settlement_id);
        scratch_reset(&v->scratch);
        return 0;
    }
    struct model_settlement *model = verify_settlement_find(v, stored->settlement_id, false);
    v->report->settlements++;
    if (model)
        model->stored = true;
    int64_t leg_refunds = 0;
    uint64_t refunds = 0;
    bool legs_within = true; /* no leg got back more than it paid, nor less than nothing */
    for (size_t i = 0; model && i < stored->n_refunds; i++)
        refunds += table_digest_refund(&v->digest_key, stored->refunds[i],
                                       stored->refunds[i]->refund_id);
    for (size_t i = 0; i < stored->n_legs; i++) {
        const Famledger__Leg *leg = stored->legs[i];
        legs_within &= leg->refunded_fen >= 0 && leg->refunded_fen <= leg->amount_fen &&
                       !__builtin_add_overflow(leg_refunds, leg->refunded_fen, &leg_refunds);
        if (model && leg->refunded_fen) /* most legs never get anything back */
            refunds += (uint64_t)leg->refunded_fen *
                       verify_refund_weight(v, leg->holder, leg->wallet);
    }
    if (!model)
        verify_problem(v, stored->settlement_id, "stored settlement %llu has no settled entry",
                       (unsigned long long)stored->settlement_id);
    else if (model->fingerprint != table_digest_settlement(&v->digest_key, stored))
        verify_problem(v, stored->settlement_id, "settlement %llu: the stored parties, amounts "
                       "or legs differ from its settled entry",
                       (unsigned long long)stored->settlement_id);
    else if (!legs_within || leg_refunds != stored->refunded_fen || refunds != model->refunds ||
             model->cancelled != (bool)stored->cancelled)
        verify_problem(v, stored->settlement_id, "settlement %llu: what its stored legs count "
                       "as given back (%lld fen%s) is not what the log's refunds gave each of "
                       "them, or its stored refunds are not the log's%s",
                       (unsigned long long)stored->settlement_id,
                       (long long)stored->refunded_fen, stored->cancelled ? ", cancelled" : "",
                       model->cancelled ? " (the log cancelled it)" : "");
    scratch_reset(&v->scratch);
    return 0;
}

/* An item of a stored record, into the index being walked (keyed, or whole when the daemon
 * could not digest it). */
static void stored_item(void *context, const uint8_t *key, size_t key_bytes,
                        const struct table_digest_item *item)
{
    struct verify *v = context;
    if (digest_add(&v->indexes[v->walking], key, key_bytes, item, true) != 0)
        v->out_of_memory = true;
}

/* A record of a table whose items table_digest.h defines: the same items the daemon folds
 * into its digest of the table. */
static int stored_items(struct verify *v, const ProtobufCBinaryData *key,
                        const ProtobufCBinaryData *value)
{
    Famledger__StateTable table = verify_indexes[v->walking].table;
    if (table_digest_items(&v->digest_key, table, key->data, key->len, value->data, value->len,
                           stored_item, v) == 0)
        return 0;
    if (table == FAMLEDGER__STATE_TABLE__STATE_FUNDED)
        return undecodable(v, "funded", key, false);
    return verify_problem(v, v->seq, "a stored %s record of %zu and %zu bytes is damaged",
                          verify_indexes[v->walking].name, key->len, value->len);
}

static int stored_merchant(struct verify *v, const ProtobufCBinaryData *key,
                           const ProtobufCBinaryData *value)
{
    Famledger__Merchant *merchant =
        famledger__merchant__unpack(&v->scratch.allocator, value->len, value->data);
    if (!merchant)
        return undecodable(v, "merchants", key, false);
    struct table_digest_item added = verify_merchant_item(v, merchant, merchant->added_seq);
    struct table_digest_item status = verify_merchant_status_item(merchant->suspended);
    struct digest_map *merchants = &v->indexes[INDEX_MERCHANTS];
    if (digest_add(merchants, key->data, key->len, &added, true) != 0 ||
        digest_add(merchants, key->data, key->len, &status, true) != 0)
        v->out_of_memory = true;
    scratch_reset(&v->scratch);
    return 0;
}

static int stored_balance(struct verify *v, const ProtobufCBinaryData *key,
                          const ProtobufCBinaryData *value)
{
    Famledger__Balance *balance =
        famledger__balance__unpack(&v->scratch.allocator, value->len, value->data);
    if (!balance)
        return undecodable(v, "balances", key, false);
    /* The record names the account its key does: "class" for a class total, "class:id". */
    const char *name = verify_class_name(balance->account_class);
    size_t name_bytes = name ? strlen(name) : 0, id_bytes = strlen(balance->id);
    bool named = name && key->len == name_bytes + (id_bytes ? 1 + id_bytes : 0) &&
                 memcmp(key->data, name, name_bytes) == 0 &&
                 (!id_bytes || (key->data[name_bytes] == ':' &&
                                memcmp(key->data + name_bytes + 1, balance->id, id_bytes) == 0));
    if (!named) {
        verify_problem(v, v->seq, "a stored balance of %.*s names class %d and account \"%s\"",
                       (int)key->len, (const char *)key->data, balance->account_class,
                       balance->id);
        scratch_reset(&v->scratch);
        return 0;
    }
    if (digest_add_amount(&v->indexes[INDEX_BALANCES], key->data, key->len,
                          balance->balance_fen, true) != 0)
        v->out_of_memory = true;
    /* A wallet's balance keeps the head of its statement (wallet_links). */
    if (balance->account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET && id_bytes) {
        const struct model_person *person = verify_person_find(v, balance->id, false);
        uint64_t last_seq = person && person->extra && person->extra->wallet
                                ? person->extra->wallet->last_seq
                                : 0;
        if (balance->last_seq != last_seq)
            verify_problem(v, v->seq, "the stored balance of %.*s says entry %llu moved it "
                           "last; the log gives %llu", (int)key->len, (const char *)key->data,
                           (unsigned long long)balance->last_seq, (unsigned long long)last_seq);
    }
    scratch_reset(&v->scratch);
    return 0;
}

/* A day's totals, "YYYYMMDD" merchant -> MerchantDayTotals: four figures, as the replay
 * expects them (verify.c). */
static int stored_day_totals(struct verify *v, const ProtobufCBinaryData *key,
                             const ProtobufCBinaryData *value)
{
    Famledger__MerchantDayTotals *totals =
        famledger__merchant_day_totals__unpack(&v->scratch.allocator, value->len, value->data);
    if (!totals || key->len <= 8 || key->len > 8 + FL_PERSON_NO_MAX)
        return totals ? verify_problem(v, v->seq, "a stored day_totals key of %zu bytes is "
                                       "damaged", key->len)
                      : undecodable(v, "day_totals", key, false);
    const int64_t amounts[4] = {totals->settled_fen, totals->refunded_fen, totals->paid_out_fen,
                                (int64_t)totals->last_seq};
    static const char kinds[4] = {'s', 'r', 'p', 'l'};
    uint8_t sub_key[8 + FL_PERSON_NO_MAX + 1];
    memcpy(sub_key, key->data, key->len);
    for (int i = 0; i < 4; i++) {
        sub_key[key->len] = (uint8_t)kinds[i];
        if (digest_add_amount(&v->indexes[INDEX_DAY_TOTALS], sub_key, key->len + 1,
                              amounts[i], true) != 0)
            v->out_of_memory = true;
    }
    scratch_reset(&v->scratch);
    return 0;
}

/* One of a merchant's days, merchant '\0' "YYYYMMDD" -> empty: a row. */
static int stored_merchant_day(struct verify *v, const ProtobufCBinaryData *key,
                               const ProtobufCBinaryData *value)
{
    if (value->len != 0 &&
        verify_problem(v, v->seq, "a stored merchant_days record holds %zu bytes", value->len))
        return 1;
    if (digest_add_amount(&v->indexes[INDEX_MERCHANT_DAYS], key->data, key->len, 0, true) != 0)
        v->out_of_memory = true;
    return 0;
}

static int stored_twophase(struct verify *v, const ProtobufCBinaryData *key,
                           const ProtobufCBinaryData *value)
{
    return verify_twophase_stored(v, v->walking, key, value);
}

/* Every index, rebuilt from the log and read from the store, compared key by key both ways. */
static int verify_compare_indexes(struct verify *v)
{
    /* A holder's funded list holds the beneficiaries whose funding order names the holder. */
    for (size_t i = 0; i < v->persons.count; i++) {
        const struct model_person *person = verify_person_at(v, i);
        for (size_t j = 0; j < person->funder_count; j++) {
            const struct model_funder *funder = &person->funders[j];
            verify_expect_item(v, INDEX_FUNDED, funder->holder->person_no,
                               strlen(funder->holder->person_no),
                               table_digest_funded(funder->binding));
        }
    }
    verify_expect_class_totals(v);
    /* The last day replayed is over too. */
    digest_fold(&v->indexes[INDEX_DAY_TOTALS]);
    digest_fold(&v->indexes[INDEX_MERCHANT_DAYS]);
    int rc;
    for (int index = 0; index < INDEX_COUNT; index++) {
        v->walking = (enum verify_index)index;
        struct digest_map *map = &v->indexes[index];
        if (v->digests.done[index]) {
            map->total.stored = v->digests.stored[index];
        } else if (index == INDEX_PERSONS || index == INDEX_ACCOUNTS ||
                   index == INDEX_SETTLEMENTS) {
            /* Walked record by record (verify_compare), which added to the digest what it
             * does not compare itself. */
        } else {
            state_visit visit = index == INDEX_MERCHANTS       ? stored_merchant
                                : index == INDEX_BALANCES      ? stored_balance
                                : index == INDEX_DAY_TOTALS    ? stored_day_totals
                                : index == INDEX_MERCHANT_DAYS ? stored_merchant_day
                                : index >= INDEX_WALLETS       ? stored_twophase
                                                               : stored_items;
            _Static_assert(INDEX_CALENDARS + 1 == INDEX_PERSONS,
                           "two-phase tables come last");
            if ((rc = state_walk(v, verify_indexes[index].table, visit, NULL)))
                return rc;
        }
        if (v->out_of_memory)
            return client_fail(v->client, FL_ERR_PROTOCOL_ERROR, "out of memory while verifying");
        /* A record the daemon could not read as the table's differs too: the walk names it. */
        const struct digest_record *differs =
            v->digests.damaged[index] ? &map->total : digest_first_difference(map);
        bool amounts = index == INDEX_BALANCES || index == INDEX_DAY_TOTALS ||
                       index == INDEX_MERCHANT_DAYS;
        if (differs && (map->whole || map->periodic)) {
            /* Found, not yet placed: fl_verify replays again with this table keyed. */
            if (v->report->ok)
                v->unplaced = index;
            verify_problem(v, v->seq, "%s: %llu stored, the log gives %llu%s",
                           verify_indexes[index].name,
                           (unsigned long long)differs->stored.count,
                           (unsigned long long)differs->expected.count,
                           differs->stored.count == differs->expected.count ? " (others)" : "");
        } else if (differs && (index == INDEX_PERSONS || index == INDEX_ACCOUNTS)) {
            char key[160];
            digest_key_text(differs, key, sizeof(key));
            verify_problem(v, v->seq, index == INDEX_PERSONS
                                          ? "person %s: the stored name, registration, "
                                            "suspension reason or newest settlement as a "
                                            "patient differ from the log"
                                          : "account %s: the stored freeze reason or newest "
                                            "settlement of its holder as a patient differ "
                                            "from the log",
                           key);
        } else if (differs && amounts) {
            char key[160];
            digest_key_text(differs, key, sizeof(key));
            if (differs->stored.count != differs->expected.count)
                verify_problem(v, v->seq, "%s of %s: %s", verify_indexes[index].name, key,
                               differs->stored.count ? "stored, but the log never moved it"
                                                     : "moved by the log, but not stored");
            else if (index == INDEX_DAY_TOTALS && differs->key[differs->key_bytes - 1] == 'l')
                verify_problem(v, v->seq, "%s of %s: the day's last entry is %llu stored, %llu "
                               "in the log", verify_indexes[index].name, key,
                               (unsigned long long)differs->stored.sum,
                               (unsigned long long)differs->expected.sum);
            else
                verify_problem(v, v->seq, "%s of %s: %lld fen stored, the log gives %lld fen",
                               verify_indexes[index].name, key, (long long)differs->stored.sum,
                               (long long)differs->expected.sum);
        } else if (differs) {
            char key[160];
            digest_key_text(differs, key, sizeof(key));
            verify_problem(v, v->seq, "%s of %s: %llu stored, the log gives %llu%s",
                           verify_indexes[index].name, key,
                           (unsigned long long)differs->stored.count,
                           (unsigned long long)differs->expected.count,
                           differs->stored.count == differs->expected.count ? " (others)" : "");
        }
    }
    return 0;
}

/* The persons (and, with `accounts`, the accounts) as table_digest.h digests their records,
 * from the model, and counted as stored: what stands for walking them when the daemon has
 * digested the stored tables. Why each person is suspended and each account frozen, and the
 * head of each patient's chain, go into the digests either way: a walk does not compare them
 * itself (stored_beside). */
static void expect_records(struct verify *v, bool persons, bool accounts)
{
    fl_verify_report *report = v->report;
    for (size_t i = 0; i < v->persons.count; i++) {
        struct model_person *person = verify_person_at(v, i);
        size_t bytes = strlen(person->person_no);
        const struct model_person_extra *extra = person->extra;
        if (extra && extra->suspend_reason)
            verify_expect_item(v, INDEX_PERSONS, person->person_no, bytes,
                               table_digest_reason(extra->suspend_reason));
        if (extra && extra->freeze_reason)
            verify_expect_item(v, INDEX_ACCOUNTS, person->person_no, bytes,
                               table_digest_reason(extra->freeze_reason));
        /* The head of the patient's chain: in their account once they have one. */
        uint64_t patient_head = model_seq_get(person->patient_last_seq);
        if (patient_head)
            verify_expect_item(v, person->has_account ? INDEX_ACCOUNTS : INDEX_PERSONS,
                               person->person_no, bytes, table_digest_patient_head(patient_head));
        if (persons) {
            verify_expect_item(v, INDEX_PERSONS, person->person_no, bytes,
                               table_digest_person(person->has_account, person->suspended,
                                                   person->person_status,
                                                   model_person_scheme(person), person->region));
            person->stored_person = true;
            v->stored_persons++;
        }
        if (!accounts || !person->has_account)
            continue;
        verify_expect_item(v, INDEX_ACCOUNTS, person->person_no, bytes,
                           table_digest_account(model_person_balance(person),
                                                person->credited_fen, person->debited_fen,
                                                person->status,
                                                model_seq_get(person->last_seq),
                                                model_person_held(person)));
        for (size_t j = 0; person->extra && j < person->extra->aid_count; j++) {
            const struct model_aid *aid = &person->extra->aid[j];
            verify_expect_item(v, INDEX_ACCOUNTS, person->person_no, bytes,
                               table_digest_aid(aid->beneficiary->person_no, aid->month,
                                                aid->month_fen, aid->year, aid->year_fen));
        }
        person->stored_account = true;
        report->accounts++;
        report_add(report, model_person_balance(person), person->credited_fen,
                   person->debited_fen);
    }
}

int verify_compare(struct verify *v)
{
    /* The tables the daemon digests: what was not folded while the log replayed. */
    int rc = verify_digests_finish(v);
    if (rc)
        return rc > 0 ? 0 : rc;
    fl_verify_report *report = v->report;
    report->accounts = report->settlements = 0;
    v->stored_persons = v->stored_funded = 0;
    for (size_t i = 0; i < v->persons.count; i++) {
        struct model_person *person = verify_person_at(v, i);
        person->stored_person = person->stored_account = person->stored_funders = false;
    }
    for (size_t i = 0; i < v->settlement_capacity; i++)
        v->settlements[i].stored = false;
    report->balances_fen = report->credited_fen = report->debited_fen = 0;
    bool persons_digested = v->digests.done[INDEX_PERSONS];
    bool accounts_digested = v->digests.done[INDEX_ACCOUNTS];
    expect_records(v, persons_digested, accounts_digested);
    if ((!accounts_digested &&
         (rc = state_walk(v, FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS, compare_account,
                          prefetch_person))) ||
        (!persons_digested &&
         (rc = state_walk(v, FAMLEDGER__STATE_TABLE__STATE_PERSONS, compare_person,
                          prefetch_person))) ||
        (rc = state_walk(v, FAMLEDGER__STATE_TABLE__STATE_FUNDERS, compare_funders,
                         prefetch_person)) ||
        (!v->digests.done[INDEX_SETTLEMENTS] &&
         (rc = state_walk(v, FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS, compare_settlement,
                          prefetch_settlement))))
        return rc;
    if (v->settlements_digested) /* as many as the log makes, or the digests differ */
        report->settlements = v->settlement_count;
    size_t model_accounts = 0, model_funded = 0;
    for (size_t i = 0; i < v->persons.count; i++) {
        const struct model_person *person = verify_person_at(v, i);
        model_accounts += person->has_account;
        model_funded += person->funder_count > 0;
        /* The other way round: what the log made and the store lacks, by name. */
        if (!person->stored_person)
            verify_problem(v, v->seq, "person %s is registered in the log but not stored (table "
                           "persons)",
                           person->person_no);
        if (person->has_account && !person->stored_account)
            verify_problem(v, v->seq, "the account of %s is opened in the log but not stored "
                           "(table accounts)",
                           person->person_no);
        if (person->funder_count > 0 && !person->stored_funders)
            verify_problem(v, v->seq, "the funding order of %s is in the log but not stored "
                           "(table funders)",
                           person->person_no);
    }
    for (size_t i = 0; i < v->settlement_capacity; i++)
        if (v->settlements[i].id && !v->settlements[i].stored)
            verify_problem(v, v->settlements[i].id, "settlement %llu is in the log but not stored",
                           (unsigned long long)v->settlements[i].id);
    if (model_accounts != report->accounts)
        verify_problem(v, v->seq, "the log opens %zu accounts; %llu are stored", model_accounts,
                       (unsigned long long)report->accounts);
    if (v->stored_persons != v->persons.count)
        verify_problem(v, v->seq, "the log registers %zu persons; %zu are stored",
                       v->persons.count, v->stored_persons);
    if (v->stored_funded != model_funded)
        verify_problem(v, v->seq, "%zu persons have funders in the log; %zu funding orders are "
                       "stored", model_funded, v->stored_funded);
    if (report->settlements != v->settlement_count)
        verify_problem(v, v->seq, "the log makes %zu settlements; %llu are stored",
                       v->settlement_count, (unsigned long long)report->settlements);
    if ((rc = verify_compare_indexes(v)))
        return rc;
    int64_t net_fen = wrapping_add(report->credited_fen, -(uint64_t)report->debited_fen);
    if (net_fen != report->balances_fen)
        verify_problem(v, v->seq, "credits minus debits (%lld fen) differ from the sum of "
                       "balances (%lld fen)", (long long)net_fen,
                       (long long)report->balances_fen);
    return 0;
}

