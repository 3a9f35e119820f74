/* corrupt.c -- test helper: tamper with a stopped daemon's ledger, as an attacker with disk
 * access would, so that tests can show verify catches it.
 *   famledger-corrupt DATA_DIR entry SEQ          flip one byte of entry SEQ's stored bytes
 *   famledger-corrupt DATA_DIR balance PERSON FEN  add FEN to PERSON's stored balance only
 *   famledger-corrupt DATA_DIR aid PERSON FEN      add FEN to the first mutual-aid count (its
 *                                                  month's) stored in PERSON's account
 *   famledger-corrupt DATA_DIR delete TABLE        delete the first record of a derived table
 *   famledger-corrupt DATA_DIR spoil TABLE         make the first record's value of a derived
 *                                                  table (not an index of duplicates) 3 bytes
 *                                                  that read as none of ours
 *   famledger-corrupt DATA_DIR unbalance SEQ       add 1 fen to the first posting of entry SEQ
 *                                                  and rewrite the chain and the head after it,
 *                                                  as an attacker who knows the format would
 *   famledger-corrupt DATA_DIR redate SEQ          date entry SEQ as its predecessor, and
 *                                                  rewrite the chain after it, likewise
 *   famledger-corrupt DATA_DIR garble SEQ          make entry SEQ bytes that do not decode,
 *                                                  rightly hashed, and rewrite the chain after it
 *   famledger-corrupt DATA_DIR amount SEQ FEN      set the first amount of entry SEQ's body
 *                                                  (a credit's, a movement's, a payout's, a
 *                                                  settlement's or a refund's first leg) to FEN,
 *                                                  and rewrite the chain after it
 *   famledger-corrupt DATA_DIR posting SEQ FEN     set the first posting of entry SEQ to FEN,
 *                                                  and rewrite the chain after it
 *   famledger-corrupt DATA_DIR mutate SEQ SEED     change one field of entry SEQ, chosen by SEED
 *                                                  (a number to an extreme, a text cut, a part
 *                                                  or a list element dropped), and rewrite the
 *                                                  chain after it
 *   famledger-corrupt DATA_DIR set SEQ PATH VALUE  set one field of entry SEQ (PATH as for
 *                                                  field, from the entry: settled.request.
 *                                                  patient), and rewrite the chain after it
 *   famledger-corrupt DATA_DIR strip SEQ [N]       drop the first (or Nth) part (sub-message)
 *                                                  of entry SEQ's body, and rewrite the chain
 *                                                  after it
 *   famledger-corrupt DATA_DIR empty TABLE         give every record of a derived table (not
 *                                                  an index of duplicates) the empty value
 *   famledger-corrupt DATA_DIR scheme PERSON       make PERSON's stored scheme the other one
 *   famledger-corrupt DATA_DIR leg ID PERSON       make PERSON the holder of the first leg of
 *                                                  stored settlement ID
 *   famledger-corrupt DATA_DIR shift ID            move 1 fen of what stored settlement ID
 *                                                  counts as given back to another of its legs
 *   famledger-corrupt DATA_DIR field TABLE KEY PATH VALUE
 *                                                  set one field of a stored record: PATH
 *                                                  names it, with the index of a list's
 *                                                  element (bindings.1.relation); VALUE is a
 *                                                  text, or a number (enums, flags). KEY is a
 *                                                  person, merchant or balance's text, a
 *                                                  settlement's, hold's, send's or emergency
 *                                                  claim's number, a calendar's year, or an
 *                                                  aid limit's HOLDER/BENEFICIARY
 *   famledger-corrupt DATA_DIR remutate TABLE SEED one field of one stored record of TABLE,
 *                                                  both chosen by SEED, changed as mutate
 *                                                  changes an entry's; prints which
 *   famledger-corrupt DATA_DIR relink TABLE        the last link of a chain table
 *                                                  (account_links, merchant_links,
 *                                                  patient_links) points one entry later
 *                                                  than it did
 *   famledger-corrupt DATA_DIR hole SEQ            delete entry SEQ from the log
 *   famledger-corrupt DATA_DIR meta KEY VALUE      set a meta record (an older format, say)
 *   famledger-corrupt DATA_DIR headtime US         date the head in meta US (µs since 1970)
 *   famledger-corrupt DATA_DIR stray               put a record of no table into by_seq (the
 *                                                  tree the tables keyed by seq share): a key
 *                                                  with no table's tag at its end
 *   famledger-corrupt DATA_DIR format 2|...|10     make it a ledger of that format: no wallet
 *                                                  statements (10 and older), the tables
 *                                                  keyed by seq in trees of their own, a
 *                                                  patient's settlements as an index (7 and
 *                                                  older), a
 *                                                  merchant's day as an index (6 and older), a
 *                                                  day index (5 and older), aid usage in a
 *                                                  table (4 and older),
 *                                                  statements as an index (3 and 2), the tables
 *                                                  of format 3 dropped (2), the format key set
 */
