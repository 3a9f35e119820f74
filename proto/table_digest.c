/* table_digest.c -- a derived table folded into one count and one sum (table_digest.h). */
#include "table_digest.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64's finaliser: spreads a number over 64 bits. */
static uint64_t table_digest_mix(uint64_t item)
{
    item += 0x9e3779b97f4a7c15u;
    item = (item ^ (item >> 30)) * 0xbf58476d1ce4e5b9u;
    item = (item ^ (item >> 27)) * 0x94d049bb133111ebu;
    return item ^ (item >> 31);
}

/* Eight bytes a step through the mix, the length first: a byte at a time (FNV-1a) was a tenth
 * of the daemon's time digesting persons. Words are read in the host's order. */
uint64_t table_digest_hash(const void *bytes, size_t size)
{
    const uint8_t *in = bytes;
    uint64_t hash = table_digest_mix(size);
    for (; size >= 8; in += 8, size -= 8) {
        uint64_t word;
        memcpy(&word, in, 8);
        hash = table_digest_mix(hash ^ word);
    }
    uint64_t tail = 0;
    if (size)
        memcpy(&tail, in, size);
    return table_digest_mix(hash ^ tail);
}

int table_digest_ready(void)
{
    return sodium_init() < 0 ? -1 : 0; /* 1: started before, by this or another caller */
}

int table_digest_key_random(struct table_digest_key *key)
{
    if (table_digest_ready() != 0)
        return -1;
    randombytes_buf(key->bytes, sizeof(key->bytes));
    return 0;
}

/* Little-endian, whatever the host: a term is the same bytes on every machine. */
static void put_u64(uint8_t *out, uint64_t value)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(out, &value, 8);
#else
    for (int i = 0; i < 8; i++, value >>= 8)
        out[i] = (uint8_t)value;
#endif
}

static uint64_t get_u64(const uint8_t *in)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t value;
    memcpy(&value, in, 8);
    return value;
#else
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | in[i];
    return value;
#endif
}

static void put_u16(uint8_t *out, size_t value)
{
    out[0] = (uint8_t)value;
    out[1] = (uint8_t)(value >> 8);
}

/* SipHash-2-4 of `size` bytes under `key`. */
static uint64_t keyed_hash(const struct table_digest_key *key, const uint8_t *in, size_t size)
{
    _Static_assert(crypto_shorthash_KEYBYTES == TABLE_DIGEST_KEY_BYTES, "SipHash's key");
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, in, size, key->bytes);
    return get_u64(out);
}

uint64_t table_digest_keyed(const struct table_digest_key *key, const void *bytes, size_t size)
{
    return keyed_hash(key, bytes, size);
}

/* Texts up to this long are hashed on the stack by SipHash; longer ones (a wallet's rendering)
 * by keyed BLAKE2b, which reads them in pieces. */
#define TEXT_SIPHASH_MAX 254

uint64_t table_digest_text(const struct table_digest_key *key, const char *text)
{
    size_t bytes = strlen(text);
    if (bytes > TEXT_SIPHASH_MAX) {
        uint8_t out[crypto_generichash_BYTES_MIN];
        crypto_generichash(out, sizeof(out), (const uint8_t *)text, bytes, key->bytes,
                           sizeof(key->bytes));
        return get_u64(out);
    }
    /* Two bytes no term begins with (its owner's length is at most TERM_OWNER_MAX or 0xffff),
     * so that a text and a term never hash alike. */
    uint8_t in[2 + TEXT_SIPHASH_MAX] = {0xff, 'T'};
    memcpy(in + 2, text, bytes);
    return keyed_hash(key, in, 2 + bytes);
}

/* Owners up to this long go into a term as they are (every stored key is: LMDB's bound is
 * 511 bytes); a longer one by its keyed hash, after a length of 0xffff. */
#define TERM_OWNER_MAX 512

