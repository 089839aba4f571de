/* The C twin of internal/core/load_linux.go: npshm_read_file_ex for processes made by fork(), rule
 * for rule, with the same status codes and messages (the file headers are fileformat.c's, writing
 * and reading into the caller's memory filedata.c's). internal/ctwin/difftest and tests/c/test_files.c (run in a forked child too)
 * keep the two equal. Only libc, pthreads and system calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "ctwin.h"


/* ---- names and the lock file (internal/core/name.go, load_linux.go) ---- */

static int lock_path(const target *t, char *out, size_t cap) {
    const char *base = t->path + t->dir;
    size_t bn = strlen(base);
    if (t->dir + strlen(LOCK_PREFIX) + 255 + 1 > cap) return -1;
    size_t o = 0;
    memcpy(out, t->path, t->dir);
    o = t->dir;
    memcpy(out + o, LOCK_PREFIX, strlen(LOCK_PREFIX));
    o += strlen(LOCK_PREFIX);
    if (strlen(LOCK_PREFIX) + bn <= 255) {
        memcpy(out + o, base, bn);
        o += bn;
    } else {
        memcpy(out + o, base, 200);
        o += 200;
        out[o++] = '~';
        uint64_t h = 14695981039346656037ULL;
        for (size_t i = 0; i < bn; i++) {
            h ^= (unsigned char)base[i];
            h *= 1099511628211ULL;
        }
        for (int i = 15; i >= 0; i--) out[o++] = "0123456789abcdef"[(h >> (4 * i)) & 15];
    }
    out[o] = 0;
    return 0;
}

int npshm__c_lock_path(const char *name, char *out, size_t cap) {
    target t;
    if (npshm__resolve(name, &t).code) return -1;
    return lock_path(&t, out, cap);
}

static int64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether fd is the file at path, in t's directory. */
static int same_file(const target *t, int fd, const char *path) {
    struct stat held, named;
    return fstat(fd, &held) == 0 && fstatat(t->at, npshm__rel(t, path), &named, 0) == 0 &&
           held.st_ino == named.st_ino && held.st_dev == named.st_dev;
}

/* The pid holding the flock of fd, as /proc/locks shows it, or 0 (internal/core/lockholder_linux.go). */
static long lock_holder(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return 0;
    char key[64];
    snprintf(key, sizeof key, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino);
    FILE *f = fopen("/proc/locks", "re");
    if (f == NULL) return 0;
    char line[512], arrow[8], file[64];
    long pid = 0, p;
    while (pid == 0 && fgets(line, sizeof line, f)) {
        /* "1: FLOCK  ADVISORY  WRITE 1234 00:19:5 0 EOF"; a waiter's line has "->" after "1:" */
        if (sscanf(line, "%*s %7s", arrow) == 1 && strcmp(arrow, "->") == 0) continue;
        if (sscanf(line, "%*s %*s %*s %*s %ld %63s", &p, file) == 2 && strcmp(file, key) == 0) pid = p;
    }
    fclose(f);
    return pid;
}

/* Opens the lock file, creating it (mode 0600) if there is none, and refuses one no loader of this
 * user made: a symlink, anything but a regular file, a file of another uid (internal/core's openLock). */
static status open_lock(const target *t, const char *path, int *fd_out) {
    const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    const char *rel = npshm__rel(t, path);
    for (;;) {
        int fd = npshm__guard_open(t->at, rel, flags, 0);
        if (fd == -ENOENT) {
            fd = npshm__guard_open(t->at, rel, flags | O_CREAT | O_EXCL, 0600);
            if (fd == -EEXIST) continue; /* another loader made it meanwhile */
        }
        if (fd == -ELOOP) return st_path(NPSHM_ERR_PERMISSION, ELOOP, MSG_LOCK_FILE, path, MSG_IS_SYMLINK, 0, 0);
        if (fd < 0) return st_sys(-fd, MSG_CANNOT_OPEN_LOCK_FILE);
        struct stat st;
        if (fstat(fd, &st) != 0) {
            int e = errno;
            npshm__guard_close(fd);
            return st_sys(e, MSG_CANNOT_STAT_LOCK_FILE);
        }
        if (!S_ISREG(st.st_mode)) {
            npshm__guard_close(fd);
            return st_path(NPSHM_ERR_PERMISSION, 0, MSG_LOCK_FILE, path, MSG_IS_NOT_REGULAR_FILE, 0, 0);
        }
        if (st.st_uid != geteuid()) {
            npshm__guard_close(fd);
            return st_path(NPSHM_ERR_PERMISSION, 0, MSG_LOCK_FILE, path, MSG_BELONGS_UID, 1, st.st_uid);
        }
        *fd_out = fd;
        return OK_STATUS;
    }
}