#include "arena.h"
#include "chain.h"
#include "entry_check.h"
#include "format_older.h"
#include "fl_limits.h"
#include "head_record.h"
#include "state.h"
#include "store.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int corrupt_entry(struct store_txn *txn, uint64_t seq)
{
    uint8_t key[8];
    store_u64_encode(key, seq);
    struct store_bytes value;
    if (store_get(txn, STORE_DB_LOG, key, sizeof(key), &value) != 1)
        return -1;
    uint8_t *copy = malloc(value.size);
    memcpy(copy, value.data, value.size);
    copy[value.size - 1] ^= 0x01; /* the last byte of the entry, after its hash */
    int rc = store_put(txn, STORE_DB_LOG, key, sizeof(key), copy, value.size);
    free(copy);
    return rc;
}

/* Add `fen` to PERSON's stored balance (`aid` false) or first mutual-aid count (true). */
static int corrupt_account(struct store_txn *txn, const char *person_no, int64_t fen, bool aid)
{
    struct arena arena;
    arena_init(&arena);
    /* Read the record raw: state_account_get refuses one already damaged. */
    struct store_bytes value;
    Famledger__Account *account = NULL;
    if (store_get(txn, STORE_DB_ACCOUNTS, person_no, strlen(person_no), &value) == 1)
        account = famledger__account__unpack(&arena.protobuf, value.size, value.data);
    int rc = account && (!aid || account->n_aid_usage > 0) ? 0 : -1;
    if (rc == 0) {
        if (aid)
            account->aid_usage[0]->month_fen += fen;
        else
            account->balance_fen += fen;
        rc = state_account_put(txn, &arena, account);
    }
    arena_free(&arena);
    return rc;
}

/* Make PERSON's stored record say the other scheme (resident for employee, and back). */
static int corrupt_scheme(struct store_txn *txn, const char *person_no)
{
    struct arena arena;
    arena_init(&arena);
    struct store_bytes value;
    Famledger__Person *person = NULL;
    if (store_get(txn, STORE_DB_PERSONS, person_no, strlen(person_no), &value) == 1)
        person = famledger__person__unpack(&arena.protobuf, value.size, value.data);
    int rc = person ? 0 : -1;
    if (rc == 0) {
        person->scheme = person->scheme == FAMLEDGER__SCHEME__SCHEME_EMPLOYEE
                             ? FAMLEDGER__SCHEME__SCHEME_RESIDENT
                             : FAMLEDGER__SCHEME__SCHEME_EMPLOYEE;
        rc = state_person_put(txn, &arena, person);
    }
    arena_free(&arena);
    return rc;
}

/* The message a table keyed by text stores, or NULL. */
static const ProtobufCMessageDescriptor *table_message(int db)
{
    switch (db) {
    case STORE_DB_PERSONS:
        return &famledger__person__descriptor;
    case STORE_DB_ACCOUNTS:
        return &famledger__account__descriptor;
    case STORE_DB_FUNDERS:
    case STORE_DB_FUNDED:
        return &famledger__binding_list__descriptor;
    case STORE_DB_MERCHANTS:
        return &famledger__merchant__descriptor;
    case STORE_DB_SETTLEMENTS:
        return &famledger__settlement__descriptor;
    case STORE_DB_BALANCES:
        return &famledger__balance__descriptor;
    case STORE_DB_WALLETS:
        return &famledger__wallet__descriptor;
    case STORE_DB_WALLET_SENDS:
        return &famledger__wallet_send__descriptor;
    case STORE_DB_HOLDS:
        return &famledger__hold__descriptor;
    case STORE_DB_EMERGENCY_CLAIMS:
        return &famledger__emergency_claim__descriptor;
    case STORE_DB_CALENDARS:
        return &famledger__calendar__descriptor;
    case STORE_DB_AID_LIMITS:
        return &famledger__aid_limit__descriptor;
    case STORE_DB_DAY_TOTALS:
        return &famledger__merchant_day_totals__descriptor;
    default:
        return NULL;
    }
}

/* Set the field `path` (names and list indexes, dotted) of `message` to `value`: whether there
 * was such a field of a kind this sets. A text comes from `arena`, or from malloc without one. */