uint64_t table_digest_term(const struct table_digest_key *key, const void *owner,
                           size_t owner_bytes, const struct table_digest_item *item)
{
    /* The owner's length and the owner, the fields' count and the fields, then the text's
     * length and the text (none: 0xfffe): no two items encode alike. A length of 0xffff is
     * followed by the keyed hash of what was too long. */
    uint8_t in[2 + TERM_OWNER_MAX + 1 + 8 * TABLE_DIGEST_FIELDS_MAX + 2 + TABLE_DIGEST_TEXT_MAX];
    size_t used = 2;
    if (owner_bytes <= TERM_OWNER_MAX) {
        put_u16(in, owner_bytes);
        if (owner_bytes)
            memcpy(in + used, owner, owner_bytes);
        used += owner_bytes;
    } else {
        put_u16(in, 0xffff);
        put_u64(in + used, keyed_hash(key, owner, owner_bytes));
        used += 8;
    }
    size_t count = item->count < TABLE_DIGEST_FIELDS_MAX ? item->count : TABLE_DIGEST_FIELDS_MAX;
    in[used++] = (uint8_t)count;
    for (size_t i = 0; i < count; i++, used += 8)
        put_u64(in + used, item->fields[i]);
    size_t text_bytes = item->text ? strlen(item->text) : 0;
    if (!item->text) {
        put_u16(in + used, 0xfffe);
        used += 2;
    } else if (text_bytes <= TABLE_DIGEST_TEXT_MAX) {
        put_u16(in + used, text_bytes);
        memcpy(in + used + 2, item->text, text_bytes);
        used += 2 + text_bytes;
    } else {
        put_u16(in + used, 0xffff);
        put_u64(in + used + 2, table_digest_text(key, item->text));
        used += 2 + 8;
    }
    return keyed_hash(key, in, used);
}

void table_digest_add(struct table_digest *digest, const struct table_digest_key *key,
                      const void *owner, size_t owner_bytes, const struct table_digest_item *item)
{
    digest->count++;
    digest->sum += table_digest_term(key, owner, owner_bytes, item);
}

struct table_digest_item table_digest_one(uint64_t value)
{
    return (struct table_digest_item){.count = 1, .fields = {value}};
}

uint64_t table_digest_u64(const uint8_t in[8])
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | in[i];
    return value;
}

struct table_digest_item table_digest_link(uint64_t seq, uint64_t prev)
{
    return (struct table_digest_item){.count = 2, .fields = {seq, prev}};
}

struct table_digest_item table_digest_wallet_link(uint64_t seq, uint64_t prev,
                                                  int64_t balance_after_fen)
{
    return (struct table_digest_item){.count = 3,
                                      .fields = {seq, prev, (uint64_t)balance_after_fen}};
}

struct table_digest_item table_digest_account(int64_t balance_fen, int64_t credited_fen,
                                              int64_t debited_fen, int status,
                                              uint64_t last_seq, int64_t held_fen)
{
    return (struct table_digest_item){
        .count = 6,
        .fields = {(uint64_t)balance_fen, (uint64_t)credited_fen, (uint64_t)debited_fen,
                   (uint64_t)(int64_t)status, last_seq, (uint64_t)held_fen}};
}

struct table_digest_item table_digest_aid(const char *beneficiary, uint32_t month,
                                          int64_t month_fen, uint32_t year, int64_t year_fen)
{
    return (struct table_digest_item){
        .count = 4,
        .fields = {month, (uint64_t)month_fen, year, (uint64_t)year_fen},
        .text = beneficiary};
}

struct table_digest_item table_digest_person(bool has_account, bool suspended, int status,
                                             int scheme, const char *region)
{
    int read_status = status ? status : FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE;
    return (struct table_digest_item){
        .count = 4,
        .fields = {has_account, suspended, (uint64_t)(int64_t)read_status,
                   (uint64_t)(int64_t)scheme},
        .text = region};
}

struct table_digest_item table_digest_registered(uint64_t registered_seq, const char *name)
{
    return (struct table_digest_item){.count = 1, .fields = {registered_seq}, .text = name};
}

