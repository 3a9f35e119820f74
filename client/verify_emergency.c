/* verify_emergency.c -- verify's replay of emergency claims and of the calendars their due
 * days follow (daemon/emergency.c).
 *
 * A claim's record is expected as the log last left it: the claim as made, then as closed. A
 * close must name a claim that is open and as it was made, which the expected record of its id
 * says, so the replay keeps nothing else of a claim. The money a close returns is the patient's
 * (verify_move) or, when their account had closed, owed to them in cash; it comes from the fund
 * of their region. A claim's due day is recomputed from the calendars the log had set before
 * it, which the replay keeps, a year each.
 */
#include "verify_internal.h"

#include "entry_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void id_key(uint8_t key[8], uint64_t id)
{
    for (int i = 7; i >= 0; i--, id >>= 8)
        key[i] = (uint8_t)id;
}

static void year_key(uint8_t key[4], uint32_t year)
{
    for (int i = 3; i >= 0; i--, year >>= 8)
        key[i] = (uint8_t)year;
}

/* The calendar of `year` as the log last set it, or NULL. */
static const Famledger__Calendar *calendar_of(const struct verify *v, uint32_t year)
{
    for (size_t i = 0; i < v->calendar_count; i++)
        if (v->calendars[i]->year == year)
            return v->calendars[i];
    return NULL;
}

/* A calendar set: kept (a copy, the entry's is freed after it) in place of the year's before,
 * and its record expected with the entry's seq. */
static int apply_calendar(struct verify *v, const Famledger__Entry *entry)
{
    Famledger__Calendar set = *entry->calendar_set->calendar;
    set.set_seq = entry->seq;
    uint8_t *bytes = malloc(famledger__calendar__get_packed_size(&set) + 1);
    if (!bytes)
        return -1;
    size_t size = famledger__calendar__pack(&set, bytes);
    Famledger__Calendar *copy = famledger__calendar__unpack(NULL, size, bytes);
    free(bytes);
    if (!copy)
        return -1;
    size_t i = 0;
    while (i < v->calendar_count && v->calendars[i]->year != set.year)
        i++;
    if (i == v->calendar_count) {
        Famledger__Calendar **grown =
            realloc(v->calendars, (v->calendar_count + 1) * sizeof(*grown));
        if (!grown) {
            famledger__calendar__free_unpacked(copy, NULL);
            return -1;
        }
        v->calendars = grown;
        v->calendars[v->calendar_count++] = NULL;
    } else {
        famledger__calendar__free_unpacked(v->calendars[i], NULL);
    }
    v->calendars[i] = copy;
    uint8_t key[4];
    year_key(key, set.year);
    struct table_digest_item item =
        table_digest_one(table_digest_message(&v->digest_key, &copy->base));
    if (digest_set(&v->indexes[INDEX_CALENDARS], key, sizeof(key), &item))
        v->out_of_memory = true;
    return 0;
}

void verify_emergency_free(struct verify *v)
{
    for (size_t i = 0; i < v->calendar_count; i++)
        famledger__calendar__free_unpacked(v->calendars[i], NULL);
    free(v->calendars);
    v->calendars = NULL;
    v->calendar_count = 0;
}

/* The item of a claim's record: the keyed hash of all of it. */
static struct table_digest_item claim_item(const struct verify *v,
                                           const Famledger__EmergencyClaim *claim)
{
    return table_digest_one(table_digest_message(&v->digest_key, &claim->base));
}

/* The claim as it was made, whatever a close says of it since: what a close must match. */
static struct table_digest_item claim_made_item(const struct verify *v,
                                                const Famledger__EmergencyClaim *claim,
                                                uint64_t claim_id)
{
    Famledger__EmergencyClaim made = *claim;
    made.claim_id = claim_id;
    made.state = FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_OPEN;
    made.closed_seq = 0;
    made.returned_fen = 0;
    made.reason = (char *)"";
    made.cash_refund_due = false;
    made.late = false;
    made.balance_after_fen = 0;
    return claim_item(v, &made);
}

