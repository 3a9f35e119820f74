/* require.h -- always-on assertions for invariants (programmer errors, never client input). */
#ifndef FAMLEDGER_REQUIRE_H
#define FAMLEDGER_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(condition)                                                                        \
    do {                                                                                          \
        if (!(condition)) {                                                                       \
            fprintf(stderr, "famledgerd: invariant violated at %s:%d: %s\n", __FILE__, __LINE__,  \
                    #condition);                                                                  \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#endif