struct table_digest_item table_digest_reason(const char *reason)
{
    return (struct table_digest_item){.count = 0, .text = reason};
}

struct table_digest_item table_digest_patient_head(uint64_t seq)
{
    return (struct table_digest_item){.count = 1, .fields = {seq}};
}

/* A binding's texts up to this long go into its hash as they are (a person number is at most
 * 32 bytes, evidence 64); a longer one, which only a damaged record holds, by its keyed hash
 * after a length of 0xffff. */
#define BINDING_TEXT_MAX 64

static size_t put_binding_text(const struct table_digest_key *key, uint8_t *out,
                               const char *text)
{
    size_t bytes = strlen(text);
    if (bytes > BINDING_TEXT_MAX) {
        put_u16(out, 0xffff);
        put_u64(out + 2, table_digest_text(key, text));
        return 2 + 8;
    }
    put_u16(out, bytes);
    memcpy(out + 2, text, bytes);
    return 2 + bytes;
}

/* One SipHash of every field, each text after its length (a hash of each text and then of
 * the whole took three a binding, where verify's time was to be had). */
uint64_t table_digest_binding(const struct table_digest_key *key,
                              const Famledger__Binding *binding, uint64_t bound_seq)
{
    uint8_t in[2 + 3 * (2 + BINDING_TEXT_MAX) + 3 * 8] = {0xff, 'B'};
    size_t used = 2;
    used += put_binding_text(key, in + used, binding->holder);
    used += put_binding_text(key, in + used, binding->beneficiary);
    used += put_binding_text(key, in + used, binding->evidence);
    put_u64(in + used, (uint64_t)(int64_t)binding->relation);
    put_u64(in + used + 8, bound_seq);
    put_u64(in + used + 16, (uint64_t)(int64_t)binding->channel);
    return keyed_hash(key, in, used + 24);
}

struct table_digest_item table_digest_funded(uint64_t binding)
{
    return table_digest_one(binding);
}

/* A text into a settlement's fingerprint: its length (4 bytes), then at most
 * FINGERPRINT_TEXT_MAX of its bytes (a longer one differs from the log's, which never holds
 * one, by its length). Numbers are little-endian, as in a term. */
#define FINGERPRINT_TEXT_MAX 64

static size_t fingerprint_text(uint8_t *out, const char *text)
{
    size_t bytes = strlen(text);
    size_t kept = bytes < FINGERPRINT_TEXT_MAX ? bytes : FINGERPRINT_TEXT_MAX;
    uint32_t length = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    for (int i = 0; i < 4; i++, length >>= 8)
        out[i] = (uint8_t)length;
    memcpy(out + 4, text, kept);
    return 4 + kept;
}

static size_t fingerprint_number(uint8_t *out, uint64_t number)
{
    put_u64(out, number);
    return 8;
}

uint64_t table_digest_settlement(const struct table_digest_key *key,
                                 const Famledger__Settlement *s)
{
    enum { TEXT = 4 + FINGERPRINT_TEXT_MAX, LEG = TEXT + 2 * 8 + 1 };
    uint8_t in[3 * TEXT + 10 * 8 + TABLE_DIGEST_LEGS_MAX * LEG];
    size_t used = fingerprint_text(in, s->merchant_code);
    used += fingerprint_text(in + used, s->merchant_reference);
    used += fingerprint_text(in + used, s->patient);
    const int64_t numbers[] = {s->amount_fen,  s->category,     s->acct_pay_fen,
                               s->acct_mulaid_pay_fen, s->cash_pay_fen, s->balc_fen,
                               s->time_us,     (int64_t)s->hold_id,
                               s->aid_counted | s->aid_at_capture << 1, (int64_t)s->n_legs};
    for (size_t i = 0; i < sizeof(numbers) / sizeof(*numbers); i++)
        used += fingerprint_number(in + used, (uint64_t)numbers[i]);
    /* More legs than a settlement has: the count above differs from the log's. */
    for (size_t i = 0; i < s->n_legs && i < TABLE_DIGEST_LEGS_MAX; i++) {
        const Famledger__Leg *leg = s->legs[i];
        used += fingerprint_text(in + used, leg->holder);
        used += fingerprint_number(in + used, (uint64_t)leg->amount_fen);
        used += fingerprint_number(in + used, (uint64_t)leg->balance_after_fen);
        in[used++] = (uint8_t)(leg->mutual_aid | leg->wallet << 1);
    }
    return keyed_hash(key, in, used);
}

