/* emergency.c -- emergency claims (急诊垫付): costs a patient advanced in an emergency, claimed
 * at the bureau, then returned to their account, or rejected, after review. A claim is due by
 * the end of its 7th working day; the ledger records when each was closed and lists the open
 * ones past their day. docs/POLICY.md, "Emergency claims". */
#include "emergency.h"

#include "account.h"
#include "books.h"
#include "entry_check.h"
#include "ledger.h"
#include "reference.h"
#include "state.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMERGENCY_PAGE_DEFAULT 50
#define EMERGENCY_PAGE_MAX 1000
#define EMERGENCY_SCAN_MAX 8192      /* claims looked at for one page, filtered or not */

static int claim_load(struct request_ctx *ctx, uint64_t claim_id,
                      Famledger__EmergencyClaim **claim)
{
    uint8_t key[8];
    store_u64_encode(key, claim_id);
    int rc = state_record_get(ctx->txn, ctx->arena, STORE_DB_EMERGENCY_CLAIMS, key, sizeof(key),
                              &famledger__emergency_claim__descriptor,
                              (ProtobufCMessage **)claim);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read emergency claim %llu",
                            (unsigned long long)claim_id);
    if (rc == 0)
        return request_fail(ctx, FL_ERR_UNKNOWN_EMERGENCY_CLAIM, "no emergency claim %llu",
                            (unsigned long long)claim_id);
    if (!entry_claim_whole(*claim) || (*claim)->claim_id != claim_id)
        return request_fail(ctx, FL_ERR_INTERNAL, "emergency claim %llu is damaged",
                            (unsigned long long)claim_id);
    return 0;
}

static int claim_store(struct request_ctx *ctx, const Famledger__EmergencyClaim *claim)
{
    uint8_t key[8];
    store_u64_encode(key, claim->claim_id);
    return state_message_put(ctx->txn, ctx->arena, STORE_DB_EMERGENCY_CLAIMS, key, sizeof(key),
                             &claim->base);
}

static int claim_reply(struct request_ctx *ctx, Famledger__EmergencyClaim *claim)
{
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_EMERGENCY;
    ctx->response->emergency = claim;
    return 0;
}

/* A calendar's key: its year, big-endian. */
static void calendar_key(uint8_t key[4], uint32_t year)
{
    for (int i = 3; i >= 0; i--, year >>= 8)
        key[i] = (uint8_t)year;
}

/* The calendar of `year` as stored, or NULL when none was set: 0, or an error after
 * request_fail. */
static int calendar_load(struct request_ctx *ctx, uint32_t year, Famledger__Calendar **calendar)
{
    uint8_t key[4];
    calendar_key(key, year);
    *calendar = NULL;
    int rc = state_record_get(ctx->txn, ctx->arena, STORE_DB_CALENDARS, key, sizeof(key),
                              &famledger__calendar__descriptor, (ProtobufCMessage **)calendar);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read the calendar of %u", year);
    if (rc == 1 && ((*calendar)->year != year || !entry_calendar_whole(*calendar)))
        return request_fail(ctx, FL_ERR_INTERNAL, "the calendar of %u is damaged", year);
    if (rc == 0)
        *calendar = NULL;
    return 0;
}

/* "YYYYMMDD" as "YYYY-MM-DD". */
static void day_text(const char day[9], char text[11])
{
    snprintf(text, 11, "%.4s-%.2s-%.2s", day, day + 4, day + 6);
}

static char *business_day_text(struct request_ctx *ctx, int64_t time_us)
{
    char day[9];
    ledger_business_day(time_us, day);
    char *text = arena_alloc(ctx->arena, 11);
    day_text(day, text);
    return text;
}

static int claim_validate(struct request_ctx *ctx, const Famledger__EmergencyClaimRequest *req)
{
    if (!validate_person_no(req->patient))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "patient must be 1 to 32 letters or digits");
    if (!validate_amount_fen(req->amount_fen))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "amount must be positive and at most 100000000.00 yuan");
    if (!validate_name(req->hospital))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "hospital must be 1 to 128 bytes of UTF-8 without control characters");
    if (!validate_reference(req->receipt))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "receipt must be 1 to 64 printable ASCII characters");
    if (!validate_reference(req->reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "reference must be 1 to 64 printable ASCII characters");
    return 0;
}