/* Locks fd: blocking, or with a cancel flag or a deadline (monotonic ns, 0: none) polling. */
static status flock_wait(int fd, const char *path, const volatile int *cancel, int64_t deadline) {
    if (cancel == NULL && deadline == 0) {
        for (;;) {
            if (flock(fd, LOCK_EX) == 0) return OK_STATUS;
            if (errno != EINTR) return st_sys(errno, MSG_CANNOT_LOCK_LOCK_FILE);
        }
    }
    int64_t wait = 50000;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) return OK_STATUS;
        if (errno != EWOULDBLOCK && errno != EINTR) return st_sys(errno, MSG_CANNOT_LOCK_LOCK_FILE);
        if (cancel != NULL && *cancel) return st_errno(NPSHM_ERR_IO, EINTR, MSG_LOAD_CANCELLED);
        int64_t pause = wait;
        if (deadline != 0) {
            int64_t left = deadline - monotonic_ns();
            if (left <= 0) {
                long pid = lock_holder(fd);
                return st_path(NPSHM_ERR_IO, ETIMEDOUT, MSG_TIMED_OUT_WAITING_LOCK_FILE, path,
                               pid > 0 ? MSG_HELD_PID : NULL, pid > 0, pid);
            }
            if (left < pause) pause = left;
        }
        struct timespec ts = {(time_t)(pause / 1000000000), (long)(pause % 1000000000)};
        nanosleep(&ts, NULL);
        wait = wait * 2 > 5000000 ? 5000000 : wait * 2;
    }
}

/* takes the lock file (internal/core's takeLock): the locked file must still be the one at path. */
static status take_lock(const target *t, const char *path, const npshm_read_options *o, int *fd_out) {
    int64_t deadline = o->timeout_ms > 0 ? monotonic_ns() + o->timeout_ms * 1000000 : 0;
    for (;;) {
        int fd;
        status s = open_lock(t, path, &fd);
        if (s.code) return npshm__removed(t, s);
        if ((s = flock_wait(fd, path, o->cancel, deadline)).code) {
            /* If nobody holds the lock after all (the wait may have been for nothing but a signal),
             * the file may be ours alone: remove it as a loader would. */
            if (flock(fd, LOCK_EX | LOCK_NB) == 0 && same_file(t, fd, path)) unlinkat(t->at, npshm__rel(t, path), 0);
            npshm__guard_close(fd);
            return s;
        }
        if (same_file(t, fd, path)) {
            *fd_out = fd;
            return OK_STATUS;
        }
        npshm__guard_close(fd); /* removed or replaced while we waited: lock the current one */
    }
}

/* Removes the lock file, then unlocks it for every holder of its open file description (a child
 * forked during the load too) and closes it. */
static void drop_lock(const target *t, const char *path, int fd) {
    unlinkat(t->at, npshm__rel(t, path), 0);
    flock(fd, LOCK_UN);
    npshm__guard_close(fd);
}

/* ---- loading (internal/core/load_linux.go) ---- */

/* ---- a new segment filled from the file (internal/core/load_linux.go's loadNew): built and
 * published by ops.c's segment functions, as npshm_create's, with the descriptor kept for
 * sendfile ---- */

static status fill_data(int src, uint64_t off, void *data, uint64_t n, int fd, uint64_t dst_off,
                         const volatile int *cancel) {
    uint64_t half = n / 2 / 4096 * 4096;
    int e = 0;
    if (half) e = npshm__fill(src, off, data, half, fd, dst_off, cancel);
    if (!e) {
        test_pause(PAUSE_LOAD);
        if (n - half) e = npshm__fill(src, off + half, (char *)data + half, n - half, fd, dst_off + half, cancel);
    }
    if (!e) return OK_STATUS;
    if (e == EINTR) return st_errno(NPSHM_ERR_IO, EINTR, MSG_LOAD_CANCELLED);
    if (e == ENODATA) return ftrunc(MSG_FILE_SHORTER_ARRAY_HEADER_DESCRIBES);
    if (e == EFAULT) return st_sys(e, MSG_ARRAY_MEMORY_UNWRITABLE);
    return st_sys(e, MSG_CANNOT_READ_FILE);
}

