/* The C twin of internal/core/ops_linux.go: create, attach, delete and list, and the segments that
 * create and the file loader (load.c) build. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "ctwin.h"


/* ---- operations (internal/core/ops_linux.go) ---- */

static _Atomic unsigned long temp_counter;

/* A fresh temporary name in dir, .npshm-tmp-<pid>-<16 hex digits> (internal/core's appendTempName):
 * random from getrandom, so that another user cannot take the names a process will use; should
 * getrandom fail, from a counter and the clock. */
void npshm__temp_name(char *buf, size_t cap, const char *dir) {
    uint64_t v;
    /* The system call, not glibc's getrandom(), which the oldest glibc the wheels serve (2.17)
     * lacks; 1 is GRND_NONBLOCK. A kernel without it (before 3.17) takes the fallback. */
    if (syscall(SYS_getrandom, &v, sizeof v, 1) != (long)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)(atomic_fetch_add(&temp_counter, 1) + 1) * 0x9e3779b97f4a7c15ULL ^
            ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    }
    snprintf(buf, cap, "%s" TEMP_PREFIX "%d-%016llx", dir, (int)getpid(), (unsigned long long)v);
}


static void dir_of(const target *t, char *dir, size_t cap) {
    if (t->dir == 0)
        snprintf(dir, cap, "./");
    else
        snprintf(dir, cap, "%.*s", (int)t->dir, t->path);
}

/* advise_huge asks for huge pages for a mapping of 2 MiB or more in the directory of shared arrays
 * when its mount gives them only on request (huge=advise): the core's adviseHuge. */
static void advise_huge(void *base, uint64_t len) {
    if (len >= HUGE_ALIGN && npshm__dir()->advise) (void)madvise(base, len, MADV_HUGEPAGE);
}

/* populate_write maps every page now, POPULATE_CHUNK bytes per call: the core's populateWrite. */
static void populate_write(void *base, uint64_t len) {
    for (uint64_t off = 0; off < len; off += POPULATE_CHUNK) {
        uint64_t n = len - off < POPULATE_CHUNK ? len - off : POPULATE_CHUNK;
        if (madvise((char *)base + off, n, 23 /* MADV_POPULATE_WRITE */) != 0) return;
    }
}

/* The length of a mapping of size bytes of the file fd (st its fstat): size, but on a hugetlbfs,
 * which maps whole huge pages, rounded up to its page size (internal/core's mapLen): munmap,
 * mprotect and madvise with a shorter length fail there, and the mapping stays. */
static uint64_t map_len(int fd, uint64_t size, const struct stat *st) {
    if (st->st_blksize <= 4096) return size;
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0 || fs.f_type != 0x958458f6 /* HUGETLBFS_MAGIC */ || fs.f_bsize <= 4096) return size;
    uint64_t b = (uint64_t)fs.f_bsize;
    return (size + b - 1) / b * b;
}

npshm_array *npshm__make_handle(void *base, uint64_t maplen, const header *h, uint64_t dev, uint64_t ino,
                                const char *display) {
    npshm_array *a = npshm__handle_new(h->descr_len, strlen(display));
    if (a == NULL) return NULL;
    a->base = base;
    a->device = dev;
    a->inode = ino;
    a->created_ns = h->created_ns;
    a->creator_pid = h->creator_pid;
    a->maplen = maplen;
    a->format = h->format;
    a->data = (char *)base + h->data_offset;
    a->nbytes = h->data_nbytes;
    a->itemsize = h->itemsize;
    a->ndim = h->ndim;
    a->fortran = (h->flags & FLAG_FORTRAN) != 0;
    memcpy(a->shape, h->shape, sizeof(int64_t) * (size_t)h->ndim);
    memcpy(a->dtype, h->descr, h->descr_len);
    strcpy(a->name, display);
    return a;
}

/* open (path in the segment's target's directory) and close, under the fork guard for a load's
 * segment (internal/core/forkguard_linux.go). */
static int seg_open(const segment *seg, const char *path, int flags, unsigned mode) {
    const char *rel = npshm__rel(seg->t, path);
    if (!seg->guard) return openat(seg->t->at, rel, flags, mode);
    int fd = npshm__guard_open(seg->t->at, rel, flags, mode);
    if (fd < 0) {
        errno = -fd;
        return -1;
    }
    return fd;
}
static void seg_close(const segment *seg, int fd) {
    if (seg->guard)
        npshm__guard_close(fd);
    else
        close(fd);
}

