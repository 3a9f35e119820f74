/* table_digest.c -- a derived table folded into one count and one sum (table_digest.h). */
#include "table_digest.h"

#include <stdlib.h>
#include <string.h>

uint64_t table_digest_mix(uint64_t item)
{
    item += 0x9e3779b97f4a7c15u;
    item = (item ^ (item >> 30)) * 0xbf58476d1ce4e5b9u;
    item = (item ^ (item >> 27)) * 0x94d049bb133111ebu;
    return item ^ (item >> 31);
}

/* Eight bytes a step through the mix, the length first: a byte at a time (FNV-1a) was a tenth
 * of the daemon's time digesting persons. Words are read in the host's order; both sides of a
 * digest run on one host (the socket is a Unix one). */
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
    memcpy(&tail, in, size);
    return table_digest_mix(hash ^ tail);
}

/* The key goes into the item's mix, so the same item under another key is another item. */
void table_digest_add(struct table_digest *digest, const void *key, size_t key_bytes,
                      uint64_t item)
{
    digest->count++;
    digest->sum += table_digest_mix(table_digest_hash(key, key_bytes) + table_digest_mix(item));
}

uint64_t table_digest_u64(const uint8_t in[8])
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | in[i];
    return value;
}

uint64_t table_digest_link(uint64_t seq, uint64_t prev)
{
    return seq * 0x9e3779b97f4a7c15u + prev;
}

/* Fields folded into one item in their order: each changes it. */
static uint64_t fields_item(const uint64_t *fields, size_t count)
{
    uint64_t item = count;
    for (size_t i = 0; i < count; i++)
        item = table_digest_mix(item + fields[i]);
    return item;
}

static uint64_t text_hash(const char *text)
{
    return table_digest_hash(text, strlen(text));
}

uint64_t table_digest_account(int64_t balance_fen, int64_t credited_fen, int64_t debited_fen,
                              int status, uint64_t last_seq, int64_t held_fen)
{
    const uint64_t fields[] = {(uint64_t)balance_fen, (uint64_t)credited_fen,
                               (uint64_t)debited_fen, (uint64_t)status, last_seq,
                               (uint64_t)held_fen};
    return fields_item(fields, sizeof(fields) / sizeof(*fields));
}

uint64_t table_digest_aid(const char *beneficiary, uint32_t month, int64_t month_fen,
                          uint32_t year, int64_t year_fen)
{
    const uint64_t fields[] = {text_hash(beneficiary), month, (uint64_t)month_fen, year,
                               (uint64_t)year_fen};
    return fields_item(fields, sizeof(fields) / sizeof(*fields));
}

uint64_t table_digest_person(bool has_account, bool suspended, int status, const char *region)
{
    const uint64_t fields[] = {
        has_account, suspended,
        (uint64_t)(status ? status : FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE), text_hash(region)};
    return fields_item(fields, sizeof(fields) / sizeof(*fields));
}

/* Unpacking a record at a time: its pieces come from a buffer on the stack (malloc past it),
 * so that a digest of millions of records does not call malloc for each. */
struct unpack_buffer {
    _Alignas(16) uint8_t bytes[2048];
    size_t used;
};

static void *unpack_alloc(void *data, size_t size)
{
    struct unpack_buffer *buffer = data;
    size_t rounded = (size + 15) & ~(size_t)15;
    if (rounded < size || rounded > sizeof(buffer->bytes) - buffer->used)
        return malloc(size);
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

bool table_digest_known(Famledger__StateTable table)
{
    switch (table) {
    case FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS:
    case FAMLEDGER__STATE_TABLE__STATE_PERSONS:
    case FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS:
    case FAMLEDGER__STATE_TABLE__STATE_MERCHANT_LINKS:
    case FAMLEDGER__STATE_TABLE__STATE_REFERENCES:
    case FAMLEDGER__STATE_TABLE__STATE_PATIENT_SETTLEMENTS:
    case FAMLEDGER__STATE_TABLE__STATE_FUNDED:
        return true;
    default:
        return false;
    }
}

int table_digest_items(Famledger__StateTable table, const uint8_t *key, size_t key_bytes,
                       const uint8_t *value, size_t value_bytes, table_digest_item_cb item_cb,
                       void *context)
{
    switch (table) {
    case FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS:
    case FAMLEDGER__STATE_TABLE__STATE_MERCHANT_LINKS:
        if (key_bytes <= 8 || value_bytes != 8)
            return -1;
        item_cb(context, key + 8, key_bytes - 8,
                table_digest_link(table_digest_u64(key), table_digest_u64(value)));
        return 0;
    case FAMLEDGER__STATE_TABLE__STATE_REFERENCES:
    case FAMLEDGER__STATE_TABLE__STATE_PATIENT_SETTLEMENTS:
        if (value_bytes < 8)
            return -1;
        item_cb(context, key, key_bytes, table_digest_u64(value));
        return 0;
    case FAMLEDGER__STATE_TABLE__STATE_FUNDED: {
        struct unpack_buffer buffer = {.used = 0};
        ProtobufCAllocator allocator = {unpack_alloc, unpack_free, &buffer};
        Famledger__BindingList *list =
            famledger__binding_list__unpack(&allocator, value_bytes, value);
        if (!list)
            return -1;
        for (size_t i = 0; i < list->n_bindings; i++)
            item_cb(context, key, key_bytes, text_hash(list->bindings[i]->beneficiary));
        famledger__binding_list__free_unpacked(list, &allocator);
        return 0;
    }
    case FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS: {
        struct unpack_buffer buffer = {.used = 0};
        ProtobufCAllocator allocator = {unpack_alloc, unpack_free, &buffer};
        Famledger__Account *account = famledger__account__unpack(&allocator, value_bytes, value);
        if (!account)
            return -1;
        const char *owner = account->person_no;
        item_cb(context, (const uint8_t *)owner, strlen(owner),
                table_digest_account(account->balance_fen, account->credited_fen,
                                     account->debited_fen, account->status, account->last_seq,
                                     account->held_fen));
        for (size_t i = 0; i < account->n_aid_usage; i++) {
            const Famledger__AidUsage *usage = account->aid_usage[i];
            item_cb(context, (const uint8_t *)owner, strlen(owner),
                    table_digest_aid(usage->beneficiary, usage->month, usage->month_fen,
                                     usage->year, usage->year_fen));
        }
        famledger__account__free_unpacked(account, &allocator);
        return 0;
    }
    case FAMLEDGER__STATE_TABLE__STATE_PERSONS: {
        struct unpack_buffer buffer = {.used = 0};
        ProtobufCAllocator allocator = {unpack_alloc, unpack_free, &buffer};
        Famledger__Person *person = famledger__person__unpack(&allocator, value_bytes, value);
        if (!person)
            return -1;
        item_cb(context, (const uint8_t *)person->person_no, strlen(person->person_no),
                table_digest_person(person->has_account, person->suspended, person->status,
                                    person->region));
        famledger__person__free_unpacked(person, &allocator);
        return 0;
    }
    default:
        return -1;
    }
}
