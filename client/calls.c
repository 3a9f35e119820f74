/* calls.c -- one function per famledgerd request: fill the request, check and copy the reply. */
#include "client_internal.h"
#include "metrics_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void client_copy(char *field, size_t field_bytes, const char *text)
{
    /* What snprintf("%s") does, without printf: verify copies millions of person numbers. */
    if (field_bytes == 0)
        return;
    size_t bytes = text ? strnlen(text, field_bytes - 1) : 0;
    if (bytes)
        memcpy(field, text, bytes);
    field[bytes] = '\0';
}

int client_call_expect(fl_client *client, Famledger__Request *request,
                       Famledger__Response__BodyCase reply_case, Famledger__Response **response)
{
    int rc = client_call(client, request, response);
    return rc ? rc : client_expect(client, *response, reply_case);
}

int client_call_body(fl_client *client, Famledger__Request__BodyCase body_case, void *body,
                     Famledger__Response__BodyCase reply_case, Famledger__Response **response)
{
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = body_case;
    /* Every body member of the oneof shares one storage slot. */
    request.person_add = body;
    return client_call_expect(client, &request, reply_case, response);
}

void client_person_copy(fl_person *out, const Famledger__Person *person)
{
    if (!out || !person)
        return;
    memset(out, 0, sizeof(*out));
    client_copy(out->person_no, sizeof(out->person_no), person->person_no);
    client_copy(out->name, sizeof(out->name), person->name);
    client_copy(out->region, sizeof(out->region), person->region);
    out->scheme = (fl_scheme)person->scheme;
    out->registered_seq = person->registered_seq;
    out->has_account = person->has_account;
    out->status = person->status ? (fl_person_status)person->status : FL_PERSON_ACTIVE;
}

static void account_copy(fl_account *out, const Famledger__Account *account)
{
    if (!out || !account)
        return;
    memset(out, 0, sizeof(*out));
    client_copy(out->person_no, sizeof(out->person_no), account->person_no);
    out->status = (fl_account_status)account->status;
    out->balance_fen = account->balance_fen;
    out->credited_fen = account->credited_fen;
    out->debited_fen = account->debited_fen;
    out->opened_seq = account->opened_seq;
    out->last_seq = account->last_seq;
    out->held_fen = account->held_fen;
}

int fl_person_add(fl_client *client, const fl_person *person, fl_person *registered)
{
    Famledger__PersonAddRequest add = FAMLEDGER__PERSON_ADD_REQUEST__INIT;
    add.person_no = (char *)person->person_no;
    add.name = (char *)person->name;
    add.region = (char *)person->region;
    add.scheme = (Famledger__Scheme)person->scheme;
    return client_person_call(client, FAMLEDGER__REQUEST__BODY_PERSON_ADD, &add, registered);
}

int client_person_call(fl_client *client, Famledger__Request__BodyCase body_case, void *body,
                       fl_person *person)
{
    Famledger__Response *response;
    int rc = client_call_body(client, body_case, body, FAMLEDGER__RESPONSE__BODY_PERSON,
                              &response);
    if (rc)
        return rc;
    client_person_copy(person, response->person->person);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_person_get_owed(fl_client *client, const char *person_no, fl_person *person,
                       int64_t *cash_refund_due_fen)
{
    Famledger__PersonGetRequest get = FAMLEDGER__PERSON_GET_REQUEST__INIT;
    get.person_no = (char *)person_no;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_PERSON_GET, &get,
                              FAMLEDGER__RESPONSE__BODY_PERSON, &response);
    if (rc)
        return rc;
    client_person_copy(person, response->person->person);
    if (cash_refund_due_fen)
        *cash_refund_due_fen = response->person->cash_refund_due_fen;
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_person_get(fl_client *client, const char *person_no, fl_person *person)
{
    return fl_person_get_owed(client, person_no, person, NULL);
}

static int account_reply(int rc, Famledger__Response *response,
                         fl_account *account)
{
    if (rc)
        return rc;
    account_copy(account, response->account->account);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_account_open(fl_client *client, const char *person_no, fl_account *account)
{
    Famledger__AccountOpenRequest open = FAMLEDGER__ACCOUNT_OPEN_REQUEST__INIT;
    open.person_no = (char *)person_no;
    Famledger__Response *response = NULL;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_ACCOUNT_OPEN, &open,
                              FAMLEDGER__RESPONSE__BODY_ACCOUNT, &response);
    return account_reply(rc, response, account);
}

int fl_account_get(fl_client *client, const char *person_no, fl_account *account)
{
    Famledger__AccountGetRequest get = FAMLEDGER__ACCOUNT_GET_REQUEST__INIT;
    get.person_no = (char *)person_no;
    Famledger__Response *response = NULL;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_ACCOUNT_GET, &get,
                              FAMLEDGER__RESPONSE__BODY_ACCOUNT, &response);
    return account_reply(rc, response, account);
}

