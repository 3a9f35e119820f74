/* verify_funded.c -- whom each holder funds, for the closing of an account.
 *
 * The model keeps each person's funders (its funding order), not the persons each holder
 * funds. A closed account funds nobody, so its closing ends every binding that names its
 * holder; finding them by looking at every person cost a pass over millions of records a
 * closing (77 % of verify's time with 2,000 closings among 300,000 persons). This map answers
 * instead: an open-addressing table of (holder, beneficiary) pairs, by holder, as the persons'
 * numbers in the model (record_table_index). It is made at the first closing, from the
 * funders the model holds then, and kept from there as bindings are made: a ledger without
 * closings never pays for it. Pairs are never taken out: a pair whose binding
 * has ended (or that a rebinding repeats) is found and finds nothing to end, because the
 * beneficiary's funders are what is changed and what is asked.
 */
#include "verify_internal.h"

#include "model_memory.h"

/* A slot: the holder's number + 1 above the beneficiary's; 0 is empty. */
static uint64_t funded_slot(uint32_t holder, uint32_t beneficiary)
{
    return ((uint64_t)holder + 1) << 32 | beneficiary;
}

/* Where the pairs of `holder` begin: splitmix64's finaliser of its number. */
static size_t funded_home(uint32_t holder, size_t capacity)
{
    uint64_t mix = (uint64_t)holder + 0x9e3779b97f4a7c15u;
    mix = (mix ^ (mix >> 30)) * 0xbf58476d1ce4e5b9u;
    mix = (mix ^ (mix >> 27)) * 0x94d049bb133111ebu;
    return (size_t)(mix ^ (mix >> 31)) & (capacity - 1);
}

static void funded_place(uint64_t *slots, size_t capacity, uint64_t slot)
{
    size_t at = funded_home((uint32_t)((slot >> 32) - 1), capacity);
    while (slots[at])
        at = (at + 1) & (capacity - 1);
    slots[at] = slot;
}

/* Room for one more pair: a table twice the size when it would be half full. 0 or -1. */
static int funded_reserve(struct verify_funded *map)
{
    if ((map->count + 1) * 2 <= map->capacity)
        return 0;
    size_t capacity = map->capacity ? map->capacity * 2 : 1024;
    uint64_t *slots = model_memory_zeroed(capacity * sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < map->capacity; i++)
        if (map->slots[i])
            funded_place(slots, capacity, map->slots[i]);
    model_memory_release(map->slots, map->capacity * sizeof(*map->slots));
    map->slots = slots;
    map->capacity = capacity;
    return 0;
}

static int funded_put(struct verify *v, const struct model_person *holder,
                      const struct model_person *beneficiary)
{
    if (funded_reserve(&v->funded) != 0)
        return -1;
    size_t h = record_table_index(&v->persons, holder);
    size_t b = record_table_index(&v->persons, beneficiary);
    funded_place(v->funded.slots, v->funded.capacity, funded_slot((uint32_t)h, (uint32_t)b));
    v->funded.count++;
    return 0;
}

int verify_funded_add(struct verify *v, const struct model_person *holder,
                      const struct model_person *beneficiary)
{
    return v->funded.made ? funded_put(v, holder, beneficiary) : 0;
}

/* The map, from every funding order of the model: once, at the first closing. */
static int funded_make(struct verify *v)
{
    for (size_t i = 0; i < v->persons.count; i++) {
        const struct model_person *beneficiary = verify_person_at(v, i);
        for (size_t j = 0; j < beneficiary->funder_count; j++)
            if (funded_put(v, beneficiary->funders[j].holder, beneficiary) != 0)
                return -1;
    }
    v->funded.made = true;
    return 0;
}

/* Take `holder` out of the funding order of `person`: whether it was in it. */
bool verify_funders_remove(struct model_person *person, const struct model_person *holder)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < person->funder_count; i++)
        if (person->funders[i].holder != holder)
            person->funders[kept++] = person->funders[i];
    bool removed = kept != person->funder_count;
    person->funder_count = (uint8_t)kept;
    return removed;
}

long verify_funded_end(struct verify *v, const struct model_person *holder)
{
    if (!v->funded.made && funded_make(v) != 0)
        return -1;
    if (v->funded.capacity == 0)
        return 0; /* nobody was ever bound */
    uint32_t h = (uint32_t)record_table_index(&v->persons, holder);
    size_t mask = v->funded.capacity - 1;
    long ended = 0;
    for (size_t at = funded_home(h, v->funded.capacity); v->funded.slots[at];
         at = (at + 1) & mask) {
        uint64_t slot = v->funded.slots[at];
        if ((slot >> 32) - 1 == h &&
            verify_funders_remove(verify_person_at(v, (uint32_t)slot), holder))
            ended++;
    }
    return ended;
}

void verify_funded_free(struct verify *v)
{
    model_memory_release(v->funded.slots, v->funded.capacity * sizeof(*v->funded.slots));
    v->funded = (struct verify_funded){0};
}
