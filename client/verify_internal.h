/* verify_internal.h -- what verify.c (the replay) and verify_compare.c (the comparison with
 * the stored state) share: the model the replay builds. Not part of the public API. */
#ifndef FAMLEDGER_VERIFY_INTERNAL_H
#define FAMLEDGER_VERIFY_INTERNAL_H

#include "client_internal.h"
#include "verify_index.h"

#define VERIFY_PAGE 500

struct model_person {
    char person_no[FL_PERSON_NO_MAX + 1];
    bool used;
    bool has_account;
    bool suspended;
    int status; /* FAMLEDGER__ACCOUNT_STATUS__* */
    int person_status; /* FAMLEDGER__PERSON_STATUS__* */
    char region[8];
    int64_t balance_fen, credited_fen, debited_fen;
    size_t funder_count;
    char (*funders)[FL_PERSON_NO_MAX + 1]; /* this person's funding order */
    bool stored_person, stored_account, stored_funders; /* seen in the stored tables */
};

struct model_settlement {
    uint64_t id; /* 0: empty slot */
    int64_t refunded_fen;
    bool cancelled;
    bool stored; /* seen in the stored table */
};

/* The derived tables verify rebuilds as keyed digests (verify_index.h). */
enum verify_index {
    INDEX_ACCOUNT_ENTRIES,
    INDEX_DAY_ENTRIES,
    INDEX_MERCHANT_DAY,
    INDEX_REFERENCES,
    INDEX_FUNDED,
    INDEX_MERCHANTS,
    INDEX_BALANCES,        /* sums: system accounts and class totals */
    INDEX_CLEARING_DAYS,   /* sums: merchant '\0' day, then 's', 'r' or 'p' */
    INDEX_PATIENT_SETTLEMENTS,
    INDEX_COUNT
};

struct verify_index_table {
    const char *name;
    Famledger__StateTable table;
};
extern const struct verify_index_table verify_indexes[INDEX_COUNT];

struct verify {
    fl_client *client;
    struct digest_map indexes[INDEX_COUNT];
    bool out_of_memory;
    enum verify_index walking;            /* the index verify_compare is reading */
    size_t stored_persons, stored_funded; /* counted while walking, to compare both ways */
    fl_verify_report *report;
    fl_progress_cb progress_cb;
    void *progress_context;
    struct model_person *persons;
    size_t person_capacity, person_count;
    struct model_settlement *settlements;
    size_t settlement_capacity, settlement_count;
    /* The entry being replayed: the personal-account moves its body makes, to be matched
     * against its personal postings. */
    size_t move_count;
    struct {
        const char *person_no;
        int64_t delta_fen;
    } moves[2 * FL_FUNDERS_MAX + 8];
    uint64_t seq;                     /* last replayed */
    uint8_t hash[FL_HASH_BYTES];      /* its hash */
};

/* Record the first problem in the report (later ones are dropped); returns 1. */
int verify_problem(struct verify *v, uint64_t seq, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t verify_text_hash(const char *text);
struct model_person *verify_person_find(struct verify *v, const char *person_no, bool create);
struct model_settlement *verify_settlement_find(struct verify *v, uint64_t id, bool create);
/* An expected item of an index: the replay says `key` holds `item`. */
void verify_expect_item(struct verify *v, enum verify_index index, const void *key,
                        size_t key_bytes, uint64_t item);

/* One page request of verify: 0 with *response, 1 when the daemon answered INTERNAL (it cannot
 * read its pages: recorded as damage to `what`), or a client error. */
int verify_page_call(struct verify *v, Famledger__Request *request,
                     Famledger__Response__BodyCase body_case, Famledger__Response **response,
                     const char *what);

/* Compare the stored derived state, read from the snapshot, with the replay, both ways.
 * Returns 0 (problems go to the report) or a client error. */
int verify_compare(struct verify *v);

#endif
