/* seeds.c -- write a starting corpus for fuzz_request: one valid request of each kind, against
 * the ledger fuzz_request seeds. Usage: seeds DIR */
#include "famledger.pb-c.h"
#include "seeded.h"
#include "table_digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void seed_write(const char *dir, const char *name, Famledger__Request *request)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    size_t bytes = famledger__request__get_packed_size(request);
    uint8_t *buffer = malloc(bytes ? bytes : 1);
    famledger__request__pack(request, buffer);
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(buffer, 1, bytes, file) != bytes)
        exit(1);
    fclose(file);
    free(buffer);
}

static void bytes_write(const char *dir, const char *name, const uint8_t *bytes, size_t count)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(bytes, 1, count, file) != count)
        exit(1);
    fclose(file);
}

static size_t varint_put(uint8_t *at, uint64_t value)
{
    size_t bytes = 0;
    do {
        at[bytes++] = (uint8_t)((value & 0x7f) | (value >= 0x80 ? 0x80 : 0));
        value >>= 7;
    } while (value);
    return bytes;
}

/* request_id 1, then body field `number` holding `body`. */
static size_t frame_make(uint8_t *out, uint32_t number, const uint8_t *body, size_t body_bytes)
{
    size_t at = 0;
    out[at++] = 0x08;
    out[at++] = 0x01;
    at += varint_put(out + at, (uint64_t)number << 3 | 2);
    at += varint_put(out + at, body_bytes);
    memcpy(out + at, body, body_bytes);
    return at + body_bytes;
}

/* For every request kind: an empty body, a body with an unknown field, and a body nested in
 * itself as an unknown field (what the decode step must refuse at any depth). Then oversized
 * repeated fields. */
static void seeds_every_kind(const char *dir)
{
    static uint8_t frame[8192], body[4096];
    const ProtobufCMessageDescriptor *descriptor = &famledger__request__descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (field->id < 10)
            continue;
        char name[96];
        snprintf(name, sizeof(name), "%s-empty", field->name);
        bytes_write(dir, name, frame, frame_make(frame, field->id, body, 0));
        const uint8_t unknown[] = {0x98, 0x06, 0x01, 0x0a, 0x02, 'P', '1'}; /* 99: 1; 1: "P1" */
        snprintf(name, sizeof(name), "%s-unknown", field->name);
        bytes_write(dir, name, frame, frame_make(frame, field->id, unknown, sizeof(unknown)));
        size_t nested = 0;
        body[nested++] = 0x9a, body[nested++] = 0x06; /* 99: a message of unknown fields */
        body[nested++] = sizeof(unknown);
        memcpy(body + nested, unknown, sizeof(unknown));
        nested += sizeof(unknown);
        snprintf(name, sizeof(name), "%s-nested", field->name);
        bytes_write(dir, name, frame, frame_make(frame, field->id, body, nested));
    }
    size_t at = 0;
    for (int i = 0; i < 1000; i++) /* 1,000 empty credits */
        body[at++] = 0x0a, body[at++] = 0x00;
    bytes_write(dir, "credit_batch-many", frame, frame_make(frame, 37, body, at));
    at = 0;
    for (int i = 0; i < 600; i++) /* 600 holders in a funding order */
        body[at++] = 0x12, body[at++] = 0x01, body[at++] = 'H';
    bytes_write(dir, "funding_order-many", frame, frame_make(frame, 23, body, at));
    at = 0;
    for (int depth = 0; depth < 12; depth++) /* credit_batch -> credits -> ... deeper */
        body[at++] = 0x0a, body[at++] = (uint8_t)(2 * (11 - depth));
    bytes_write(dir, "credit_batch-deep", frame, frame_make(frame, 37, body, at));
}

/* The requests of double entry, clearing, reversal and the queries, valid against the seeded
 * ledger (merchant M, patient P, holder H). */
