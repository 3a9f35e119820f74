/* audit_calls.c -- exports of a business day and a merchant's day, from the daemon's indexes. */
#include "client_internal.h"
#include "entry_check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void time_text(int64_t time_us, char text[32])
{
    time_t seconds = (time_t)(time_us / 1000000);
    struct tm utc;
    gmtime_r(&seconds, &utc);
    size_t length = strftime(text, 32, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(text + length, 32 - length, ".%06dZ", (int)(time_us % 1000000));
}

/* The accounts an entry moved ("P1:-3000 P2:500"), its headline amount, and its references. */
struct entry_row {
    char accounts[1024];
    int64_t amount_fen;
    const char *merchant;
    const char *patient;
    const char *reference;
    uint64_t settlement_id;
};

static void row_account(struct entry_row *row, const char *person_no, int64_t delta_fen)
{
    size_t used = strlen(row->accounts);
    snprintf(row->accounts + used, sizeof(row->accounts) - used, "%s%s:%" PRId64,
             used ? " " : "", person_no, delta_fen);
}

/* A wallet (医保钱包) moved: "wallet:P:-3000", told apart from P's personal account. */
static void row_wallet(struct entry_row *row, const char *person_no, int64_t delta_fen)
{
    size_t used = strlen(row->accounts);
    snprintf(row->accounts + used, sizeof(row->accounts) - used, "%swallet:%s:%" PRId64,
             used ? " " : "", person_no, delta_fen);
}

static void row_wallet_send(const Famledger__Entry *entry, struct entry_row *row)
{
    bool sent = entry->body_case == FAMLEDGER__ENTRY__BODY_WALLET_SENT;
    const Famledger__WalletSend *send = sent ? entry->wallet_sent->send
                                             : entry->wallet_send_closed->send;
    row->amount_fen = send->amount_fen;
    row->patient = send->beneficiary;
    row->reference = send->reference;
    if (sent)
        row_account(row, send->holder, -send->amount_fen);
    else if (send->state == FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_ACCEPTED)
        row_wallet(row, send->beneficiary, send->amount_fen);
    else if (!send->cash_refund_due)
        row_account(row, send->holder, send->amount_fen);
}

/* The row of a whole entry (entry_whole): its parts are followed without a check. */
static void entry_row_make(const Famledger__Entry *entry, struct entry_row *row)
{
    memset(row, 0, sizeof(*row));
    row->merchant = row->patient = row->reference = "";
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_PERSON_MIGRATED:
        if (entry->person_migrated->opening_balance_fen) {
            row_account(row, entry->person_migrated->person_no,
                        entry->person_migrated->opening_balance_fen);
            row->amount_fen = entry->person_migrated->opening_balance_fen;
        }
        break;
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_CREDITED:
        row_account(row, entry->account_credited->person_no, entry->account_credited->amount_fen);
        row->amount_fen = entry->account_credited->amount_fen;
        row->reference = entry->account_credited->reference;
        break;
    case FAMLEDGER__ENTRY__BODY_SETTLED: {
        const Famledger__Settlement *s = entry->settled->settlement;
        for (size_t i = 0; i < s->n_legs; i++)
            (s->legs[i]->wallet ? row_wallet : row_account)(row, s->legs[i]->holder,
                                                            -s->legs[i]->amount_fen);
        row->amount_fen = s->amount_fen;
        row->merchant = s->merchant_code;
        row->patient = s->patient;
        row->reference = s->merchant_reference;
        row->settlement_id = entry->seq;
        break;
    }
    case FAMLEDGER__ENTRY__BODY_REFUNDED:
    case FAMLEDGER__ENTRY__BODY_REVERSED: {
        bool reversal = entry->body_case == FAMLEDGER__ENTRY__BODY_REVERSED;
        const Famledger__Refund *r = reversal ? entry->reversed->refund : entry->refunded->refund;
        row->merchant = reversal ? entry->reversed->request->merchant_code
                                 : entry->refunded->merchant_code;
        row->settlement_id = reversal ? entry->reversed->settlement_id
                                      : entry->refunded->settlement_id;
        if (reversal)
            row->reference = entry->reversed->request->merchant_reference;
        else
            row->patient = entry->refunded->patient;
        if (!r)
            break; /* a reversal that found nothing to give back */
        for (size_t i = 0; i < r->n_legs; i++)
            if (!r->legs[i]->cash_refund_due)
                (r->legs[i]->wallet ? row_wallet : row_account)(row, r->legs[i]->holder,
                                                                r->legs[i]->amount_fen);
        row->amount_fen = r->amount_fen;
        row->reference = r->reference;
        break;
    }
    case FAMLEDGER__ENTRY__BODY_PAID_OUT:
    case FAMLEDGER__ENTRY__BODY_RECOVERED: {
        const Famledger__Payout *payout = entry->body_case == FAMLEDGER__ENTRY__BODY_PAID_OUT
                                              ? entry->paid_out->payout
                                              : entry->recovered->payout;
        row->amount_fen = payout->amount_fen;
        row->merchant = payout->merchant_code;
        row->patient = "";
        row->reference = payout->reference;
        break;
    }
    case FAMLEDGER__ENTRY__BODY_WITHDRAWN:
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT:
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN: {
        const Famledger__Movement *m = entry_movement(entry);
        bool in = entry->body_case == FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN;
        row_account(row, m->person_no, in ? m->amount_fen : -m->amount_fen);
        row->amount_fen = m->amount_fen;
        row->reference = m->reference;
        break;
    }
    case FAMLEDGER__ENTRY__BODY_WALLET_SENT:
    case FAMLEDGER__ENTRY__BODY_WALLET_SEND_CLOSED:
        row_wallet_send(entry, row);
        break;
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLAIMED:
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLOSED: {
        /* A claim moves nothing; its close what went back (its amount, 0 when rejected). */
        bool made = entry->body_case == FAMLEDGER__ENTRY__BODY_EMERGENCY_CLAIMED;
        const Famledger__EmergencyClaim *claim =
            made ? entry->emergency_claimed->claim : entry->emergency_closed->claim;
        row->amount_fen = made ? claim->request->amount_fen : claim->returned_fen;
        row->patient = claim->request->patient;
        row->reference = claim->request->reference;
        if (!made && claim->returned_fen > 0 && !claim->cash_refund_due)
            row_account(row, claim->request->patient, claim->returned_fen);
        break;
    }
    default:
        break;
    }
}

