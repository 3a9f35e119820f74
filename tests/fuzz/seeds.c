/* seeds.c -- write a starting corpus for fuzz_request: one valid request of each kind, against
 * the ledger fuzz_request seeds. Usage: seeds DIR */
#include "famledger.pb-c.h"

#include <stdio.h>
#include <stdlib.h>

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

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
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
    refund.settlement_id = 11;
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
    return 0;
}