static bool field_set(ProtobufCMessage *message, char *path, const char *value,
                      struct arena *arena)
{
    char *rest = strchr(path, '.');
    if (rest)
        *rest++ = '\0';
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name(message->descriptor, path);
    if (!field || ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                   *(uint32_t *)((char *)message + field->quantifier_offset) != field->id))
        return false; /* no such field, or another member of its oneof is set */
    char *at = (char *)message + field->offset;
    if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *inner = *(ProtobufCMessage **)at;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            char *index = rest;
            if (!index || !(rest = strchr(index, '.')))
                return false;
            *rest++ = '\0';
            size_t n = *(size_t *)((char *)message + field->quantifier_offset);
            size_t i = strtoull(index, NULL, 10);
            if (i >= n)
                return false;
            inner = (*(ProtobufCMessage ***)at)[i];
        }
        return inner && rest && field_set(inner, rest, value, arena);
    }
    if (rest || field->label == PROTOBUF_C_LABEL_REPEATED)
        return false;
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (!arena) { /* a message protobuf-c unpacked with malloc, and frees so */
            char *old = *(char **)at;
            if (old != protobuf_c_empty_string)
                free(old);
            *(char **)at = strdup(value);
            return true;
        }
        *(char **)at = arena_strdup(arena, value);
        return true;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
        *(int64_t *)at = strtoll(value, NULL, 10);
        return true;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_ENUM:
        *(int32_t *)at = (int32_t)strtol(value, NULL, 10);
        return true;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)at = strtol(value, NULL, 10) != 0;
        return true;
    default:
        return false;
    }
}

/* Set one field of the stored record of `key` in table `db` (famledger-corrupt field). */
static int corrupt_field(struct store_txn *txn, int db, const char *key, char *path,
                         const char *value)
{
    const ProtobufCMessageDescriptor *descriptor = table_message(db);
    /* Tables keyed by a number take it in decimal; a pair's "HOLDER/BENEFICIARY" is stored
     * with a NUL between them. */
    uint8_t bytes[STORE_KEY_MAX];
    size_t size = strlen(key);
    if (db == STORE_DB_SETTLEMENTS || db == STORE_DB_HOLDS || db == STORE_DB_WALLET_SENDS ||
        db == STORE_DB_EMERGENCY_CLAIMS) {
        store_u64_encode(bytes, strtoull(key, NULL, 10));
        size = 8;
    } else if (db == STORE_DB_CALENDARS) { /* a year, 4 bytes big-endian */
        uint64_t year = strtoull(key, NULL, 10);
        for (int i = 3; i >= 0; i--, year >>= 8)
            bytes[i] = (uint8_t)year;
        size = 4;
    } else if (size < sizeof(bytes)) {
        memcpy(bytes, key, size);
        char *slash = db == STORE_DB_AID_LIMITS ? memchr(bytes, '/', size) : NULL;
        if (slash)
            *slash = '\0';
    } else {
        return -1;
    }
    struct store_bytes stored;
    if (!descriptor || store_get(txn, (enum store_db)db, bytes, size, &stored) != 1)
        return -1;
    struct arena arena;
    arena_init(&arena);
    ProtobufCMessage *message =
        protobuf_c_message_unpack(descriptor, &arena.protobuf, stored.size, stored.data);
    int rc = message && field_set(message, path, value, &arena)
                 ? state_message_put(txn, &arena, (enum store_db)db, bytes, size, message)
                 : -1;
    arena_free(&arena);
    return rc;
}

/* Change stored settlement ID with `change` (which returns whether it could) and store it. */
static int settlement_change(struct store_txn *txn, uint64_t id,
                             bool (*change)(Famledger__Settlement *, const char *),
                             const char *argument)
{
    struct arena arena;
    arena_init(&arena);
    uint8_t key[8];
    store_u64_encode(key, id);
    struct store_bytes value;
    Famledger__Settlement *settlement = NULL;
    if (store_get(txn, STORE_DB_SETTLEMENTS, key, sizeof(key), &value) == 1)
        settlement = famledger__settlement__unpack(&arena.protobuf, value.size, value.data);
    int rc = settlement && change(settlement, argument)
                 ? state_message_put(txn, &arena, STORE_DB_SETTLEMENTS, key, sizeof(key),
                                     &settlement->base)
                 : -1;
    arena_free(&arena);
    return rc;
}

/* Make `person_no` the holder of the settlement's first leg. */
static bool leg_holder_change(Famledger__Settlement *settlement, const char *person_no)
{
    if (!settlement->n_legs)
        return false;
    settlement->legs[0]->holder = (char *)person_no;
    return true;
}

/* Move 1 fen of what the settlement counts as given back from its last leg that has some to
 * its first leg that has room: the sums stay, the parties change. */
static bool refunded_shift(Famledger__Settlement *settlement, const char *unused)
{
    (void)unused;
    size_t from = 0, to = 0;
    for (size_t i = 0; i < settlement->n_legs; i++)
        if (settlement->legs[i]->refunded_fen > 0)
            from = i + 1;
    for (size_t i = settlement->n_legs; i-- > 0;)
        if (settlement->legs[i]->refunded_fen < settlement->legs[i]->amount_fen && i + 1 != from)
            to = i + 1;
    if (!from || !to)
        return false;
    settlement->legs[from - 1]->refunded_fen--;
    settlement->legs[to - 1]->refunded_fen++;
    return true;
}

