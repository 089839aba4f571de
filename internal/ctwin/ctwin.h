/* The C twin's one internal header: what its files share, and the entry points export/dispatch.c
 * calls in forked children. The twin implements docs/FORMAT.md a second time, for processes made
 * by fork(), where the Go runtime cannot be entered (docs/DESIGN.md, "Fork"); each C file is the
 * twin of the internal/core file of the same name. Never include this from outside the library. */
#ifndef NPSHM_CTWIN_H
#define NPSHM_CTWIN_H

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "npshm.h"
#include "cshim.h"

#pragma GCC visibility push(hidden)

/* ---- the constants and tables shared with the core, generated from internal/core/spec.go ---- */

#include "spec.h"


/* A string argument the entry points refuse as internal/capi's cbytes does: NULL, or longer than
 * limit bytes (read no further than limit + 1). */
static inline int bad_arg(const char *s, size_t limit) { return s == NULL || strnlen(s, limit + 1) > limit; }

/* ---- the entry points: include/npshm.h's functions in a forked child, with the same arguments
 * (npshm_create_init's init NULL is npshm_create; attach's expect 0 is npshm_attach) ---- */

int npshm__c_create_init(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                         npshm_init_fn init, void *ctx, npshm_array **out);                /* ops.c */
int npshm__c_attach(const char *name, unsigned flags, int expect, int ndim, const int64_t *shape,
                    const char *dtype, npshm_array **out);                                  /* ops.c */
int npshm__c_delete(const char *name);                                                      /* ops.c */
int npshm__c_list(void *fn, void *ctx);                                                     /* ops.c */
int npshm__c_read_file(const char *path, const char *name, unsigned flags, npshm_read_options *opts,
                       npshm_array **out);                                                  /* load.c */
int npshm__c_write_file(const char *path, const npshm_array *array);                        /* filedata.c */
unsigned npshm__c_file_format(const char *path);                                            /* filedata.c */
int npshm__c_write_file_data(const char *path, const void *data, int ndim, const int64_t *shape,
                             const char *dtype, unsigned flags);                            /* filedata.c */
int npshm__c_read_file_data(const char *path, uint64_t offset, npshm_alloc_fn alloc, void *ctx,
                            uint64_t *end);                                                 /* filedata.c */
int npshm__c_encode_file_header(void *buf, size_t cap, int ndim, const int64_t *shape, const char *dtype,
                                unsigned flags, size_t *len);                               /* filedata.c */
int npshm__c_clean_temporaries(const char *dir, int *removed);                              /* clean.c */

/* ---- fork detection and the crash-test hook (fork.c) ---- */

/* 1 in a process made by fork() from a process that had loaded the library: there every entry
 * point takes the twin instead of entering Go. */
int npshm__in_forked_child(void);

/* The crash-test hook (internal/core/testhook_linux.go): the point NPSHM_TEST_PAUSE named when the
 * library was loaded, read once. */
enum { PAUSE_NONE, PAUSE_CREATE_PUBLISH, PAUSE_REPLACE_RENAME, PAUSE_LOAD, PAUSE_WRITE };
extern int npshm__pause_at;
/* Stops the process with SIGSTOP if NPSHM_TEST_PAUSE named this point: one load and one predictable
 * branch otherwise. raise() signals the calling thread, which stops before it goes on (a signal to
 * the process may be taken by another thread while this one publishes: internal/core/testhook_linux.go). */
static inline void test_pause(int point) {
    if (__builtin_expect(npshm__pause_at == point, 0)) raise(SIGSTOP);
}

/* ---- statuses: a code, an errno and a message, as internal/core's Status ---- */

typedef struct status {
    int code;
    int errnum;
    const char *msg;
    const char *value; /* if not NULL, the bad value of an argument, quoted after msg */
    size_t value_len;  /* its length */
    long long num;
    int has_num;      /* 1: num follows msg; 2: in octal, with a leading 0; 3: in hex, with 0x */
    const char *path; /* if not NULL, follows msg (internal/core's Status.Path) */
    const char *msg2; /* if not NULL, follows path */
    const int64_t *shape; /* if not NULL, printed last as a Python tuple of shape_ndim sizes */
    int shape_ndim;
} status;

