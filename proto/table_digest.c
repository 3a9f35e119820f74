/* table_digest.c -- a derived table folded into one count and one sum (table_digest.h). */
#include "table_digest.h"

#include <string.h>

uint64_t table_digest_hash(const void *bytes, size_t size)
{
    uint64_t hash = 1469598103934665603u;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ ((const uint8_t *)bytes)[i]) * 1099511628211u;
    return hash;
}

uint64_t table_digest_mix(uint64_t item)
{
    item += 0x9e3779b97f4a7c15u;
    item = (item ^ (item >> 30)) * 0xbf58476d1ce4e5b9u;
    item = (item ^ (item >> 27)) * 0x94d049bb133111ebu;
    return item ^ (item >> 31);
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

bool table_digest_known(Famledger__StateTable table)
{
    switch (table) {
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
        Famledger__BindingList *list = famledger__binding_list__unpack(NULL, value_bytes, value);
        if (!list)
            return -1;
        for (size_t i = 0; i < list->n_bindings; i++) {
            const char *beneficiary = list->bindings[i]->beneficiary;
            item_cb(context, key, key_bytes,
                    table_digest_hash(beneficiary, strlen(beneficiary)));
        }
        famledger__binding_list__free_unpacked(list, NULL);
        return 0;
    }
    default:
        return -1;
    }
}