int emergency_claim_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__EmergencyClaimRequest *req = request->emergency_claim;
    int rc = claim_validate(ctx, req);
    if (rc)
        return rc;
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    uint64_t seq;
    rc = reference_lookup(ctx, 'A', "", req->reference, &req->base, &key, fingerprint, &seq);
    if (rc < 0)
        return rc;
    if (rc == 1) { /* the claim as it stands now: returned or rejected since, perhaps */
        Famledger__EmergencyClaim *claim;
        if ((rc = claim_load(ctx, seq, &claim)))
            return rc;
        ctx->response->replayed = 1;
        return claim_reply(ctx, claim);
    }
    /* Returned to the account: a patient without one, or whose account has closed, has
     * nothing to return it to (a resident's costs are the pooled fund's business). */
    Famledger__Person *person;
    Famledger__Account *account;
    if ((rc = account_require(ctx, req->patient, "patient", &person, &account)))
        return rc;
    if (account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return request_fail(ctx, FL_ERR_ACCOUNT_CLOSED, "the account of %s is closed",
                            req->patient);

    Famledger__EmergencyClaim *claim = ARENA_NEW(ctx->arena, Famledger__EmergencyClaim);
    famledger__emergency_claim__init(claim);
    claim->request = req;
    char day[9];
    ledger_business_day(ctx->time_us, day);
    claim->claimed_day = arena_alloc(ctx->arena, 11);
    day_text(day, claim->claimed_day);
    /* Due by the calendars in force now: of this year, and the next for a claim near its end. */
    uint32_t year = (uint32_t)(atoi(day) / 10000);
    Famledger__Calendar *this_year, *next_year;
    if ((rc = calendar_load(ctx, year, &this_year)) ||
        (rc = calendar_load(ctx, year + 1, &next_year)))
        return rc;
    struct entry_calendars calendars = {{this_year, next_year}};
    claim->due_day = arena_alloc(ctx->arena, 11);
    entry_working_day_after(day, EMERGENCY_WORKING_DAYS, &calendars, claim->due_day);
    claim->state = FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_OPEN;
    Famledger__EmergencyClaimed claimed = FAMLEDGER__EMERGENCY_CLAIMED__INIT;
    claimed.claim = claim;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_EMERGENCY_CLAIMED;
    entry.emergency_claimed = &claimed;
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot record the emergency claim");
    claim->claim_id = entry.seq; /* the entry's own seq: 0 in the entry, as a hold's id */
    if ((rc = claim_store(ctx, claim)) ||
        (rc = reference_record(ctx->txn, &key, fingerprint, entry.seq)))
        return request_fail(ctx, rc, "cannot record the emergency claim");
    return claim_reply(ctx, claim);
}

/* The outcome a close asks for: state and amount, or a refusal. */
static int close_outcome(struct request_ctx *ctx, const Famledger__EmergencyCloseRequest *req,
                         const Famledger__EmergencyClaim *claim,
                         Famledger__EmergencyClaimState *state, int64_t *returned_fen)
{
    int64_t claimed = claim->request->amount_fen;
    if (*req->reason && !validate_name(req->reason))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "reason must be at most 128 bytes of "
                            "UTF-8 without control characters");
    if (req->reject) {
        if (req->returned_fen != 0)
            return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                                "a rejected claim returns nothing: give no amount");
        if (!*req->reason)
            return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a rejection needs a reason");
        *state = FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_REJECTED;
        *returned_fen = 0;
        return 0;
    }
    if (req->returned_fen < 0 || req->returned_fen > claimed)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "claim %llu is for %s yuan: return "
                            "at most that", (unsigned long long)claim->claim_id,
                            request_yuan(ctx, claimed));
    *returned_fen = req->returned_fen ? req->returned_fen : claimed;
    if (*returned_fen < claimed && !*req->reason)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "returning less than the claim needs a reason");
    *state = FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_RETURNED;
    return 0;
}

static const char *claim_state_name(Famledger__EmergencyClaimState state)
{
    return state == FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_REJECTED ? "rejected"
                                                                        : "returned";
}