static const status OK_STATUS = {.code = 0};
static inline status st_fail(int code, const char *msg) { status s = {.code = code, .msg = msg}; return s; }
/* A failure with an errno of its own choice. */
static inline status st_errno(int code, int errnum, const char *msg) {
    status s = {.code = code, .errnum = errnum, .msg = msg};
    return s;
}
/* A message followed by a number ("... not 3"). */
static inline status st_num(int code, const char *msg, long long num) {
    status s = {.code = code, .msg = msg, .num = num, .has_num = 1};
    return s;
}
/* A message naming a bad value ("unknown dtype \"flaot64\""): the caller's, valid until reported. */
static inline status st_value(int code, const char *msg, const char *value, size_t len) {
    status s = {.code = code, .msg = msg, .value = value, .value_len = len};
    return s;
}
/* Flags outside allowed: msg and the unknown bits in hexadecimal (internal/core's FailFlags). */
static inline status st_flags(const char *msg, unsigned flags, unsigned allowed) {
    status s = {.code = NPSHM_ERR_INVALID, .msg = msg, .num = flags & ~allowed, .has_num = 3};
    return s;
}
/* A message followed by a shape ("... shape (3, 0)"): the caller's shape, valid until reported. */
static inline status st_shape(int code, const char *msg, const int64_t *shape, int ndim) {
    status s = {.code = code, .msg = msg, .shape = shape, .shape_ndim = ndim};
    return s;
}
/* "msg PATH msg2[ num]", e.g. "the lock file /dev/shm/.npshm-lock-x belongs to uid 1000". */
static inline status st_path(int code, int errnum, const char *msg, const char *path, const char *msg2, int has_num,
                             long long num) {
    status s = {.code = code, .errnum = errnum, .msg = msg, .num = num, .has_num = has_num, .path = path,
                .msg2 = msg2};
    return s;
}
/* Whether the mode flags of create and read_file (MODE_BITS) are valid (internal/core's CheckMode
 * and capi's flag checks). */
status npshm__check_mode(unsigned flags); /* status.c */
/* A failed system call: the code its errno maps to (internal/core's sysFail). */
static inline status st_sys(int errnum, const char *msg) {
    return st_errno(npshm__code_of_errno(errnum), errnum, msg);
}

/* A truncated file: FORMAT with ENODATA, which the differential tests read as "eof". */
static inline status ftrunc(const char *msg) { return st_errno(NPSHM_ERR_FORMAT, ENODATA, msg); }

/* Records s as this thread's last error (npshm__fail) and returns its code (status.c). */
int npshm__report(status s, const char *op, const char *name);

/* ---- bytes: little-endian, as the segment header stores them ---- */

static inline void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static inline void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static inline void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static inline uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* ---- dtype descriptors (dtype.c) ---- */

/* Writes the canonical descriptor of in[0..len) (not NUL-terminated) into out[0..*olen), at most
 * cap bytes, and its item size into *itemsize. */
status npshm__normalize(const char *in, size_t len, char *out, size_t cap, size_t *olen, long long *itemsize);

/* ---- segment headers (header.c) ---- */

uint32_t npshm__crc32(const unsigned char *b, size_t n); /* CRC-32 (IEEE) */

/* The data size of an array by numpy's rule (internal/core, shapeBytes): INVALID for a negative
 * dimension, for itemsize times the nonzero dimensions over 2**63-1, or a size over MAX_NBYTES. */
status npshm__shape_bytes(const int64_t *shape, int ndim, uint64_t itemsize, uint64_t *out);

/* A segment's header, decoded or to be written. */
typedef struct header {
    uint16_t flags;
    uint32_t header_len;
    uint64_t data_offset, data_nbytes, itemsize;
    int ndim;
    uint32_t creator_pid;
    int64_t created_ns;
    int64_t shape[NPSHM_MAX_NDIM];
    const char *descr;
    size_t descr_len;
    unsigned format;     /* NPSHM_FORMAT_*: npshm's, or a peer's (peers.c) */
    uint64_t trailer;    /* what follows the data: a SharedArray block (and any gap before it) */
    uint64_t header_at;  /* where a peer's header starts */
    size_t peer_len;     /* the length of a peer's header, encoded by npshm__describe_peer */
} header;
/* The length of a segment with header h: its data, and what precedes and follows it. */
static inline uint64_t seg_size(const header *h) { return h->data_offset + h->data_nbytes + h->trailer; }

/* Fills h (flags, ndim, shape, itemsize, descr, descr_len, data_nbytes) for an array of ndim
 * dimensions of shape and of dtype (any spelling; canonicalised into descr, MAX_DESCR + 1 bytes), as
 * create does before it creates anything (internal/core/header.go's Describe). */
status npshm__describe(header *h, int ndim, const int64_t *shape, const char *dtype, int fortran, char *descr);

/* Decodes and checks the header at the start of buf (len bytes of a segment seg bytes long) into h,
 * whose descr then points into buf; scratch holds MAX_DESCR bytes. */
status npshm__decode_header(const unsigned char *buf, size_t len, uint64_t seg, header *h, char *scratch);

/* ---- the peers' segments (peers.c; internal/core/peers.go) ---- */
/* Lays out h (ndim, shape, itemsize, descr, descr_len, flags and data_nbytes set) as a segment of
 * format and encodes the peer's header into buf (MAX_HEADER bytes), its length into *len: the
 * refusals of what the format cannot carry, before anything is created. */