int fl_account_aid_given(fl_client *client, const char *holder, fl_account *account_out,
                         fl_aid_given *given, size_t capacity, size_t *count)
{
    Famledger__AccountGetRequest get = FAMLEDGER__ACCOUNT_GET_REQUEST__INIT;
    get.person_no = (char *)holder;
    Famledger__Response *response = NULL;
    *count = 0;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_ACCOUNT_GET, &get,
                              FAMLEDGER__RESPONSE__BODY_ACCOUNT, &response);
    if (rc)
        return rc;
    const Famledger__Account *account = response->account->account;
    if (!account) {
        client_response_free(client, response);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "an account reply without its account");
    }
    account_copy(account_out, account);
    for (size_t i = 0; i < account->n_aid_usage; i++) {
        const Famledger__AidUsage *usage = account->aid_usage[i];
        if (i < capacity) {
            memset(&given[i], 0, sizeof(given[i]));
            client_copy(given[i].beneficiary, sizeof(given[i].beneficiary), usage->beneficiary);
            given[i].month = usage->month;
            given[i].month_fen = usage->month_fen;
            given[i].year = usage->year;
            given[i].year_fen = usage->year_fen;
        }
        (*count)++;
    }
    client_response_free(client, response);
    return 0;
}

int fl_account_credit(fl_client *client, const char *person_no, int64_t amount_fen, fl_credit_kind kind,
              const char *reference, fl_credit_result *out)
{
    Famledger__CreditRequest credit = FAMLEDGER__CREDIT_REQUEST__INIT;
    credit.person_no = (char *)person_no;
    credit.amount_fen = amount_fen;
    credit.kind = (Famledger__CreditKind)kind;
    credit.reference = (char *)reference;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_CREDIT, &credit,
                              FAMLEDGER__RESPONSE__BODY_CREDIT, &response);
    if (rc)
        return rc;
    if (out) {
        const Famledger__CreditReply *reply = response->credit;
        memset(out, 0, sizeof(*out));
        out->seq = reply->seq;
        client_copy(out->person_no, sizeof(out->person_no), reply->person_no);
        out->amount_fen = reply->amount_fen;
        out->kind = (fl_credit_kind)reply->kind;
        client_copy(out->reference, sizeof(out->reference), reply->reference);
        out->balance_after_fen = reply->balance_after_fen;
        out->replayed = response->replayed;
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int client_statement_call(fl_client *client, Famledger__Request__BodyCase body_case,
                          const char *person_no, uint64_t cursor, bool oldest_first,
                          size_t lines_max, size_t *count, uint64_t *next_cursor,
                          Famledger__Response **response)
{
    Famledger__StatementRequest query = FAMLEDGER__STATEMENT_REQUEST__INIT;
    query.person_no = (char *)person_no;
    query.limit = (uint32_t)(lines_max > 1000 ? 1000 : lines_max);
    query.oldest_first = oldest_first;
    query.cursor = cursor;
    *count = 0;
    *next_cursor = 0;
    if (lines_max == 0)
        return client_fail(client, FL_ERR_INVALID_ARGUMENT, "lines_max must be positive");
    return client_call_body(client, body_case, &query, FAMLEDGER__RESPONSE__BODY_STATEMENT,
                            response);
}

int fl_statement(fl_client *client, const char *person_no, uint64_t cursor, bool oldest_first,
                 fl_statement_line *lines, size_t lines_max, size_t *count,
                 uint64_t *next_cursor)
{
    Famledger__Response *response;
    int rc = client_statement_call(client, FAMLEDGER__REQUEST__BODY_STATEMENT, person_no, cursor,
                                   oldest_first, lines_max, count, next_cursor, &response);
    if (rc)
        return rc;
    const Famledger__StatementReply *reply = response->statement;
    for (size_t i = 0; i < reply->n_lines && i < lines_max; i++) {
        const Famledger__StatementLine *line = reply->lines[i];
        fl_statement_line *out = &lines[i];
        memset(out, 0, sizeof(*out));
        out->seq = line->seq;
        out->time_us = line->time_us;
        client_copy(out->type, sizeof(out->type), line->type);
        out->amount_fen = line->amount_fen;
        out->balance_after_fen = line->balance_after_fen;
        client_copy(out->reference, sizeof(out->reference), line->reference);
        client_copy(out->patient, sizeof(out->patient), line->patient);
        client_copy(out->merchant, sizeof(out->merchant), line->merchant);
        (*count)++;
    }
    *next_cursor = reply->next_cursor;
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

/* One reply of the credits of a year, added to what the pages before it gave. */
static int credits_page_add(fl_client *client, const Famledger__CreditsReply *reply,
                            fl_month_credits months[12], fl_credit_line *lines,
                            size_t lines_max, size_t *count)
{
    if (reply->n_months != 12)
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "a credits reply of %zu months",
                           reply->n_months);
    for (size_t i = 0; i < 12; i++) {
        const Famledger__MonthCredits *month = reply->months[i];
        if (month->month != i + 1)
            return client_fail(client, FL_ERR_PROTOCOL_ERROR, "a credits reply's month %zu "
                               "says %u", i + 1, month->month);
        months[i].allocated_fen += month->allocated_fen;
        months[i].deposited_fen += month->deposited_fen;
        months[i].count += month->count;
    }
    for (size_t i = 0; i < reply->n_credits; i++, (*count)++) {
        if (*count >= lines_max)
            continue;
        const Famledger__CreditLine *line = reply->credits[i];
        fl_credit_line *out = &lines[*count];
        memset(out, 0, sizeof(*out));
        out->seq = line->seq;
        out->time_us = line->time_us;
        out->kind = (fl_credit_kind)line->kind;
        out->amount_fen = line->amount_fen;
        client_copy(out->reference, sizeof(out->reference), line->reference);
        out->balance_after_fen = line->balance_after_fen;
    }
    return 0;
}

int fl_account_credits(fl_client *client, const char *person_no, uint32_t year,
                       uint32_t *year_out, fl_month_credits months[12], fl_credit_line *lines,
                       size_t lines_max, size_t *count)
{
    Famledger__CreditsRequest query = FAMLEDGER__CREDITS_REQUEST__INIT;
    query.person_no = (char *)person_no;
    query.year = year;
    *count = 0;
    for (uint32_t i = 0; i < 12; i++)
        months[i] = (fl_month_credits){.month = i + 1};
    do {
        Famledger__Response *response;
        int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_CREDITS, &query,
                                  FAMLEDGER__RESPONSE__BODY_CREDITS, &response);
        if (rc)
            return rc;
        const Famledger__CreditsReply *reply = response->credits;
        /* Newest first: each page starts further back, or the walk would never end. */
        if (reply->next_cursor && query.cursor && reply->next_cursor >= query.cursor)
            rc = client_fail(client, FL_ERR_PROTOCOL_ERROR, "a credits reply goes on from "
                             "%llu after %llu", (unsigned long long)reply->next_cursor,
                             (unsigned long long)query.cursor);
        else if (query.year && reply->year != query.year)
            rc = client_fail(client, FL_ERR_PROTOCOL_ERROR, "credits of %u asked, of %u "
                             "answered", query.year, reply->year);
        if (rc == 0)
            rc = credits_page_add(client, reply, months, lines, lines_max, count);
        query.year = reply->year; /* the year of the first page: a new year may start meanwhile */
        query.cursor = reply->next_cursor;
        famledger__response__free_unpacked(response, NULL);
        if (rc)
            return rc;
    } while (query.cursor);
    if (year_out)
        *year_out = query.year;
    return 0;
}

