/* emergency_calls.c -- emergency claims: made, closed, listed; the calendars their due days
 * follow (famledger.h). */
#include "client_internal.h"

#include <string.h>

static void claim_copy(fl_emergency_claim *out, const Famledger__EmergencyClaim *in,
                       bool replayed)
{
    memset(out, 0, sizeof(*out));
    out->claim_id = in->claim_id;
    client_copy(out->patient, sizeof(out->patient), in->request->patient);
    out->amount_fen = in->request->amount_fen;
    client_copy(out->hospital, sizeof(out->hospital), in->request->hospital);
    client_copy(out->receipt, sizeof(out->receipt), in->request->receipt);
    client_copy(out->reference, sizeof(out->reference), in->request->reference);
    client_copy(out->claimed_day, sizeof(out->claimed_day), in->claimed_day);
    client_copy(out->due_day, sizeof(out->due_day), in->due_day);
    out->state = (fl_emergency_state)in->state;
    out->closed_seq = in->closed_seq;
    out->returned_fen = in->returned_fen;
    client_copy(out->reason, sizeof(out->reason), in->reason);
    out->cash_refund_due = in->cash_refund_due;
    out->late = in->late;
    out->balance_after_fen = in->balance_after_fen;
    out->replayed = replayed;
}

static int claim_call(fl_client *client, Famledger__Request__BodyCase body_case, void *body,
                      fl_emergency_claim *claim)
{
    Famledger__Response *response;
    int rc = client_call_body(client, body_case, body, FAMLEDGER__RESPONSE__BODY_EMERGENCY,
                              &response);
    if (rc)
        return rc;
    if (!response->emergency->request) {
        famledger__response__free_unpacked(response, NULL);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "the claim reply is incomplete");
    }
    if (claim)
        claim_copy(claim, response->emergency, response->replayed);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_emergency_claim_make(fl_client *client, const char *patient, int64_t amount_fen,
                            const char *hospital, const char *receipt, const char *reference,
                            fl_emergency_claim *claim)
{
    Famledger__EmergencyClaimRequest body = FAMLEDGER__EMERGENCY_CLAIM_REQUEST__INIT;
    body.patient = (char *)patient;
    body.amount_fen = amount_fen;
    body.hospital = (char *)hospital;
    body.receipt = (char *)receipt;
    body.reference = (char *)reference;
    return claim_call(client, FAMLEDGER__REQUEST__BODY_EMERGENCY_CLAIM, &body, claim);
}

int fl_emergency_claim_close(fl_client *client, uint64_t claim_id, int64_t returned_fen,
                             bool reject, const char *reason, fl_emergency_claim *claim)
{
    Famledger__EmergencyCloseRequest body = FAMLEDGER__EMERGENCY_CLOSE_REQUEST__INIT;
    body.claim_id = claim_id;
    body.returned_fen = returned_fen;
    body.reject = reject;
    body.reason = (char *)(reason ? reason : "");
    return claim_call(client, FAMLEDGER__REQUEST__BODY_EMERGENCY_CLOSE, &body, claim);
}

int fl_emergency_claim_list(fl_client *client, const char *patient, bool open_only,
                            bool overdue_only, uint64_t cursor, fl_emergency_claim *claims,
                            size_t claims_max, size_t *count, uint64_t *next_cursor, char *today)
{
    Famledger__EmergencyListRequest body = FAMLEDGER__EMERGENCY_LIST_REQUEST__INIT;
    body.patient = (char *)(patient ? patient : "");
    body.open_only = open_only;
    body.overdue_only = overdue_only;
    body.cursor = cursor;
    body.limit = claims_max > 1000 ? 1000 : (uint32_t)claims_max;
    *count = 0;
    *next_cursor = 0;
    if (claims_max == 0)
        return client_fail(client, FL_ERR_INVALID_ARGUMENT, "room for no claim");
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_EMERGENCY_LIST, &body,
                              FAMLEDGER__RESPONSE__BODY_EMERGENCY_LIST, &response);
    if (rc)
        return rc;
    const Famledger__EmergencyListReply *reply = response->emergency_list;
    if (reply->n_claims > body.limit) {
        famledger__response__free_unpacked(response, NULL);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "more claims than asked for");
    }
    for (size_t i = 0; i < reply->n_claims; i++) {
        if (!reply->claims[i]->request) {
            famledger__response__free_unpacked(response, NULL);
            return client_fail(client, FL_ERR_PROTOCOL_ERROR, "a listed claim is incomplete");
        }
        claim_copy(&claims[i], reply->claims[i], false);
    }
    *count = reply->n_claims;
    *next_cursor = reply->next_cursor;
    if (today)
        client_copy(today, 11, reply->today);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

static int calendar_call(fl_client *client, Famledger__Request__BodyCase body_case, void *body,
                         fl_calendar *calendar)
{
    Famledger__Response *response;
    int rc = client_call_body(client, body_case, body, FAMLEDGER__RESPONSE__BODY_CALENDAR,
                              &response);
    if (rc)
        return rc;
    const Famledger__Calendar *reply = response->calendar;
    if (reply->n_holidays > FL_CALENDAR_DAYS_MAX || reply->n_workdays > FL_CALENDAR_DAYS_MAX) {
        famledger__response__free_unpacked(response, NULL);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "a calendar of more days than a year");
    }
    if (calendar) {
        calendar->year = reply->year;
        calendar->holiday_count = reply->n_holidays;
        calendar->workday_count = reply->n_workdays;
        for (size_t i = 0; i < reply->n_holidays; i++)
            client_copy(calendar->holidays[i], sizeof(calendar->holidays[i]), reply->holidays[i]);
        for (size_t i = 0; i < reply->n_workdays; i++)
            client_copy(calendar->workdays[i], sizeof(calendar->workdays[i]), reply->workdays[i]);
        calendar->set_seq = reply->set_seq;
        calendar->replayed = response->replayed;
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_calendar_set(fl_client *client, uint32_t year, const char *const *holidays,
                    size_t holiday_count, const char *const *workdays, size_t workday_count,
                    fl_calendar *calendar)
{
    Famledger__Calendar body = FAMLEDGER__CALENDAR__INIT;
    body.year = year;
    body.holidays = (char **)holidays;
    body.n_holidays = holiday_count;
    body.workdays = (char **)workdays;
    body.n_workdays = workday_count;
    return calendar_call(client, FAMLEDGER__REQUEST__BODY_CALENDAR_SET, &body, calendar);
}

int fl_calendar_get(fl_client *client, uint32_t year, fl_calendar *calendar)
{
    Famledger__CalendarGetRequest body = FAMLEDGER__CALENDAR_GET_REQUEST__INIT;
    body.year = year;
    return calendar_call(client, FAMLEDGER__REQUEST__BODY_CALENDAR_GET, &body, calendar);
}