status npshm__segment_new(const target *t, header *h, unsigned flags, unsigned char *hbuf, segment *seg) {
    seg->t = t;
    size_t hlen = h->peer_len; /* a peer's header, encoded already (npshm__describe_peer) */
    if (h->format != NPSHM_FORMAT_NPSHM) goto encoded;
    h->trailer = h->header_at = 0;
    h->header_len = (uint32_t)(FIXED_HEADER + 8 * h->ndim + h->descr_len);
    h->data_offset = ((uint64_t)h->header_len + 4 + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
    if (!t->is_file && npshm__dir()->huge && h->data_nbytes >= HUGE_ALIGN)
        h->data_offset = HUGE_ALIGN; /* FORMAT.md: data in huge pages of its own (creates and loads) */
    h->creator_pid = (uint32_t)getpid();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h->created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;

    memcpy(hbuf, MAGIC, 8);
    put16(hbuf + 8, 1);
    put16(hbuf + 10, h->flags);
    put32(hbuf + 12, h->header_len);
    put64(hbuf + 16, h->data_offset);
    put64(hbuf + 24, h->data_nbytes);
    put64(hbuf + 32, h->itemsize);
    put32(hbuf + 40, (uint32_t)h->ndim);
    put32(hbuf + 44, (uint32_t)h->descr_len);
    put32(hbuf + CREATOR_PID_OFFSET, h->creator_pid);
    put32(hbuf + 52, 0);
    put64(hbuf + 56, (uint64_t)h->created_ns);
    for (int i = 0; i < h->ndim; i++) put64(hbuf + FIXED_HEADER + 8 * i, (uint64_t)h->shape[i]);
    memcpy(hbuf + FIXED_HEADER + 8 * h->ndim, h->descr, h->descr_len);
    put32(hbuf + h->header_len, npshm__crc32(hbuf, h->header_len));
    hlen = h->header_len + 4;
encoded:
    seg->size = seg_size(h);
    seg->base = MAP_FAILED;
    seg->named = 0;
    seg->tmp[0] = 0;

    dir_of(t, seg->dir, sizeof seg->dir);
    static atomic_int proc_ok; /* 0 unknown, 1 yes, 2 no: can /proc/self/fd publish O_TMPFILE files? */
    seg->fd = seg_open(seg, seg->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (seg->fd >= 0 && atomic_load(&proc_ok) == 0)
        atomic_store(&proc_ok, access("/proc/self/fd", X_OK) == 0 ? 1 : 2);
    if (seg->fd >= 0 && atomic_load(&proc_ok) == 2) {
        seg_close(seg, seg->fd);
        seg->fd = -1;
        errno = EOPNOTSUPP;
    }
    if (seg->fd < 0) {
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
            return npshm__removed(t, st_sys(errno, MSG_CANNOT_CREATE_ARRAY_SDIRECTORY_ENTRY));
        for (int i = 0; i < 100 && seg->fd < 0; i++) {
            npshm__temp_name(seg->tmp, sizeof seg->tmp, seg->dir);
            seg->fd = seg_open(seg, seg->tmp, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
            if (seg->fd < 0 && errno != EEXIST)
                return npshm__removed(t, st_sys(errno, MSG_CANNOT_CREATE_TEMPORARY_FILE));
        }
        if (seg->fd < 0) return st_fail(NPSHM_ERR_IO, MSG_CANNOT_FIND_FREE_TEMPORARY_NAME);
        seg->named = 1;
    }
    status s;
    if ((flags & NPSHM_HAS_MODE) && fchmod(seg->fd, (flags >> MODE_SHIFT) & PERM_BITS) != 0) {
        s = st_sys(errno, MSG_CANNOT_SET_MODE);
        goto fail;
    }
    int e = -1, reserve = !(h->flags & FLAG_UNRESERVED);
    errno = EOPNOTSUPP;
    while (reserve && (e = fallocate(seg->fd, 0, 0, (off_t)seg->size)) != 0 && errno == EINTR) {}
    if (!reserve) {
        /* hugetlbfs sizes a file in whole huge pages only (EINVAL), and reserves the pages of a
         * shared mapping when it maps them anyway: there the segment is reserved (the core's
         * fillSegment). */
        if (ftruncate(seg->fd, (off_t)seg->size) != 0) {
            if (errno != EINVAL) {
                s = st_sys(errno, MSG_CANNOT_SIZE_FILE);
                goto fail;
            }
            while ((e = fallocate(seg->fd, 0, 0, (off_t)seg->size)) != 0 && errno == EINTR) {}
            if (e != 0) {
                s = st_sys(errno, MSG_CANNOT_RESERVE_MEMORY_ARRAY);
                goto fail;
            }
        }
        /* The header is written through the mapping below: its pages are reserved, else a full
         * /dev/shm would raise SIGBUS in npshm's own write. */
        while ((e = fallocate(seg->fd, 0, 0, (off_t)(h->header_at + hlen))) != 0 && errno == EINTR) {}
        if (e != 0 && !(t->is_file && (errno == EOPNOTSUPP || errno == ENOSYS))) {
            s = st_sys(errno, MSG_CANNOT_RESERVE_MEMORY_ARRAY);
            goto fail;
        }
    } else if (e != 0) {
        if (!(t->is_file && (errno == EOPNOTSUPP || errno == ENOSYS))) {
            s = st_sys(errno, MSG_CANNOT_RESERVE_MEMORY_ARRAY);
            goto fail;
        }
        if (ftruncate(seg->fd, (off_t)seg->size) != 0) {
            s = st_sys(errno, MSG_CANNOT_SIZE_FILE);
            goto fail;
        }
    }
    struct stat st;
    if (fstat(seg->fd, &st) != 0) {
        s = st_sys(errno, MSG_CANNOT_STAT_ARRAY);
        goto fail;
    }
    seg->dev = (uint64_t)st.st_dev;
    seg->ino = (uint64_t)st.st_ino;
    seg->maplen = map_len(seg->fd, seg->size, &st);
    seg->base = mmap(NULL, seg->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, seg->fd, 0);
    if (seg->base == MAP_FAILED) {
        s = st_sys(errno, MSG_CANNOT_MAP_ARRAY);
        goto fail;
    }
    if (!t->is_file) advise_huge(seg->base, seg->maplen);
    if (seg->populate && reserve && !t->is_file) populate_write(seg->base, seg->maplen);
    memcpy((char *)seg->base + h->header_at, hbuf, hlen);
    return OK_STATUS;
fail:
    npshm__segment_drop(seg);
    return s;
}

status npshm__segment_link(const target *t, segment *seg) {
    if (!seg->named) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", seg->fd);
        if (linkat(AT_FDCWD, proc, t->at, npshm__rel(t, t->path), AT_SYMLINK_FOLLOW) != 0)
            return errno == EEXIST ? st_errno(NPSHM_ERR_EXISTS, EEXIST, MSG_ARRAY_NAME_EXISTS)
                                   : st_sys(errno, MSG_CANNOT_PUBLISH_ARRAY_UNDER_NAME);
        return OK_STATUS;
    }
    if (linkat(t->at, npshm__rel(t, seg->tmp), t->at, npshm__rel(t, t->path), 0) != 0)
        return errno == EEXIST ? st_errno(NPSHM_ERR_EXISTS, EEXIST, MSG_ARRAY_NAME_EXISTS)
                               : st_sys(errno, MSG_CANNOT_PUBLISH_ARRAY_UNDER_NAME);
    unlinkat(t->at, npshm__rel(t, seg->tmp), 0);
    seg->tmp[0] = 0;
    return OK_STATUS;
}

void npshm__segment_drop(segment *seg) {
    (void)ftruncate(seg->fd, 0); /* frees the memory, even if a child forked meanwhile holds the fd */
    seg_close(seg, seg->fd);
    if (seg->named && seg->tmp[0]) unlinkat(seg->t->at, npshm__rel(seg->t, seg->tmp), 0);
    if (seg->base != MAP_FAILED) munmap(seg->base, seg->maplen);
}

static status c_create(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                       npshm_init_fn init, void *ctx, npshm_array **out, char *descr, unsigned char *hbuf) {
    target t;
    status s = npshm__resolve(name, &t);
    if (s.code) return s;
    header h;
    memset(&h, 0, sizeof h);
    size_t dlen;
    long long itemsize;
    if ((s = npshm__normalize(dtype, strlen(dtype), descr, MAX_DESCR, &dlen, &itemsize)).code) return s;
    if ((flags & NPSHM_HAS_MODE) && (s = npshm__check_mode(flags)).code) return s;
    if ((flags & NPSHM_NO_RESERVE) && (flags & FORMAT_FLAGS)) return st_fail(NPSHM_ERR_INVALID, MSG_NO_RESERVE_NEEDS_NPSHM_FORMAT);
    h.ndim = ndim;
    memcpy(h.shape, shape, sizeof(int64_t) * (size_t)ndim);
    h.itemsize = (uint64_t)itemsize;
    h.descr = descr;
    h.descr_len = dlen;
    h.flags = (flags & NPSHM_FORTRAN) ? FLAG_FORTRAN : 0;
    if (flags & NPSHM_NO_RESERVE) h.flags |= FLAG_UNRESERVED;
    if ((s = npshm__shape_bytes(shape, ndim, h.itemsize, &h.data_nbytes)).code) return s;
    if ((flags & FORMAT_FLAGS) && (s = npshm__describe_peer(&h, flags & FORMAT_FLAGS, hbuf, &h.peer_len)).code) return s;
    segment seg;
    seg.guard = 0;
    seg.populate = 1;
    if ((s = npshm__segment_new(&t, &h, flags, hbuf, &seg)).code) return s;
    /* The handle is made before the array is published: short of memory for it afterwards, the
     * only clean-up would be a delete by name, which could remove another process's array. */
    npshm_array *a = npshm__make_handle(seg.base, seg.maplen, &h, seg.dev, seg.ino, t.display);
    if (a == NULL) {
        s = st_errno(NPSHM_ERR_NO_SPACE, ENOMEM, MSG_OUT_MEMORY);
        goto fail;
    }
    if (init != NULL) {
        int r = init((char *)seg.base + h.data_offset, (size_t)h.data_nbytes, ctx);
        if (r != 0) {
            s = st_errno(r, 0, MSG_INIT_FUNCTION_ABANDONED_ARRAY);
            goto fail;
        }
    }
    test_pause(PAUSE_CREATE_PUBLISH);
    if (!(flags & NPSHM_REPLACE)) {
        if ((s = npshm__segment_link(&t, &seg)).code) goto fail;
    } else {
        if (!seg.named) {
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", seg.fd);
            int linked = 0;
            for (int i = 0; i < 100 && !linked; i++) {
                npshm__temp_name(seg.tmp, sizeof seg.tmp, seg.dir);
                if (linkat(AT_FDCWD, proc, t.at, npshm__rel(&t, seg.tmp), AT_SYMLINK_FOLLOW) == 0)
                    linked = 1;
                else if (errno != EEXIST) {
                    s = st_sys(errno, MSG_CANNOT_NAME_NEW_ARRAY);
                    seg.tmp[0] = 0;
                    goto fail;
                }
            }
            if (!linked) { s = st_fail(NPSHM_ERR_IO, MSG_CANNOT_FIND_FREE_TEMPORARY_NAME); seg.tmp[0] = 0; goto fail; }
            seg.named = 1; /* so that a failed rename removes the temporary name */
        }
        test_pause(PAUSE_REPLACE_RENAME);
        if (renameat(t.at, npshm__rel(&t, seg.tmp), t.at, npshm__rel(&t, t.path)) != 0) {
            s = st_sys(errno, MSG_CANNOT_REPLACE_ARRAY);
            goto fail;
        }
    }
    close(seg.fd);
    *out = a;
    return OK_STATUS;
fail:
    if (a != NULL) {
        a->base = NULL; /* the segment's mapping is segment_drop's to unmap */
        npshm__handle_free(a);
    }
    npshm__segment_drop(&seg);
    return npshm__removed(&t, s);
}

/* header_len is how much of a segment of size bytes starting with buf (n bytes of it at hand) the
 * header decoder gets: the first HEAD_PROBE bytes, or the whole header if it is longer and fits. */
static size_t header_len(const unsigned char *buf, size_t n, uint64_t size) {
    if (n >= FIXED_HEADER && memcmp(buf, MAGIC, 8) == 0) {
        uint32_t hl = get32(buf + 12);
        size_t need = (size_t)hl + 4;
        if (hl >= FIXED_HEADER && need <= MAX_HEADER && need > n && need <= size) return need;
    }
    return n;
}

static status read_header_of(int fd, const struct stat *st, header *h, unsigned char *hbuf, char *scratch);

/* read_header stats fd and reads and validates its header into h (pointing into hbuf). */
static status read_header(int fd, struct stat *st, header *h, unsigned char *hbuf, char *scratch) {
    if (fstat(fd, st) != 0) return st_sys(errno, MSG_CANNOT_STAT_ARRAY);
    return read_header_of(fd, st, h, hbuf, scratch);
}

/* read_header_of reads and validates the header of fd, which fstat described in st. */
static status read_header_of(int fd, const struct stat *st, header *h, unsigned char *hbuf, char *scratch) {
    if (!S_ISREG(st->st_mode)) return st_fail(NPSHM_ERR_FORMAT, MSG_NOT_ARRAY_NOT_REGULAR_FILE);
    uint64_t size = (uint64_t)st->st_size;
    size_t want = size < HEAD_PROBE ? (size_t)size : HEAD_PROBE;
    ssize_t n = pread(fd, hbuf, want, 0);
    if (n < 0) return st_sys(errno, MSG_CANNOT_READ_ARRAY_SHEADER);
    size_t need = header_len(hbuf, (size_t)n, size);
    if (need > (size_t)n) {
        n = pread(fd, hbuf, need, 0);
        if (n < 0) return st_sys(errno, MSG_CANNOT_READ_ARRAY_SHEADER);
    }
    status s = npshm__decode_header(hbuf, (size_t)n, size, h, scratch);
    if (s.code == NPSHM_ERR_FORMAT) { /* not npshm's header (FORMAT.md, "Telling the formats apart"): a peer's? */
        int found;
        size_t head = (size_t)n < DATA_ALIGN ? (size_t)n : DATA_ALIGN;
        status p = npshm__read_peer_header(fd, head, size, hbuf, h, &found);
        if (found) return p;
    }
    return s;
}

/* Sparse segments (internal/core/sparse_linux.go): a segment with holes is backed before it is
 * handed out, so that touching it cannot raise SIGBUS on a full /dev/shm. */
static const status SPARSE_NO_SPACE = {.code = NPSHM_ERR_NO_SPACE, .errnum = ENOSPC,
                                       .msg = MSG_CANNOT_RESERVE_MEMORY_ARRAY_SSPARSE};

static int is_sparse(const struct stat *st) {
    return (uint64_t)st->st_blocks * 512 < ((uint64_t)st->st_size + PAGE - 1) / PAGE * PAGE;
}

static status reserve_sparse(int fd, uint64_t size) {
    int e;
    while ((e = fallocate(fd, 0, 0, (off_t)size)) != 0 && errno == EINTR) {}
    if (e == 0 || errno == EOPNOTSUPP || errno == ENOSYS) return OK_STATUS;
    return st_sys(errno, MSG_CANNOT_RESERVE_MEMORY_ARRAY_SSPARSE);
}

static status populate_sparse(int fd, void *base, uint64_t len, const struct stat *st) {
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0 || fs.f_type != 0x01021994 /* TMPFS_MAGIC */) return OK_STATUS;
    uint64_t holes = ((uint64_t)st->st_size + PAGE - 1) / PAGE * PAGE - (uint64_t)st->st_blocks * 512;
    uint64_t mapped = (len + PAGE - 1) / PAGE * PAGE;
    if (holes > mapped) holes = mapped;
    if ((uint64_t)fs.f_bavail * (uint64_t)fs.f_bsize < holes) return SPARSE_NO_SPACE;
    if (madvise(base, len, 22 /* MADV_POPULATE_READ */) != 0 && errno != EINVAL) return SPARSE_NO_SPACE;
    return OK_STATUS;
}

/* Headers an attach validated, per thread (issue 13: an attach's pread of the header was a sixth of
 * its time). An entry is used again only for the same file (device and inode) with the same size
 * and the same modification and change times, to the nanosecond, as fstat reports them now: npshm
 * never changes a published header, and anything that writes the file with write(2), truncates or
 * fallocates it changes those times; a new file under the name has another inode. Writes through a
 * mapping do not change the times on tmpfs: a header overwritten that way (by whoever may write the
 * segment) goes unnoticed by the processes that validated it before, which keep its geometry, the
 * one that matches the file's size. Headers longer than HCACHE_BYTES, and the peers' (their
 * descriptor is made far into hbuf), are not kept. Only names in a tmpfs or hugetlbfs directory are
 * cached (target.cacheable), never file:// paths: a disk filesystem gives a deleted file's inode
 * number to the next new file at once, and with coarse timestamps (1 s with ext4's 128-byte inodes,
 * a jiffy before Linux 6.13) a same-size array made in the same tick matched the deleted one's key. */
#define HCACHE_SLOTS 8
#define HCACHE_BYTES 512
typedef struct hcache {
    uint64_t dev, ino;
    int64_t size, mtime_s, mtime_ns, ctime_s, ctime_ns;
    int used;
    header h; /* its descr points into buf */
    unsigned char buf[HCACHE_BYTES];
} hcache;

static hcache *hcache_slot(hcache *c, const struct stat *st) {
    return &c[(st->st_ino ^ st->st_dev) % HCACHE_SLOTS];
}

static int hcache_get(hcache *c, const struct stat *st, header *h) {
    hcache *e = hcache_slot(c, st);
    if (!e->used || e->dev != (uint64_t)st->st_dev || e->ino != (uint64_t)st->st_ino || e->size != st->st_size ||
        e->mtime_s != st->st_mtim.tv_sec || e->mtime_ns != st->st_mtim.tv_nsec ||
        e->ctime_s != st->st_ctim.tv_sec || e->ctime_ns != st->st_ctim.tv_nsec)
        return 0;
    *h = e->h;
    return 1;
}

static void hcache_put(hcache *c, const struct stat *st, const header *h, const unsigned char *hbuf) {
    size_t n = (size_t)h->header_len + 4, at = (size_t)(h->descr - (const char *)hbuf);
    if (at + h->descr_len + 1 > n) n = at + h->descr_len + 1; /* a peer's: at PEER_DESCR_AT, not kept */
    if (n > HCACHE_BYTES) return;
    hcache *e = hcache_slot(c, st);
    e->dev = (uint64_t)st->st_dev;
    e->ino = (uint64_t)st->st_ino;
    e->size = st->st_size;
    e->mtime_s = st->st_mtim.tv_sec;
    e->mtime_ns = st->st_mtim.tv_nsec;
    e->ctime_s = st->st_ctim.tv_sec;
    e->ctime_ns = st->st_ctim.tv_nsec;
    memcpy(e->buf, hbuf, n);
    e->h = *h;
    e->h.descr = (const char *)e->buf + (h->descr - (const char *)hbuf);
    e->used = 1;
}

/* An attach's working memory (work's fields), with the headers this thread's attaches validated. */
typedef struct attach_mem {
    char descr[MAX_DESCR + 1];
    unsigned char hbuf[MAX_HEADER];
    hcache cache[HCACHE_SLOTS];
} attach_mem;

static status c_attach(const char *name, unsigned flags, int expect_geom, int ndim, const int64_t *shape,
                       const char *dtype, npshm_array **out, char *descr, unsigned char *hbuf, unsigned *owner,
                       hcache *cache) {
    target t;
    status s = npshm__resolve_name(name, &t);
    if (s.code) return s;
    int ro = (flags & NPSHM_READONLY) != 0;
    /* Never follow a symlink at the name, never block opening a FIFO (internal/core's Attach). */
    int fd = openat(t.at, npshm__rel(&t, t.path), (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return npshm__removed(&t, st_errno(NPSHM_ERR_NOT_FOUND, ENOENT, MSG_NO_ARRAY_OF_THAT_NAME));
        if (errno == ELOOP)
            return npshm__removed(&t, st_errno(NPSHM_ERR_PERMISSION, ELOOP, MSG_NAME_IS_SYMLINK));
        return npshm__removed(&t, st_sys(errno, MSG_CANNOT_OPEN_ARRAY));
    }
    struct stat st;
    header h;
    if (fstat(fd, &st) != 0) {
        s = st_sys(errno, MSG_CANNOT_STAT_ARRAY);
        close(fd);
        return s;
    }
    /* Not on the held directory's device: check its descriptor (internal/core's attachFd). */
    if (t.held && (uint64_t)st.st_dev != t.info->dev && (s = npshm__held(t.info)).code) {
        close(fd);
        return s;
    }
    if (!t.cacheable) cache = NULL;
    if (cache == NULL || !S_ISREG(st.st_mode) || !hcache_get(cache, &st, &h)) {
        s = read_header_of(fd, &st, &h, hbuf, descr);
        if (s.code) { close(fd); return npshm__removed(&t, s); }
        if (cache) hcache_put(cache, &st, &h, hbuf);
    }
    if (owner) *owner = st.st_uid;
    uint64_t size = seg_size(&h);
    /* A sparse segment is backed, unless it says it was made so on purpose (NPSHM_NO_RESERVE) by
     * this user: another user's word for it is not taken (RELIABILITY.md). */
    int sparse = is_sparse(&st) && !((h.flags & FLAG_UNRESERVED) && st.st_uid == geteuid());
    if (sparse && !ro && (s = reserve_sparse(fd, size)).code) { close(fd); return s; }
    uint64_t maplen = map_len(fd, size, &st);
    void *base = mmap(NULL, maplen, ro ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int map_errno = errno;
    if (base != MAP_FAILED && sparse && ro && (s = populate_sparse(fd, base, maplen, &st)).code) {
        munmap(base, maplen);
        close(fd);
        return s;
    }
    close(fd);
    if (base == MAP_FAILED) return st_sys(map_errno, MSG_CANNOT_MAP_ARRAY);
    if (!t.is_file) advise_huge(base, maplen);
    if (expect_geom) {
        if (ndim >= 0) {
            if (ndim != h.ndim) s = st_num(NPSHM_ERR_MISMATCH, MSG_ARRAY_HAS_DIFFERENT_NUMBER_DIMENSIONS, h.ndim);
            for (int i = 0; !s.code && i < ndim; i++)
                if (shape[i] != h.shape[i]) s = st_num(NPSHM_ERR_MISMATCH, MSG_ARRAY_HAS_DIFFERENT_SIZE_DIMENSION, i);
        }
        if (!s.code && dtype != NULL) {
            size_t dlen;
            long long itemsize;
            s = npshm__normalize(dtype, strlen(dtype), descr, MAX_DESCR, &dlen, &itemsize);
            if (!s.code && (dlen != h.descr_len || memcmp(descr, h.descr, dlen) != 0))
                s = st_fail(NPSHM_ERR_MISMATCH, MSG_ARRAY_HAS_DIFFERENT_DTYPE);
        }
        if (s.code) { munmap(base, maplen); return s; }
    }
    npshm_array *a = npshm__make_handle(base, maplen, &h, (uint64_t)st.st_dev, (uint64_t)st.st_ino, t.display);
    if (a == NULL) {
        munmap(base, maplen);
        return st_errno(NPSHM_ERR_NO_SPACE, ENOMEM, MSG_OUT_MEMORY);
    }
    a->readonly = ro;
    *out = a;
    return OK_STATUS;
}

/* npshm_create_init's C path; init NULL is npshm_create. */
int npshm__c_create_init(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                         npshm_init_fn init, void *ctx, npshm_array **out) {
    const char *op = init ? "npshm_create_init" : "npshm_create";
    if (bad_arg(name, MAX_NAME_ARG)) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_NAME_NULL_TOO_LONG);
    if (out == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_OUT_NULL);
    if (ndim < 0 || ndim > NPSHM_MAX_NDIM) return npshm__report(st_num(NPSHM_ERR_INVALID, MSG_NDIM_MUST_BETWEEN064, ndim), op, name);
    if (ndim > 0 && shape == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_SHAPE_NULL);
    if (flags & ~CREATE_FLAGS)
        return npshm__report(st_flags(MSG_UNKNOWN_FLAGS_NPSHM_READONLY_APPLIES_ATTACH, flags, CREATE_FLAGS), op, name);
    if ((flags & MODE_BITS) && !(flags & NPSHM_HAS_MODE))
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_MODE_BITS_WITHOUT_NPSHM_HAS_MODE);
    if ((flags & FORMAT_FLAGS) == FORMAT_FLAGS)
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_TWO_FORMATS);
    if (bad_arg(dtype, MAX_DTYPE_ARG)) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_DTYPE_NULL_TOO_LONG);
    work *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, name, MSG_OUT_MEMORY);
    status s = c_create(name, ndim, shape, dtype, flags, init, ctx, out, w->descr, w->hbuf);
    free(w);
    return s.code ? npshm__report(s, op, name) : NPSHM_OK;
}

