/* query.c -- a patient's settlements (by their chain), a merchant's (by its business days),
 * newest first and paged by a cursor, and the mutual aid a person received. */
#include "query.h"

#include "clearing.h"
#include "entry_check.h"
#include "fl_limits.h"
#include "ledger.h"
#include "patient.h"
#include "person.h"
#include "require.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define QUERY_ROWS_DEFAULT 50
#define QUERY_ROWS_MAX 500
#define QUERY_DAYS_MAX 366

/* A settlement as stored: 1 found, 0 not a settlement (a refund in a merchant's day), < 0. */
static int settlement_read(struct request_ctx *ctx, uint64_t id, Famledger__Settlement **out)
{
    uint8_t key[8];
    store_u64_encode(key, id);
    struct store_bytes value;
    int rc = store_get(ctx->txn, STORE_DB_SETTLEMENTS, key, sizeof(key), &value);
    if (rc <= 0)
        return rc;
    *out = famledger__settlement__unpack(&ctx->arena->protobuf, value.size, value.data);
    return *out ? 1 : FL_ERR_INTERNAL;
}

static size_t rows_limit(uint32_t asked)
{
    return asked == 0 ? QUERY_ROWS_DEFAULT : asked > QUERY_ROWS_MAX ? QUERY_ROWS_MAX : asked;
}

/* The business-day range: both given, or neither (for a patient). "" means unbounded. */
static int query_range(struct request_ctx *ctx, const Famledger__SettlementListRequest *query,
                       char from[9], char to[9], bool required)
{
    from[0] = to[0] = '\0';
    if (!*query->from && !*query->to && !required)
        return 0;
    if (!entry_day_parse(query->from, from) || !entry_day_parse(query->to, to) ||
        strcmp(from, to) > 0)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "from and to must be dates, "
                            "YYYY-MM-DD, from not after to");
    return 0;
}

/* A page of settlements being filled: a settlement with its refunds may be tens of kilobytes,
 * so a page also stops once it passes PAGE_BYTES_MAX. */
struct list_page {
    Famledger__SettlementListReply *reply;
    size_t limit;
    size_t bytes;
};

/* Add a settlement; returns whether the page is full. */
static bool page_add(struct list_page *page, Famledger__Settlement *settlement)
{
    page->reply->settlements[page->reply->n_settlements++] = settlement;
    page->bytes += protobuf_c_message_get_packed_size(&settlement->base) + 8;
    return page->reply->n_settlements == page->limit || page->bytes > PAGE_BYTES_MAX;
}

/* A patient's settlements: their chain, newest first. */
static int list_patient(struct request_ctx *ctx, const Famledger__SettlementListRequest *query,
                        const char from[9], const char to[9], struct list_page *page)
{
    Famledger__SettlementListReply *reply = page->reply;
    Famledger__Person *patient;
    int rc = person_require(ctx, query->patient, "patient", &patient);
    if (rc)
        return rc;
    uint64_t seqs[QUERY_ROWS_MAX];
    size_t count;
    if ((rc = patient_page(ctx, patient, query->cursor, seqs, page->limit, &count,
                           &reply->next_cursor)))
        return rc;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        Famledger__Settlement *settlement;
        if ((rc = settlement_read(ctx, seqs[i], &settlement)) != 1)
            break;
        rc = 0;
        char day[9];
        ledger_business_day(settlement->time_us, day);
        if (*from && strcmp(day, from) < 0) {
            reply->next_cursor = 0; /* older still: none left in the range */
            break;
        }
        if ((!*to || strcmp(day, to) <= 0) &&
            request_may_read_merchant(ctx, settlement->merchant_code) &&
            page_add(page, settlement) && i + 1 < count) {
            reply->next_cursor = seqs[i + 1]; /* full before the chain's page: a link */
            break;
        }
    }
    return rc == 0 ? 0 : request_fail(ctx, rc < 0 ? rc : FL_ERR_INTERNAL,
                                      "cannot read the settlements of %s", query->patient);
}

/* The day before `day` ("YYYYMMDD"), eight characters again whatever the year: strftime's %Y
 * writes the year 226 as "226", and a day of seven characters is no key (a request for year
 * 0226 stopped the daemon). Before the year 0 it reads "-001...", less than any day asked for. */
static void day_before(char day[9])
{
    struct tm date = {0};
    date.tm_year = (day[0] - '0') * 1000 + (day[1] - '0') * 100 + (day[2] - '0') * 10 +
                   (day[3] - '0') - 1900;
    date.tm_mon = (day[4] - '0') * 10 + (day[5] - '0') - 1;
    date.tm_mday = (day[6] - '0') * 10 + (day[7] - '0') - 1; /* timegm normalises day 0 */
    time_t seconds = timegm(&date);
    gmtime_r(&seconds, &date);
    char text[40];
    snprintf(text, sizeof(text), "%04d%02d%02d", date.tm_year + 1900, date.tm_mon + 1,
             date.tm_mday);
    memcpy(day, text, 8);
    day[8] = '\0';
}

/* A merchant's settlements: its business days from `to` back to `from`, newest first. A cursor
 * is the sequence to resume at (inclusive); its entry's day is where the walk resumes. */
