/* container_of.h -- from a pointer to an embedded member back to the struct that holds it. */
#ifndef FAMLEDGER_CONTAINER_OF_H
#define FAMLEDGER_CONTAINER_OF_H

#include <stddef.h>

#define container_of(pointer, type, member) ((type *)((char *)(pointer) - offsetof(type, member)))

#endif