static void seeds_books(const char *dir)
{
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    Famledger__ReverseRequest reverse = FAMLEDGER__REVERSE_REQUEST__INIT;
    reverse.merchant_code = (char *)"M";
    reverse.merchant_reference = (char *)"t";
    request.body_case = FAMLEDGER__REQUEST__BODY_REVERSE;
    request.reverse = &reverse;
    seed_write(dir, "reverse", &request);
    Famledger__PayoutRequest payout = FAMLEDGER__PAYOUT_REQUEST__INIT;
    payout.merchant_code = (char *)"M";
    payout.person_no = (char *)"";
    payout.amount_fen = 100;
    payout.reference = (char *)"p";
    request.body_case = FAMLEDGER__REQUEST__BODY_PAYOUT;
    request.payout = &payout;
    seed_write(dir, "payout", &request);
    Famledger__ClearingRequest clearing = FAMLEDGER__CLEARING_REQUEST__INIT;
    clearing.merchant_code = (char *)"M";
    clearing.from = (char *)"2026-01-01";
    clearing.to = (char *)"2026-12-31";
    request.body_case = FAMLEDGER__REQUEST__BODY_CLEARING;
    request.clearing = &clearing;
    seed_write(dir, "clearing", &request);
    Famledger__MerchantDayRequest day = FAMLEDGER__MERCHANT_DAY_REQUEST__INIT;
    day.merchant_code = (char *)"M";
    day.date = (char *)"2026-11-23";
    day.cursor = 3;
    day.limit = 2;
    request.body_case = FAMLEDGER__REQUEST__BODY_MERCHANT_DAY;
    request.merchant_day = &day;
    seed_write(dir, "merchant_day", &request);
    Famledger__SettlementListRequest list = FAMLEDGER__SETTLEMENT_LIST_REQUEST__INIT;
    list.patient = (char *)"P";
    list.merchant_code = (char *)"";
    list.from = (char *)"";
    list.to = (char *)"";
    request.body_case = FAMLEDGER__REQUEST__BODY_SETTLEMENT_LIST;
    request.settlement_list = &list;
    seed_write(dir, "settlement_list-patient", &request);
    list.patient = (char *)"";
    list.merchant_code = (char *)"M";
    list.from = (char *)"2026-12-01";
    list.to = (char *)"2026-12-31";
    list.cursor = 3;
    seed_write(dir, "settlement_list-merchant", &request);
    /* Days of the year 226: the day before one once came out seven characters long. */
    list.from = (char *)"0226-02-01";
    list.to = (char *)"0226-10-31";
    list.cursor = 0;
    seed_write(dir, "settlement_list-year-226", &request);
    Famledger__AidRequest aid = FAMLEDGER__AID_REQUEST__INIT;
    aid.person_no = (char *)"P";
    request.body_case = FAMLEDGER__REQUEST__BODY_AID;
    request.aid = &aid;
    seed_write(dir, "aid", &request);
    Famledger__TransferInRequest in = FAMLEDGER__TRANSFER_IN_REQUEST__INIT;
    in.person_no = (char *)"H";
    in.amount_fen = 100;
    in.from_region = (char *)"";
    in.transfer_out_seq = 5;
    in.to_region = (char *)"440103";
    in.reference = (char *)"ti";
    request.body_case = FAMLEDGER__REQUEST__BODY_TRANSFER_IN;
    request.transfer_in = &in;
    seed_write(dir, "transfer_in-linked", &request);
    Famledger__BindRequest bind = FAMLEDGER__BIND_REQUEST__INIT;
    bind.holder = (char *)"H";
    bind.beneficiary = (char *)"P";
    bind.relation = FAMLEDGER__RELATION__RELATION_SPOUSE;
    bind.evidence = (char *)"HR-1";
    bind.channel = FAMLEDGER__BIND_CHANNEL__BIND_CHANNEL_APP;
    request.body_case = FAMLEDGER__REQUEST__BODY_BIND;
    request.bind = &bind;
    seed_write(dir, "bind-evidence", &request);
    Famledger__PersonDeceasedRequest died = FAMLEDGER__PERSON_DECEASED_REQUEST__INIT;
    died.person_no = (char *)"R";
    died.evidence = (char *)"DC-1";
    request.body_case = FAMLEDGER__REQUEST__BODY_PERSON_DECEASED;
    request.person_deceased = &died;
    seed_write(dir, "person_deceased", &request);
    Famledger__SettlementGetRequest get = FAMLEDGER__SETTLEMENT_GET_REQUEST__INIT;
    get.merchant_code = (char *)"M";
    get.merchant_reference = (char *)"t";
    request.body_case = FAMLEDGER__REQUEST__BODY_SETTLEMENT_GET;
    request.settlement_get = &get;
    seed_write(dir, "settlement_get-reference", &request);
}