static int apply_claimed(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__EmergencyClaim *claim = entry->emergency_claimed->claim;
    const Famledger__EmergencyClaimRequest *request = claim->request;
    struct model_person *patient = verify_person_find(v, request->patient, false);
    if (!patient || !patient->has_account ||
        patient->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return verify_problem(v, entry->seq, "emergency claim of %s, who has no open account",
                              request->patient);
    char day[9], claimed[11], due[11];
    verify_business_day(v, entry->time_us, day);
    uint32_t year = (uint32_t)(atoi(day) / 10000);
    struct entry_calendars calendars = {{calendar_of(v, year), calendar_of(v, year + 1)}};
    snprintf(claimed, sizeof(claimed), "%.4s-%.2s-%.2s", day, day + 4, day + 6);
    entry_working_day_after(day, EMERGENCY_WORKING_DAYS, &calendars, due);
    if (strcmp(claim->claimed_day, claimed) != 0 || strcmp(claim->due_day, due) != 0)
        return verify_problem(v, entry->seq, "emergency claim dated %s, due %s; its entry's day "
                              "gives %s, due %s", claim->claimed_day, claim->due_day, claimed,
                              due);
    verify_expect_reference(v, 'A', "", request->reference, entry->seq);
    uint8_t key[8];
    id_key(key, entry->seq);
    struct table_digest_item made = claim_made_item(v, claim, entry->seq);
    if (digest_set(&v->indexes[INDEX_EMERGENCY_CLAIMS], key, sizeof(key), &made))
        v->out_of_memory = true;
    return 0;
}

/* The postings of a close that returned money: the fund of the patient's region pays, and the
 * account (or what is owed in cash) receives. verify_entry.c checked their shape. */
static int closed_money(struct verify *v, const Famledger__Entry *entry,
                        const struct model_person *patient)
{
    const Famledger__EmergencyClaim *claim = entry->emergency_closed->claim;
    for (size_t i = 0; i < entry->n_postings; i++) {
        const Famledger__Posting *posting = entry->postings[i];
        if (posting->account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND &&
            strcmp(posting->id, patient->region) != 0)
            return verify_problem(v, entry->seq, "emergency claim %llu is paid by the fund of "
                                  "%s, not of %s's region %s", (unsigned long long)claim->claim_id,
                                  posting->id, patient->person_no, patient->region);
    }
    if (claim->cash_refund_due) {
        if (patient->status != FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
            return verify_problem(v, entry->seq, "emergency claim %llu owes %s in cash what "
                                  "their open account should take",
                                  (unsigned long long)claim->claim_id, patient->person_no);
        return claim->balance_after_fen == 0
                   ? 0
                   : verify_problem(v, entry->seq, "a claim owed in cash names a balance");
    }
    return verify_move(v, entry->seq, patient->person_no, claim->returned_fen,
                       claim->balance_after_fen);
}

static int apply_closed(struct verify *v, const Famledger__Entry *entry)
{
    const Famledger__EmergencyClaim *claim = entry->emergency_closed->claim;
    uint8_t key[8];
    id_key(key, claim->claim_id);
    struct table_digest_item made = claim_made_item(v, claim, claim->claim_id);
    struct digest_map *claims = &v->indexes[INDEX_EMERGENCY_CLAIMS];
    bool created = false;
    struct digest_record *record = digest_amount_record(claims, key, sizeof(key), &created);
    if (!record)
        return -1;
    if (created || record->expected.count != 1 ||
        record->expected.sum != table_digest_term(claims->key, key, sizeof(key), &made))
        return verify_problem(v, entry->seq, "entry closes emergency claim %llu, which is not "
                              "open or was made otherwise", (unsigned long long)claim->claim_id);
    int64_t claimed = claim->request->amount_fen;
    bool rejected = claim->state == FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_REJECTED;
    if ((!rejected && claim->state != FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_RETURNED) ||
        (rejected ? claim->returned_fen != 0 : claim->returned_fen == 0) ||
        (claim->returned_fen < claimed && !*claim->reason) ||
        (rejected && (claim->cash_refund_due || claim->balance_after_fen != 0)))
        return verify_problem(v, entry->seq, "emergency claim %llu closed as %d with %lld fen "
                              "of %lld (reason \"%s\")", (unsigned long long)claim->claim_id,
                              (int)claim->state, (long long)claim->returned_fen,
                              (long long)claimed, claim->reason);
    char day[9], today[11];
    verify_business_day(v, entry->time_us, day);
    snprintf(today, sizeof(today), "%.4s-%.2s-%.2s", day, day + 4, day + 6);
    if (claim->late != (strcmp(today, claim->due_day) > 0))
        return verify_problem(v, entry->seq, "emergency claim %llu, due %s, closed on %s: "
                              "recorded as %s", (unsigned long long)claim->claim_id,
                              claim->due_day, today, claim->late ? "late" : "in time");
    struct model_person *patient = verify_person_find(v, claim->request->patient, false);
    if (!patient)
        return verify_problem(v, entry->seq, "emergency claim of %s, who is not registered",
                              claim->request->patient);
    int rc = claim->returned_fen > 0 ? closed_money(v, entry, patient) : 0;
    Famledger__EmergencyClaim stored = *claim;
    stored.closed_seq = entry->seq;
    struct table_digest_item item = claim_item(v, &stored);
    if (digest_set(claims, key, sizeof(key), &item))
        v->out_of_memory = true;
    return rc;
}

int verify_apply_emergency(struct verify *v, const Famledger__Entry *entry)
{
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLAIMED:
        return apply_claimed(v, entry);
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLOSED:
        return apply_closed(v, entry);
    default:
        return apply_calendar(v, entry);
    }
}

static int calendar_stored(struct verify *v, const ProtobufCBinaryData *key,
                           const ProtobufCBinaryData *value)
{
    Famledger__Calendar *calendar = famledger__calendar__unpack(NULL, value->len, value->data);
    uint8_t year[4];
    if (calendar)
        year_key(year, calendar->year);
    if (!calendar || !entry_calendar_whole(calendar) || key->len != 4 ||
        memcmp(key->data, year, 4) != 0) {
        if (calendar)
            famledger__calendar__free_unpacked(calendar, NULL);
        return verify_problem(v, v->seq, "a stored calendars record does not decode as the "
                              "calendar of its year");
    }
    struct table_digest_item item =
        table_digest_one(table_digest_message(&v->digest_key, &calendar->base));
    famledger__calendar__free_unpacked(calendar, NULL);
    if (digest_add(&v->indexes[INDEX_CALENDARS], key->data, key->len, &item, true))
        v->out_of_memory = true;
    return 0;
}

int verify_emergency_stored(struct verify *v, enum verify_index index,
                            const ProtobufCBinaryData *key, const ProtobufCBinaryData *value)
{
    if (index == INDEX_CALENDARS)
        return calendar_stored(v, key, value);
    Famledger__EmergencyClaim *claim =
        famledger__emergency_claim__unpack(NULL, value->len, value->data);
    if (!claim || !entry_claim_whole(claim) || key->len != 8 ||
        table_digest_u64(key->data) != claim->claim_id) {
        if (claim)
            famledger__emergency_claim__free_unpacked(claim, NULL);
        return verify_problem(v, v->seq, "a stored emergency_claims record does not decode as "
                              "the claim of its key");
    }
    struct table_digest_item item = claim_item(v, claim);
    famledger__emergency_claim__free_unpacked(claim, NULL);
    if (digest_add(&v->indexes[INDEX_EMERGENCY_CLAIMS], key->data, key->len, &item, true))
        v->out_of_memory = true;
    return 0;
}