/* How rechain_from changes its entry. */
enum rechain {
    RECHAIN_UNBALANCE, /* 1 fen more on its first posting */
    RECHAIN_REDATE,    /* the time of the entry before it */
    RECHAIN_GARBLE,    /* bytes that are no Entry, correctly hashed */
    RECHAIN_AMOUNT,    /* the body's first amount set to a given one */
    RECHAIN_POSTING,   /* the first posting set to a given amount */
    RECHAIN_STRIP,     /* the body's first part dropped */
    RECHAIN_MUTATE,    /* one field changed, chosen by a seed */
    RECHAIN_ENDED,     /* the count of bindings a closing or a death ended set to a given one */
    RECHAIN_SET,       /* a field named by its path set to a given value */
    RECHAIN_NONE,
};

/* Where entry's body keeps its first amount (rechain_from: RECHAIN_AMOUNT), or NULL. */
static int64_t *body_amount(Famledger__Entry *entry)
{
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_CREDITED:
        return &entry->account_credited->amount_fen;
    case FAMLEDGER__ENTRY__BODY_SETTLED:
        return entry->settled->settlement && entry->settled->settlement->n_legs
                   ? &entry->settled->settlement->legs[0]->amount_fen
                   : NULL;
    case FAMLEDGER__ENTRY__BODY_REFUNDED:
        return entry->refunded->refund && entry->refunded->refund->n_legs
                   ? &entry->refunded->refund->legs[0]->amount_fen
                   : NULL;
    case FAMLEDGER__ENTRY__BODY_PAID_OUT:
        return entry->paid_out->payout ? &entry->paid_out->payout->amount_fen : NULL;
    case FAMLEDGER__ENTRY__BODY_RECOVERED:
        return entry->recovered->payout ? &entry->recovered->payout->amount_fen : NULL;
    default: {
        Famledger__Movement *movement = entry_movement(entry);
        return movement ? &movement->amount_fen : NULL;
    }
    }
}

/* Where entry's body counts the bindings it ended (RECHAIN_ENDED), or NULL. */
static uint32_t *body_ended(Famledger__Entry *entry)
{
    if (entry->body_case == FAMLEDGER__ENTRY__BODY_PERSON_DIED)
        return entry->person_died ? &entry->person_died->bindings_ended : NULL;
    Famledger__Movement *movement = entry_movement(entry);
    return movement ? &movement->bindings_ended : NULL;
}

/* Drop the `nth` part (a singular sub-message; the first for 0 or 1) of entry's body; returns
 * whether it had one. */
static bool body_strip(Famledger__Entry *entry, int64_t nth)
{
    if (entry->body_case == FAMLEDGER__ENTRY__BODY__NOT_SET)
        return false;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(entry->base.descriptor, entry->body_case);
    ProtobufCMessage *body = *(ProtobufCMessage **)((char *)entry + field->offset);
    const ProtobufCMessageDescriptor *descriptor = body->descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *part = &descriptor->fields[i];
        ProtobufCMessage **slot = (ProtobufCMessage **)((char *)body + part->offset);
        if (part->type == PROTOBUF_C_TYPE_MESSAGE && part->label != PROTOBUF_C_LABEL_REPEATED &&
            *slot && --nth <= 0) {
            protobuf_c_message_free_unpacked(*slot, NULL);
            *slot = NULL;
            return true;
        }
    }
    return false;
}

/* A field of a message in an entry, present (a oneof's other members are not), to mutate. */
struct mutation_slot {
    ProtobufCMessage *message;
    const ProtobufCFieldDescriptor *field;
};

#define MUTATION_SLOTS_MAX 512

static void slots_collect(ProtobufCMessage *message, struct mutation_slot *slots, size_t *count)
{
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        char *at = (char *)message + field->offset;
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)((char *)message + field->quantifier_offset) != field->id)
            continue;
        if (*count < MUTATION_SLOTS_MAX)
            slots[(*count)++] = (struct mutation_slot){message, field};
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)((char *)message + field->quantifier_offset);
            for (size_t j = 0; j < n; j++)
                slots_collect((*(ProtobufCMessage ***)at)[j], slots, count);
        } else if (*(ProtobufCMessage **)at) {
            slots_collect(*(ProtobufCMessage **)at, slots, count);
        }
    }
}

/* Change one field as `choice` says: a number to an extreme, a flag flipped, a text cut or
 * marked, bytes shortened, a part dropped, a list one element shorter. Returns whether the
 * field changed (a number may already be that extreme; a list or text may be empty). */