uint64_t table_digest_message(const struct table_digest_key *key,
                              const ProtobufCMessage *message)
{
    uint8_t small[512];
    size_t bytes = protobuf_c_message_get_packed_size(message);
    uint8_t *packed = bytes <= sizeof(small) ? small : malloc(bytes);
    if (!packed)
        return 0;
    protobuf_c_message_pack(message, packed);
    uint64_t hash = keyed_hash(key, packed, bytes);
    if (packed != small)
        free(packed);
    return hash;
}

uint64_t table_digest_refund(const struct table_digest_key *key, const Famledger__Refund *refund,
                             uint64_t refund_id)
{
    Famledger__Refund stored = *refund;
    stored.refund_id = refund_id;
    return table_digest_message(key, &stored.base);
}

struct table_digest_item table_digest_settlement_part(enum table_digest_settlement_part part,
                                                      uint64_t hash)
{
    return (struct table_digest_item){.count = 2, .fields = {part, hash}};
}

/* Whether each leg of `s` counts as given back what the refunds it keeps gave its holder and
 * that kind of leg (legs of the same holder and kind together), between nothing and what it
 * paid, and all of them its refunded amount; and whether each refund leg is one of its legs. */
static bool settlement_refunds_whole(const Famledger__Settlement *s)
{
    int64_t refunded = 0;
    for (size_t i = 0; i < s->n_legs; i++) {
        const Famledger__Leg *leg = s->legs[i];
        if (leg->refunded_fen < 0 || leg->refunded_fen > leg->amount_fen ||
            __builtin_add_overflow(refunded, leg->refunded_fen, &refunded))
            return false;
    }
    if (refunded != s->refunded_fen)
        return false;
    for (size_t r = 0; r < s->n_refunds; r++)
        for (size_t k = 0; k < s->refunds[r]->n_legs; k++) {
            const Famledger__RefundLeg *given = s->refunds[r]->legs[k];
            size_t i = 0;
            while (i < s->n_legs && (s->legs[i]->wallet != given->wallet ||
                                     strcmp(s->legs[i]->holder, given->holder) != 0))
                i++;
            if (i == s->n_legs)
                return false;
        }
    for (size_t i = 0; i < s->n_legs; i++) {
        const Famledger__Leg *leg = s->legs[i];
        size_t first = 0;
        while (s->legs[first]->wallet != leg->wallet ||
               strcmp(s->legs[first]->holder, leg->holder) != 0)
            first++;
        if (first != i)
            continue; /* its group was counted with the first of it */
        int64_t counted = 0, given = 0;
        for (size_t j = i; j < s->n_legs; j++)
            if (s->legs[j]->wallet == leg->wallet && strcmp(s->legs[j]->holder, leg->holder) == 0)
                counted += s->legs[j]->refunded_fen; /* within `refunded`: no overflow */
        for (size_t r = 0; r < s->n_refunds; r++)
            for (size_t k = 0; k < s->refunds[r]->n_legs; k++) {
                const Famledger__RefundLeg *part = s->refunds[r]->legs[k];
                if (part->wallet == leg->wallet && strcmp(part->holder, leg->holder) == 0 &&
                    __builtin_add_overflow(given, part->amount_fen, &given))
                    return false;
            }
        if (counted != given)
            return false;
    }
    return true;
}

