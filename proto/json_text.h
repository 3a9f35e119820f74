/* json_text.h -- a JSON string literal, for the client's and ledgerctl's JSON output. */
#ifndef FAMLEDGER_JSON_TEXT_H
#define FAMLEDGER_JSON_TEXT_H

#include <stdio.h>

/* Write `text` (UTF-8) as a JSON string literal: quotes, backslashes and control characters
 * escaped. */
void json_string_write(FILE *out, const char *text);

#endif