static status load_new(const target *t, const fheader *fh, int src, uint64_t data_off, unsigned flags,
                       const volatile int *cancel, unsigned char *hbuf, npshm_array **out) {
    header h;
    memset(&h, 0, sizeof h);
    h.flags = fh->fortran ? 1 : 0;
    h.ndim = fh->ndim;
    memcpy(h.shape, fh->shape, sizeof(int64_t) * (size_t)fh->ndim);
    h.itemsize = fh->itemsize;
    h.descr = fh->descr;
    h.descr_len = strlen(fh->descr);
    if (npshm__shape_bytes(h.shape, h.ndim, h.itemsize, &h.data_nbytes).code)
        return st_fail(NPSHM_ERR_INVALID, "array too large: its size in bytes overflows");
    segment seg;
    seg.guard = 1;
    seg.populate = 0;
    status s = npshm__segment_new(t, &h, flags, hbuf, &seg);
    if (s.code) return npshm__removed(t, s);
    (void)madvise(seg.base, seg.maplen, MADV_DONTFORK); /* a child forked during the load gets no mapping */
    if ((s = fill_data(src, data_off, (char *)seg.base + h.data_offset, h.data_nbytes, seg.fd, h.data_offset,
                       cancel)).code)
        goto fail;
    if (cancel != NULL && *cancel) { /* the last look before publishing (internal/core's loadNew) */
        s = st_errno(NPSHM_ERR_IO, EINTR, MSG_LOAD_CANCELLED);
        goto fail;
    }
    if ((s = npshm__segment_link(t, &seg)).code) goto fail;
    (void)madvise(seg.base, seg.maplen, MADV_DOFORK); /* an array like any other */
    npshm__guard_close(seg.fd);
    npshm_array *a = npshm__make_handle(seg.base, seg.maplen, &h, seg.dev, seg.ino, t->display);
    if (a == NULL) { /* published: it stays, as in internal/capi's ReadFile (no delete by name) */
        munmap(seg.base, seg.maplen);
        return st_errno(NPSHM_ERR_NO_SPACE, ENOMEM, MSG_OUT_MEMORY_ARRAY_LOADED_STAYS);
    }
    if (flags & NPSHM_READONLY) {
        (void)mprotect(seg.base, seg.maplen, PROT_READ);
        a->readonly = 1;
    }
    *out = a;
    return OK_STATUS;
fail:
    npshm__segment_drop(&seg);
    return npshm__removed(t, s);
}

static status read_header_at(fwork *w, int fd, uint64_t off) {
    struct stat st;
    if (fstat(fd, &st) != 0) return st_sys(errno, MSG_CANNOT_STAT_FILE);
    uint64_t size = (uint64_t)st.st_size;
    uint64_t avail = size > off ? size - off : 0;
    uint64_t want = avail < sizeof w->file ? avail : sizeof w->file;
    uint64_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, w->file + got, want - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR) continue;
            return st_sys(errno, MSG_CANNOT_READ_FILE);
        }
        if (r == 0) break;
        got += (uint64_t)r;
    }
    if (got < want) avail = got;
    return npshm__decode_file_header(w->file, got, avail, &w->fh, w->descr);
}

static status match_geometry(int ndim, const int64_t *shape, const char *descr, const npshm_read_options *o,
                              const char *expect) {
    if (o->expect_shape) {
        if (o->ndim != ndim) return st_num(NPSHM_ERR_MISMATCH, MSG_ARRAY_HAS_DIFFERENT_NUMBER_DIMENSIONS, ndim);
        for (int i = 0; i < ndim; i++)
            if (o->shape[i] != shape[i]) return st_num(NPSHM_ERR_MISMATCH, MSG_ARRAY_HAS_DIFFERENT_SIZE_DIMENSION, i);
    }
    if (expect != NULL && strcmp(expect, descr) != 0) return st_fail(NPSHM_ERR_MISMATCH, MSG_ARRAY_HAS_DIFFERENT_DTYPE);
    return OK_STATUS;
}

/* attach_matching attaches name and checks its owner (unless NPSHM_ACCEPT_FOREIGN is in flags), the
 * expectations and, if with_file, the file. Returns the status code, and on failure sets s. */