static bool slot_mutate(const struct mutation_slot *slot, uint64_t choice)
{
    static const int64_t wide[] = {0, -1, 1, INT64_MIN, INT64_MAX, -100, 100};
    static const int32_t narrow[] = {0, -1, 1, INT32_MIN, INT32_MAX, 99};
    const ProtobufCFieldDescriptor *field = slot->field;
    char *at = (char *)slot->message + field->offset;
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *n = (size_t *)((char *)slot->message + field->quantifier_offset);
        if (*n == 0)
            return false;
        (*n)--;
        if (field->type == PROTOBUF_C_TYPE_MESSAGE)
            protobuf_c_message_free_unpacked((*(ProtobufCMessage ***)at)[*n], NULL);
        else if (field->type == PROTOBUF_C_TYPE_STRING)
            free((*(char ***)at)[*n]);
        return true;
    }
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        int64_t value = wide[choice % (sizeof(wide) / sizeof(*wide))];
        if (*(int64_t *)at == value)
            return false;
        *(int64_t *)at = value;
        return true;
    }
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t value = narrow[choice % (sizeof(narrow) / sizeof(*narrow))];
        if (*(int32_t *)at == value)
            return false;
        *(int32_t *)at = value;
        return true;
    }
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)at = !*(protobuf_c_boolean *)at;
        return true;
    case PROTOBUF_C_TYPE_STRING: {
        char *text = *(char **)at;
        if (!text || !*text) /* an empty one may be protobuf-c's shared default */
            return false;
        text[choice % 2 ? 0 : strlen(text) - 1] = choice % 3 ? '\0' : '#';
        return true;
    }
    case PROTOBUF_C_TYPE_BYTES:
        if (((ProtobufCBinaryData *)at)->len == 0)
            return false;
        ((ProtobufCBinaryData *)at)->len--;
        return true;
    case PROTOBUF_C_TYPE_MESSAGE:
        if (!*(ProtobufCMessage **)at)
            return false;
        protobuf_c_message_free_unpacked(*(ProtobufCMessage **)at, NULL);
        *(ProtobufCMessage **)at = NULL;
        return true;
    default:
        return false;
    }
}

/* Mutate one field of `entry`, chosen by `seed`: the same seed, the same change. Returns
 * whether the entry had a field to change. */
static bool entry_mutate(Famledger__Entry *entry, uint64_t seed)
{
    struct mutation_slot slots[MUTATION_SLOTS_MAX];
    size_t count = 0;
    slots_collect(&entry->base, slots, &count);
    if (count == 0)
        return false;
    uint64_t pick = seed + 0x9e3779b97f4a7c15u; /* splitmix64's finaliser */
    pick = (pick ^ (pick >> 30)) * 0xbf58476d1ce4e5b9u;
    pick = (pick ^ (pick >> 27)) * 0x94d049bb133111ebu;
    pick ^= pick >> 31;
    /* From the chosen field on, the first that the change changes. */
    for (size_t tried = 0; tried < count; tried++) {
        const struct mutation_slot *slot = &slots[(pick + tried) % count];
        if (slot_mutate(slot, pick >> 32)) {
            printf("mutated %s.%s\n", slot->message->descriptor->short_name, slot->field->name);
            return true;
        }
    }
    return false;
}

/* Re-pack entry `seq`, changed as `change` says, then every later entry with the new previous
 * hash, and move the head (in meta and in the head record) to the new last hash. */
