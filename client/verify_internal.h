/* verify_internal.h -- what verify.c (the replay) and verify_compare.c (the comparison with
 * the stored state) share: the model the replay builds. Not part of the public API. */
#ifndef FAMLEDGER_VERIFY_INTERNAL_H
#define FAMLEDGER_VERIFY_INTERNAL_H

#include "client_internal.h"
#include "record_table.h"
#include "scratch.h"
#include "verify_index.h"

#define VERIFY_PAGE 1000
#define VERIFY_DIGEST_PAGE 4096 /* records a digest page folds at most: the daemon's limit */
#define VERIFY_DIGEST_PAGE_MIN 256
#define VERIFY_DIGEST_SPARE_PAGES 2 /* log pages left when the digests are to be done */
#define VERIFY_KEY_MAX 512      /* longer than any stored key: a page resumes after one */

/* A person's wallet (医保钱包) as the log makes it: most persons never have one, so it is
 * made when the log first touches it. */
struct model_wallet {
    bool record;                 /* the daemon keeps a wallet record for this person */
    int64_t fen, held_fen;
    uint64_t pending_out;        /* the holder's waiting send (one at most), and what it is: */
    int64_t pending_out_fen, pending_out_return_us;
    uint64_t pending_out_to;     /* verify_text_hash of its beneficiary */
    uint64_t *pending_in;
    size_t pending_in_count;
    char send_day[9];
    unsigned sends_on_day;
    uint64_t last_seq;           /* the entry that last moved it: its chain's head */
};

/* What a holder's account has given one relative, as the daemon counts it (daemon/aid.c). */
struct model_aid {
    const struct model_person *beneficiary;
    uint32_t month, year; /* YYYYMM, YYYY */
    int64_t month_fen, year_fen;
};

/* What few persons of the model need, made when the log first needs it
 * (verify_person_extra): money held by open quotes, a wallet, mutual-aid counts. */
struct model_person_extra {
    int64_t held_fen;            /* of the account, reserved by open holds */
    char *suspend_reason;        /* why the person is suspended; NULL: not suspended */
    char *freeze_reason;         /* why the account is frozen; NULL: not frozen */
    struct model_wallet *wallet; /* NULL until the log first touches it (verify_wallet.c) */
    struct model_aid *aid;       /* the account's mutual-aid counts, one a relative: the
                                  * first in aid_first, beside the rest of the extra */
    size_t aid_count;
    struct model_aid aid_first;
};

/* One of a person's funders: the holder, and the keyed hash of the binding as the log made it
 * (table_digest_binding), which the stored bindings must match. */
struct model_funder {
    struct model_person *holder;
    uint64_t binding;
};

/* A sequence number in 6 bytes: 2^48 entries, nine centuries at 10,000 a second. */
typedef struct {
    uint8_t bytes[6];
} model_seq;

static inline uint64_t model_seq_get(model_seq seq)
{
    uint64_t value = 0;
    for (int i = 5; i >= 0; i--)
        value = value << 8 | seq.bytes[i];
    return value;
}

static inline void model_seq_set(model_seq *seq, uint64_t value)
{
    for (int i = 0; i < 6; i++, value >>= 8)
        seq->bytes[i] = (uint8_t)value;
}

/* One of millions, in 88 bytes (a third less than with every field of its own, and a third
 * less memory for the kernel to zero): small fields packed after the key, the two chains'
 * heads in 6 bytes each, the balance derived, and what few persons have behind one pointer.
 * Its funders are pointers to their own records, which never move (record_table.h). */
struct model_person {
    char person_no[FL_PERSON_NO_MAX + 1];
    bool has_account : 1;
    bool suspended : 1;
    bool stored_person : 1, stored_account : 1, stored_funders : 1; /* seen in stored tables */
    bool employee : 1;           /* insured under the employee scheme, not the resident one */
    uint8_t status;              /* FAMLEDGER__ACCOUNT_STATUS__* */
    uint8_t person_status;       /* FAMLEDGER__PERSON_STATUS__* */
    char region[FL_REGION_LEN + 1];
    uint8_t funder_count;        /* at most FL_FUNDERS_MAX */
    model_seq last_seq;          /* the account's newest statement line: its chain's head */
    model_seq patient_last_seq;  /* the newest settlement for them: their patient chain's head */
    int64_t credited_fen, debited_fen; /* the balance is their difference (model_person_balance) */
    struct model_funder *funders;  /* this person's funding order */
    struct model_person_extra *extra; /* NULL until the log needs it */
};