int emergency_close_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__EmergencyCloseRequest *req = request->emergency_close;
    Famledger__EmergencyClaim *claim;
    int rc = claim_load(ctx, req->claim_id, &claim);
    Famledger__EmergencyClaimState state = FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_OPEN;
    int64_t returned_fen = 0;
    if (rc || (rc = close_outcome(ctx, req, claim, &state, &returned_fen)))
        return rc;
    if (claim->state != FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_OPEN) {
        /* A retry of the close that was made is answered with it; any other close is not. */
        if (claim->state == state && claim->returned_fen == returned_fen &&
            strcmp(claim->reason, req->reason) == 0) {
            ctx->response->replayed = 1;
            return claim_reply(ctx, claim);
        }
        return request_fail(ctx, FL_ERR_EMERGENCY_CLAIM_CLOSED, "emergency claim %llu was %s "
                            "(%s yuan) at entry %llu", (unsigned long long)claim->claim_id,
                            claim_state_name(claim->state),
                            request_yuan(ctx, claim->returned_fen),
                            (unsigned long long)claim->closed_seq);
    }
    Famledger__Person *person;
    Famledger__Account *account;
    if ((rc = account_require(ctx, claim->request->patient, "patient", &person, &account)))
        return rc; /* a claim's patient had an account, and accounts stay: damage */

    claim->state = state;
    claim->returned_fen = returned_fen;
    claim->reason = req->reason;
    claim->late = strcmp(business_day_text(ctx, ctx->time_us), claim->due_day) > 0;
    /* Money goes back to the account; an account closed since (a death, an emigration...)
     * takes nothing more, and the fund owes it to the patient or the heirs in cash, as a
     * refund would be (docs/POLICY.md). A frozen account is credited. */
    bool closed = account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED;
    claim->cash_refund_due = returned_fen > 0 && closed;
    claim->balance_after_fen = returned_fen > 0 && !closed ? account->balance_fen + returned_fen
                                                            : 0;
    Famledger__EmergencyClosed closing = FAMLEDGER__EMERGENCY_CLOSED__INIT;
    closing.claim = claim;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_EMERGENCY_CLOSED;
    entry.emergency_closed = &closing;
    if (returned_fen > 0) {
        books_post(ctx, &entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND, person->region,
                   -returned_fen);
        books_post(ctx, &entry,
                   closed ? FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE
                          : FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL,
                   person->person_no, returned_fen);
    }
    if ((rc = ledger_append(ctx, &entry)) ||
        (returned_fen > 0 && !closed &&
         (rc = account_move(ctx, account, returned_fen, entry.seq))))
        return request_fail(ctx, rc, "cannot record the close of emergency claim %llu",
                            (unsigned long long)claim->claim_id);
    claim->closed_seq = entry.seq;
    if ((rc = claim_store(ctx, claim)))
        return request_fail(ctx, rc, "cannot record the close of emergency claim %llu",
                            (unsigned long long)claim->claim_id);
    return claim_reply(ctx, claim);
}

struct claim_page {
    struct request_ctx *ctx;
    const Famledger__EmergencyListRequest *query;
    Famledger__EmergencyListReply *reply;
    size_t limit, bytes;
    size_t looked_at; /* claims read for this page, filtered out or not */
    int rc;
};

static int claim_visit_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    struct claim_page *page = context;
    Famledger__EmergencyClaim *claim = NULL;
    if (key.size == 8)
        claim = famledger__emergency_claim__unpack(&page->ctx->arena->protobuf, value.size,
                                                   value.data);
    if (!claim || !entry_claim_whole(claim) || claim->claim_id != store_u64_decode(key.data)) {
        page->rc = request_fail(page->ctx, FL_ERR_INTERNAL, "a stored emergency claim is "
                                "damaged (ledgerctl verify names it)");
        return 1;
    }
    /* A full page, or a filter that passed over many, resumes at this claim. */
    if (page->reply->n_claims == page->limit || page->bytes >= PAGE_BYTES_MAX ||
        page->looked_at == EMERGENCY_SCAN_MAX) {
        page->reply->next_cursor = claim->claim_id;
        return 1;
    }
    page->looked_at++;
    const Famledger__EmergencyListRequest *query = page->query;
    bool open = claim->state == FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_OPEN;
    if (*query->patient && strcmp(query->patient, claim->request->patient) != 0)
        return 0;
    if ((query->open_only || query->overdue_only) && !open)
        return 0;
    if (query->overdue_only && strcmp(claim->due_day, page->reply->today) >= 0)
        return 0;
    page->reply->claims[page->reply->n_claims++] = claim;
    page->bytes += value.size + 8;
    return 0;
}