/* Free-text fields are quoted, a quote inside doubled (RFC 4180). */
static void csv_text(FILE *out, const char *text)
{
    fputc('"', out);
    for (; *text; text++) {
        if (*text == '"')
            fputc('"', out);
        fputc(*text, out);
    }
    fputc('"', out);
}

static int export_record(const Famledger__LogRecord *record, fl_export_format format, FILE *out)
{
    Famledger__Entry *entry =
        famledger__entry__unpack(NULL, record->entry_bytes.len, record->entry_bytes.data);
    if (!entry)
        return FL_ERR_PROTOCOL_ERROR;
    if (!entry_whole(entry)) {
        /* No famledgerd wrote it: a reconciliation must not take a row made of what is left. */
        famledger__entry__free_unpacked(entry, NULL);
        return FL_ERR_INTERNAL;
    }
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(
        &famledger__entry__descriptor, (unsigned)entry->body_case);
    const char *type = field ? field->name : "unknown";
    char time[32], hash[2 * FL_HASH_BYTES + 1];
    time_text(entry->time_us, time);
    fl_hash_hex(record->hash.data, hash);
    struct entry_row row;
    entry_row_make(entry, &row);
    if (format == FL_EXPORT_CSV) {
        fprintf(out, "%" PRIu64 ",%s,%s,", record->seq, time, type);
        csv_text(out, row.accounts);
        fprintf(out, ",%" PRId64 ",", row.amount_fen);
        csv_text(out, row.merchant);
        fputc(',', out);
        csv_text(out, row.patient);
        fputc(',', out);
        csv_text(out, row.reference);
        fprintf(out, ",%" PRIu64 ",%s\n", row.settlement_id, hash);
    } else {
        const ProtobufCMessage *body =
            field ? *(const ProtobufCMessage *const *)(const void *)((const char *)entry +
                                                                     field->offset)
                  : NULL;
        char *json = body ? render_message(body, true) : NULL;
        fprintf(out, "{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"time_us\":%" PRId64
                ",\"type\":\"%s\",\"hash\":\"%s\",\"body\":%s}\n",
                record->seq, time, entry->time_us, type, hash, json ? json : "{}");
        free(json);
    }
    famledger__entry__free_unpacked(entry, NULL);
    return 0;
}