static int rechain_from(struct store_txn *txn, const char *dir, uint64_t seq, enum rechain change,
                        int64_t fen, char *path, const char *text)
{
    bool redate = change == RECHAIN_REDATE;
    uint8_t prev[HASH_BYTES] = {0};
    uint8_t key[8];
    struct store_bytes value;
    int64_t prev_time_us = 0;
    if (seq > 1) {
        store_u64_encode(key, seq - 1);
        if (store_get(txn, STORE_DB_LOG, key, sizeof(key), &value) != 1)
            return -1;
        memcpy(prev, value.data, HASH_BYTES);
        Famledger__Entry *before = famledger__entry__unpack(
            NULL, value.size - HASH_BYTES, (const uint8_t *)value.data + HASH_BYTES);
        if (!before)
            return -1;
        prev_time_us = before->time_us;
        famledger__entry__free_unpacked(before, NULL);
    }
    uint64_t last = seq;
    for (uint64_t at = seq;; at++) {
        store_u64_encode(key, at);
        if (store_get(txn, STORE_DB_LOG, key, sizeof(key), &value) != 1)
            break;
        const uint8_t *stored_bytes = (const uint8_t *)value.data + HASH_BYTES;
        if (at == seq && change == RECHAIN_GARBLE) {
            /* A field tag whose varint never ends: protobuf-c refuses it. */
            uint8_t garbled[HASH_BYTES + 4] = {[HASH_BYTES] = 0xff, 0xff, 0xff, 0xff};
            chain_hash(prev, garbled + HASH_BYTES, 4, garbled);
            memcpy(prev, garbled, HASH_BYTES);
            if (store_put(txn, STORE_DB_LOG, key, sizeof(key), garbled, sizeof(garbled)))
                return -1;
            last = at;
            continue;
        }
        Famledger__Entry *entry = famledger__entry__unpack(NULL, value.size - HASH_BYTES, stored_bytes);
        if (!entry)
            return -1;
        int64_t *amount = NULL;
        if (at == seq && change == RECHAIN_AMOUNT && !(amount = body_amount(entry)))
            return -1;
        uint32_t *ended = NULL;
        if (at == seq && change == RECHAIN_ENDED && !(ended = body_ended(entry)))
            return -1;
        if (at == seq && (change == RECHAIN_UNBALANCE || change == RECHAIN_POSTING) &&
            entry->n_postings == 0)
            return -1;
        if (at == seq && change == RECHAIN_STRIP && !body_strip(entry, fen))
            return -1;
        if (at == seq && change == RECHAIN_MUTATE && !entry_mutate(entry, (uint64_t)fen))
            return -1;
        if (at == seq && change == RECHAIN_SET && !field_set(&entry->base, path, text, NULL))
            return -1;
        if (at == seq && redate)
            entry->time_us = prev_time_us;
        else if (amount)
            *amount = fen;
        else if (ended)
            *ended = (uint32_t)fen;
        else if (at == seq && change == RECHAIN_POSTING)
            entry->postings[0]->amount_fen = fen;
        else if (at == seq && change == RECHAIN_UNBALANCE)
            entry->postings[0]->amount_fen += 1;
        memcpy(entry->prev_hash.data, prev, HASH_BYTES);
        size_t bytes = famledger__entry__get_packed_size(entry);
        uint8_t *stored = malloc(HASH_BYTES + bytes);
        famledger__entry__pack(entry, stored + HASH_BYTES);
        chain_hash(prev, stored + HASH_BYTES, bytes, stored);
        memcpy(prev, stored, HASH_BYTES);
        int rc = store_put(txn, STORE_DB_LOG, key, sizeof(key), stored, HASH_BYTES + bytes);
        free(stored);
        famledger__entry__free_unpacked(entry, NULL);
        if (rc)
            return -1;
        last = at;
    }
    if (store_get(txn, STORE_DB_META, "head", 4, &value) != 1 || value.size < 8 + HASH_BYTES)
        return -1;
    uint8_t head[64];
    memcpy(head, value.data, value.size);
    memcpy(head + 8, prev, HASH_BYTES);
    struct head_record record;
    struct head_record_value recorded = {.seq = last};
    memcpy(recorded.hash, prev, HASH_BYTES);
    if (store_put(txn, STORE_DB_META, "head", 4, head, value.size) ||
        head_record_open(&record, dir) != 0)
        return -1;
    int rc = head_record_write(&record, &recorded);
    head_record_close(&record);
    return rc;
}

/* Date the head in meta `time_us` (its last 8 bytes, big-endian), nothing else. */
static int head_time_set(struct store_txn *txn, const char *time_us)
{
    struct store_bytes value;
    if (store_get(txn, STORE_DB_META, "head", 4, &value) != 1 || value.size != 8 + HASH_BYTES + 8)
        return -1;
    uint8_t head[8 + HASH_BYTES + 8];
    memcpy(head, value.data, sizeof(head));
    store_u64_encode(head + 8 + HASH_BYTES, (uint64_t)strtoll(time_us, NULL, 10));
    return store_put(txn, STORE_DB_META, "head", 4, head, sizeof(head));
}

struct first_key {
    uint8_t bytes[STORE_KEY_MAX];
    size_t size;
};

static int first_key_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    (void)value;
    struct first_key *first = context;
    if (key.size > sizeof(first->bytes))
        return -1;
    memcpy(first->bytes, key.data, key.size);
    first->size = key.size;
    return 1;
}

/* The first record of `db` given the value "bad". */
static int spoil_first(struct store_txn *txn, int db)
{
    struct first_key first = {.size = 0};
    if (db <= STORE_DB_META ||
        store_scan(txn, (enum store_db)db, NULL, 0, (struct store_bytes){NULL, 0}, 1, first_key_cb,
                   &first) != 1)
        return -1;
    return store_put(txn, (enum store_db)db, first.bytes, first.size, "bad", 3);
}

struct keys {
    uint8_t (*bytes)[STORE_KEY_MAX];
    size_t *sizes, count;
};

static int keys_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    (void)value;
    struct keys *keys = context;
    if (key.size > STORE_KEY_MAX)
        return -1;
    keys->bytes = realloc(keys->bytes, (keys->count + 1) * sizeof(*keys->bytes));
    keys->sizes = realloc(keys->sizes, (keys->count + 1) * sizeof(*keys->sizes));
    memcpy(keys->bytes[keys->count], key.data, key.size);
    keys->sizes[keys->count++] = key.size;
    return 0;
}

/* Every record of `db` (not an index of duplicates) given the empty value: a record that
 * decodes, as a message with every field absent. */
static int empty_all(struct store_txn *txn, int db)
{
    struct keys keys = {NULL, NULL, 0};
    int rc = db <= STORE_DB_META ? -1
                                 : store_scan(txn, (enum store_db)db, NULL, 0,
                                              (struct store_bytes){NULL, 0}, SIZE_MAX, keys_cb,
                                              &keys);
    for (size_t i = 0; rc == 0 && i < keys.count; i++)
        rc = store_put(txn, (enum store_db)db, keys.bytes[i], keys.sizes[i], "", 0);
    free(keys.bytes);
    free(keys.sizes);
    return rc == 0 && keys.count ? 0 : -1;
}