/* Unpacking a record at a time: its pieces come from a buffer on the stack (malloc past it),
 * so that a digest of millions of records does not call malloc for each. A record that fitted
 * is not walked to be freed (unpack_done). Only `used` and `spilled` are set before use: an
 * initializer would zero the 2 KB for every record. */
struct unpack_buffer {
    _Alignas(16) uint8_t bytes[2048];
    size_t used;
    size_t spilled; /* pieces malloc'd */
};

static void *unpack_alloc(void *data, size_t size)
{
    struct unpack_buffer *buffer = data;
    size_t rounded = (size + 15) & ~(size_t)15;
    if (rounded < size || rounded > sizeof(buffer->bytes) - buffer->used) {
        buffer->spilled++;
        return malloc(size);
    }
    void *piece = buffer->bytes + buffer->used;
    buffer->used += rounded;
    return piece;
}

static void unpack_free(void *data, void *piece)
{
    struct unpack_buffer *buffer = data;
    uintptr_t at = (uintptr_t)piece, start = (uintptr_t)buffer->bytes;
    if (at < start || at >= start + sizeof(buffer->bytes))
        free(piece);
}

/* Free `message`, unpacked with `allocator`, unless all of it is in the buffer. */
static void unpack_done(ProtobufCMessage *message, ProtobufCAllocator *allocator)
{
    const struct unpack_buffer *buffer = allocator->allocator_data;
    if (buffer->spilled)
        protobuf_c_message_free_unpacked(message, allocator);
}

bool table_digest_known(Famledger__StateTable table)
{
    switch (table) {
    case FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS:
    case FAMLEDGER__STATE_TABLE__STATE_PERSONS:
    case FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS:
    case FAMLEDGER__STATE_TABLE__STATE_MERCHANT_LINKS:
    case FAMLEDGER__STATE_TABLE__STATE_PATIENT_LINKS:
    case FAMLEDGER__STATE_TABLE__STATE_REFERENCES:
    case FAMLEDGER__STATE_TABLE__STATE_FUNDED:
    case FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS:
    case FAMLEDGER__STATE_TABLE__STATE_WALLET_LINKS:
        return true;
    default:
        return false;
    }
}

