/* The copy of a file's data into a new array, shared by the Go side of the library (through
 * internal/capi/bridge.go) and the C twin of forked children. Plain C and pthreads.
 *
 * What we measured (a 1 GiB file in the page cache into a fresh tmpfs segment, 2 CPUs): sendfile
 * into the segment's descriptor costs the least CPU per byte (no page faults: about 2.9 GB/s on one
 * thread), but a second sendfile thread only waits for the first (tmpfs writes hold the inode lock);
 * pread into the mapping runs in parallel with it (page faults take no such lock). So one thread
 * sendfiles chunks from the front while another preads chunks into the mapping from the back, and
 * they meet wherever their speeds put the middle: about 4 GB/s on an idle machine. Into memory of
 * the caller's (npshm_read_file_data: no descriptor), both threads pread, from either end, which
 * took from_file of a 1 GiB file from 3.6 to 5.8 GB/s (bench/bench_codec.py, on tmpfs). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "cshim.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define CHUNK (8u << 20)
#define MIN_PARALLEL (64u << 20)

typedef struct fill_job {
    int src, dst_fd;
    uint64_t off, n, dst_off;
    char *dst;
    const volatile int *cancel;
    _Atomic uint64_t lohi; /* next chunk from the front << 32 | chunks before the back's next */
    atomic_int err;
} fill_job;

static int pread_chunk(fill_job *j, uint64_t at, uint64_t len) {
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

static int sendfile_chunk(fill_job *j, uint64_t at, uint64_t len) {
    uint64_t done = 0;
    while (done < len) {
        if (lseek(j->dst_fd, (off_t)(j->dst_off + at + done), SEEK_SET) < 0) break;
        off_t in = (off_t)(j->off + at + done);
        ssize_t r = sendfile(j->dst_fd, j->src, &in, len - done);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EINVAL || errno == ENOSYS) break; /* not for this pair of files */
            return errno;
        }
        if (r == 0) return ENODATA;
        done += (uint64_t)r;
    }
    return done < len ? pread_chunk(j, at + done, len - done) : 0;
}

static int take(fill_job *j, int front, uint64_t *chunk) {
    uint64_t v = atomic_load(&j->lohi);
    for (;;) {
        uint64_t lo = v >> 32, hi = v & 0xffffffffu;
        if (lo >= hi) return 0;
        uint64_t nv = front ? (lo + 1) << 32 | hi : lo << 32 | (hi - 1);
        if (atomic_compare_exchange_weak(&j->lohi, &v, nv)) {
            *chunk = front ? lo : hi - 1;
            return 1;
        }
    }
}

static void work(fill_job *j, int front) {
    uint64_t c;
    while (!atomic_load(&j->err) && take(j, front, &c)) {
        int e;
        if (j->cancel && *j->cancel) {
            e = EINTR;
        } else {
            uint64_t at = c * CHUNK, len = j->n - at < CHUNK ? j->n - at : CHUNK;
            e = front && j->dst_fd >= 0 ? sendfile_chunk(j, at, len) : pread_chunk(j, at, len);
        }
        if (e) {
            int zero = 0;
            atomic_compare_exchange_strong(&j->err, &zero, e);
        }
    }
}

static void *back_worker(void *arg) {
    work(arg, 0);
    return NULL;
}

int npshm__fill(int src, uint64_t off, void *dst, uint64_t n, int dst_fd, uint64_t dst_off,
                const volatile int *cancel) {
    fill_job j = {.src = src, .dst_fd = dst_fd, .off = off, .n = n, .dst_off = dst_off, .dst = dst, .cancel = cancel};
    uint64_t chunks = (n + CHUNK - 1) / CHUNK;
    if (chunks > 0xffffffffu) return EFBIG;
    atomic_init(&j.lohi, chunks);
    atomic_init(&j.err, 0);
    pthread_t back;
    int started = n >= MIN_PARALLEL && sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
                  pthread_create(&back, NULL, back_worker, &j) == 0;
    work(&j, 1);
    if (started) pthread_join(back, NULL);
    if (!atomic_load(&j.err) && cancel && *cancel && n > 0) return EINTR;
    return atomic_load(&j.err);
}