status npshm__describe_peer(header *h, unsigned format, unsigned char *buf, size_t *len);
/* Recognises a peer's segment in fd (size bytes; its first n <= DATA_ALIGN bytes in hbuf, of
 * MAX_HEADER bytes, without npshm's magic) and decodes it into h, whose descr then points into hbuf.
 * *found is 0, with OK_STATUS, when the segment is none of the peers'. */
status npshm__read_peer_header(int fd, size_t n, uint64_t size, unsigned char *hbuf, header *h, int *found);
/* npio's dtype code of a canonical descriptor, or -1 (fileformat.c). */
int npshm__npio_code(const char *descr);
/* ---- names (name.c) ---- */

/* A resolved name: the path of its file, where its directory part ends, and the name to show. A
 * shared-memory name's directory is held by a descriptor (dir_info's fd): system calls take the
 * part of a path after dir relative to it (at, npshm__rel), never the directory's path again. */
typedef struct target {
    char path[MAX_PATH_LEN + 32];
    size_t dir;        /* length of the directory part including '/' */
    const char *display;
    int is_file;
    int cacheable;     /* an attach may use its header cache (dir_info's counted_ino; never file://) */
    int held;          /* the directory is info->fd; else paths are resolved as they are */
    int at;            /* the directory descriptor paths are relative to: info->fd, or AT_FDCWD */
    const struct dir_info *info;
} target;

/* The part of p, a path in t's directory (its path, or a temporary or lock name made from it),
 * that system calls take with t->at: all of it, or what follows the held directory's path ("."
 * for the directory itself). */
static inline const char *npshm__rel(const target *t, const char *p) {
    if (!t->held) return p;
    return p[t->dir] ? p + t->dir : ".";
}
/* s, the failure of a system call of an operation on t, or the removal of t's held directory if
 * that is why it failed (internal/core's Target.removed). */
status npshm__removed(const target *t, status s);
/* The failure of an operation on d if its descriptor no longer holds it: NOT_FOUND if the directory
 * was removed, IO (EBADF) if the descriptor was closed or names another file now (internal/core's
 * heldStatus); OK otherwise. An fstat. */
struct dir_info;
status npshm__held(const struct dir_info *d);

/* ---- the directory of shared-memory arrays (dir.c; internal/core/dir.go) ---- */

typedef struct dir_info {
    char *path;        /* ends in '/' */
    size_t path_len;
    char *nul;         /* the directory, without the '/' (but for "/") */
    char *anc;         /* the ancestor a refusal names (err.path) */
    status err;        /* why it cannot be used, or OK */
    int huge, advise;  /* the mount gives huge pages; only on MADV_HUGEPAGE (huge=advise) */
    int counted_ino;   /* tmpfs or hugetlbfs: inode numbers from a counter, never given out again */
    int fd;            /* the directory, opened by the check; -1: used by its path (/dev/shm only).
                          Never closed: another thread may use it after a set_dir (dir.c) */
    uint64_t dev, ino; /* of the directory fd holds */
    struct dir_info *next; /* the list of the dir_infos set_dir installed (dir.c) */
    char storage[];
} dir_info;

/* The directory of shared-memory arrays (never NULL). */
const dir_info *npshm__dir(void);
/* npshm_set_dir's C side: checks dir (NULL or "": /dev/shm) and makes it the directory. */
int npshm__c_set_dir(const char *dir);
/* A new descriptor of the directory of shared arrays for reading (internal/core's OpenDir), or -1
 * with the failure in *s (msg for one of open; NOT_FOUND if the held directory was removed). */
int npshm__dir_open(const char *msg, status *s);

/* Resolves a name by docs/FORMAT.md, "Names" (internal/core/name.go's ResolveName). */
status npshm__resolve(const char *name, target *t);
/* npshm__resolve without the check of the held directory's descriptor (npshm__held): the attach's,
 * which compares the device of what it opened instead (internal/core's resolveName). */
status npshm__resolve_name(const char *name, target *t);

/* Writes a fresh NUL-terminated temporary name .npshm-tmp-<pid>-<16 random hex digits> for the
 * directory dir (ending in '/') into buf (ops.c; the core's appendTempName). */
void npshm__temp_name(char *buf, size_t cap, const char *dir);

/* ---- segments (ops.c) ---- */

/* Working memory of one operation (a create, an attach, a write), like the core's Scratch: a
 * descriptor and a header. */
typedef struct work {
    char descr[MAX_DESCR + 1];
    unsigned char hbuf[MAX_HEADER];
} work;