static int head_call(fl_client *client, Famledger__Response **response)
{
    Famledger__HeadRequest query = FAMLEDGER__HEAD_REQUEST__INIT;
    return client_call_body(client, FAMLEDGER__REQUEST__BODY_HEAD, &query,
                            FAMLEDGER__RESPONSE__BODY_HEAD, response);
}

int fl_head_get(fl_client *client, fl_head *head)
{
    Famledger__Response *response;
    int rc = head_call(client, &response);
    if (rc)
        return rc;
    memset(head, 0, sizeof(*head));
    head->seq = response->head->seq;
    if (response->head->hash.len == FL_HASH_BYTES)
        memcpy(head->hash, response->head->hash.data, FL_HASH_BYTES);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_timezone_get(fl_client *client, char zone[FL_TIMEZONE_MAX])
{
    Famledger__Response *response;
    int rc = head_call(client, &response);
    if (rc)
        return rc;
    /* A daemon from before the zone was reported: business days were Asia/Shanghai's. */
    const char *name = response->head->timezone[0] ? response->head->timezone : "Asia/Shanghai";
    rc = strlen(name) < FL_TIMEZONE_MAX ? 0 : FL_ERR_PROTOCOL_ERROR;
    if (rc == 0)
        strcpy(zone, name);
    famledger__response__free_unpacked(response, NULL);
    return rc;
}

int fl_backup(fl_client *client, const char *dir, fl_backup_result *result)
{
    Famledger__BackupRequest query = FAMLEDGER__BACKUP_REQUEST__INIT;
    query.dir = (char *)dir;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_BACKUP, &query,
                              FAMLEDGER__RESPONSE__BODY_BACKUP, &response);
    if (rc)
        return rc;
    memset(result, 0, sizeof(*result));
    result->seq = response->backup->seq;
    result->bytes = response->backup->bytes;
    if (response->backup->hash.len == FL_HASH_BYTES)
        memcpy(result->hash, response->backup->hash.data, FL_HASH_BYTES);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_day_close(fl_client *client, const char *date, char closed_through[11], uint64_t *seq)
{
    Famledger__DayCloseRequest query = FAMLEDGER__DAY_CLOSE_REQUEST__INIT;
    query.date = (char *)date;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_DAY_CLOSE, &query,
                              FAMLEDGER__RESPONSE__BODY_DAY_CLOSE, &response);
    if (rc)
        return rc;
    snprintf(closed_through, 11, "%s", response->day_close->closed_through);
    *seq = response->day_close->seq;
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

/* The body of an entry is the one member of its oneof that is set. */
static const ProtobufCMessage *entry_body(const Famledger__Entry *entry, const char **type)
{
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(
        &famledger__entry__descriptor, (unsigned)entry->body_case);
    *type = field ? field->name : "unknown";
    if (!field)
        return NULL;
    return *(const ProtobufCMessage *const *)(const void *)((const char *)entry + field->offset);
}

int client_entry_fill(fl_client *client, fl_entry *out, const Famledger__Entry *entry,
                      const uint8_t hash[FL_HASH_BYTES])
{
    memset(out, 0, sizeof(*out));
    out->seq = entry->seq;
    out->time_us = entry->time_us;
    memcpy(out->hash, hash, FL_HASH_BYTES);
    if (entry->prev_hash.len == FL_HASH_BYTES)
        memcpy(out->prev_hash, entry->prev_hash.data, FL_HASH_BYTES);
    if (entry->actor) {
        out->actor_uid = entry->actor->uid;
        out->actor_gid = entry->actor->gid;
        client_copy(out->operator_id, sizeof(out->operator_id), entry->actor->operator_id);
    }
    const char *type;
    const ProtobufCMessage *body = entry_body(entry, &type);
    client_copy(out->type, sizeof(out->type), type);
    out->body_json = body ? render_message(body, true) : strdup("{}");
    out->body_text = body ? render_message(body, false) : strdup("");
    if (!out->body_json || !out->body_text) {
        fl_entry_release(out);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "out of memory");
    }
    return 0;
}

