/* The parallel copy of a file's data into a new array, shared by the Go side of the library
 * (through cshim/fill.go) and the C path of forked children. Plain C and pthreads. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "npshm_files.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define CHUNK (8u << 20)
#define MAX_THREADS 4
#define MIN_PER_THREAD (32u << 20)

typedef struct fill_job {
    int src;
    uint64_t off, n;
    char *dst;
    const volatile int *cancel;
    _Atomic uint64_t next;
    atomic_int err;
} fill_job;

static int fill_chunk(fill_job *j, uint64_t at, uint64_t len) {
    char *p = j->dst + at;
    /* Map the (already reserved) pages in one go instead of a fault per page. */
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
    (void)madvise((void *)a, len + ((uintptr_t)p - a), MADV_POPULATE_WRITE);
    uint64_t done = 0;
    while (done < len) {
        ssize_t r = pread(j->src, p + done, len - done, (off_t)(j->off + at + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) return ENODATA;
        done += (uint64_t)r;
    }
    return 0;
}

static void *fill_worker(void *arg) {
    fill_job *j = arg;
    for (;;) {
        if (atomic_load(&j->err)) return NULL;
        if (j->cancel && *j->cancel) {
            int zero = 0;
            atomic_compare_exchange_strong(&j->err, &zero, EINTR);
            return NULL;
        }
        uint64_t at = atomic_fetch_add(&j->next, CHUNK);
        if (at >= j->n) return NULL;
        uint64_t len = j->n - at < CHUNK ? j->n - at : CHUNK;
        int e = fill_chunk(j, at, len);
        if (e) {
            int zero = 0;
            atomic_compare_exchange_strong(&j->err, &zero, e);
            return NULL;
        }
    }
}

int npshm__fill(int src, uint64_t off, void *dst, uint64_t n, const volatile int *cancel) {
    fill_job j = {.src = src, .off = off, .n = n, .dst = dst, .cancel = cancel};
    atomic_init(&j.next, 0);
    atomic_init(&j.err, 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int want = (int)(n / MIN_PER_THREAD);
    if (want > MAX_THREADS) want = MAX_THREADS;
    if (cpus > 0 && want > cpus) want = (int)cpus;
    pthread_t threads[MAX_THREADS];
    int started = 0;
    for (int i = 1; i < want; i++) {
        if (pthread_create(&threads[started], NULL, fill_worker, &j) != 0) break;
        started++;
    }
    fill_worker(&j); /* this thread works too */
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    return atomic_load(&j.err);
}
