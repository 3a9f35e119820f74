/* json_text.h -- a JSON string literal, for the client's and ledgerctl's JSON output. */
#ifndef FAMLEDGER_JSON_TEXT_H
#define FAMLEDGER_JSON_TEXT_H

#include <stdio.h>

/* Write `text` as a JSON string literal: quotes, backslashes and control characters escaped,
 * and each byte that is not part of well-formed UTF-8 written as U+FFFD, so that the output
 * is valid JSON whatever a file read by ledgerctl held. */
void json_string_write(FILE *out, const char *text);

#endif