/* A new segment, not yet published. */
typedef struct segment {
    int fd;
    void *base;        /* the mapping, of maplen bytes */
    uint64_t size;
    uint64_t maplen;   /* size, rounded up to the page size on a hugetlbfs (ops.c, map_len) */
    int named;         /* fd has the temporary name tmp (no O_TMPFILE, or linked for a replace) */
    uint64_t dev, ino; /* of the file, for the handle */
    int guard;         /* set by the caller: fd is under the fork guard (a load's segment) */
    int populate;      /* set by the caller: a create's segment (not a load's): map every page now (the
                          core's fillSegment), and on a huge-page mount align the data to HUGE_ALIGN */
    char dir[MAX_PATH_LEN + 8];
    char tmp[MAX_PATH_LEN + 64];
    const target *t;   /* set by npshm__segment_new: the paths above are t's (at, npshm__rel) */
} segment;

/* npshm_attach's work, which also gives the uid owning the segment (for read_file's foreign
 * check); the caller reports a failure under its own name. */
status npshm__attach_owner(const char *name, unsigned flags, npshm_array **out, unsigned *owner);
/* Builds a new segment for t as npshm_create does: completes h (the caller sets flags, ndim, shape,
 * itemsize, descr, descr_len and data_nbytes), encodes it into hbuf, creates an unnamed file in t's
 * directory (or one with a temporary name), applies the mode in flags, reserves and maps the
 * segment and writes the header into it. On failure nothing is left behind. */
status npshm__segment_new(const target *t, header *h, unsigned flags, unsigned char *hbuf, segment *seg);
/* Publishes seg under t's name unless the name is taken (EXISTS). */
status npshm__segment_link(const target *t, segment *seg);
/* Abandons an unpublished segment: truncates it (its memory is freed even if a forked child holds
 * its descriptor), closes it, removes its temporary name and unmaps it. */
void npshm__segment_drop(segment *seg);
/* A handle for a mapped segment at base with header h, of the file dev, ino; NULL if out of memory. */
npshm_array *npshm__make_handle(void *base, uint64_t maplen, const header *h, uint64_t dev, uint64_t ino,
                                const char *display);

/* ---- array file headers (fileformat.c) ---- */

/* A decoded npio or .npy header. */
typedef struct fheader {
    int format, ndim, fortran;
    int64_t shape[NPSHM_MAX_NDIM];
    char *descr; /* canonical, NUL-terminated, in the caller's buffer */
    uint64_t itemsize, header_len, nbytes;
} fheader;

/* The format of a file written to path: NPSHM_NPY if it ends in ".npy", else NPSHM_NPIO
 * (internal/core/fileformat.go's FormatOf). */
unsigned npshm__format_of(const char *path);
/* The header of an array record in format (NPSHM_NPY or NPSHM_NPIO) into buf (MAX_HEADER bytes);
 * its length into *len (internal/core/fileformat.go's EncodeFileHeader). */
status npshm__encode_file_header(unsigned char *buf, unsigned format, const char *descr, int ndim,
                                 const int64_t *shape, int fortran, size_t *len);

/* Decodes the header of the record at the start of buf (len bytes read of avail in the file) into
 * fh; canon (MAX_DESCR + 1 bytes) receives the descriptor. */
status npshm__decode_file_header(const unsigned char *buf, size_t len, uint64_t avail, fheader *fh, char *canon);
/* The npio header of an array, into buf (8 + 8 * NPSHM_MAX_NDIM bytes), its length into *len. */
status npshm__encode_npio_header(unsigned char *buf, const char *descr, int ndim, const int64_t *shape, int fortran,
                                 size_t *len);
/* The .npy header numpy.save writes, into buf; its length or 0. */
size_t npshm__c_encode_npy_header(unsigned char *buf, size_t cap, const char *descr, int ndim,
                                  const int64_t *shape, int fortran);

/* ---- loads (load.c) ---- */

/* The working memory of a load or a read: the file's header, its descriptor, the expected one, the
 * lock file's path, the decoded header (internal/core's FileScratch). */
typedef struct fwork {
    unsigned char file[MAX_HEADER];
    char descr[MAX_DESCR + 1];
    char expect[MAX_DESCR + 1];
    char lock[MAX_PATH_LEN + 320];
    fheader fh;
} fwork;

/* Opens an array file for reading: 0, or the status code with *s set (internal/core's openFile). */
int npshm__open_file(const char *path, int *fd, status *s);
/* Reads and decodes the header of the record at off of the file fd into w->fh (readFileHeader). */
status npshm__read_file_header(fwork *w, int fd, uint64_t off);

/* For the differential tests: the lock file path of a name (NUL-terminated into out), or -1. */
int npshm__c_lock_path(const char *name, char *out, size_t cap);

#pragma GCC visibility pop

#endif
