/* thread_cpu.h -- the CPU time of a local process's threads, summed by thread name, from
 * /proc (famledger-bench: the daemon's CPU a settlement, thread by thread). Measures; the
 * kernel counts in clock ticks (sysconf(_SC_CLK_TCK), 100 a second here), so a figure is only
 * as fine as the run is long. */
#ifndef FAMLEDGER_THREAD_CPU_H
#define FAMLEDGER_THREAD_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define THREAD_CPU_NAME_BYTES 32 /* the kernel keeps 16 */
#define THREAD_CPU_NAMES_MAX 32

struct thread_cpu_name {
    char name[THREAD_CPU_NAME_BYTES];
    uint64_t user_ticks, system_ticks;
    unsigned threads;
};

/* A process's threads at one moment, summed by name in the order first met, and the whole
 * process's ticks (those of its threads that have ended included). */
struct thread_cpu {
    uint64_t user_ticks, system_ticks;
    size_t count;
    struct thread_cpu_name names[THREAD_CPU_NAMES_MAX];
};

/* One line of /proc/PID/task/TID/stat: the thread's name (what lies between the first '(' and
 * the last ')': a name may hold either) and its user and system ticks (the 14th and 15th
 * fields). False when the line is not of that shape. */
bool thread_cpu_parse(const char *line, char name[THREAD_CPU_NAME_BYTES], uint64_t *user_ticks,
                      uint64_t *system_ticks);

/* Add one thread's ticks under its name; false when THREAD_CPU_NAMES_MAX names are taken. */
bool thread_cpu_add(struct thread_cpu *cpu, const char *name, uint64_t user_ticks,
                    uint64_t system_ticks);

/* Every thread of `pid` now, and the process; -1 with errno when its /proc files cannot be
 * read. A thread that ends between two readings takes its ticks out of its name's figure, but
 * not out of the process's. */
int thread_cpu_read(pid_t pid, struct thread_cpu *cpu);

/* The ticks of `name` in `cpu`, or NULL. */
const struct thread_cpu_name *thread_cpu_find(const struct thread_cpu *cpu, const char *name);

#endif
