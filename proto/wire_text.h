/* wire_text.h -- what a string field of a frame may hold: at most WIRE_STRING_BYTES_MAX bytes of
 * well-formed UTF-8 without a NUL. The daemon checks it on the wire (decode.c), before anything
 * is unpacked, and refuses a frame that breaks it whole; the client library checks it before
 * it sends, so that a caller's bad text is an error of its own call (or of one batch item)
 * rather than a refused frame. */
#ifndef FAMLEDGER_WIRE_TEXT_H
#define FAMLEDGER_WIRE_TEXT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#define WIRE_STRING_BYTES_MAX 1024 /* longer than any field's own limit */

/* The length in bytes of the well-formed UTF-8 character at `at`, of which `left` (at least 1)
 * bytes may be read, or 0 when it is not one. */
size_t wire_text_char_bytes(const void *at, size_t left);

/* Whether `bytes` bytes at `text` are well-formed UTF-8 without a NUL. */
bool wire_text_valid(const void *text, size_t bytes);

/* Whether the C string `text` (NULL is the empty string) may be a string field. */
bool wire_text_fits(const char *text);

/* The length of `text` without a last character cut short (by snprintf's truncation). */
size_t wire_text_complete(const char *text);

/* Whether every string field set in `message`, at any depth, fits; if not, "Message.field" of
 * the first that does not is written to `field` (of `field_bytes`). */
bool wire_strings_fit(const ProtobufCMessage *message, char *field, size_t field_bytes);

#endif