static int attach_matching(const char *name, unsigned flags, const npshm_read_options *o, const char *expect,
                           const fwork *w, int with_file, npshm_array **out, status *s) {
    npshm_array *a = NULL;
    unsigned owner = 0;
    *s = npshm__attach_owner(name, flags & NPSHM_READONLY, &a, &owner);
    if (s->code) return s->code;
    if (!(flags & NPSHM_ACCEPT_FOREIGN) && owner != geteuid()) {
        npshm__handle_free(a);
        *s = st_num(NPSHM_ERR_PERMISSION, MSG_EXISTING_ARRAY_BELONGS_UID, owner);
        return s->code;
    }
    *s = match_geometry(a->ndim, a->shape, a->dtype, o, expect);
    if (!s->code && with_file && w->fh.format) {
        npshm_read_options fo = NPSHM_READ_OPTIONS_INIT;
        fo.expect_shape = 1;
        fo.ndim = w->fh.ndim;
        fo.shape = w->fh.shape;
        *s = match_geometry(a->ndim, a->shape, a->dtype, &fo, w->fh.descr);
        if (!s->code && a->fortran != w->fh.fortran) {
            int big = 0;
            for (int i = 0; i < w->fh.ndim; i++)
                if (w->fh.shape[i] > 1) big++;
            if (big > 1) *s = st_fail(NPSHM_ERR_MISMATCH, MSG_ARRAY_HAS_DIFFERENT_MEMORY_ORDER_FILE);
        }
    }
    if (s->code) {
        npshm__handle_free(a);
        return s->code;
    }
    *out = a;
    return 0;
}

/* Opens the array file: O_NONBLOCK, so that a FIFO without a writer cannot block, and anything but
 * a regular file is refused before it is made blocking again (internal/core's openFile). */
static int open_file(const char *path, int *fd, status *s) {
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (*fd < 0) {
        *s = errno == ENOENT ? st_errno(NPSHM_ERR_NOT_FOUND, ENOENT, MSG_NO_SUCH_FILE)
                             : st_sys(errno, MSG_CANNOT_OPEN_FILE);
        return s->code;
    }
    struct stat st;
    *s = OK_STATUS;
    if (fstat(*fd, &st) != 0)
        *s = st_sys(errno, MSG_CANNOT_STAT_FILE);
    else if (S_ISDIR(st.st_mode))
        *s = st_errno(NPSHM_ERR_INVALID, EISDIR, MSG_FILE_IS_DIRECTORY);
    else if (!S_ISREG(st.st_mode))
        *s = st_fail(NPSHM_ERR_INVALID, MSG_FILE_NOT_REGULAR);
    else if (fcntl(*fd, F_SETFL, 0) != 0)
        *s = st_sys(errno, MSG_CANNOT_OPEN_FILE);
    if (s->code) {
        close(*fd);
        *fd = -1;
    }
    return s->code;
}

