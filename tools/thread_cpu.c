/* thread_cpu.c -- a local process's CPU time by thread name, from /proc (thread_cpu.h). */
#include "thread_cpu.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool thread_cpu_parse(const char *line, char name[THREAD_CPU_NAME_BYTES], uint64_t *user_ticks,
                      uint64_t *system_ticks)
{
    const char *open = strchr(line, '(');
    const char *close = strrchr(line, ')');
    if (!open || !close || close < open)
        return false;
    size_t bytes = (size_t)(close - open - 1);
    if (bytes >= THREAD_CPU_NAME_BYTES)
        bytes = THREAD_CPU_NAME_BYTES - 1;
    memcpy(name, open + 1, bytes);
    name[bytes] = '\0';
    /* After the name: the state (field 3), then fields 4 to 13, then utime and stime. */
    const char *at = close + 1;
    uint64_t field_value[2];
    for (int field = 3; field <= 15; field++) {
        while (*at == ' ')
            at++;
        if (!*at)
            return false;
        if (field >= 14) {
            if (*at < '0' || *at > '9') /* strtoull would take a sign */
                return false;
            char *end;
            errno = 0;
            unsigned long long value = strtoull(at, &end, 10);
            if (end == at || errno || (*end != ' ' && *end != '\0' && *end != '\n'))
                return false;
            field_value[field - 14] = value;
            at = end;
        } else {
            at += strcspn(at, " ");
        }
    }
    *user_ticks = field_value[0];
    *system_ticks = field_value[1];
    return true;
}

/* The index of `name` in `cpu`, or cpu->count when it has none. */
static size_t name_index(const struct thread_cpu *cpu, const char *name)
{
    size_t i = 0;
    while (i < cpu->count && strcmp(cpu->names[i].name, name) != 0)
        i++;
    return i;
}

const struct thread_cpu_name *thread_cpu_find(const struct thread_cpu *cpu, const char *name)
{
    size_t i = name_index(cpu, name);
    return i < cpu->count ? &cpu->names[i] : NULL;
}

bool thread_cpu_add(struct thread_cpu *cpu, const char *name, uint64_t user_ticks,
                    uint64_t system_ticks)
{
    size_t i = name_index(cpu, name);
    if (i == THREAD_CPU_NAMES_MAX)
        return false;
    struct thread_cpu_name *entry = &cpu->names[i];
    if (i == cpu->count) {
        cpu->count++;
        *entry = (struct thread_cpu_name){0};
        snprintf(entry->name, sizeof(entry->name), "%s", name);
    }
    entry->user_ticks += user_ticks;
    entry->system_ticks += system_ticks;
    entry->threads++;
    return true;
}

/* The name and ticks in the stat file at `path`; false when it cannot be read or parsed. */
static bool stat_read(const char *path, char name[THREAD_CPU_NAME_BYTES], uint64_t *user_ticks,
                      uint64_t *system_ticks)
{
    char line[1024];
    FILE *stat = fopen(path, "r");
    if (!stat)
        return false;
    bool read = fgets(line, sizeof(line), stat) &&
                thread_cpu_parse(line, name, user_ticks, system_ticks);
    fclose(stat);
    return read;
}

int thread_cpu_read(pid_t pid, struct thread_cpu *cpu)
{
    char path[64], name[THREAD_CPU_NAME_BYTES];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    *cpu = (struct thread_cpu){0};
    if (!stat_read(path, name, &cpu->user_ticks, &cpu->system_ticks))
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
    DIR *tasks = opendir(path);
    if (!tasks)
        return -1;
    struct dirent *task;
    while ((task = readdir(tasks))) {
        if (task->d_name[0] == '.')
            continue;
        char stat_path[96];
        uint64_t user_ticks, system_ticks;
        snprintf(stat_path, sizeof(stat_path), "%s/%.16s/stat", path, task->d_name);
        if (stat_read(stat_path, name, &user_ticks, &system_ticks)) /* else: it ended */
            (void)thread_cpu_add(cpu, name, user_ticks, system_ticks);
    }
    closedir(tasks);
    return 0;
}