/* This thread's working memory for attaches, kept for the thread's life (npshm_attach is called in
 * loops: a malloc of its 130 KiB each time costs an mmap and a munmap until glibc adapts). An attach
 * calls no user code, so nothing else on the thread uses it meanwhile. */
static pthread_key_t attach_work_key;
static pthread_once_t attach_work_once = PTHREAD_ONCE_INIT;
static __thread attach_mem *attach_work_mem;

static void attach_work_key_init(void) { (void)pthread_key_create(&attach_work_key, free); }

static attach_mem *attach_work(void) {
    if (attach_work_mem == NULL) {
        (void)pthread_once(&attach_work_once, attach_work_key_init);
        attach_work_mem = malloc(sizeof(attach_mem));
        if (attach_work_mem != NULL) (void)pthread_setspecific(attach_work_key, attach_work_mem);
    }
    return attach_work_mem;
}

int npshm__c_attach(const char *name, unsigned flags, int expect_geom, int ndim, const int64_t *shape,
                    const char *dtype, npshm_array **out) {
    const char *op = expect_geom ? "npshm_attach_expect" : "npshm_attach";
    if (bad_arg(name, MAX_NAME_ARG)) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_NAME_NULL_TOO_LONG);
    if (out == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_OUT_NULL);
    if (flags & ~ATTACH_FLAGS)
        return npshm__report(st_flags(MSG_UNKNOWN_FLAGS_ONLY_NPSHM_READONLY_APPLIES, flags, ATTACH_FLAGS), op, name);
    if (expect_geom && (ndim < -1 || ndim > NPSHM_MAX_NDIM))
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_EXPECTED_NDIM_MUST1_ANY_BETWEEN);
    if (expect_geom && ndim > 0 && shape == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_EXPECTED_SHAPE_NULL);
    if (expect_geom && dtype != NULL && bad_arg(dtype, MAX_DTYPE_ARG))
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, MSG_EXPECTED_DTYPE_TOO_LONG);
    attach_mem *w = attach_work();
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, name, MSG_OUT_MEMORY);
    status s = c_attach(name, flags, expect_geom, ndim, shape, expect_geom ? dtype : NULL, out, w->descr, w->hbuf, NULL, w->cache);
    return s.code ? npshm__report(s, op, name) : NPSHM_OK;
}