static int entry_fetch(fl_client *client, uint64_t seq, Famledger__Response **response)
{
    Famledger__EntryGetRequest query = FAMLEDGER__ENTRY_GET_REQUEST__INIT;
    query.seq = seq;
    return client_call_body(client, FAMLEDGER__REQUEST__BODY_ENTRY_GET, &query,
                            FAMLEDGER__RESPONSE__BODY_ENTRY, response);
}

int fl_entry_postings(fl_client *client, uint64_t seq, fl_posting postings[FL_POSTINGS_MAX],
                      size_t *count)
{
    Famledger__Response *response;
    *count = 0;
    int rc = entry_fetch(client, seq, &response);
    if (rc)
        return rc;
    const Famledger__Entry *entry = response->entry->entry; /* client_expect saw to it */
    if (entry->n_postings > FL_POSTINGS_MAX) {
        famledger__response__free_unpacked(response, NULL);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "entry %llu carries %zu postings, "
                           "more than an entry has", (unsigned long long)seq, entry->n_postings);
    }
    for (size_t i = 0; i < entry->n_postings; i++) {
        const Famledger__Posting *posting = entry->postings[i];
        postings[i].account_class = (fl_account_class)posting->account_class;
        client_copy(postings[i].id, sizeof(postings[i].id), posting->id);
        postings[i].amount_fen = posting->amount_fen;
    }
    *count = entry->n_postings;
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_entry_get(fl_client *client, uint64_t seq, fl_entry *out)
{
    Famledger__Response *response;
    int rc = entry_fetch(client, seq, &response);
    if (rc)
        return rc;
    const Famledger__EntryReply *reply = response->entry;
    memset(out, 0, sizeof(*out));
    if (reply->hash.len != FL_HASH_BYTES) { /* client_expect saw to reply->entry */
        famledger__response__free_unpacked(response, NULL);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "the entry reply lacks its hash");
    }
    rc = client_entry_fill(client, out, reply->entry, reply->hash.data);
    famledger__response__free_unpacked(response, NULL);
    return rc;
}