/* Change one field of one record of `db` (a table of messages), both chosen by `seed`, as
 * `mutate` changes an entry's; prints which. */
static int record_mutate(struct store_txn *txn, int db, uint64_t seed)
{
    const ProtobufCMessageDescriptor *descriptor = table_message(db);
    struct keys keys = {NULL, NULL, 0};
    int rc = descriptor ? store_scan(txn, (enum store_db)db, NULL, 0, (struct store_bytes){NULL, 0},
                                     SIZE_MAX, keys_cb, &keys)
                        : -1;
    if (rc == 0 && keys.count == 0)
        rc = -1;
    size_t at = rc == 0 ? (size_t)(seed % keys.count) : 0;
    struct store_bytes value;
    ProtobufCMessage *record = NULL;
    if (rc == 0 && store_get(txn, (enum store_db)db, keys.bytes[at], keys.sizes[at], &value) == 1)
        record = protobuf_c_message_unpack(descriptor, NULL, value.size, value.data);
    struct mutation_slot slots[MUTATION_SLOTS_MAX];
    size_t count = 0;
    if (record)
        slots_collect(record, slots, &count);
    bool changed = false;
    for (size_t tried = 0; !changed && tried < count; tried++) {
        const struct mutation_slot *slot = &slots[(seed / 7 + tried) % count];
        if ((changed = slot_mutate(slot, seed >> 8)))
            printf("mutated %s.%s of record %zu\n", slot->message->descriptor->short_name,
                   slot->field->name, at);
    }
    if (changed) {
        size_t bytes = protobuf_c_message_get_packed_size(record);
        uint8_t *packed = malloc(bytes ? bytes : 1);
        protobuf_c_message_pack(record, packed);
        rc = store_put(txn, (enum store_db)db, keys.bytes[at], keys.sizes[at], packed, bytes);
        free(packed);
    } else {
        rc = -1;
    }
    if (record)
        protobuf_c_message_free_unpacked(record, NULL);
    free(keys.bytes);
    free(keys.sizes);
    return rc;
}

/* The log's key of entry "SEQ". */
static const uint8_t *seq_key(const char *seq)
{
    static uint8_t key[8];
    store_u64_encode(key, strtoull(seq, NULL, 10));
    return key;
}

/* The last record seen of a chain table, copied. */
struct last_link {
    uint8_t key[8 + PERSON_NO_BYTES_MAX];
    size_t key_bytes;
    uint8_t value[16]; /* the seq before, and in wallet_links the balance after */
    size_t value_bytes;
    bool found;
};

static int last_link_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    struct last_link *last = context;
    if (key.size > sizeof(last->key) || (value.size != 8 && value.size != 16))
        return -1;
    memcpy(last->key, key.data, key.size);
    last->key_bytes = key.size;
    memcpy(last->value, value.data, value.size);
    last->value_bytes = value.size;
    last->found = true;
    return 0;
}

static int relink_last(struct store_txn *txn, int db)
{
    if (db != STORE_DB_ACCOUNT_LINKS && db != STORE_DB_MERCHANT_LINKS &&
        db != STORE_DB_PATIENT_LINKS && db != STORE_DB_WALLET_LINKS)
        return -1;
    struct last_link last = {.found = false};
    struct store_bytes no_value = {NULL, 0};
    if (store_scan(txn, (enum store_db)db, "", 0, no_value, SIZE_MAX, last_link_cb, &last) < 0 ||
        !last.found)
        return -1;
    uint64_t prev = store_u64_decode(last.value) + 1;
    store_u64_encode(last.value, prev);
    printf("the link of entry %llu now points to %llu\n",
           (unsigned long long)store_u64_decode(last.key), (unsigned long long)prev);
    return store_put(txn, (enum store_db)db, last.key, last.key_bytes, last.value,
                     last.value_bytes);
}