int fl_export_day(fl_client *client, const char *date, fl_export_format format, FILE *out,
                  uint64_t *count)
{
    *count = 0;
    if (format == FL_EXPORT_CSV)
        fputs("seq,time,type,accounts,amount_fen,merchant,patient,reference,settlement_id,hash\n",
              out);
    uint64_t from = 0;
    for (;;) {
        Famledger__LogPageRequest page = FAMLEDGER__LOG_PAGE_REQUEST__INIT;
        page.from_seq = from;
        page.limit = 500;
        page.date = (char *)date;
        Famledger__Request request = FAMLEDGER__REQUEST__INIT;
        request.body_case = FAMLEDGER__REQUEST__BODY_LOG_PAGE;
        request.log_page = &page;
        Famledger__Response *response;
        int rc = client_call_expect(client, &request, FAMLEDGER__RESPONSE__BODY_LOG_PAGE,
                                    &response);
        if (rc)
            return rc;
        const Famledger__LogPageReply *reply = response->log_page;
        uint64_t failed = 0;
        for (size_t i = 0; rc == 0 && i < reply->n_records; i++) {
            if ((rc = export_record(reply->records[i], format, out)))
                failed = reply->records[i]->seq;
            else
                (*count)++;
        }
        from = reply->next_seq;
        famledger__response__free_unpacked(response, NULL);
        if (rc)
            return client_fail(client, rc, rc == FL_ERR_INTERNAL
                                               ? "entry %llu of %s lacks a part that every entry "
                                                 "of its kind has: the ledger is damaged "
                                                 "(ledgerctl verify names it)"
                                               : "entry %llu of %s does not decode",
                               (unsigned long long)failed, date);
        if (from == 0)
            break;
    }
    errno = 0;
    if (fflush(out) != 0 || ferror(out))
        return client_fail(client, FL_ERR_INTERNAL, "cannot write the export: %s",
                           strerror(errno ? errno : EIO));
    return 0;
}

int fl_merchant_day(fl_client *client, const char *merchant_code, const char *date,
                    fl_settlement_cb settlement_cb, fl_refund_cb refund_cb, void *context)
{
    fl_settlement *settlement = malloc(sizeof(*settlement));
    fl_refund *refund = malloc(sizeof(*refund));
    int rc = settlement && refund ? 0 : client_fail(client, FL_ERR_PROTOCOL_ERROR, "out of memory");
    uint64_t cursor = 0;
    while (rc == 0) {
        Famledger__MerchantDayRequest query = FAMLEDGER__MERCHANT_DAY_REQUEST__INIT;
        query.merchant_code = (char *)merchant_code;
        query.date = (char *)date;
        query.cursor = cursor;
        query.limit = 500;
        Famledger__Request request = FAMLEDGER__REQUEST__INIT;
        request.body_case = FAMLEDGER__REQUEST__BODY_MERCHANT_DAY;
        request.merchant_day = &query;
        Famledger__Response *response;
        rc = client_call_expect(client, &request, FAMLEDGER__RESPONSE__BODY_MERCHANT_DAY,
                                &response);
        if (rc)
            break;
        const Famledger__MerchantDayReply *reply = response->merchant_day;
        int stop = 0;
        for (size_t i = 0; !stop && settlement_cb && i < reply->n_settlements; i++) {
            client_settlement_copy(settlement, reply->settlements[i], false);
            stop = settlement_cb(settlement, context);
        }
        for (size_t i = 0; !stop && refund_cb && i < reply->n_refunds; i++) {
            client_refund_copy(refund, reply->refunds[i], false);
            stop = refund_cb(refund, reply->refunds[i]->settlement_id, context);
        }
        cursor = reply->next_cursor;
        famledger__response__free_unpacked(response, NULL);
        if (stop || cursor == 0)
            break;
    }
    free(settlement);
    free(refund);
    return rc;
}