int table_digest_items(const struct table_digest_key *digest_key, Famledger__StateTable table,
                       const uint8_t *key, size_t key_bytes, const uint8_t *value,
                       size_t value_bytes, table_digest_item_cb item_cb, void *context)
{
    struct table_digest_item item;
    /* The records that are messages are unpacked with this. */
    struct unpack_buffer buffer;
    buffer.used = buffer.spilled = 0;
    ProtobufCAllocator allocator = {unpack_alloc, unpack_free, &buffer};
    switch (table) {
    case FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS:
    case FAMLEDGER__STATE_TABLE__STATE_MERCHANT_LINKS:
    case FAMLEDGER__STATE_TABLE__STATE_PATIENT_LINKS:
        if (key_bytes <= 8 || value_bytes != 8)
            return -1;
        item = table_digest_link(table_digest_u64(key), table_digest_u64(value));
        item_cb(context, key + 8, key_bytes - 8, &item);
        return 0;
    case FAMLEDGER__STATE_TABLE__STATE_WALLET_LINKS:
        if (key_bytes <= 8 || value_bytes != 16)
            return -1;
        item = table_digest_wallet_link(table_digest_u64(key), table_digest_u64(value),
                                        (int64_t)table_digest_u64(value + 8));
        item_cb(context, key + 8, key_bytes - 8, &item);
        return 0;
    case FAMLEDGER__STATE_TABLE__STATE_REFERENCES:
        if (value_bytes < 8)
            return -1;
        item = table_digest_one(table_digest_u64(value));
        item_cb(context, key, key_bytes, &item);
        return 0;
    case FAMLEDGER__STATE_TABLE__STATE_FUNDED: {
        Famledger__BindingList *list =
            famledger__binding_list__unpack(&allocator, value_bytes, value);
        if (!list)
            return -1;
        for (size_t i = 0; i < list->n_bindings; i++) {
            const Famledger__Binding *binding = list->bindings[i];
            item = table_digest_funded(table_digest_binding(digest_key, binding,
                                                            binding->bound_seq));
            item_cb(context, key, key_bytes, &item);
        }
        unpack_done(&list->base, &allocator);
        return 0;
    }
    case FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS: {
        Famledger__Account *account = famledger__account__unpack(&allocator, value_bytes, value);
        if (!account)
            return -1;
        const char *owner = account->person_no;
        item = table_digest_account(account->balance_fen, account->credited_fen,
                                    account->debited_fen, account->status, account->last_seq,
                                    account->held_fen);
        item_cb(context, (const uint8_t *)owner, strlen(owner), &item);
        for (size_t i = 0; i < account->n_aid_usage; i++) {
            const Famledger__AidUsage *usage = account->aid_usage[i];
            item = table_digest_aid(usage->beneficiary, usage->month, usage->month_fen,
                                    usage->year, usage->year_fen);
            item_cb(context, (const uint8_t *)owner, strlen(owner), &item);
        }
        if (*account->freeze_reason) {
            item = table_digest_reason(account->freeze_reason);
            item_cb(context, (const uint8_t *)owner, strlen(owner), &item);
        }
        if (account->patient_last_seq) {
            item = table_digest_patient_head(account->patient_last_seq);
            item_cb(context, (const uint8_t *)owner, strlen(owner), &item);
        }
        unpack_done(&account->base, &allocator);
        return 0;
    }
    case FAMLEDGER__STATE_TABLE__STATE_PERSONS: {
        Famledger__Person *person = famledger__person__unpack(&allocator, value_bytes, value);
        if (!person)
            return -1;
        const uint8_t *owner = (const uint8_t *)person->person_no;
        size_t owner_bytes = strlen(person->person_no);
        item = table_digest_person(person->has_account, person->suspended, person->status,
                                   person->scheme, person->region);
        item_cb(context, owner, owner_bytes, &item);
        item = table_digest_registered(person->registered_seq, person->name);
        item_cb(context, owner, owner_bytes, &item);
        if (*person->suspend_reason) {
            item = table_digest_reason(person->suspend_reason);
            item_cb(context, owner, owner_bytes, &item);
        }
        if (person->patient_last_seq) {
            item = table_digest_patient_head(person->patient_last_seq);
            item_cb(context, owner, owner_bytes, &item);
        }
        unpack_done(&person->base, &allocator);
        return 0;
    }
    case FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS: {
        Famledger__Settlement *settlement =
            famledger__settlement__unpack(&allocator, value_bytes, value);
        if (!settlement)
            return -1;
        /* More legs than a settlement has: damage, and no quadratic check of them. */
        if (key_bytes != 8 || table_digest_u64(key) != settlement->settlement_id ||
            settlement->n_legs > TABLE_DIGEST_LEGS_MAX || !settlement_refunds_whole(settlement)) {
            unpack_done(&settlement->base, &allocator);
            return -1;
        }
        item = table_digest_settlement_part(TABLE_DIGEST_SETTLED,
                                            table_digest_settlement(digest_key, settlement));
        item_cb(context, key, key_bytes, &item);
        for (size_t i = 0; i < settlement->n_refunds; i++) {
            const Famledger__Refund *refund = settlement->refunds[i];
            item = table_digest_settlement_part(
                TABLE_DIGEST_REFUND, table_digest_refund(digest_key, refund, refund->refund_id));
            item_cb(context, key, key_bytes, &item);
        }
        if (settlement->cancelled) {
            item = table_digest_settlement_part(TABLE_DIGEST_CANCELLED, 0);
            item_cb(context, key, key_bytes, &item);
        }
        unpack_done(&settlement->base, &allocator);
        return 0;
    }
    default:
        return -1;
    }
}