/* Straight through LMDB: the store puts a table's tag after every key it writes. */
static int by_seq_stray(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi by_seq;
    static const uint8_t key[] = {0, 0, 0, 0, 0, 0, 0, 5, 'X'}, prev[8] = {0};
    MDB_val k = {sizeof(key), (void *)key}, v = {sizeof(prev), (void *)prev};
    int rc = mdb_env_create(&env);
    if (rc == 0 && (rc = mdb_env_set_maxdbs(env, STORE_DBS_MAX)) == 0 &&
        (rc = mdb_env_open(env, dir, 0, 0600)) == 0 &&
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0 &&
        (rc = mdb_dbi_open(txn, "by_seq", 0, &by_seq)) == 0)
        rc = mdb_put(txn, by_seq, &k, &v, 0);
    rc = rc == 0 ? mdb_txn_commit(txn) : (txn ? (mdb_txn_abort(txn), rc) : rc);
    mdb_env_close(env);
    if (rc)
        fprintf(stderr, "famledger-corrupt: stray: %s\n", mdb_strerror(rc));
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[2], "stray") == 0)
        return by_seq_stray(argv[1]);
    if (argc < 4) {
        fprintf(stderr, "usage: famledger-corrupt DATA_DIR entry SEQ | balance PERSON FEN | "
                "aid PERSON FEN | scheme PERSON | field TABLE KEY PATH VALUE | remutate TABLE SEED | leg ID PERSON | shift ID | delete TABLE | relink TABLE | "
                "spoil TABLE | empty TABLE | "
                "unbalance SEQ | redate SEQ | amount SEQ FEN | posting SEQ FEN | "
                "mutate SEQ SEED | ended SEQ N | set SEQ PATH VALUE | strip SEQ [N] | garble SEQ | hole SEQ | meta KEY VALUE | headtime US | "
                "format 2|...|11 | stray\n");
        return 2;
    }
    if (strcmp(argv[2], "format") == 0) {
        char *end;
        long format = strtol(argv[3], &end, 10);
        if (*end != '\0' || format < 2 || format > 11)
            return 2;
        return format_older_make(argv[1], (int)format);
    }
    struct store *store;
    struct store_txn *txn;
    if (chain_init() != 0)
        return 1;
    if (store_open(argv[1], 64u << 20, 1u << 30, STORE_OPEN_EXISTING, &store) || store_write_begin(store, &txn))
        return 1;
    int db = store_db_find(argv[3]);
    static const char *const rechains[] = {
        [RECHAIN_UNBALANCE] = "unbalance", [RECHAIN_REDATE] = "redate",
        [RECHAIN_GARBLE] = "garble",       [RECHAIN_AMOUNT] = "amount",
        [RECHAIN_POSTING] = "posting",     [RECHAIN_STRIP] = "strip",
        [RECHAIN_MUTATE] = "mutate",       [RECHAIN_ENDED] = "ended",
        [RECHAIN_SET] = "set",
    };
    int rechain = RECHAIN_NONE;
    for (int i = 0; i < RECHAIN_NONE; i++)
        if (strcmp(argv[2], rechains[i]) == 0 &&
            (i == RECHAIN_SET ? argc > 5
                              : argc > 4 || (i != RECHAIN_AMOUNT && i != RECHAIN_POSTING &&
                                             i != RECHAIN_MUTATE && i != RECHAIN_ENDED)))
            rechain = i;
    int rc = strcmp(argv[2], "entry") == 0 ? corrupt_entry(txn, strtoull(argv[3], NULL, 10))
             : strcmp(argv[2], "headtime") == 0 ? head_time_set(txn, argv[3])
             : strcmp(argv[2], "meta") == 0 && argc > 4
                 ? store_put(txn, STORE_DB_META, argv[3], strlen(argv[3]), argv[4], strlen(argv[4]))
             : rechain != RECHAIN_NONE
                 ? rechain_from(txn, argv[1], strtoull(argv[3], NULL, 10), (enum rechain)rechain,
                                argc > 4 ? strtoll(argv[4], NULL, 10) : 0,
                                argc > 4 ? argv[4] : NULL, argc > 5 ? argv[5] : NULL)
             : strcmp(argv[2], "hole") == 0
                 ? (store_delete(txn, STORE_DB_LOG, seq_key(argv[3]), 8) == 1 ? 0 : -1)
             : strcmp(argv[2], "spoil") == 0 ? spoil_first(txn, db)
             : strcmp(argv[2], "empty") == 0 ? empty_all(txn, db)
             : strcmp(argv[2], "scheme") == 0 ? corrupt_scheme(txn, argv[3])
             : strcmp(argv[2], "remutate") == 0 && argc > 4
                 ? record_mutate(txn, db, strtoull(argv[4], NULL, 10))
             : strcmp(argv[2], "field") == 0 && argc > 6
                 ? corrupt_field(txn, db, argv[4], argv[5], argv[6])
             : strcmp(argv[2], "relink") == 0 ? relink_last(txn, db)
             : strcmp(argv[2], "shift") == 0
                 ? settlement_change(txn, strtoull(argv[3], NULL, 10), refunded_shift, NULL)
             : strcmp(argv[2], "leg") == 0 && argc > 4
                 ? settlement_change(txn, strtoull(argv[3], NULL, 10), leg_holder_change, argv[4])
             : strcmp(argv[2], "delete") == 0
                 ? (db > STORE_DB_META && store_delete_first(txn, (enum store_db)db) == 1 ? 0 : -1)
             : strcmp(argv[2], "aid") == 0 && argc > 4
                 ? corrupt_account(txn, argv[3], strtoll(argv[4], NULL, 10), true)
             : argc > 4 ? corrupt_account(txn, argv[3], strtoll(argv[4], NULL, 10), false)
                        : -1;
    rc = rc ? (store_abort(txn), rc) : store_commit(txn);
    store_close(store);
    return rc ? 1 : 0;
}
