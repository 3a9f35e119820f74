/* names.c -- the words ledgerctl and JSON output use for relations, categories and kinds. */
#include "famledger.h"

#include <string.h>

static const char *const relation_names[] = {
    NULL, "spouse", "parent", "child", "sibling", "paternal-grandparent", "maternal-grandparent",
    "paternal-grandchild", "maternal-grandchild"};
static const char *const category_names[] = {
    NULL, "pharmacy", "device", "outpatient", "inpatient", "resident-premium",
    "commercial-insurance", "long-term-care"};
static const char *const kind_names[] = {NULL, "pharmacy", "hospital", "agency"};
static const char *const reason_names[] = {NULL, "long-term-elsewhere", "major-disease",
                                           "opt-out", "death", "emigration",
                                           "transfer-not-accepted"};

#define COUNT(table) (sizeof(table) / sizeof(table[0]))

static const char *name_of(const char *const *names, size_t count, int value)
{
    return value > 0 && (size_t)value < count ? names[value] : "unknown";
}

static int parse(const char *const *names, size_t count, const char *text, int *value)
{
    for (size_t i = 1; i < count; i++) {
        if (strcmp(names[i], text) == 0) {
            *value = (int)i;
            return 0;
        }
    }
    return FL_ERR_INVALID_ARGUMENT;
}

const char *fl_relation_name(fl_relation relation)
{
    return name_of(relation_names, COUNT(relation_names), relation);
}

const char *fl_category_name(fl_category category)
{
    return name_of(category_names, COUNT(category_names), category);
}

const char *fl_merchant_kind_name(fl_merchant_kind kind)
{
    return name_of(kind_names, COUNT(kind_names), kind);
}

int fl_relation_parse(const char *text, fl_relation *relation)
{
    int value;
    int rc = parse(relation_names, COUNT(relation_names), text, &value);
    if (rc == 0)
        *relation = (fl_relation)value;
    return rc;
}

int fl_category_parse(const char *text, fl_category *category)
{
    int value;
    int rc = parse(category_names, COUNT(category_names), text, &value);
    if (rc == 0)
        *category = (fl_category)value;
    return rc;
}

int fl_merchant_kind_parse(const char *text, fl_merchant_kind *kind)
{
    int value;
    int rc = parse(kind_names, COUNT(kind_names), text, &value);
    if (rc == 0)
        *kind = (fl_merchant_kind)value;
    return rc;
}

const char *fl_withdrawal_reason_name(fl_withdrawal_reason reason)
{
    return name_of(reason_names, COUNT(reason_names), reason);
}

int fl_withdrawal_reason_parse(const char *text, fl_withdrawal_reason *reason)
{
    int value;
    int rc = parse(reason_names, COUNT(reason_names), text, &value);
    if (rc == 0)
        *reason = (fl_withdrawal_reason)value;
    return rc;
}