/* The person's scheme, as the log registered it. */
static inline int model_person_scheme(const struct model_person *person)
{
    return person->employee ? FAMLEDGER__SCHEME__SCHEME_EMPLOYEE
                            : FAMLEDGER__SCHEME__SCHEME_RESIDENT;
}

/* The account's balance: every move of it is counted as credited or debited (verify_move). */
static inline int64_t model_person_balance(const struct model_person *person)
{
    return person->credited_fen - person->debited_fen;
}

/* What the account holds for open quotes (0 without an extra). */
static inline int64_t model_person_held(const struct model_person *person)
{
    return person->extra ? person->extra->held_fen : 0;
}

/* An open hold: what the timers table must list, and what its capture or end must match. */
struct model_hold {
    uint64_t id;
    char merchant[FL_PERSON_NO_MAX + 1], patient[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen, expires_at_us;
    int64_t placed_us;           /* its quote's time: when its mutual aid was counted */
    uint64_t legs_hash;          /* holder, amount and kind of each leg */
    uint64_t whole;              /* the hold as placed (hold_whole): what its record keeps */
};

/* A settlement as verify keeps it to name what differs in its stored record: when the daemon
 * does not digest the stored settlements, or they differed (a second pass). */
struct model_settlement {
    uint64_t id; /* 0: empty slot */
    uint64_t fingerprint; /* what refunds never change (table_digest_settlement) */
    uint64_t refunds;     /* what its refunds gave back, leg by leg (verify_refund_weight),
                           * and each refund whole (table_digest_refund) */
    bool cancelled;
    bool aid_counted; /* its mutual aid counted against the limits (since format 3) */
    bool stored; /* seen in the stored table */
};

/* The account classes a posting may name (verify_class_name), by their numbers. */
#define VERIFY_CLASSES 8
_Static_assert(FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET_PENDING < VERIFY_CLASSES,
               "every class has a total");

/* The derived tables verify rebuilds as keyed digests (verify_index.h). */
enum verify_index {
    INDEX_ACCOUNT_LINKS,   /* by person: each statement line linked to the one before */
    INDEX_MERCHANT_LINKS,  /* by merchant: each entry of its business day linked to the one
                            * before that day */
    INDEX_REFERENCES,
    INDEX_FUNDED,
    INDEX_MERCHANTS,
    INDEX_BALANCES,        /* sums: system accounts and class totals */
    INDEX_DAY_TOTALS,      /* sums: day merchant, then 's', 'r', 'p' or 'l' (the last link) */
    INDEX_MERCHANT_DAYS,   /* one row a merchant's day: sums of nothing */
    INDEX_PATIENT_LINKS,   /* by patient: each settlement for them linked to the one before */
    INDEX_WALLET_LINKS,    /* by person: each move of their wallet linked to the one before,
                            * with the balance after it */
    INDEX_WALLETS,         /* a digest of each wallet record */
    INDEX_WALLET_SENDS,    /* a digest of each send as it stands */
    INDEX_HOLDS,           /* a digest of each hold as it stands */
    INDEX_TIMERS,          /* one item per timer key */
    INDEX_AID_LIMITS,      /* a digest of each limit */
    INDEX_EMERGENCY_CLAIMS, /* a digest of each claim as it stands (verify_emergency.c) */
    INDEX_CALENDARS,       /* a digest of each year's calendar as last set */
    /* Compared record by record (verify_compare.c) unless the daemon digests them: then each
     * is one whole digest of the items table_digest.h defines. */
    INDEX_PERSONS,
    INDEX_ACCOUNTS,
    INDEX_SETTLEMENTS,     /* digested: items added as the log settles, refunds and cancels */
    INDEX_COUNT
};

/* A set of sequence numbers, a bit each. */
struct seq_bits {
    uint64_t *words;
    size_t word_count;
};

struct verify_index_table {
    const char *name;
    Famledger__StateTable table;
};
extern const struct verify_index_table verify_indexes[INDEX_COUNT];

/* The stored side of the tables digested whole, asked of the daemon a page at a time between
 * the log's pages (verify_digest.c). */
struct verify_digests {
    bool asked[INDEX_COUNT];             /* the daemon digests this table */
    bool done[INDEX_COUNT];              /* and has digested all of it */
    struct table_digest stored[INDEX_COUNT];
    uint64_t damaged[INDEX_COUNT];       /* records that did not read as the table's */
    uint64_t records[INDEX_COUNT];       /* each table holds, as the daemon said (0: unknown) */
    uint64_t folded;                     /* records of the table being walked folded so far */
    int walking;                         /* the table being asked for; INDEX_COUNT: none left */
    uint64_t request;                    /* its page in flight, or 0 */
    uint8_t after_key[VERIFY_KEY_MAX], after_value[8];
    size_t after_key_bytes, after_value_bytes;
};

/* The hashes of the names a log page's entries look up, found by the name's address: the first
 * hint pass over a page computes each once, and the second pass and the replay's lookups take
 * it from here (verify.c, name_hash). An entry's strings stay where they are, unchanged, until
 * the page's scratch is reset; verify.name_page moves on before and after each page, so a slot
 * of another page never answers. A slot may be taken by another name (direct-mapped): then the
 * hash is computed again. */
#define VERIFY_NAME_HASHES 4096
struct verify_name_hash {
    const char *name;
    uint64_t hash;
    uint64_t page;
};

/* Whom each holder funds (verify_funded.c): pairs of persons' numbers, by holder. */
struct verify_funded {
    uint64_t *slots; /* the holder's number + 1 above the beneficiary's; 0: empty */
    size_t count, capacity;
    bool made;       /* at the first closing; until then, nothing is kept */
};

struct verify {
    fl_client *client;
    struct verify_name_hash *name_hashes; /* VERIFY_NAME_HASHES, made with the first page */
    uint64_t name_page;                   /* odd: the page whose names may be in name_hashes */
    struct table_digest_key digest_key;   /* drawn for this verify: every digest's terms */
    struct scratch scratch;               /* each entry and stored record is unpacked here */
    int64_t day_second;                   /* the second verify_business_day last dated */
    char day_of_second[9];                /* and its day; empty: none yet */
    char totals_day[9];                   /* the day of the day totals being summed */
    char closed_through[9];               /* the last day closed, YYYYMMDD; empty: none */
    struct digest_map indexes[INDEX_COUNT];
    bool out_of_memory;
    enum verify_index walking;            /* the index verify_compare is reading */
    size_t stored_persons, stored_funded; /* counted while walking, to compare both ways */
    fl_verify_report *report;
    fl_progress_cb progress_cb;
    void *progress_context;
    /* Persons in the order the log registered them; a pointer to one stays valid
     * (record_table.h). */
    struct record_table persons;
    struct verify_funded funded;
    /* The settlements, by id: records of the model (above), or, when the daemon digests the
     * stored ones (settlements_digested, known before the first entry), three bits each. */
    bool settlements_digested;
    struct model_settlement *settlements;
    size_t settlement_capacity, settlement_count;
    struct seq_bits settled, cancelled, aid_counted;
    struct model_hold *holds;             /* open holds */
    size_t hold_count, hold_capacity;
    Famledger__Calendar **calendars;      /* each year's calendar as last set, owned */
    size_t calendar_count;
    /* The entry being replayed: the personal-account moves its body makes, to be matched
     * against its personal postings. */
    size_t move_count;
    struct {
        const char *person_no;
        int64_t delta_fen;
    } moves[2 * FL_FUNDERS_MAX + 8];
    uint64_t seq;                     /* last replayed */
    uint64_t snapshot_seq;            /* the last to replay: the snapshot's head */
    int64_t time_us;                  /* its time: the next must be later */
    uint8_t hash[FL_HASH_BYTES];      /* its hash */
    uint64_t page_request;            /* the page asked for and not yet read, or 0 */
    /* The class totals the postings move (balances "personal", "fund"...), mod 2^64, by
     * class: added to the expected balances once, before they are compared. */
    bool class_moved[VERIFY_CLASSES];
    uint64_t class_fen[VERIFY_CLASSES];
    int unplaced;                     /* a whole-table index whose difference came first, or -1 */
    struct verify_digests digests;
};

/* Record the first problem in the report (later ones are dropped); returns 1. */
int verify_problem(struct verify *v, uint64_t seq, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* table_digest_hash of a NUL-terminated text: for finding it, never for a digest. */
uint64_t verify_text_hash(const char *text);
/* Hints ahead of verify_person_find (record_table_prefetch) and verify_settlement_find. */
void verify_person_prefetch(const struct verify *v, const void *person_no, size_t size,
                            bool record);
void verify_settlement_prefetch(const struct verify *v, uint64_t id);
struct model_person *verify_person_find(struct verify *v, const char *person_no, bool create);
/* The person's extra, made when missing: NULL when out of memory. */
struct model_person_extra *verify_person_extra(struct model_person *person);
/* The class totals the replay summed, into the expected balances (verify_compare). */
void verify_expect_class_totals(struct verify *v);
/* The name a class has in the balances' keys ("personal", "fund"...), or NULL. */
const char *verify_class_name(Famledger__AccountClass account_class);
/* NULL for an entry as famledgerd writes it, else what in it differs (verify_entry.c). */
const char *verify_entry_canonical(const Famledger__Entry *entry);
/* Take `holder` out of the funding order of `person`: whether it was in it. */
bool verify_funders_remove(struct model_person *person, const struct model_person *holder);
/* A binding made: `holder` funds `beneficiary` (kept once the map is made). 0, or -1 when out
 * of memory. */
int verify_funded_add(struct verify *v, const struct model_person *holder,
                      const struct model_person *beneficiary);
/* The account of `holder` closed: end every binding that names it as the holder. How many
 * ended, or -1 when out of memory. */
long verify_funded_end(struct verify *v, const struct model_person *holder);
void verify_funded_free(struct verify *v);
/* The person registered `index`th (0 .. persons.count - 1). */
struct model_person *verify_person_at(const struct verify *v, size_t index);
struct model_settlement *verify_settlement_find(struct verify *v, uint64_t id, bool create);

/* The keyed, odd weight of a settlement's leg (its holder, and whether it is the wallet's).
 * What a settlement's refunds gave back is the sum of each refund leg's amount times its
 * weight; the stored record's is each leg's refunded amount times its weight. With the legs
 * the fingerprint's, the two are equal only if every refund gave back to a leg of the
 * settlement what the stored leg counts: a refund to someone who did not pay differs. */
uint64_t verify_refund_weight(const struct verify *v, const char *holder, bool wallet);
/* An expected item of an index: the replay says `key` holds `item`. */
void verify_expect_item(struct verify *v, enum verify_index index, const void *key,
                        size_t key_bytes, struct table_digest_item item);
/* The keyed hash of a text, as a field of an item (table_digest_text). */
uint64_t verify_text_item(const struct verify *v, const char *text);

/* A merchant as verify compares it, two items under its code: what it was added as (code,
 * name, kind, region, the entry that added it), and whether it is suspended, so that a change
 * of status swaps one. */
struct table_digest_item verify_merchant_item(const struct verify *v,
                                              const Famledger__Merchant *merchant,
                                              uint64_t added_seq);
struct table_digest_item verify_merchant_status_item(bool suspended);

/* One page request of verify: 0 with *response, 1 when the daemon answered INTERNAL (it cannot
 * read its pages: recorded as damage to `what`), or a client error. */
int verify_page_call(struct verify *v, Famledger__Request *request,
                     Famledger__Response__BodyCase body_case, Famledger__Response **response,
                     const char *what);
/* The same in two halves, so that the daemon packs the next page while the client reads the
 * last: ask (one page in flight at most), then read it, as verify_page_call answers. Whoever
 * stops before reading a page it asked for drains it (verify_page_drain), or the connection's
 * next reply would be that page's. */
int verify_page_ask(struct verify *v, Famledger__Request__BodyCase body_case, void *body);
int verify_page_read(struct verify *v, Famledger__Response__BodyCase body_case,
                     Famledger__Response **response, const char *what);
void verify_page_drain(struct verify *v);
/* Read the reply to request `id` as verify_page_read reads its page. */
int verify_reply_read(struct verify *v, uint64_t id, Famledger__Response__BodyCase body_case,
                      Famledger__Response **response, const char *what);

/* verify_digest.c. Plan the digests of the tables marked in `whole` that the daemon can fold
 * (table_digest_known); nothing is asked yet. */
void verify_digests_plan(struct verify *v, const bool whole[INDEX_COUNT]);
/* Learn how many records each planned table holds (one small page of each), so that
 * verify_digest_ask can spread their folding over the whole log: 0 or a client error. */
int verify_digests_size(struct verify *v);
/* Ask for the next digest page, unless one is in flight or none is left: sent after a log
 * page's request, so that the daemon folds it while the client replays the page before. Its
 * size is what is left to fold over the log pages left to replay, so that the daemon's share
 * of each log page's time stays the same from the first page to the last. */
int verify_digest_ask(struct verify *v);
/* Read the digest page in flight, if any (its reply follows that of the request sent before
 * it): 0, 1 after a problem (the report has it), or a client error. It is unpacked on its own,
 * so the log page before it stays readable. */
int verify_digest_read(struct verify *v);
/* Ask for and read every digest page still due, one after another. */
int verify_digests_finish(struct verify *v);
/* Read and drop the digest page in flight, if any: for whoever stops early. */
void verify_digest_drain(struct verify *v);

/* Compare the stored derived state, read from the snapshot, with the replay, both ways.
 * Returns 0 (problems go to the report) or a client error. */
int verify_compare(struct verify *v);

/* verify.c: shared with verify_wallet.c. */
/* The business day (YYYYMMDD) of `time_us`: entries come many a second, so the last second's
 * day is kept. */
void verify_business_day(struct verify *v, int64_t time_us, char day[9]);
void verify_expect_reference(struct verify *v, char scope, const char *owner,
                             const char *reference, uint64_t seq);
int verify_move(struct verify *v, uint64_t seq, const char *person_no, int64_t delta_fen,
                int64_t balance_after_fen);

/* verify_wallet.c: the wallet, holds and aid limits. Like every apply function, these see only
 * entries that are whole (entry_check.h): each part present, no amount negative. */
int verify_apply_twophase(struct verify *v, const Famledger__Entry *entry);
/* A settlement's wallet legs, aid usage and captured hold (its account legs are moved by
 * verify.c). */
int verify_settled_twophase(struct verify *v, const Famledger__Entry *entry);
/* A refund leg back to a wallet: 1 when it was one (and was applied or failed), else 0. */
int verify_refund_wallet_leg(struct verify *v, uint64_t seq, const Famledger__RefundLeg *leg);
/* A withdrawal pays out the whole wallet of `person`, nothing of it held: 0, 1 (a problem
 * named) or -1 (out of memory). */
int verify_wallet_take(struct verify *v, uint64_t seq, struct model_person *person,
                       int64_t amount_fen);
/* The aid a refund gives back, in the month and year the settlement was made. */
void verify_refund_aid(struct verify *v, const char *patient, int64_t settled_us,
                       const Famledger__Refund *refund);
/* The mutual-aid counts stored in a holder's account against the replay's, both ways: 1 after
 * a problem, else 0. */
int verify_aid_compare(struct verify *v, const struct model_person *holder,
                       const Famledger__Account *stored);
/* After the replay: the wallet records, timers and wallet balances the log implies. */
int verify_twophase_finish(struct verify *v);
/* The stored side of the two-phase tables, for verify_compare's walk of `index`. */
int verify_twophase_stored(struct verify *v, enum verify_index index,
                           const ProtobufCBinaryData *key, const ProtobufCBinaryData *value);
void verify_twophase_free(struct verify *v);

/* verify_emergency.c: an emergency claim made or closed, a calendar set; the stored side of
 * the claims and the calendars. */
int verify_apply_emergency(struct verify *v, const Famledger__Entry *entry);
int verify_emergency_stored(struct verify *v, enum verify_index index,
                            const ProtobufCBinaryData *key, const ProtobufCBinaryData *value);
void verify_emergency_free(struct verify *v);

#endif