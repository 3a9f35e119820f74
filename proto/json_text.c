/* json_text.c -- a JSON string literal. */
#include "json_text.h"

#include "wire_text.h"

#include <string.h>

void json_string_write(FILE *out, const char *text)
{
    const unsigned char *c = (const unsigned char *)text;
    size_t left = strlen(text);
    fputc('"', out);
    while (left > 0) {
        size_t bytes = wire_text_char_bytes(c, left);
        if (bytes == 0) {
            fputs("\\ufffd", out); /* not UTF-8: the text came from a file, not the daemon */
            bytes = 1;
        } else if (*c == '"' || *c == '\\') {
            fprintf(out, "\\%c", *c);
        } else if (*c < 0x20) {
            fprintf(out, "\\u%04x", *c);
        } else {
            fwrite(c, 1, bytes, out);
        }
        c += bytes;
        left -= bytes;
    }
    fputc('"', out);
}