void fl_entry_release(fl_entry *entry)
{
    free(entry->body_json);
    free(entry->body_text);
    entry->body_json = entry->body_text = NULL;
}

static int stats_call(fl_client *client, Famledger__Response **response)
{
    Famledger__StatsRequest body = FAMLEDGER__STATS_REQUEST__INIT;
    return client_call_body(client, FAMLEDGER__REQUEST__BODY_STATS, &body,
                            FAMLEDGER__RESPONSE__BODY_STATS, response);
}

int fl_stats_get(fl_client *client, fl_stats *stats)
{
    Famledger__Response *response;
    int rc = stats_call(client, &response);
    if (rc)
        return rc;
    const Famledger__StatsReply *reply = response->stats;
    *stats = (fl_stats){.batches = reply->batches,
                        .jobs = reply->jobs,
                        .flushes = reply->flushes,
                        .map_grows = reply->map_grows,
                        .durable_seq = reply->durable_seq,
                        .write_bytes = reply->write_bytes,
                        .map_bytes = reply->map_bytes,
                        .map_used_bytes = reply->map_used_bytes,
                        .connections = reply->connections,
                        .started_us = (int64_t)reply->started_us};
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_metrics_write(fl_client *client, fl_metrics_format format, FILE *out)
{
    Famledger__Response *response;
    int rc = stats_call(client, &response);
    if (rc)
        return rc;
    enum metrics_text_format text_format = format == FL_METRICS_PROMETHEUS
                                               ? METRICS_TEXT_PROMETHEUS
                                           : format == FL_METRICS_JSON ? METRICS_TEXT_JSON
                                                                       : METRICS_TEXT_BRIEF;
    errno = 0;
    rc = metrics_text_write(out, response->stats, text_format);
    famledger__response__free_unpacked(response, NULL);
    if (rc != 0 || fflush(out) != 0)
        return client_fail(client, FL_ERR_INTERNAL, "cannot write the metrics: %s",
                           strerror(errno ? errno : EIO));
    return 0;
}
