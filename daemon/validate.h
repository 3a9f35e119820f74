/* validate.h -- checks of client-supplied fields; each returns true when the field is valid. */
#ifndef FAMLEDGER_VALIDATE_H
#define FAMLEDGER_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool validate_person_no(const char *text);      /* [A-Za-z0-9]{1,32} */
bool validate_name(const char *text);           /* 1..128 bytes of valid UTF-8, no controls */
bool validate_region(const char *text);         /* exactly 6 digits */
bool validate_reference(const char *text);      /* 1..64 printable ASCII bytes */
bool validate_operator_id(const char *text);    /* 0..64 printable ASCII bytes */
bool validate_amount_fen(int64_t amount_fen);   /* 1 .. AMOUNT_FEN_MAX */

#endif