status npshm__attach_owner(const char *name, unsigned flags, npshm_array **out, unsigned *owner) {
    work *w = malloc(sizeof *w);
    if (w == NULL) return st_errno(NPSHM_ERR_NO_SPACE, ENOMEM, MSG_OUT_MEMORY);
    status s = c_attach(name, flags, 0, -1, NULL, NULL, out, w->descr, w->hbuf, owner, NULL);
    free(w);
    return s;
}

int npshm__c_delete(const char *name) {
    const char *op = "npshm_delete";
    if (bad_arg(name, MAX_NAME_ARG)) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_NAME_NULL_TOO_LONG);
    target t;
    status s = npshm__resolve(name, &t);
    if (s.code) return npshm__report(s, op, name);
    if (unlinkat(t.at, npshm__rel(&t, t.path), 0) != 0) {
        s = errno == ENOENT ? st_errno(NPSHM_ERR_NOT_FOUND, ENOENT, MSG_NO_ARRAY_OF_THAT_NAME)
                            : st_sys(errno, MSG_CANNOT_DELETE_ARRAY);
        return npshm__report(npshm__removed(&t, s), op, name);
    }
    return NPSHM_OK;
}

int npshm__c_list(void *fn, void *ctx) {
    const char *op = "npshm_list";
    if (fn == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_FN_NULL);
    work *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, NULL, MSG_OUT_MEMORY);
    status s;
    int dfd = npshm__dir_open(MSG_CANNOT_READ_DEV_SHM, &s);
    if (dfd < 0) {
        free(w);
        return npshm__report(s, op, NULL);
    }
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        int e = errno;
        close(dfd);
        free(w);
        return npshm__report(st_sys(e, MSG_CANNOT_READ_DEV_SHM), op, NULL);
    }
    int rc = NPSHM_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if ((de->d_type != DT_REG && de->d_type != DT_UNKNOWN) || strcmp(de->d_name, ".") == 0 ||
            strcmp(de->d_name, "..") == 0 || strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0)
            continue;
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0) continue;
        struct stat st;
        header h;
        status s = read_header(fd, &st, &h, w->hbuf, w->descr);
        close(fd);
        if (s.code) continue;
        memcpy(w->descr, h.descr, h.descr_len);
        w->descr[h.descr_len] = 0;
        rc = npshm__call_list(fn, ctx, de->d_name, w->descr, h.ndim, h.shape, h.itemsize, h.data_nbytes,
                              st.st_mode & 07777, st.st_uid, h.creator_pid, h.created_ns, h.flags & FLAG_FORTRAN,
                              h.format);
        if (rc != 0) break;
    }
    closedir(d);
    free(w);
    return rc;
}
