/* poison.h -- memory kept for reuse is marked unusable for AddressSanitizer until it is handed
 * out again, so that a use after release is caught as a use after free would be. Without ASan
 * the marks are nothing. */
#ifndef FAMLEDGER_POISON_H
#define FAMLEDGER_POISON_H

#if defined(__SANITIZE_ADDRESS__)
#define FL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FL_ASAN 1
#endif
#endif

#ifdef FL_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(address, bytes) ASAN_POISON_MEMORY_REGION((address), (bytes))
#define UNPOISON(address, bytes) ASAN_UNPOISON_MEMORY_REGION((address), (bytes))
#else
#define POISON(address, bytes) ((void)(address), (void)(bytes))
#define UNPOISON(address, bytes) ((void)(address), (void)(bytes))
#endif

#endif