static int list_merchant(struct request_ctx *ctx, const Famledger__SettlementListRequest *query,
                         const char from[9], char to[9], struct list_page *page)
{
    Famledger__SettlementListReply *reply = page->reply;
    if (!validate_person_no(query->merchant_code))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "merchant_code must be 1 to 32 letters or digits");
    int rc = request_require_merchant_reader(ctx, query->merchant_code);
    if (rc)
        return rc;
    char day[9];
    memcpy(day, to, 9);
    uint64_t cursor = query->cursor;
    if (cursor) {
        /* Every seq up to the head is an entry: a cursor past it reads from the newest, as a
         * patient's list, a statement and a merchant's day read it. */
        rc = ledger_entry_day(ctx->txn, ctx->arena, cursor, day);
        if (rc < 0)
            return request_fail(ctx, rc, "cannot read entry %llu", (unsigned long long)cursor);
        if (rc == 0 || strcmp(day, to) > 0)
            memcpy(day, to, 9), cursor = 0;
    }
    for (int days = 0; days <= QUERY_DAYS_MAX && strcmp(day, from) >= 0; days++) {
        /* The day's settlements and refunds, newest first, until the page is full. */
        do {
            uint64_t seqs[QUERY_ROWS_MAX];
            size_t count;
            rc = clearing_day_page(ctx, query->merchant_code, day, cursor, seqs,
                                   page->limit - reply->n_settlements, &count, &cursor);
            for (size_t i = 0; rc == 0 && i < count; i++) {
                Famledger__Settlement *settlement;
                rc = settlement_read(ctx, seqs[i], &settlement);
                if (rc == 1 && page_add(page, settlement)) {
                    /* Resume after this one: at the next link of its day, found at once, or
                     * below it, in the days before. */
                    reply->next_cursor = i + 1 < count ? seqs[i + 1]
                                         : cursor      ? cursor
                                                       : seqs[i] - 1;
                    return 0;
                }
                rc = rc < 0 ? rc : 0;
            }
            if (rc)
                return request_fail(ctx, rc, "cannot read the settlements of %s",
                                    query->merchant_code);
        } while (cursor != 0);
        day_before(day);
    }
    return 0;
}

int query_settlements_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__SettlementListRequest *query = request->settlement_list;
    bool by_patient = *query->patient != '\0';
    if (by_patient == (*query->merchant_code != '\0'))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "list the settlements of a patient or of a merchant, exactly one");
    char from[9], to[9];
    int rc = query_range(ctx, query, from, to, !by_patient);
    if (rc)
        return rc;
    if (!by_patient) {
        struct tm a = {0}, b = {0};
        strptime(from, "%Y%m%d", &a);
        strptime(to, "%Y%m%d", &b);
        if ((timegm(&b) - timegm(&a)) / 86400 >= QUERY_DAYS_MAX)
            return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a merchant's settlements are "
                                "listed for at most %d days at a time", QUERY_DAYS_MAX);
    }
    Famledger__SettlementListReply *reply = ARENA_NEW(ctx->arena, Famledger__SettlementListReply);
    famledger__settlement_list_reply__init(reply);
    struct list_page page = {reply, rows_limit(query->limit), 0};
    reply->settlements = ARENA_ARRAY(ctx->arena, Famledger__Settlement *, page.limit);
    rc = by_patient ? list_patient(ctx, query, from, to, &page)
                    : list_merchant(ctx, query, from, to, &page);
    if (rc)
        return rc;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_SETTLEMENT_LIST;
    ctx->response->settlement_list = reply;
    return 0;
}

int query_aid_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__AidRequest *query = request->aid;
    Famledger__Person *person;
    int rc = person_require(ctx, query->person_no, "person", &person);
    if (rc)
        return rc;
    size_t limit = rows_limit(query->limit), count;
    uint64_t seqs[QUERY_ROWS_MAX];
    Famledger__AidReply *reply = ARENA_NEW(ctx->arena, Famledger__AidReply);
    famledger__aid_reply__init(reply);
    reply->person_no = person->person_no;
    if ((rc = patient_page(ctx, person, query->cursor, seqs, limit, &count,
                           &reply->next_cursor)))
        return rc;
    reply->lines = ARENA_ARRAY(ctx->arena, Famledger__AidLine *, count * LEGS_MAX + 1);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        Famledger__Settlement *settlement;
        if ((rc = settlement_read(ctx, seqs[i], &settlement)) != 1)
            break;
        rc = 0;
        for (size_t j = 0; j < settlement->n_legs; j++) {
            const Famledger__Leg *leg = settlement->legs[j];
            if (!leg->mutual_aid)
                continue;
            Famledger__AidLine *line = ARENA_NEW(ctx->arena, Famledger__AidLine);
            famledger__aid_line__init(line);
            line->settlement_id = settlement->settlement_id;
            line->time_us = settlement->time_us;
            line->merchant_code = settlement->merchant_code;
            line->holder = leg->holder;
            line->amount_fen = leg->amount_fen;
            line->refunded_fen = leg->refunded_fen;
            reply->lines[reply->n_lines++] = line;
        }
    }
    if (rc)
        return request_fail(ctx, rc < 0 ? rc : FL_ERR_INTERNAL, "cannot read the settlements "
                            "of %s", query->person_no);
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_AID;
    ctx->response->aid = reply;
    return 0;
}
