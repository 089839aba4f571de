/*
 * demo.c - two separate processes share one named array, without copying.
 *
 *   npshm_demo            the first process: creates "npshm-demo-<pid>", a
 *                         1000-element float64 array, fills it, starts a second
 *                         process (a fresh exec of this program) that attaches by
 *                         name, then shows that it sees that process's writes.
 *   npshm_demo --attach NAME
 *                         the second process: attaches, reports what it sees,
 *                         writes into the array, exits.
 *
 * Exit status 0 if everything behaved as described, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "npshm.h"

#define N 1000

static int fail(const char *who, const char *what, int rc) {
    fprintf(stderr, "[%s %d] FAILED: %s (status %d: %s)\n", who, (int)getpid(), what, rc,
            npshm_last_error());
    return 1;
}

/* The second process: attach by name, look, write, leave. */
static int second(const char *name) {
    npshm_array *a = NULL;
    const int64_t shape[1] = {N};
    int rc = npshm_attach_expect(name, 0, 1, shape, "float64", &a);
    if (rc != NPSHM_OK) return fail("second", "attach", rc);
    double *x = npshm_data(a);
    double sum = 0;
    for (int i = 0; i < N; i++) sum += x[i];
    printf("[second %d] attached to \"%s\": %d x %s (%zu bytes), mapped at %p\n", (int)getpid(),
           npshm_name(a), (int)npshm_shape(a)[0], npshm_dtype(a), npshm_nbytes(a), npshm_data(a));
    printf("[second %d] it holds x[0..4] = %g %g %g %g %g, sum = %g\n", (int)getpid(), x[0], x[1],
           x[2], x[3], x[4], sum);
    for (int i = 0; i < N; i++) x[i] = -2.0 * x[i];
    x[N - 1] = 12345.0;
    printf("[second %d] wrote x[i] = -2 * x[i] and x[%d] = 12345 into the shared memory, exiting\n",
           (int)getpid(), N - 1);
    npshm_release(a);
    return 0;
}

/* The first process. */
static int first(void) {
    char name[64];
    snprintf(name, sizeof name, "npshm-demo-%d", (int)getpid());
    const int64_t shape[1] = {N};
    npshm_array *a = NULL;
    int rc = npshm_create(name, 1, shape, "float64", 0, &a);
    if (rc != NPSHM_OK) return fail("first", "create", rc);
    printf("[first  %d] npshm %s: created \"%s\" (/dev/shm/%s), %d x %s, %zu bytes, zero-filled\n",
           (int)getpid(), npshm_version(), name, name, N, npshm_dtype(a), npshm_nbytes(a));

    double *x = npshm_data(a);
    double sum = 0;
    for (int i = 0; i < N; i++) {
        x[i] = i * 0.5;
        sum += x[i];
    }
    printf("[first  %d] filled x[i] = i/2: x[0..4] = %g %g %g %g %g, sum = %g\n", (int)getpid(),
           x[0], x[1], x[2], x[3], x[4], sum);

    /* A genuinely separate process: fork, then exec this program afresh. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        npshm_release(a);
        npshm_delete(name);
        return 1;
    }
    if (pid == 0) {
        char *args[] = {"npshm_demo", "--attach", name, NULL};
        execv("/proc/self/exe", args);
        perror("execv /proc/self/exe");
        _exit(127);
    }
    printf("[first  %d] started process %d (a new program image) and told it the name only\n",
           (int)getpid(), (int)pid);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "[first  %d] FAILED: the second process failed (status %#x)\n",
                (int)getpid(), status);
        npshm_release(a);
        npshm_delete(name);
        return 1;
    }

    /* Our mapping shows what the other process wrote. */
    int ok = 1;
    double after = 0;
    for (int i = 0; i < N - 1; i++) {
        if (x[i] != -2.0 * (i * 0.5)) ok = 0;
        after += x[i];
    }
    after += x[N - 1];
    if (x[N - 1] != 12345.0) ok = 0;
    printf("[first  %d] after it exited, our own mapping reads x[0..4] = %g %g %g %g %g, x[%d] = %g, "
           "sum = %g\n", (int)getpid(), x[0], x[1], x[2], x[3], x[4], N - 1, x[N - 1], after);
    double diff = after - (-2.0 * (sum - (N - 1) * 0.5) + 12345.0);
    if (!ok || diff > 1e-6 || diff < -1e-6) {
        fprintf(stderr, "[first  %d] FAILED: the other process's writes are not visible\n",
                (int)getpid());
        npshm_release(a);
        npshm_delete(name);
        return 1;
    }
    printf("[first  %d] those are the other process's writes: one array, two processes, no copy\n",
           (int)getpid());

    rc = npshm_delete(name);
    if (rc != NPSHM_OK) return fail("first", "delete", rc);
    npshm_array *b = NULL;
    rc = npshm_attach(name, 0, &b);
    if (rc != NPSHM_ERR_NOT_FOUND) {
        if (rc == NPSHM_OK) npshm_release(b);
        npshm_release(a);
        return fail("first", "attach after delete should be NOT_FOUND", rc);
    }
    printf("[first  %d] deleted \"%s\": attaching now says \"%s\", yet our mapping still reads "
           "x[%d] = %g until we release it\n", (int)getpid(), name, npshm_last_error(), N - 1, x[N - 1]);
    npshm_release(a);
    printf("[first  %d] released; the memory is freed. Done.\n", (int)getpid());
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "--attach") == 0) return second(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s            (run the demo)\n       %s --attach NAME\n", argv[0],
                argv[0]);
        return 2;
    }
    return first();
}