int npshm__c_read_file(const char *path, const char *name, unsigned flags, npshm_read_options *opts,
                       npshm_array **out) {
    const char *op = "npshm_read_file";
    if (bad_arg(name, MAX_NAME_ARG)) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_NAME_NULL_TOO_LONG);
    if (out == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_OUT_NULL);
    if (flags & ~READ_FLAGS)
        return npshm__report(st_flags(MSG_UNKNOWN_FLAGS_READ_FILE_TAKES_NPSHM, flags, READ_FLAGS), op, name);
    if ((flags & MODE_BITS) && !(flags & NPSHM_HAS_MODE))
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_MODE_BITS_WITHOUT_NPSHM_HAS_MODE);
    if (bad_arg(path, MAX_PATH_LEN)) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_PATH_NULL_TOO_LONG);
    npshm_read_options none = NPSHM_READ_OPTIONS_INIT;
    npshm_read_options *o = opts ? opts : &none;
    if (o->size < sizeof none)
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, name,
                           MSG_OPTIONS_SIZE_SMALLER_ANY_NPSHM_READ);
    if (o->size > sizeof none) {
        if (o->size > 1u << 16) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_OPTIONS_SIZE_IMPLAUSIBLY_LARGE);
        for (size_t i = sizeof none; i < o->size; i++)
            if (((const unsigned char *)o)[i] != 0)
                return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_OPTIONS_UNKNOWN_FIELDS);
    }
    o->attached = 0;
    o->end = 0;
    if (o->timeout_ms < -1)
        return npshm__report(st_num(NPSHM_ERR_INVALID, MSG_TIMEOUT_MS_MUST1_LIMIT0,
                                    (long long)o->timeout_ms), op, name);
    if (o->expect_shape && (o->ndim < 0 || o->ndim > NPSHM_MAX_NDIM))
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_EXPECTED_NDIM_MUST_BETWEEN064);
    if (o->expect_shape && o->ndim > 0 && o->shape == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_EXPECTED_SHAPE_NULL);
    if (o->dtype != NULL && bad_arg(o->dtype, MAX_DTYPE_ARG)) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_EXPECTED_DTYPE_TOO_LONG);
    if (flags & NPSHM_HAS_MODE) {
        status ms = npshm__check_mode(flags);
        if (ms.code) return npshm__report(ms, op, name);
    }
    fwork *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, name, MSG_OUT_MEMORY);
    memset(&w->fh, 0, sizeof w->fh);
    status s = OK_STATUS;
    int rc = 0, src = -1, lock = -1;
    const char *expect = NULL;
    target t;
    if ((s = npshm__resolve(name, &t)).code) goto report;
    if (o->dtype != NULL) {
        size_t dlen;
        long long size;
        if ((s = npshm__normalize(o->dtype, strlen(o->dtype), w->expect, MAX_DESCR, &dlen, &size)).code) goto report;
        w->expect[dlen] = 0;
        expect = w->expect;
    }
    if (lock_path(&t, w->lock, sizeof w->lock) != 0) { s = st_fail(NPSHM_ERR_INVALID, MSG_NAME_TOO_LONG_LOCK_FILE); goto report; }
    int file_first = !(o->expect_shape && expect != NULL);
    if (file_first) {
        if (open_file(path, &src, &s)) { s.value = path; s.value_len = strlen(path); goto report; } /* the message names the file */
        if ((s = read_header_at(w, src, o->offset)).code) goto report;
        o->end = o->offset + w->fh.header_len + w->fh.nbytes;
        if ((s = match_geometry(w->fh.ndim, w->fh.shape, w->fh.descr, o, expect)).code) goto report;
    }
    if (!(flags & NPSHM_EXCLUSIVE)) {
        rc = attach_matching(name, flags, o, expect, w, file_first, out, &s);
        if (rc == 0) { o->attached = 1; goto done; }
        if (rc != NPSHM_ERR_NOT_FOUND) goto report;
    }
    if (!file_first) {
        if (open_file(path, &src, &s)) { s.value = path; s.value_len = strlen(path); goto report; } /* the message names the file */
        if ((s = read_header_at(w, src, o->offset)).code) goto report;
        o->end = o->offset + w->fh.header_len + w->fh.nbytes;
        if ((s = match_geometry(w->fh.ndim, w->fh.shape, w->fh.descr, o, expect)).code) goto report;
    }
    if ((s = take_lock(&t, w->lock, o, &lock)).code) goto report;
    s = OK_STATUS;
    if (flags & NPSHM_EXCLUSIVE) {
        if (faccessat(t.at, npshm__rel(&t, t.path), F_OK, 0) == 0) { s = st_errno(NPSHM_ERR_EXISTS, EEXIST, MSG_ARRAY_NAME_EXISTS); goto report; }
        if (errno != ENOENT) { s = st_sys(errno, MSG_CANNOT_CHECK_ARRAY_SNAME); goto report; }
    } else {
        rc = attach_matching(name, flags, o, expect, w, 1, out, &s);
        if (rc == 0) { o->attached = 1; goto done; }
        if (rc != NPSHM_ERR_NOT_FOUND) goto report;
    }
    {
        npshm_array *a = NULL;
        s = load_new(&t, &w->fh, src, o->offset + w->fh.header_len, flags, o->cancel, w->file, &a);
        if (s.code == NPSHM_ERR_EXISTS && !(flags & NPSHM_EXCLUSIVE)) {
            s = OK_STATUS;
            rc = attach_matching(name, flags, o, expect, w, 1, out, &s);
            if (rc == 0) { o->attached = 1; goto done; }
            goto report;
        }
        if (s.code) goto report;
        *out = a;
        rc = 0;
        goto done;
    }
report:
    rc = npshm__report(s, op, name);
    o->attached = 0;
done:
    if (lock >= 0) drop_lock(&t, w->lock, lock);
    if (src >= 0) close(src);
    free(w);
    return rc;
}

/* ---- for filedata.c, which reads files into the caller's memory as loads read them ---- */

int npshm__open_file(const char *path, int *fd, status *s) { return open_file(path, fd, s); }
status npshm__read_file_header(fwork *w, int fd, uint64_t off) { return read_header_at(w, fd, off); }