int emergency_list_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__EmergencyListRequest *query = request->emergency_list;
    if (*query->patient && !validate_person_no(query->patient))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "patient must be 1 to 32 letters or digits");
    Famledger__EmergencyListReply *reply = ARENA_NEW(ctx->arena, Famledger__EmergencyListReply);
    famledger__emergency_list_reply__init(reply);
    reply->today = business_day_text(ctx, ctx->time_us);
    struct claim_page page = {.ctx = ctx, .query = query, .reply = reply,
                              .limit = query->limit == 0 ? EMERGENCY_PAGE_DEFAULT
                                       : query->limit > EMERGENCY_PAGE_MAX ? EMERGENCY_PAGE_MAX
                                                                           : query->limit};
    reply->claims = ARENA_ARRAY(ctx->arena, Famledger__EmergencyClaim *, page.limit);
    /* The cursor is the first claim to look at: the scan starts after the one before it. */
    uint8_t after[8];
    size_t after_bytes = query->cursor > 1 ? sizeof(after) : 0;
    store_u64_encode(after, query->cursor - 1);
    int rc = store_scan(ctx->txn, STORE_DB_EMERGENCY_CLAIMS, after, after_bytes,
                        (struct store_bytes){0}, EMERGENCY_SCAN_MAX + 1, claim_visit_cb, &page);
    if (page.rc)
        return page.rc;
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read the emergency claims");
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_EMERGENCY_LIST;
    ctx->response->emergency_list = reply;
    return 0;
}

/* Sort `dates` and drop repeats, in place: a calendar's lists are kept so (entry_check.h). */
static int date_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t dates_sorted(char **dates, size_t count)
{
    if (count == 0)
        return 0;
    qsort(dates, count, sizeof(*dates), date_compare);
    size_t kept = 1;
    for (size_t i = 1; i < count; i++)
        if (strcmp(dates[i], dates[kept - 1]) != 0)
            dates[kept++] = dates[i];
    return kept;
}

static bool dates_equal(char *const *a, size_t a_count, char *const *b, size_t b_count)
{
    if (a_count != b_count)
        return false;
    for (size_t i = 0; i < a_count; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

int calendar_set_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    /* Sorted in place (the request belongs to this handler), so that the same days in any
     * order are the same calendar. */
    Famledger__Calendar *calendar = request->calendar_set;
    calendar->set_seq = 0;
    calendar->n_holidays = dates_sorted(calendar->holidays, calendar->n_holidays);
    calendar->n_workdays = dates_sorted(calendar->workdays, calendar->n_workdays);
    if (!entry_calendar_whole(calendar))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a calendar is of a year from 2000 to "
                            "9999, its days real days of that year (YYYY-MM-DD), none both off "
                            "and worked");
    Famledger__Calendar *stored;
    int rc = calendar_load(ctx, calendar->year, &stored);
    if (rc)
        return rc;
    if (stored && dates_equal(stored->holidays, stored->n_holidays, calendar->holidays,
                              calendar->n_holidays) &&
        dates_equal(stored->workdays, stored->n_workdays, calendar->workdays,
                    calendar->n_workdays)) {
        ctx->response->replayed = 1; /* the same calendar again: nothing to record */
        ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_CALENDAR;
        ctx->response->calendar = stored;
        return 0;
    }
    Famledger__CalendarSet set = FAMLEDGER__CALENDAR_SET__INIT;
    set.calendar = calendar;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_CALENDAR_SET;
    entry.calendar_set = &set;
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot record the calendar of %u", calendar->year);
    calendar->set_seq = entry.seq;
    uint8_t key[4];
    calendar_key(key, calendar->year);
    if ((rc = state_message_put(ctx->txn, ctx->arena, STORE_DB_CALENDARS, key, sizeof(key),
                                &calendar->base)))
        return request_fail(ctx, rc, "cannot record the calendar of %u", calendar->year);
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_CALENDAR;
    ctx->response->calendar = calendar;
    return 0;
}

int calendar_get_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    uint32_t year = request->calendar_get->year;
    if (year < 2000 || year > 9999)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "year must be from 2000 to 9999");
    Famledger__Calendar *calendar;
    int rc = calendar_load(ctx, year, &calendar);
    if (rc)
        return rc;
    if (!calendar) { /* never set: Monday to Friday */
        calendar = ARENA_NEW(ctx->arena, Famledger__Calendar);
        famledger__calendar__init(calendar);
        calendar->year = year;
    }
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_CALENDAR;
    ctx->response->calendar = calendar;
    return 0;
}
