/* famledger.h -- the C client library of famledgerd.
 *
 * One blocking connection per fl_client handle; calls on one handle must not overlap (use one
 * handle per thread). A handle opened before fork() is the parent's: in the child its first
 * call connects anew, and the requests the parent had in flight stay the parent's (their
 * callbacks never run in the child). Every call returns 0 on success or a negative FL_ERR_* status
 * (famledger_status.h); fl_strerror() names it and fl_client_error() gives the daemon's message
 * for the last failed call. Money is integer fen (1 yuan = 100 fen) everywhere.
 *
 * Build with: cc ... $(pkg-config --cflags --libs famledger)
 */
#ifndef FAMLEDGER_H
#define FAMLEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "famledger_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_DEFAULT_SOCKET "var/famledgerd.sock"   /* `make run` in a checkout */
#define FL_SYSTEM_SOCKET "/run/famledger/famledgerd.sock" /* the packaged service */
#define FL_DEFAULT_TIMEOUT_MS 10000

#define FL_PERSON_NO_MAX 32
#define FL_NAME_MAX 128
#define FL_REGION_LEN 6
#define FL_REFERENCE_MAX 64
#define FL_OPERATOR_ID_MAX 64
#define FL_TYPE_NAME_MAX 47
#define FL_HASH_BYTES 32
#define FL_MONEY_TEXT_MAX 32

typedef struct fl_client fl_client;

typedef enum fl_scheme { FL_SCHEME_EMPLOYEE = 1, FL_SCHEME_RESIDENT = 2 } fl_scheme;

typedef enum fl_account_status {
    FL_ACCOUNT_OPEN = 1,
    FL_ACCOUNT_FROZEN = 2,
    FL_ACCOUNT_CLOSED = 3,
} fl_account_status;

typedef enum fl_credit_kind { FL_CREDIT_ALLOCATION = 1, FL_CREDIT_DEPOSIT = 2 } fl_credit_kind;

/* The eight close relations, from the holder's side: "the beneficiary is the holder's R". */
typedef enum fl_relation {
    FL_RELATION_SPOUSE = 1,
    FL_RELATION_PARENT = 2,
    FL_RELATION_CHILD = 3,
    FL_RELATION_SIBLING = 4,
    FL_RELATION_PATERNAL_GRANDPARENT = 5,
    FL_RELATION_MATERNAL_GRANDPARENT = 6,
    FL_RELATION_PATERNAL_GRANDCHILD = 7,
    FL_RELATION_MATERNAL_GRANDCHILD = 8,
} fl_relation;

typedef enum fl_merchant_kind {
    FL_MERCHANT_PHARMACY = 1,
    FL_MERCHANT_HOSPITAL = 2,
    FL_MERCHANT_AGENCY = 3,
} fl_merchant_kind;

typedef enum fl_category {
    FL_CATEGORY_PHARMACY = 1,
    FL_CATEGORY_DEVICE = 2,
    FL_CATEGORY_OUTPATIENT = 3,
    FL_CATEGORY_INPATIENT = 4,
    FL_CATEGORY_RESIDENT_PREMIUM = 5,
    FL_CATEGORY_COMMERCIAL_INSURANCE = 6,
    FL_CATEGORY_LONG_TERM_CARE = 7,
} fl_category;

#define FL_FUNDS_MAX 32     /* relatives one account may fund, at most */
#define FL_FUNDERS_MAX 16   /* accounts that may fund one relative, at most */
#define FL_LEGS_MAX (2 + FL_FUNDERS_MAX) /* own account, wallet, each funder */
#define FL_REFUNDS_MAX 32   /* refunds one settlement may have */
#define FL_CREDIT_BATCH_MAX 1000

typedef enum fl_withdrawal_reason {
    FL_WITHDRAWAL_LONG_TERM_ELSEWHERE = 1, /* any amount up to the balance; stays open */
    FL_WITHDRAWAL_MAJOR_DISEASE = 2,       /* any amount; needs a disease code; stays open */
    FL_WITHDRAWAL_OPT_OUT = 3,             /* whole balance; the account closes */
    FL_WITHDRAWAL_DEATH = 4,               /* whole balance to the heir; closes */
    FL_WITHDRAWAL_EMIGRATION = 5,          /* whole balance; closes */
    FL_WITHDRAWAL_TRANSFER_NOT_ACCEPTED = 6, /* whole balance; closes */
} fl_withdrawal_reason;

typedef enum fl_person_status {
    FL_PERSON_ACTIVE = 1,
    FL_PERSON_DECEASED = 2,    /* final: no patient, no binding, no account */
    FL_PERSON_MOVED_OUT = 3,   /* transferred out; a transfer-in brings them back */
    FL_PERSON_OPTED_OUT = 4,   /* gave up the insurance; fl_account_open brings them back */
} fl_person_status;

typedef struct fl_person {
    char person_no[FL_PERSON_NO_MAX + 1];
    char name[FL_NAME_MAX + 1];
    char region[FL_REGION_LEN + 1];
    fl_scheme scheme;
    uint64_t registered_seq;
    bool has_account;
    fl_person_status status;
} fl_person;

/* The books of double entry (docs/POLICY.md). */
typedef enum fl_account_class {
    FL_CLASS_PERSONAL = 1,
    FL_CLASS_FUND = 2,
    FL_CLASS_MERCHANT_PAYABLE = 3,
    FL_CLASS_CASH_REFUND_DUE = 4,
    FL_CLASS_CLEARING = 5,
    FL_CLASS_WALLET = 6,         /* a person's medical-insurance wallet (医保钱包) */
    FL_CLASS_WALLET_PENDING = 7, /* a holder's wallet send not yet accepted or returned */
} fl_account_class;
#define FL_ACCOUNT_CLASSES 7

typedef struct fl_trial_balance {
    int64_t class_total_fen[FL_ACCOUNT_CLASSES + 1]; /* by fl_account_class; [0] unused */
    int64_t total_fen;                               /* always 0 */
} fl_books_totals;

typedef struct fl_merchant_balance {
    char code[FL_PERSON_NO_MAX + 1];
    int64_t payable_fen;   /* what the fund owes the merchant now (negative: it owes the fund) */
    /* All time, account money; paid out is net of what the merchant paid back (fl_recover). */
    int64_t settled_fen, refunded_fen, paid_out_fen;
} fl_merchant_books;

