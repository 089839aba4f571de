/*
 * check.h - the small check framework of the npshm C tests.
 *
 * A failed check prints where and what failed (with npshm_last_error()) and is
 * counted; a test's main returns check_result() (0 if nothing failed, else 1).
 * Everything is static inline so that each test binary has its own counter.
 */
#ifndef NPSHM_TEST_CHECK_H
#define NPSHM_TEST_CHECK_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "npshm.h"

static atomic_int check_failures_ __attribute__((unused));

static inline const char *rc_name(int rc) { return npshm_status_name(rc); }

__attribute__((format(printf, 3, 4))) static inline void
check_fail_(const char *file, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One write per failure, so that lines of several threads or processes do not mix. */
    char buf[1400];
    int n = snprintf(buf, sizeof buf, "FAIL %s:%d [pid %d]: %s\n", file, line, (int)getpid(), msg);
    if (n > (int)sizeof buf - 1) n = (int)sizeof buf - 1;
    if (n > 0) {
        ssize_t w = write(2, buf, (size_t)n);
        (void)w;
    }
    atomic_fetch_add(&check_failures_, 1);
}

#define FAILF(...) check_fail_(__FILE__, __LINE__, __VA_ARGS__)

/* CHECK(cond): fails if cond is false. CHECKF(cond, fmt, ...) adds a message. */
#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) FAILF("%s", #cond);                                           \
    } while (0)
#define CHECKF(cond, ...)                                                          \
    do {                                                                           \
        if (!(cond)) check_failf_(__FILE__, __LINE__, #cond, __VA_ARGS__);         \
    } while (0)

__attribute__((format(printf, 4, 5))) static inline void
check_failf_(const char *file, int line, const char *cond, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    check_fail_(file, line, "%s: %s", cond, msg);
}

/* EXPECT_RC(call, want): the call must return the status want; on a failure the
 * message shows both codes and npshm_last_error(). Evaluates to the status. */
#define EXPECT_RC(call, want) expect_rc_(__FILE__, __LINE__, #call, (call), (want))

static inline int expect_rc_(const char *file, int line, const char *expr, int got, int want) {
    if (got != want) {
        check_fail_(file, line, "%s returned %d (%s), expected %d (%s); last error: \"%s\" (errno %d)",
                    expr, got, rc_name(got), want, rc_name(want), npshm_last_error(),
                    npshm_last_errno());
    } else if (want < 0) {
        /* Every failure must be described. */
        const char *msg = npshm_last_error();
        if (msg == NULL || msg[0] == '\0')
            check_fail_(file, line, "%s failed with %s but npshm_last_error() is empty", expr,
                        rc_name(got));
    }
    return got;
}

static inline int check_count(void) { return atomic_load(&check_failures_); }

static inline int check_result(const char *test) {
    int n = check_count();
    if (n == 0) {
        printf("%s: all checks passed\n", test);
        return 0;
    }
    fprintf(stderr, "%s: %d check(s) FAILED\n", test, n);
    return 1;
}

/* A pointer that npshm never returns: out parameters must keep it on failure. */
static char check_sentinel_obj_ __attribute__((unused));
#define SENTINEL ((npshm_array *)(void *)&check_sentinel_obj_)

/*
 * Runs body(arg) in a child forked after this process used the library (it
 * creates, lists and deletes an array first, and keeps it mapped across the
 * fork): the child's exit status is body's return value, under alarm(100).
 * Returns what the test's main should return.
 */
static inline int npshm_count_cb_(const npshm_info *info, void *ctx) {
    (void)info;
    ++*(int *)ctx;
    return 0;
}
static inline int run_forked(int (*body)(void *), void *arg, const char *test) {
    char name[64];
    snprintf(name, sizeof name, "npshm-warmup-%d", (int)getpid());
    npshm_array *a = NULL;
    int rc = npshm_create(name, 1, (int64_t[]){16}, "uint8", 0, &a);
    if (rc != NPSHM_OK) {
        FAILF("warm-up npshm_create: %s %s", rc_name(rc), npshm_last_error());
        return check_result(test);
    }
    int n = 0;
    rc = npshm_list(npshm_count_cb_, &n);
    if (rc != NPSHM_OK) FAILF("warm-up npshm_list: %s %s", rc_name(rc), npshm_last_error());
    rc = npshm_delete(name);
    if (rc != NPSHM_OK) FAILF("warm-up npshm_delete: %s %s", rc_name(rc), npshm_last_error());
    ((unsigned char *)npshm_data(a))[15] = 15;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(100);
        if (((unsigned char *)npshm_data(a))[15] != 15) FAILF("the inherited mapping lost its data");
        npshm_release(a);
        int r = body(arg);
        _exit(r == 0 && check_count() == 0 ? 0 : r == 77 ? 77 : 1);
    }
    npshm_release(a);
    if (pid < 0) {
        FAILF("fork: %s", strerror(errno));
        return check_result(test);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        FAILF("the forked child died of signal %d%s", WTERMSIG(status),
              WTERMSIG(status) == SIGALRM ? " (SIGALRM: it hung)" : "");
    } else if (WEXITSTATUS(status) == 77 && check_count() == 0) {
        return 77;
    } else if (WEXITSTATUS(status) != 0) {
        FAILF("the test failed in the forked child (exit %d)", WEXITSTATUS(status));
    }
    return check_result(test);
}

#endif /* NPSHM_TEST_CHECK_H */