/* The wallet, held quotes, aid limits and emergency claims, valid against the seeded ledger. */
static void seeds_twophase(const char *dir)
{
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    Famledger__WalletSendRequest send = FAMLEDGER__WALLET_SEND_REQUEST__INIT;
    send.holder = (char *)"H";
    send.beneficiary = (char *)"P";
    send.amount_fen = 100;
    send.reference = (char *)"w";
    request.body_case = FAMLEDGER__REQUEST__BODY_WALLET_SEND;
    request.wallet_send = &send;
    seed_write(dir, "wallet_send", &request);
    Famledger__WalletSendCloseRequest answer = FAMLEDGER__WALLET_SEND_CLOSE_REQUEST__INIT;
    answer.reference = (char *)"w";
    request.body_case = FAMLEDGER__REQUEST__BODY_WALLET_ACCEPT;
    request.wallet_accept = &answer;
    seed_write(dir, "wallet_accept", &request);
    request.body_case = FAMLEDGER__REQUEST__BODY_WALLET_DECLINE;
    seed_write(dir, "wallet_decline", &request);
    Famledger__WalletGetRequest wallet = FAMLEDGER__WALLET_GET_REQUEST__INIT;
    wallet.person_no = (char *)"P";
    request.body_case = FAMLEDGER__REQUEST__BODY_WALLET_GET;
    request.wallet_get = &wallet;
    seed_write(dir, "wallet_get", &request);
    Famledger__SettleRequest quote = FAMLEDGER__SETTLE_REQUEST__INIT;
    quote.merchant_code = (char *)"M";
    quote.merchant_reference = (char *)"h";
    quote.patient = (char *)"P";
    quote.amount_fen = 300;
    Famledger__HoldRequest hold = FAMLEDGER__HOLD_REQUEST__INIT;
    hold.quote = &quote;
    hold.hold_seconds = 60;
    request.body_case = FAMLEDGER__REQUEST__BODY_HOLD;
    request.hold = &hold;
    seed_write(dir, "hold", &request);
    Famledger__HoldReleaseRequest release = FAMLEDGER__HOLD_RELEASE_REQUEST__INIT;
    release.hold_id = 12;
    request.body_case = FAMLEDGER__REQUEST__BODY_HOLD_RELEASE;
    request.hold_release = &release;
    seed_write(dir, "hold_release", &request);
    Famledger__SettleRequest capture = quote;
    capture.merchant_reference = (char *)"c";
    capture.hold_id = 12;
    request.body_case = FAMLEDGER__REQUEST__BODY_SETTLE;
    request.settle = &capture;
    seed_write(dir, "settle-hold", &request);
    Famledger__FamilyLimitRequest limit = FAMLEDGER__FAMILY_LIMIT_REQUEST__INIT;
    limit.holder = (char *)"H";
    limit.beneficiary = (char *)"P";
    limit.monthly_fen = 5000;
    limit.yearly_fen = 20000;
    request.body_case = FAMLEDGER__REQUEST__BODY_FAMILY_LIMIT;
    request.family_limit = &limit;
    seed_write(dir, "family_limit", &request);
    Famledger__EmergencyClaimRequest claim = FAMLEDGER__EMERGENCY_CLAIM_REQUEST__INIT;
    claim.patient = (char *)"P";
    claim.amount_fen = 500;
    claim.hospital = (char *)"急救中心";
    claim.receipt = (char *)"R";
    claim.reference = (char *)"e";
    request.body_case = FAMLEDGER__REQUEST__BODY_EMERGENCY_CLAIM;
    request.emergency_claim = &claim;
    seed_write(dir, "emergency_claim", &request);
    Famledger__EmergencyCloseRequest close = FAMLEDGER__EMERGENCY_CLOSE_REQUEST__INIT;
    close.claim_id = SEEDED_CLAIM;
    close.returned_fen = 300;
    close.reason = (char *)"part";
    request.body_case = FAMLEDGER__REQUEST__BODY_EMERGENCY_CLOSE;
    request.emergency_close = &close;
    seed_write(dir, "emergency_close", &request);
    close.returned_fen = 0;
    close.reject = true;
    seed_write(dir, "emergency_reject", &request);
    Famledger__EmergencyListRequest list = FAMLEDGER__EMERGENCY_LIST_REQUEST__INIT;
    list.patient = (char *)"P";
    list.overdue_only = true;
    request.body_case = FAMLEDGER__REQUEST__BODY_EMERGENCY_LIST;
    request.emergency_list = &list;
    seed_write(dir, "emergency_list", &request);
    char *holidays[] = {(char *)"2027-02-12", (char *)"2027-02-08", (char *)"2027-02-12"};
    char *workdays[] = {(char *)"2027-02-13"};
    Famledger__Calendar calendar = FAMLEDGER__CALENDAR__INIT;
    calendar.year = 2027;
    calendar.holidays = holidays;
    calendar.n_holidays = 3;
    calendar.workdays = workdays;
    calendar.n_workdays = 1;
    request.body_case = FAMLEDGER__REQUEST__BODY_CALENDAR_SET;
    request.calendar_set = &calendar;
    seed_write(dir, "calendar_set", &request);
    Famledger__CalendarGetRequest calendar_get = FAMLEDGER__CALENDAR_GET_REQUEST__INIT;
    calendar_get.year = 2027;
    request.body_case = FAMLEDGER__REQUEST__BODY_CALENDAR_GET;
    request.calendar_get = &calendar_get;
    seed_write(dir, "calendar_get", &request);
    Famledger__CreditsRequest credits = FAMLEDGER__CREDITS_REQUEST__INIT;
    credits.person_no = (char *)"P";
    credits.year = 2027;
    credits.cursor = 40;
    request.body_case = FAMLEDGER__REQUEST__BODY_CREDITS;
    request.credits = &credits;
    seed_write(dir, "credits", &request);
    Famledger__SubscribeRequest subscribe = FAMLEDGER__SUBSCRIBE_REQUEST__INIT;
    subscribe.from_seq = 1;
    request.body_case = FAMLEDGER__REQUEST__BODY_SUBSCRIBE;
    request.subscribe = &subscribe;
    seed_write(dir, "subscribe", &request);

    /* A batch of a settlement, a hold and a read (refused as an item). */
    Famledger__Request items[3];
    Famledger__Request *pointers[3] = {&items[0], &items[1], &items[2]};
    for (int i = 0; i < 3; i++)
        famledger__request__init(&items[i]);
    items[0].body_case = FAMLEDGER__REQUEST__BODY_SETTLE;
    items[0].settle = &quote;
    items[1].body_case = FAMLEDGER__REQUEST__BODY_HOLD;
    items[1].hold = &hold;
    items[2].body_case = FAMLEDGER__REQUEST__BODY_WALLET_GET;
    items[2].wallet_get = &wallet;
    Famledger__BatchRequest batch = FAMLEDGER__BATCH_REQUEST__INIT;
    batch.requests = pointers;
    batch.n_requests = 3;
    request.body_case = FAMLEDGER__REQUEST__BODY_BATCH;
    request.batch = &batch;
    seed_write(dir, "batch", &request);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    seeds_every_kind(argv[1]);
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)"M";
    settle.merchant_reference = (char *)"t";
    settle.patient = (char *)"P";
    settle.amount_fen = 20000;
    request.body_case = FAMLEDGER__REQUEST__BODY_SETTLE;
    request.settle = &settle;
    seed_write(argv[1], "settle", &request);
    request.body_case = FAMLEDGER__REQUEST__BODY_QUOTE;
    seed_write(argv[1], "quote", &request);
    Famledger__RefundRequest refund = FAMLEDGER__REFUND_REQUEST__INIT;
    refund.merchant_code = (char *)"M";
    refund.merchant_reference = (char *)"r";
    refund.settlement_id = SEEDED_SETTLEMENT;
    refund.amount_fen = 100;
    request.body_case = FAMLEDGER__REQUEST__BODY_REFUND;
    request.refund = &refund;
    seed_write(argv[1], "refund", &request);
    request.body_case = FAMLEDGER__REQUEST__BODY_CANCEL;
    seed_write(argv[1], "cancel", &request);
    Famledger__WithdrawRequest withdraw = FAMLEDGER__WITHDRAW_REQUEST__INIT;
    withdraw.person_no = (char *)"H";
    withdraw.reason = FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH;
    withdraw.reference = (char *)"w";
    withdraw.heir = (char *)"X";
    request.body_case = FAMLEDGER__REQUEST__BODY_WITHDRAW;
    request.withdraw = &withdraw;
    seed_write(argv[1], "withdraw", &request);
    Famledger__FundingOrderRequest order = FAMLEDGER__FUNDING_ORDER_REQUEST__INIT;
    char *holders[] = {"H"};
    order.beneficiary = (char *)"P";
    order.holders = holders;
    order.n_holders = 1;
    request.body_case = FAMLEDGER__REQUEST__BODY_FUNDING_ORDER;
    request.funding_order = &order;
    seed_write(argv[1], "order", &request);
    Famledger__StatementRequest statement = FAMLEDGER__STATEMENT_REQUEST__INIT;
    statement.person_no = (char *)"P";
    request.body_case = FAMLEDGER__REQUEST__BODY_STATEMENT;
    request.statement = &statement;
    seed_write(argv[1], "statement", &request);
    Famledger__StatePageRequest page = FAMLEDGER__STATE_PAGE_REQUEST__INIT;
    page.table = FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS;
    request.body_case = FAMLEDGER__REQUEST__BODY_STATE_PAGE;
    request.state_page = &page;
    seed_write(argv[1], "state_page", &request);
    Famledger__StateDigestRequest digest = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    digest.table = FAMLEDGER__STATE_TABLE__STATE_FUNDED;
    digest.version = TABLE_DIGEST_VERSION;
    digest.limit = 3;
    uint8_t digest_key[TABLE_DIGEST_KEY_BYTES] = "fuzz seed's key";
    digest.key = (ProtobufCBinaryData){sizeof(digest_key), digest_key};
    request.body_case = FAMLEDGER__REQUEST__BODY_STATE_DIGEST;
    request.state_digest = &digest;
    seed_write(argv[1], "state_digest", &request);
    digest.table = FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS; /* a record's own checks */
    seed_write(argv[1], "state_digest_settlements", &request);
    seeds_books(argv[1]);
    seeds_twophase(argv[1]);
    return 0;
}
