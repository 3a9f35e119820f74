/* test_thread_cpu.c -- the daemon's CPU by thread name, as famledger-bench reads it from /proc
 * (tools/thread_cpu.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/thread_cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void test_a_stat_line_gives_its_name_and_ticks(void **state)
{
    (void)state;
    char name[THREAD_CPU_NAME_BYTES];
    uint64_t user = 0, system = 0;
    assert_true(thread_cpu_parse("4242 (fl-writer) S 1 4242 4242 0 -1 4194560 2961 0 0 0 "
                                 "1234 567 0 0 20 0 9 0 100 1 2\n",
                                 name, &user, &system));
    assert_string_equal(name, "fl-writer");
    assert_int_equal(user, 1234);
    assert_int_equal(system, 567);
    /* A name may hold spaces and parentheses: it ends at the last ')'. */
    assert_true(thread_cpu_parse("7 (a) (b c) R 1 7 7 0 -1 0 0 0 0 0 9 8 0 0", name, &user,
                                 &system));
    assert_string_equal(name, "a) (b c");
    assert_int_equal(user, 9);
    assert_int_equal(system, 8);
}

static void test_a_line_of_another_shape_is_refused(void **state)
{
    (void)state;
    char name[THREAD_CPU_NAME_BYTES];
    uint64_t user = 7, system = 7;
    const char *bad[] = {"", "4242 fl-writer S 1 2 3 4 5 6 7 8 9 10 11 12",
                         "4242 (fl-writer) S 1 4242 4242 0 -1 4194560 2961 0 0 0 1234",
                         "4242 (fl-writer) S 1 4242 4242 0 -1 4194560 2961 0 0 0 12x4 567",
                         "4242 (fl-writer) S 1 4242 4242 0 -1 4194560 2961 0 0 0 -1 567",
                         "4242 )fl-writer( S 1 4242 4242 0 -1 4194560 2961 0 0 0 1 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(thread_cpu_parse(bad[i], name, &user, &system));
}

static void test_threads_of_one_name_are_summed_and_names_are_bounded(void **state)
{
    (void)state;
    static struct thread_cpu cpu;
    cpu = (struct thread_cpu){0};
    assert_true(thread_cpu_add(&cpu, "fl-prefetch", 10, 1));
    assert_true(thread_cpu_add(&cpu, "fl-writer", 5, 5));
    assert_true(thread_cpu_add(&cpu, "fl-prefetch", 20, 2));
    assert_int_equal(cpu.count, 2);
    const struct thread_cpu_name *prefetch = thread_cpu_find(&cpu, "fl-prefetch");
    assert_non_null(prefetch);
    assert_int_equal(prefetch->user_ticks, 30);
    assert_int_equal(prefetch->system_ticks, 3);
    assert_int_equal(prefetch->threads, 2);
    assert_null(thread_cpu_find(&cpu, "fl-sweep-sort"));
    for (int i = 2; i < THREAD_CPU_NAMES_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "t%d", i);
        assert_true(thread_cpu_add(&cpu, name, 1, 1));
    }
    assert_false(thread_cpu_add(&cpu, "one-too-many", 1, 1));
    assert_true(thread_cpu_add(&cpu, "fl-writer", 1, 1)); /* a name already there still adds */
    assert_int_equal(thread_cpu_find(&cpu, "fl-writer")->threads, 2);
}

static atomic_bool spin_done;

/* Spins until it has used `argument` nanoseconds of CPU of its own. */
static void *spin(void *argument)
{
    long long wanted_ns = *(long long *)argument;
    struct timespec used;
    do
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used);
    while ((long long)used.tv_sec * 1000000000LL + used.tv_nsec < wanted_ns);
    while (!atomic_load(&spin_done))
        usleep(1000);
    return NULL;
}

static void test_this_process_is_read_thread_by_thread(void **state)
{
    (void)state;
    long long wanted_ns = 200000000LL; /* 0.2 s of CPU: 20 ticks at 100 a second */
    pthread_t thread;
    atomic_store(&spin_done, false);
    assert_int_equal(pthread_create(&thread, NULL, spin, &wanted_ns), 0);
    assert_int_equal(pthread_setname_np(thread, "tc-spin"), 0);
    static struct thread_cpu cpu;
    const struct thread_cpu_name *spinner;
    struct timespec used;
    clockid_t clock;
    assert_int_equal(pthread_getcpuclockid(thread, &clock), 0);
    do { /* until the spinner has used what it was asked to */
        usleep(10000);
        assert_int_equal(clock_gettime(clock, &used), 0);
    } while ((long long)used.tv_sec * 1000000000LL + used.tv_nsec < wanted_ns);
    assert_int_equal(thread_cpu_read(getpid(), &cpu), 0);
    spinner = thread_cpu_find(&cpu, "tc-spin");
    assert_non_null(spinner);
    assert_int_equal(spinner->threads, 1);
    long per_second = sysconf(_SC_CLK_TCK);
    /* Half of what it used, in ticks: the kernel's accounting is by the tick. */
    assert_true(spinner->user_ticks + spinner->system_ticks >= (uint64_t)per_second / 10);
    /* The process counts every thread, the spinner's time among them. The kernel splits each
     * figure into user and system time and truncates each part to a tick on its own, so the
     * sums may differ by a tick a part. */
    assert_true(cpu.user_ticks + cpu.system_ticks + 2 >=
                spinner->user_ticks + spinner->system_ticks);
    assert_non_null(thread_cpu_find(&cpu, "test_thread_cpu"));
    atomic_store(&spin_done, true);
    assert_int_equal(pthread_join(thread, NULL), 0);
    /* A process that is not there: -1. */
    assert_int_equal(thread_cpu_read(0, &cpu), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_stat_line_gives_its_name_and_ticks),
        cmocka_unit_test(test_a_line_of_another_shape_is_refused),
        cmocka_unit_test(test_threads_of_one_name_are_summed_and_names_are_bounded),
        cmocka_unit_test(test_this_process_is_read_thread_by_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