typedef struct fl_payout {
    uint64_t seq;
    char merchant_code[FL_PERSON_NO_MAX + 1]; /* one of merchant_code and person_no */
    char person_no[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen;
    char reference[FL_REFERENCE_MAX + 1];
    int64_t owed_after_fen;
    char region[FL_REGION_LEN + 1];           /* the fund that paid */
    bool replayed;
} fl_payout;

#define FL_CLEARING_DAYS_MAX 366
typedef struct fl_clearing_day {
    char date[11];          /* YYYY-MM-DD */
    int64_t settled_fen, refunded_fen, paid_out_fen; /* paid out: net of recoveries */
    int64_t owed_fen;       /* at the end of the day */
} fl_clearing_day;

typedef struct fl_clearing {
    char merchant_code[FL_PERSON_NO_MAX + 1];
    int64_t opening_owed_fen, closing_owed_fen;
    size_t day_count;
    fl_clearing_day days[FL_CLEARING_DAYS_MAX]; /* days with movement, in order */
} fl_clearing;

typedef struct fl_account {
    char person_no[FL_PERSON_NO_MAX + 1];
    fl_account_status status;
    int64_t balance_fen;
    int64_t credited_fen;
    int64_t debited_fen;
    uint64_t opened_seq;
    uint64_t last_seq;
    int64_t held_fen;       /* reserved by open held quotes; not available to others */
} fl_account;

/* What a holder's account has given one relative, as the family's limits count it: the latest
 * month and year in which it gave any, and how much in each. */
typedef struct fl_aid_given {
    char beneficiary[FL_PERSON_NO_MAX + 1];
    uint32_t month;    /* YYYYMM */
    int64_t month_fen;
    uint32_t year;     /* YYYY */
    int64_t year_fen;
} fl_aid_given;

typedef struct fl_credit_result {
    uint64_t seq;
    char person_no[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen;
    fl_credit_kind kind;
    char reference[FL_REFERENCE_MAX + 1];
    int64_t balance_after_fen;
    bool replayed; /* a retry: the original answer, nothing moved again */
} fl_credit_result;

typedef struct fl_statement_line {
    uint64_t seq;
    int64_t time_us;
    char type[FL_TYPE_NAME_MAX + 1];
    int64_t amount_fen; /* credits positive, debits negative */
    int64_t balance_after_fen;
    char reference[FL_REFERENCE_MAX + 1];
    char patient[FL_PERSON_NO_MAX + 1];  /* settlements: for whom (a relative: mutual aid) */
    char merchant[FL_PERSON_NO_MAX + 1]; /* settlements, refunds, reversals: where */
} fl_statement_line;

/* The credits of an account in one month of business time (fl_account_credits). */
typedef struct fl_month_credits {
    uint32_t month;            /* 1..12 */
    int64_t allocated_fen;     /* allocations (划入) */
    int64_t deposited_fen;
    uint32_t count;            /* credits of either kind */
} fl_month_credits;

/* One credit of an account (fl_account_credits). */
typedef struct fl_credit_line {
    uint64_t seq;
    int64_t time_us;
    fl_credit_kind kind;
    int64_t amount_fen;
    char reference[FL_REFERENCE_MAX + 1]; /* an imported allocation's: alloc-YYYYMM-PERSON */
    int64_t balance_after_fen;
} fl_credit_line;

typedef struct fl_head {
    uint64_t seq;
    uint8_t hash[FL_HASH_BYTES];
} fl_head;

typedef struct fl_entry {
    uint64_t seq;
    int64_t time_us;
    char type[FL_TYPE_NAME_MAX + 1];
    uint8_t hash[FL_HASH_BYTES];
    uint8_t prev_hash[FL_HASH_BYTES];
    uint32_t actor_uid;
    uint32_t actor_gid;
    char operator_id[FL_OPERATOR_ID_MAX + 1];
    char *body_json; /* the entry's body as a JSON object; freed by fl_entry_release */
    char *body_text; /* the same as "name: value" lines, amounts in yuan */
} fl_entry;

typedef struct fl_binding {
    char holder[FL_PERSON_NO_MAX + 1];
    char beneficiary[FL_PERSON_NO_MAX + 1];
    fl_relation relation;
    uint64_t bound_seq;
    int64_t monthly_limit_fen; /* what the beneficiary may take a month; 0: no limit */
    int64_t yearly_limit_fen;  /* a calendar year; 0: no limit */
} fl_binding;

typedef struct fl_family {
    size_t funds_count;
    fl_binding funds[FL_FUNDS_MAX];         /* relatives this person's account pays for */
    size_t funded_by_count;
    fl_binding funded_by[FL_FUNDERS_MAX];   /* holders paying for this person, in order */
} fl_family;

typedef struct fl_merchant {
    char code[FL_PERSON_NO_MAX + 1];
    char name[FL_NAME_MAX + 1];
    fl_merchant_kind kind;
    char region[FL_REGION_LEN + 1];
    bool suspended;
    uint64_t added_seq;
} fl_merchant;

typedef struct fl_settle_request {
    const char *merchant_code;
    const char *merchant_reference; /* idempotency key, unique per merchant */
    const char *patient;
    int64_t amount_fen;
    fl_category category;           /* 0 means pharmacy */
    bool no_account;                /* acct_used_flag = 0: all cash */
    bool all_or_nothing;            /* refuse with FL_ERR_INSUFFICIENT_FUNDS unless covered */
    uint64_t hold_id;               /* fl_settle: capture exactly this held quote's legs */
} fl_settle_request;

typedef struct fl_leg {
    char holder[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen;
    int64_t balance_after_fen;
    bool mutual_aid;
    int64_t refunded_fen;
    bool wallet;          /* from the patient's wallet, not an account */
} fl_leg;

typedef struct fl_refund_leg {
    char holder[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen;
    int64_t balance_after_fen;
    bool cash_refund_due; /* the account had closed: the merchant owes this in cash */
    bool wallet;          /* back to the patient's wallet */
} fl_refund_leg;

typedef struct fl_refund {
    uint64_t refund_id;
    char reference[FL_REFERENCE_MAX + 1];
    bool cancel;
    int64_t amount_fen;
    size_t leg_count;
    fl_refund_leg legs[FL_LEGS_MAX]; /* last debited first */
    int64_t time_us;
    bool replayed;
} fl_refund;

typedef struct fl_settlement {
    uint64_t settlement_id; /* 0 for a quote */
    char merchant_code[FL_PERSON_NO_MAX + 1];
    char merchant_reference[FL_REFERENCE_MAX + 1];
    char patient[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen;
    fl_category category;
    size_t leg_count;
    fl_leg legs[FL_LEGS_MAX];
    int64_t acct_pay_fen;        /* from the patient's own account and wallet */
    int64_t acct_mulaid_pay_fen; /* from relatives' accounts */
    int64_t cash_pay_fen;
    int64_t balc_fen;            /* the patient's own balance after */
    int64_t time_us;
    bool replayed;
    bool cancelled;
    int64_t refunded_fen;
    size_t refund_count;
    fl_refund refunds[FL_REFUNDS_MAX]; /* the first refund_count; the library writes no other */
    uint64_t hold_id;            /* the held quote it captured; 0: none */
} fl_settlement;

typedef struct fl_movement {
    uint64_t seq;
    char person_no[FL_PERSON_NO_MAX + 1];
    char kind[16]; /* "withdrawal", "transfer_out", "transfer_in" */
    fl_withdrawal_reason reason;
    int64_t amount_fen;
    int64_t balance_after_fen;
    bool account_closed;
    unsigned bindings_ended;
    char reference[FL_REFERENCE_MAX + 1];
    bool replayed;
} fl_movement;

typedef struct fl_credit_item {
    const char *person_no;
    int64_t amount_fen;
    fl_credit_kind kind;
    const char *reference;
} fl_credit_item;

typedef struct fl_credit_outcome {
    int status;     /* 0 or FL_ERR_* */
    bool replayed;  /* already applied earlier */
    uint64_t seq;
    char error[160];
} fl_credit_outcome;

/* ---- Connection ---- */

/* Connect to famledgerd at `socket_path` (NULL: $FAMLEDGER_SOCKET, else FL_DEFAULT_SOCKET when
 * it exists, else FL_SYSTEM_SOCKET).
 * `timeout_ms` bounds the connect and every later call (<= 0: FL_DEFAULT_TIMEOUT_MS).
 * Returns 0, FL_ERR_UNAVAILABLE, or FL_ERR_TIMEOUT; on failure *client is still set (to read
 * fl_client_error) and must be closed. A connection the daemon closed while it was idle
 * (idle_timeout_ms, or a restart) is reopened before the next call, which is safe because
 * nothing was in flight; a connection lost during a call is not, and that call fails. */
FL_EXPORT int fl_client_connect(const char *socket_path, int timeout_ms, fl_client **client);
FL_EXPORT void fl_client_close(fl_client *client);

/* Record `operator_id` (at most 64 printable ASCII characters) in every entry this handle
 * writes, like transaction 9001 operator sign-in. NULL or "" clears it. */
FL_EXPORT void fl_client_set_operator(fl_client *client, const char *operator_id);

/* The message of the last failed call: the daemon's explanation, or what went wrong locally. */
FL_EXPORT const char *fl_client_error(const fl_client *client);

/* ---- Persons and accounts (admin role, reads also settle/audit) ---- */

/* Register person->person_no, name, region and scheme. *registered (may be NULL) gets the
 * stored record. Errors: FL_ERR_INVALID_ARGUMENT, FL_ERR_PERSON_EXISTS. */
FL_EXPORT int fl_person_add(fl_client *client, const fl_person *person, fl_person *registered);
FL_EXPORT int fl_person_get(fl_client *client, const char *person_no, fl_person *person);
/* fl_person_get, and what the fund owes the person (or their heirs) in cash: refunds and
 * returned sends that found their account closed, a transfer-in after their death; what
 * fl_payout_make to the person may pay. */
FL_EXPORT int fl_person_get_owed(fl_client *client, const char *person_no, fl_person *person,
                                 int64_t *cash_refund_due_fen);

/* Open the personal account of an employee-scheme person. Errors: FL_ERR_UNKNOWN_PERSON,
 * FL_ERR_NOT_EMPLOYEE, FL_ERR_ACCOUNT_EXISTS. */
FL_EXPORT int fl_account_open(fl_client *client, const char *person_no, fl_account *account);
FL_EXPORT int fl_account_get(fl_client *client, const char *person_no, fl_account *account);
/* The account of `holder` (in *account, which may be NULL) and the mutual aid it has given
 * each relative in the latest month and year it gave them any (relatives whose counts are back
 * at zero, or of an earlier year, are not listed), read together: up to `capacity` in `given`,
 * *count how many there are. Errors as fl_account_get. */
FL_EXPORT int fl_account_aid_given(fl_client *client, const char *holder, fl_account *account,
                                   fl_aid_given *given, size_t capacity, size_t *count);

/* Credit `amount_fen` > 0. `reference` makes it idempotent: the same reference with the same
 * content answers the original credit (credit->replayed set); with other content,
 * FL_ERR_CONFLICT. */
FL_EXPORT int fl_account_credit(fl_client *client, const char *person_no, int64_t amount_fen,
                        fl_credit_kind kind, const char *reference, fl_credit_result *credit);

/* One page of the statement of `person_no`'s account: newest first unless `oldest_first`,
 * starting at `cursor` (0: the start; else a previous *next_cursor). Fills at most
 * `lines_max` (<= 1000) lines; *next_cursor is 0 on the last page. */
FL_EXPORT int fl_statement(fl_client *client, const char *person_no, uint64_t cursor,
                           bool oldest_first, fl_statement_line *lines, size_t lines_max,
                           size_t *count, uint64_t *next_cursor);

/* The credits of `person_no`'s account in the calendar `year` of business time (0: the
 * current one; *year_out, which may be NULL, says which), month by month in `months`, January
 * first, and up to `lines_max` of the credits themselves in `lines`, newest first; *count is
 * how many there are. Reads every page of the daemon's answer (admin, audit). Errors:
 * FL_ERR_UNKNOWN_PERSON, FL_ERR_NO_ACCOUNT, FL_ERR_INVALID_ARGUMENT (a year outside 2000 to
 * 9999). */
FL_EXPORT int fl_account_credits(fl_client *client, const char *person_no, uint32_t year,
                                 uint32_t *year_out, fl_month_credits months[12],
                                 fl_credit_line *lines, size_t lines_max, size_t *count);

/* ---- The log (admin/audit role) ---- */

FL_EXPORT int fl_head_get(fl_client *client, fl_head *head);
typedef struct fl_backup_result {
    uint64_t seq;                   /* the head of the copy */
    uint8_t hash[FL_HASH_BYTES];
    uint64_t bytes;                 /* the size of DIR/data.mdb */
} fl_backup_result;

/* Hot backup (admin): the daemon writes a compacted, consistent copy of the ledger and its head
 * record into `dir`, an absolute path on its host that must not exist yet, while it serves.
 * The copy starts as a ledger of its own (famledgerd --data-dir DIR). Connect with a timeout
 * long enough for the copy. */
FL_EXPORT int fl_backup(fl_client *client, const char *dir, fl_backup_result *result);

/* Close the business day `date` (YYYY-MM-DD) and every day before it: no entry is dated into
 * them afterwards (admin). A day that has not ended is FL_ERR_INVALID_ARGUMENT. On success
 * `closed_through` (11 bytes) holds the last closed day; *seq the closing entry, 0 when the
 * day was closed already. */
FL_EXPORT int fl_day_close(fl_client *client, const char *date, char closed_through[11],
                           uint64_t *seq);
/* Read entry `seq`; release it with fl_entry_release. Errors: FL_ERR_UNKNOWN_ENTRY. */
FL_EXPORT int fl_entry_get(fl_client *client, uint64_t seq, fl_entry *entry);
FL_EXPORT void fl_entry_release(fl_entry *entry);

/* The most postings one entry carries: a settlement's legs and the merchant's payable. */
#define FL_POSTINGS_MAX (FL_LEGS_MAX + 1)

/* One posting of an entry (docs/POLICY.md, "The books"): the signed amount it moves on one
 * account of the books. The postings of an entry sum to zero. */
typedef struct fl_posting {
    fl_account_class account_class;
    char id[FL_PERSON_NO_MAX + 1]; /* a person number, a region or a merchant code */
    int64_t amount_fen;            /* positive raises the account's balance */
} fl_posting;

/* The postings of entry `seq`, in the entry's order: *count of them (0 for an entry that moves
 * no money). An entry's body (fl_entry_get) says what happened; its postings, where the money
 * went. Errors: FL_ERR_UNKNOWN_ENTRY. */
FL_EXPORT int fl_entry_postings(fl_client *client, uint64_t seq,
                                fl_posting postings[FL_POSTINGS_MAX], size_t *count);

/* ---- Family bindings (admin; list also audit) ---- */

/* Bind: `holder`'s account may pay for `beneficiary`, who is the holder's `relation`. Errors:
 * FL_ERR_SELF_BINDING, FL_ERR_BINDING_EXISTS, FL_ERR_UNKNOWN_RELATION,
 * FL_ERR_HOLDER_BINDING_LIMIT, FL_ERR_BENEFICIARY_BINDING_LIMIT,
 * FL_ERR_CROSS_PROVINCE_NOT_ALLOWED, FL_ERR_NO_ACCOUNT, FL_ERR_UNKNOWN_PERSON. */
FL_EXPORT int fl_family_bind(fl_client *client, const char *holder, const char *beneficiary,
                             fl_relation relation, fl_binding *binding);
typedef enum fl_bind_channel { FL_BIND_APP = 1, FL_BIND_COUNTER = 2 } fl_bind_channel;
/* Bind with the evidence it was accepted on (a household-register or certificate number; may
 * be NULL unless the daemon requires it) and the channel (0: unrecorded). Errors as
 * fl_family_bind, and FL_ERR_RELATION_CONFLICT, FL_ERR_PERSON_DECEASED. */
FL_EXPORT int fl_family_bind_evidence(fl_client *client, const char *holder,
                                      const char *beneficiary, fl_relation relation,
                                      const char *evidence, fl_bind_channel channel,
                                      fl_binding *binding);
FL_EXPORT int fl_family_unbind(fl_client *client, const char *holder, const char *beneficiary,
                               fl_binding *binding);
FL_EXPORT int fl_family_list(fl_client *client, const char *person_no, fl_family *family);
/* Set the order in which `beneficiary`'s bound holders pay: every one of them, once. */
FL_EXPORT int fl_family_order(fl_client *client, const char *beneficiary,
                              const char *const *holders, size_t holder_count,
                              fl_family *family);

/* ---- Merchants (admin; list any role) ---- */

FL_EXPORT int fl_merchant_add(fl_client *client, const fl_merchant *merchant,
                              fl_merchant *added);
/* Fills at most `merchants_max` merchants, in code order, from the first. */
FL_EXPORT int fl_merchant_list(fl_client *client, fl_merchant *merchants, size_t merchants_max,
                               size_t *count);
/* The same, from the merchant after code `after` (NULL or "": from the first); *more (may be
 * NULL) says whether merchants follow the last one filled: ask again after its code. */
FL_EXPORT int fl_merchant_list_after(fl_client *client, const char *after,
                                     fl_merchant *merchants, size_t merchants_max, size_t *count,
                                     bool *more);
FL_EXPORT int fl_merchant_set_suspended(fl_client *client, const char *code, bool suspended,
                                        fl_merchant *merchant);

/* ---- Settlement (settle role; settlement_get also admin/audit) ---- */

/* The split a settlement would make now (like 2101); nothing is written. */
FL_EXPORT int fl_quote(fl_client *client, const fl_settle_request *request,
                       fl_settlement *settlement);
/* Settle (like 2102). A retry with the same merchant reference and content answers the
 * original settlement (settlement->replayed); other content: FL_ERR_CONFLICT. */
FL_EXPORT int fl_settle(fl_client *client, const fl_settle_request *request,
                        fl_settlement *settlement);
FL_EXPORT int fl_settlement_get(fl_client *client, uint64_t settlement_id,
                                fl_settlement *settlement);
/* The settlement `merchant_code` made under its own `reference`. Errors:
 * FL_ERR_UNKNOWN_SETTLEMENT; FL_ERR_REVERSED when it was reversed before it arrived. */
FL_EXPORT int fl_settlement_find(fl_client *client, const char *merchant_code,
                                 const char *reference, fl_settlement *settlement);

typedef struct fl_reversal {
    uint64_t seq;            /* the reversal's entry */
    bool settlement_found;   /* false: recorded, so the late original gets FL_ERR_REVERSED */
    bool money_returned;     /* refund holds the cancel that gave money back */
    bool replayed;
    fl_settlement settlement;
    fl_refund refund;
} fl_reversal;

/* Reverse (like 2601 冲正) the settlement `merchant_code` made, or may still send, under
 * `reference`: what is left of it goes back to the accounts; if it never arrived, it is
 * refused when it does. Reversing twice answers the first (reversal->replayed). */
FL_EXPORT int fl_reverse(fl_client *client, const char *merchant_code, const char *reference,
                         fl_reversal *reversal);

typedef int (*fl_settlement_cb)(const fl_settlement *settlement, void *context);

typedef struct fl_settlement_query {
    const char *patient;        /* exactly one of patient and merchant_code */
    const char *merchant_code;
    const char *from, *to;      /* business days YYYY-MM-DD, or NULL; a merchant's need both */
    uint64_t cursor;            /* 0: the newest; else a previous *next_cursor */
    uint32_t limit;             /* 0: 50; at most 500 */
} fl_settlement_query;

/* One page of a patient's or a merchant's settlements, newest first, as they stand now:
 * settlement_cb for each (a non-zero return stops the page and is returned). *next_cursor is
 * 0 on the last page. A settle peer sees only its own merchants' settlements. */
FL_EXPORT int fl_settlement_list(fl_client *client, const fl_settlement_query *query,
                                 fl_settlement_cb settlement_cb, void *context,
                                 uint64_t *next_cursor);

typedef struct fl_aid_line {
    uint64_t settlement_id;
    int64_t time_us;
    char merchant_code[FL_PERSON_NO_MAX + 1];
    char holder[FL_PERSON_NO_MAX + 1];  /* the relative whose account paid */
    int64_t amount_fen;
    int64_t refunded_fen;               /* given back to that account since */
} fl_aid_line;

/* What relatives' accounts paid for `person_no` (with or without an account of their own),
 * newest first, from `cursor` (0: the newest). Fills at most `lines_max` (>= FL_FUNDERS_MAX)
 * lines; *next_cursor is 0 on the last page. */
FL_EXPORT int fl_aid(fl_client *client, const char *person_no, uint64_t cursor,
                     fl_aid_line *lines, size_t lines_max, size_t *count,
                     uint64_t *next_cursor);

/* ---- Clearing and the books (payout: admin; reads: admin, audit, a merchant's own peer) ---- */

FL_EXPORT int fl_trial_balance(fl_client *client, fl_books_totals *balance);
FL_EXPORT int fl_merchant_balance(fl_client *client, const char *code,
                                  fl_merchant_books *balance);
/* Per business day from..to (YYYY-MM-DD, at most a year): settled, refunded, paid out, owed. */
FL_EXPORT int fl_clearing_report(fl_client *client, const char *merchant_code, const char *from,
                                 const char *to, fl_clearing *clearing);
/* The fund pays `amount_fen` of what it owes a merchant (merchant_code) or, for refunds owed in
 * cash, a person (person_no); pass NULL for the other. Idempotent on `reference`. Errors:
 * FL_ERR_PAYOUT_EXCEEDS_OWED, FL_ERR_CONFLICT. */
FL_EXPORT int fl_payout_make(fl_client *client, const char *merchant_code, const char *person_no,
                             int64_t amount_fen, const char *reference, fl_payout *payout);
/* The merchant pays back `amount_fen` of what it owes the fund (追回): refunds after a payout
 * left its payable below zero. *recovery says what the fund is still owed, as a negative
 * owed_after_fen (0: nothing), and which fund was paid back (region). Idempotent on
 * `reference`, which is apart from the payouts'. Errors: FL_ERR_PAYOUT_EXCEEDS_OWED (the
 * merchant owes less), FL_ERR_UNKNOWN_MERCHANT, FL_ERR_CONFLICT. */
FL_EXPORT int fl_recover(fl_client *client, const char *merchant_code, int64_t amount_fen,
                         const char *reference, fl_payout *recovery);

/* Cancel (like 2103): return what is left of the account-paid part. Errors:
 * FL_ERR_WRONG_MERCHANT, FL_ERR_ALREADY_CANCELLED, FL_ERR_UNKNOWN_SETTLEMENT. */
FL_EXPORT int fl_cancel(fl_client *client, const char *merchant_code, const char *reference,
                        uint64_t settlement_id, fl_refund *refund, fl_settlement *settlement);
/* Refund `amount_fen` of the account-paid part. Errors as fl_cancel, and
 * FL_ERR_REFUND_EXCEEDS_PAID. `refund` and `settlement` may be NULL. */
FL_EXPORT int fl_refund_make(fl_client *client, const char *merchant_code,
                             const char *reference, uint64_t settlement_id, int64_t amount_fen,
                             fl_refund *refund, fl_settlement *settlement);

/* ---- Account lifecycle (admin) ---- */

FL_EXPORT int fl_account_freeze(fl_client *client, const char *person_no, bool frozen,
                                const char *reason, fl_account *account);
FL_EXPORT int fl_person_suspend(fl_client *client, const char *person_no, bool suspended,
                                const char *reason, fl_person *person);
/* Record the death of a person without an open account (a resident-scheme beneficiary, or one
 * whose account has closed), on `evidence` (a death certificate number): every binding paying
 * for them ends. Recording it twice answers the first (*person, nothing written). A holder's
 * death is fl_withdraw(FL_WITHDRAWAL_DEATH). */
FL_EXPORT int fl_person_deceased(fl_client *client, const char *person_no, const char *evidence,
                                 fl_person *person);
/* Withdraw for `reason` (amount 0: the whole balance). `disease_code` for major-disease and
 * `heir` for death; others pass NULL. Errors: FL_ERR_WITHDRAWAL_NOT_ALLOWED,
 * FL_ERR_ACCOUNT_FROZEN, FL_ERR_ACCOUNT_CLOSED. */
FL_EXPORT int fl_withdraw(fl_client *client, const char *person_no, fl_withdrawal_reason reason,
                          const char *reference, int64_t amount_fen, const char *disease_code,
                          const char *heir, fl_movement *movement);
/* fl_withdraw, and what the person's wallet (医保钱包) gave with it in *wallet_fen (may be
 * NULL): a withdrawal that closes the account, or records a death, pays the wallet out whole
 * beside the account's balance, and a death withdrawal of a person without an open account
 * pays their wallet only (movement->amount_fen 0). fl_movement has no room for it: the
 * library's structs keep their size. */
FL_EXPORT int fl_withdraw_wallet(fl_client *client, const char *person_no,
                                 fl_withdrawal_reason reason, const char *reference,
                                 int64_t amount_fen, const char *disease_code, const char *heir,
                                 fl_movement *movement, int64_t *wallet_fen);
FL_EXPORT int fl_transfer_out(fl_client *client, const char *person_no, const char *to_region,
                              const char *reference, fl_movement *movement);
FL_EXPORT int fl_transfer_in(fl_client *client, const char *person_no, int64_t amount_fen,
                             const char *from_region, const char *reference,
                             fl_movement *movement);
/* A transfer-in that completes transfer-out `transfer_out_seq` of this ledger (same person,
 * same amount, once: else FL_ERR_TRANSFER_MISMATCH), or (seq 0) comes from `from_region`
 * outside it. `to_region` (may be NULL) is the person's new region. When the person died
 * while the money was on its way, only the completing transfer-in is taken: the account
 * stays closed (account_closed is true, balance_after_fen 0) and the amount is owed in cash to
 * the heirs, paid by fl_payout_make to the person; from outside, FL_ERR_PERSON_DECEASED. */
FL_EXPORT int fl_transfer_in_linked(fl_client *client, const char *person_no,
                                    int64_t amount_fen, const char *from_region,
                                    uint64_t transfer_out_seq, const char *to_region,
                                    const char *reference, fl_movement *movement);
/* Up to FL_CREDIT_BATCH_MAX credits in one round trip; each succeeds or fails on its own
 * (outcomes[i]; a credit whose text a frame may not carry is FL_ERR_INVALID_ARGUMENT without
 * being sent). Returns 0 when the batch was processed, whatever its items did. */
FL_EXPORT int fl_credit_batch(fl_client *client, const fl_credit_item *items, size_t count,
                              fl_credit_outcome *outcomes);

/* ---- Audit (audit or admin role) ---- */

typedef struct fl_verify_report {
    bool ok;
    uint64_t first_bad_seq; /* when !ok: the first entry where something differs */
    char problem[384];      /* when !ok: what differs */
    uint64_t head_seq;
    uint8_t head_hash[FL_HASH_BYTES];
    uint64_t entries;       /* entries replayed */
    uint64_t accounts;
    uint64_t settlements;
    int64_t balances_fen;   /* sum of stored balances */
    int64_t credited_fen;
    int64_t debited_fen;
} fl_verify_report;

/* Called after each page: `done` entries of `total` (the head when the page was read). */
typedef void (*fl_progress_cb)(uint64_t done, uint64_t total, void *context);

/* Replay the whole log, recompute every hash, balance, status, binding and settlement total,
 * and compare them with what the daemon stores. Returns 0 when the check ran (see
 * report->ok), or a client error. Memory grows with persons and settlements, not entries.
 * The daemon folds the largest stored tables (persons, accounts, statement links,
 * references, funded lists, patient indexes) into digests while the log replays, as the
 * client folds what the log says they hold. When the first difference is in a table compared
 * whole (those, and the day indexes), verify replays the same snapshot a second time, reading
 * that table record by record, to name the key: progress_cb then counts from the first entry
 * again. */
FL_EXPORT int fl_verify(fl_client *client, fl_verify_report *report, fl_progress_cb progress_cb,
                        void *progress_context);

/* fl_verify, with every stored record read and compared here: the daemon folds no table into a
 * digest (StateDigestRequest) for it. For an auditor who would rather not take the daemon's
 * folds on trust; slower on a large ledger (docs/BENCHMARKS.md). */
FL_EXPORT int fl_verify_walk(fl_client *client, fl_verify_report *report,
                             fl_progress_cb progress_cb, void *progress_context);

typedef enum fl_export_format { FL_EXPORT_CSV = 1, FL_EXPORT_JSONL = 2 } fl_export_format;

/* Write every entry of one business day (date "YYYY-MM-DD" in the daemon's time zone), one per
 * line, to `out`, and flush it: the same day always gives the same bytes. *count gets the
 * number of entries. FL_ERR_INTERNAL when `out` failed. Formats in docs/RECONCILIATION.md. */
FL_EXPORT int fl_export_day(fl_client *client, const char *date, fl_export_format format,
                            FILE *out, uint64_t *count);

/* The settlements a merchant made on a business day (as they stand now, refunds included) and
 * the refunds, cancels and reversals it made that day, newest first a page at a time (since
 * famledgerd's format 7; oldest first before). Either callback may be NULL; a non-zero return
 * stops. */
typedef int (*fl_refund_cb)(const fl_refund *refund, uint64_t settlement_id, void *context);
FL_EXPORT int fl_merchant_day(fl_client *client, const char *merchant_code, const char *date,
                              fl_settlement_cb settlement_cb, fl_refund_cb refund_cb,
                              void *context);

/* ---- Names, as ledgerctl spells them ---- */

/* "paternal-grandparent", "long-term-care", "pharmacy"; "unknown" for other values. */
FL_EXPORT const char *fl_relation_name(fl_relation relation);
FL_EXPORT const char *fl_category_name(fl_category category);
FL_EXPORT const char *fl_merchant_kind_name(fl_merchant_kind kind);
/* Parse those names. Return 0, or FL_ERR_INVALID_ARGUMENT. */
FL_EXPORT int fl_relation_parse(const char *text, fl_relation *relation);
FL_EXPORT int fl_category_parse(const char *text, fl_category *category);
FL_EXPORT int fl_merchant_kind_parse(const char *text, fl_merchant_kind *kind);
/* "long-term-elsewhere", "major-disease", "opt-out", "death", "emigration",
 * "transfer-not-accepted". */
FL_EXPORT const char *fl_withdrawal_reason_name(fl_withdrawal_reason reason);
FL_EXPORT int fl_withdrawal_reason_parse(const char *text, fl_withdrawal_reason *reason);

/* ---- Money ---- */

/* Parse yuan ("12.34", "80", "0.5", "-3.10") into fen. Returns 0, or FL_ERR_INVALID_ARGUMENT
 * for anything else (more than two decimals, signs other than a leading '-', spaces,
 * exponents, overflow). */
FL_EXPORT int fl_money_parse(const char *text, int64_t *fen);
/* Format fen as yuan with exactly two decimals ("12.34", "-0.05"); returns `text`. */
FL_EXPORT char *fl_money_format(int64_t fen, char text[FL_MONEY_TEXT_MAX]);

/* Render a hash as 64 lower-case hex digits; returns `hex`. */
FL_EXPORT char *fl_hash_hex(const uint8_t hash[FL_HASH_BYTES], char hex[2 * FL_HASH_BYTES + 1]);

/* ---- The wallet (医保钱包), held quotes, aid limits (docs/POLICY.md) ---- */

typedef enum fl_wallet_send_state {
    FL_WALLET_SEND_PENDING = 1,  /* out of the holder's account, not yet in the wallet */
    FL_WALLET_SEND_ACCEPTED = 2,
    FL_WALLET_SEND_DECLINED = 3,
    FL_WALLET_SEND_RETURNED = 4, /* not accepted by the return time */
} fl_wallet_send_state;

typedef struct fl_wallet_send {
    uint64_t send_id;            /* its entry */
    char holder[FL_PERSON_NO_MAX + 1];
    char beneficiary[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen;
    char reference[FL_REFERENCE_MAX + 1];
    int64_t sent_us;
    int64_t return_at_us;        /* when it returns by itself unless accepted */
    fl_wallet_send_state state;
    uint64_t closed_seq;         /* the entry that accepted, declined or returned it */
    bool cash_refund_due;        /* returned to a closed account: owed in cash */
    int64_t holder_balance_fen;  /* replies to send/accept/decline: the holder's account now */
    int64_t wallet_balance_fen;  /* ... and the beneficiary's wallet now */
    bool replayed;
} fl_wallet_send;

#define FL_WALLET_PENDING_MAX 64

typedef struct fl_wallet {
    char person_no[FL_PERSON_NO_MAX + 1];
    int64_t balance_fen;
    int64_t held_fen;            /* reserved by open held quotes */
    unsigned sends_today;        /* this person's sends on the current business day */
    size_t sends_out_count;      /* 0 or 1: the send of this holder still waiting */
    fl_wallet_send sends_out[1];
    size_t sends_in_count;
    fl_wallet_send sends_in[FL_WALLET_PENDING_MAX]; /* sends waiting for this person */
} fl_wallet;

/* Send `amount_fen` from the holder's account to the beneficiary's wallet (admin); idempotent
 * on `reference` (unique across the ledger). Errors: FL_ERR_WALLET_SEND_LIMIT,
 * FL_ERR_WALLET_QUIET_HOURS, FL_ERR_WALLET_SEND_PENDING, FL_ERR_WALLET_DAILY_LIMIT,
 * FL_ERR_NOT_BOUND, FL_ERR_INSUFFICIENT_FUNDS, FL_ERR_ACCOUNT_FROZEN, FL_ERR_CONFLICT. */
FL_EXPORT int fl_wallet_send_make(fl_client *client, const char *holder, const char *beneficiary,
                                  int64_t amount_fen, const char *reference, fl_wallet_send *send);
/* Accept (into the wallet) or decline (back to the holder) the send made under `reference`.
 * Doing again what was done answers it (replayed). Errors: FL_ERR_UNKNOWN_WALLET_SEND,
 * FL_ERR_WALLET_SEND_CLOSED. */
FL_EXPORT int fl_wallet_accept(fl_client *client, const char *reference, fl_wallet_send *send);
FL_EXPORT int fl_wallet_decline(fl_client *client, const char *reference, fl_wallet_send *send);
FL_EXPORT int fl_wallet_get(fl_client *client, const char *person_no, fl_wallet *wallet);

/* A line of a wallet's statement: an entry that moved the wallet. */
typedef struct fl_wallet_line {
    uint64_t seq;
    int64_t time_us;
    char type[FL_TYPE_NAME_MAX + 1];   /* wallet_send_closed (a send accepted), settled,
                                          refunded, reversed, withdrawn */
    int64_t amount_fen;                /* into the wallet positive, out of it negative */
    int64_t balance_after_fen;         /* the wallet's */
    char reference[FL_REFERENCE_MAX + 1];
    char merchant[FL_PERSON_NO_MAX + 1]; /* settlements, refunds, reversals: where */
    char holder[FL_PERSON_NO_MAX + 1];   /* a send accepted: whose account it came from */
} fl_wallet_line;

/* One page of the statement of `person_no`'s wallet (admin, audit), as fl_statement pages an
 * account's: newest first unless `oldest_first`, from `cursor` (0: the start; else a previous
 * *next_cursor), at most `lines_max` (<= 1000) lines; *next_cursor is 0 on the last page. A
 * person whose wallet never moved has none. Errors: FL_ERR_UNKNOWN_PERSON. */
FL_EXPORT int fl_wallet_statement(fl_client *client, const char *person_no, uint64_t cursor,
                                  bool oldest_first, fl_wallet_line *lines, size_t lines_max,
                                  size_t *count, uint64_t *next_cursor);

typedef enum fl_hold_state {
    FL_HOLD_OPEN = 1,
    FL_HOLD_CAPTURED = 2,
    FL_HOLD_RELEASED = 3,
    FL_HOLD_EXPIRED = 4,
} fl_hold_state;

typedef struct fl_hold {
    uint64_t hold_id;            /* its entry; pass it as fl_settle_request.hold_id */
    fl_hold_state state;
    int64_t expires_at_us;
    uint64_t closed_seq;         /* the capturing settlement, or the release or expiry */
    fl_settlement quote;         /* the legs reserved */
    bool replayed;
} fl_hold;

/* A quote that reserves its legs for `hold_seconds` (settle role). The request needs a
 * merchant_reference: the hold is idempotent on it. Settle with request.hold_id to capture it. */
FL_EXPORT int fl_hold_make(fl_client *client, const fl_settle_request *request,
                           uint32_t hold_seconds, fl_hold *hold);
/* Release an open hold (its merchant, or admin). Errors: FL_ERR_UNKNOWN_HOLD,
 * FL_ERR_HOLD_CLOSED. */
FL_EXPORT int fl_hold_release(fl_client *client, uint64_t hold_id, fl_hold *hold);

/* Cap what `beneficiary` may take from `holder`'s account a month and a calendar year of
 * business time (admin; 0: none, the region's default applies). Errors: FL_ERR_NOT_BOUND. */
FL_EXPORT int fl_family_limit(fl_client *client, const char *holder, const char *beneficiary,
                              int64_t monthly_fen, int64_t yearly_fen);

/* ---- Emergency claims (急诊垫付) ---- */

typedef enum fl_emergency_state {
    FL_EMERGENCY_OPEN = 1,       /* claimed, not yet returned or rejected */
    FL_EMERGENCY_RETURNED = 2,
    FL_EMERGENCY_REJECTED = 3,
} fl_emergency_state;

typedef struct fl_emergency_claim {
    uint64_t claim_id;           /* its entry */
    char patient[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen;          /* claimed */
    char hospital[FL_NAME_MAX + 1];
    char receipt[FL_REFERENCE_MAX + 1];
    char reference[FL_REFERENCE_MAX + 1];
    char claimed_day[11];        /* YYYY-MM-DD */
    char due_day[11];            /* returned by the end of it: the 7th working day after */
    fl_emergency_state state;
    uint64_t closed_seq;         /* 0 while open */
    int64_t returned_fen;
    char reason[FL_NAME_MAX + 1];
    bool cash_refund_due;        /* the account had closed: owed in cash (fl_payout_make) */
    bool late;                   /* closed after its due day */
    int64_t balance_after_fen;   /* the account after the return (else 0) */
    bool replayed;
} fl_emergency_claim;

/* Record that `patient` (with an account, open or frozen) claims `amount_fen` of emergency
 * costs advanced at `hospital` (1..128 bytes of UTF-8), receipt `receipt` (admin). Idempotent
 * on `reference`: a retry answers the claim as it stands. Errors: FL_ERR_UNKNOWN_PERSON,
 * FL_ERR_NO_ACCOUNT, FL_ERR_ACCOUNT_CLOSED. */
FL_EXPORT int fl_emergency_claim_make(fl_client *client, const char *patient, int64_t amount_fen,
                                      const char *hospital, const char *receipt,
                                      const char *reference, fl_emergency_claim *claim);

/* Close an open claim after review (admin): return `returned_fen` of it to the account (0: all
 * of it), or with `reject` nothing; less than the claim, or a rejection, needs a `reason`. The
 * money comes from the fund of the patient's region; an account closed since leaves it owed in
 * cash. A retry of the same close answers it again. Errors: FL_ERR_UNKNOWN_EMERGENCY_CLAIM,
 * FL_ERR_EMERGENCY_CLAIM_CLOSED (closed otherwise). */
FL_EXPORT int fl_emergency_claim_close(fl_client *client, uint64_t claim_id,
                                       int64_t returned_fen, bool reject, const char *reason,
                                       fl_emergency_claim *claim);

/* One page of claims in the order made (admin, audit), from `cursor` (0: the first; else a
 * previous *next_cursor): of `patient` (NULL: everyone's), only the open ones, or only those
 * open past their due day on the ledger's business day, which `today` (11 bytes, or NULL)
 * receives. At most `claims_max` (<= 1000); a page may hold fewer than asked with more to come:
 * *next_cursor is 0 on the last. */
FL_EXPORT int fl_emergency_claim_list(fl_client *client, const char *patient, bool open_only,
                                      bool overdue_only, uint64_t cursor,
                                      fl_emergency_claim *claims, size_t claims_max,
                                      size_t *count, uint64_t *next_cursor, char *today);

/* A year's working days beyond Monday to Friday: its days off and the weekend days worked in
 * their place (调休), by which emergency claims made later are due. */
#define FL_CALENDAR_DAYS_MAX 366
typedef struct fl_calendar {
    uint32_t year;
    size_t holiday_count, workday_count;
    char holidays[FL_CALENDAR_DAYS_MAX][11]; /* YYYY-MM-DD, sorted */
    char workdays[FL_CALENDAR_DAYS_MAX][11];
    uint64_t set_seq;            /* the entry that set it; 0: never set (Monday to Friday) */
    bool replayed;               /* the same days were set already: nothing recorded */
} fl_calendar;

/* Set the calendar of `year` (2000 to 9999; admin), replacing the one before: claims made
 * after it are due by it, claims before keep their due day. Dates are YYYY-MM-DD of that year,
 * in any order; none both off and worked. */
FL_EXPORT int fl_calendar_set(fl_client *client, uint32_t year, const char *const *holidays,
                              size_t holiday_count, const char *const *workdays,
                              size_t workday_count, fl_calendar *calendar);
/* The calendar of `year` as set (admin, audit); a year never set has no days listed. */
FL_EXPORT int fl_calendar_get(fl_client *client, uint32_t year, fl_calendar *calendar);

/* ---- The change stream (admin, audit) ---- */

typedef struct fl_stream_event {
    fl_entry entry;              /* body_json and body_text are freed after the callback */
    bool is_settlement;          /* a settlement entry: */
    fl_settlement settlement;    /* its split, legs and all */
} fl_stream_event;

/* Return 0 to go on, anything else to stop (fl_subscribe then returns it). */
typedef int (*fl_stream_cb)(void *context, const fl_stream_event *event);

/* Every entry from `from_seq` (0: the first) in order, as it commits. Without `follow`,
 * returns 0 once the head is reached; with it, waits for new entries until the callback stops
 * or the connection ends. Each entry's hash is checked against its bytes and the one before.
 * The subscription uses up the connection: close the client afterwards. Errors:
 * FL_ERR_SUBSCRIBER_BEHIND (resubscribe from *next_seq), transport errors (a restart: subscribe
 * again from *next_seq), FL_ERR_INTERNAL for an entry that fails those checks or comes out of
 * order (the log is damaged there: subscribing again would meet it again). `next_seq` (may be
 * NULL) is the first entry not delivered, or the one whose callback stopped the stream:
 * subscribing again from it misses nothing. */
FL_EXPORT int fl_subscribe(fl_client *client, uint64_t from_seq, bool follow,
                           fl_stream_cb callback, void *context, uint64_t *next_seq);

/* ---- Pipelining and batches: many requests in flight on one connection ----
 *
 * fl_send_settle and fl_send_batch queue a request and return at once; nothing waits for the
 * daemon. Replies are read by fl_async_io (from an event loop: poll fl_client_fd for reading,
 * and for writing while fl_async_wants_write) or fl_async_wait (blocking), which run each
 * request's callback on the calling thread, in the order the requests were sent: the daemon
 * answers a connection's requests in order, and a write is acknowledged only once durable.
 * Every callback runs exactly once. When the connection is lost, each request in flight is
 * answered with the transport error: it is in doubt, and is retried safely with the same
 * merchant reference (or credit reference), which the daemon answers as a replay.
 * A blocking call on the same client first waits for every request in flight; closing the
 * client answers those still in flight with FL_ERR_PROTOCOL_ERROR. One client belongs to one
 * thread at a time.
 */

#define FL_BATCH_MAX 1000 /* requests in one batch */

/* The outcome of one request (a settlement, or one item of a batch). */
typedef struct fl_result {
    int status;                      /* 0 or FL_ERR_* */
    const char *error;               /* the daemon's message when status != 0, else "" */
    bool replayed;                   /* a retry answered with the original outcome */
    uint64_t id;                     /* settlement id, credit entry, registered person's entry */
    const fl_settlement *settlement; /* a settle item that succeeded: its split; a refund or
                                      * cancel that did: the settlement as it now stands;
                                      * else NULL */
    const fl_refund *refund;         /* a refund or cancel that succeeded: what it gave back */
} fl_result;

/* `index` is the item's place in its batch (0 for a lone request). The result and what it
 * points to live only during the call. */
typedef void (*fl_result_cb)(void *context, size_t index, const fl_result *result);

/* Many requests that write, sent in one frame and committed together, each with its own
 * result (a settlement gateway's batch, a migration's rows). Build it, send it (as often as
 * needed: a retry of the same batch is answered with replays), free it. */
typedef struct fl_batch fl_batch;
FL_EXPORT fl_batch *fl_batch_new(void);
FL_EXPORT void fl_batch_free(fl_batch *batch);
/* Empty the batch, keeping its memory for the next one. */
FL_EXPORT void fl_batch_clear(fl_batch *batch);
FL_EXPORT size_t fl_batch_count(const fl_batch *batch);
/* Append an item (strings are copied). FL_ERR_INVALID_ARGUMENT when the batch holds
 * FL_BATCH_MAX items already, or when a string is not text a frame may carry (well-formed
 * UTF-8 without NUL, at most 1024 bytes: the daemon would refuse the whole batch); the item is
 * then left out and the batch is as it was. FL_ERR_UNAVAILABLE when out of memory. */
FL_EXPORT int fl_batch_settle(fl_batch *batch, const fl_settle_request *request);
FL_EXPORT int fl_batch_person_add(fl_batch *batch, const fl_person *person);
FL_EXPORT int fl_batch_account_open(fl_batch *batch, const char *person_no);
FL_EXPORT int fl_batch_credit(fl_batch *batch, const char *person_no, int64_t amount_fen,
                              fl_credit_kind kind, const char *reference);
FL_EXPORT int fl_batch_bind(fl_batch *batch, const char *holder, const char *beneficiary,
                            fl_relation relation);
/* A refund of `amount_fen` of settlement `settlement_id`'s account-paid part, or a cancel of
 * what is left of it, under the merchant's own `reference` (settle role; as fl_refund_make and
 * fl_cancel). Its result's id is the refund's. */
FL_EXPORT int fl_batch_refund(fl_batch *batch, const char *merchant_code, const char *reference,
                              uint64_t settlement_id, int64_t amount_fen);
FL_EXPORT int fl_batch_cancel(fl_batch *batch, const char *merchant_code, const char *reference,
                              uint64_t settlement_id);
/* A person from a legacy system with their account and its balance, in one entry (admin;
 * MigrateRequest): person_no, name, region and scheme of `person`; an employee's account
 * opens holding `opening_balance_fen` (0 or more), a resident's must be 0. The same row again
 * is a replay, another row for the same person FL_ERR_CONFLICT, a person registered
 * otherwise FL_ERR_PERSON_EXISTS. */
FL_EXPORT int fl_batch_migrate(fl_batch *batch, const fl_person *person,
                               int64_t opening_balance_fen);

/* Queue a settlement; done_cb(context, 0, result) runs when it is answered. 0, or an error
 * (the connection is broken, out of memory) when nothing was queued and done_cb will not run. */
FL_EXPORT int fl_send_settle(fl_client *client, const fl_settle_request *request,
                             fl_result_cb done_cb, void *context);
/* Queue a refund or a cancel (as fl_refund_make and fl_cancel), answered as fl_send_settle's
 * settlement is. */
FL_EXPORT int fl_send_refund(fl_client *client, const char *merchant_code, const char *reference,
                             uint64_t settlement_id, int64_t amount_fen, fl_result_cb done_cb,
                             void *context);
FL_EXPORT int fl_send_cancel(fl_client *client, const char *merchant_code, const char *reference,
                             uint64_t settlement_id, fl_result_cb done_cb, void *context);
/* Queue a batch; done_cb runs once per item, in order, when it is answered (a batch refused as
 * a whole answers each item with the batch's status). */
FL_EXPORT int fl_send_batch(fl_client *client, const fl_batch *batch, fl_result_cb done_cb,
                            void *context);
/* fl_send_batch, then wait for it: 0 when every item was answered (each with its own status),
 * or the transport error. */
FL_EXPORT int fl_batch_run(fl_client *client, const fl_batch *batch, fl_result_cb done_cb,
                           void *context);

/* The connection's descriptor, for an event loop. It changes when the handle connects anew (in
 * a child after fork(), or after the daemon closed an idle connection): ask again after each
 * call. */
FL_EXPORT int fl_client_fd(const fl_client *client);
/* Requests sent and not yet answered. */
FL_EXPORT size_t fl_in_flight(const fl_client *client);
/* Whether queued bytes wait for the socket to take them (poll for writing). */
FL_EXPORT bool fl_async_wants_write(const fl_client *client);
/* Write what the socket takes and read what has come, without blocking; run the callbacks of
 * the replies read. 0, or the transport error that answered every request in flight. */
FL_EXPORT int fl_async_io(fl_client *client);
/* Block until at most `in_flight_max` requests are in flight. Each reply must come within the
 * client's timeout of the last one, else every request in flight is answered FL_ERR_TIMEOUT.
 * 0, or the transport error. */
FL_EXPORT int fl_async_wait(fl_client *client, size_t in_flight_max);

/* ---- The daemon's counters (admin, audit) ---- */

typedef struct fl_stats {
    uint64_t batches;        /* commit batches (one write transaction each) */
    uint64_t jobs;           /* write requests (a batch counts once), scheduler runs */
    uint64_t flushes;        /* fdatasync of the ledger or of its head record */
    uint64_t map_grows;
    uint64_t durable_seq;    /* the last entry on disk */
    uint64_t write_bytes;    /* bytes written by system calls: pages, head record, replies */
    uint64_t map_bytes;
    uint64_t map_used_bytes;
    uint64_t connections;
    int64_t started_us;
} fl_stats;

FL_EXPORT int fl_stats_get(fl_client *client, fl_stats *stats);

typedef enum fl_metrics_format {
    FL_METRICS_TEXT,       /* for people: one sample a line, histograms as count and sum */
    FL_METRICS_PROMETHEUS, /* the text exposition format, as the metrics listener serves it */
    FL_METRICS_JSON,       /* {"famledger_...": {"type", "help", "samples": [...]}} */
} fl_metrics_format;

/* Every metric of the daemon (admin, audit; names in docs/OPERATIONS.md), written to `out`.
 * FL_ERR_INTERNAL when `out` failed. */
FL_EXPORT int fl_metrics_write(fl_client *client, fl_metrics_format format, FILE *out);

/* The daemon's business time zone, an IANA name such as "Asia/Shanghai": the zone that dates
 * business days and in which people read entry times. */
#define FL_TIMEZONE_MAX 64
FL_EXPORT int fl_timezone_get(fl_client *client, char zone[FL_TIMEZONE_MAX]);

#ifdef __cplusplus
}
#endif

#endif
