/* Internal to libnpshm: what the two halves of the C twin (ops.c and load.c) share, so that the file
 * loader builds segments, statuses and messages exactly as npshm_create does, and the entry points
 * export/dispatch.c calls in forked children. Never include this from outside the library. */
#ifndef NPSHM_CHILD_H
#define NPSHM_CHILD_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "npshm.h"
#include "npshm_shim.h"

#pragma GCC visibility push(hidden)

/* ---- limits and format constants (docs/FORMAT.md; internal/core/header.go) ---- */

#define MAX_NDIM 64
#define MAX_DESCR 65536
#define MAX_PATH_LEN 4095
#define MAX_SHM_NAME 255
#define FIXED_HEADER 64
#define MAX_HEADER (FIXED_HEADER + 8 * MAX_NDIM + MAX_DESCR + 4)
#define DATA_ALIGN 4096
#define MAX_NBYTES (1ULL << 56)
#define TEMP_PREFIX ".npshm-tmp-"

/* ---- statuses: a code, an errno and a message, as internal/core's Status ---- */

typedef struct status {
    int code;
    int errnum;
    const char *msg;
    long long num;
    int has_num;
} status;

static const status OK_STATUS = {0, 0, NULL, 0, 0};
static inline status st_fail(int code, const char *msg) { status s = {code, 0, msg, 0, 0}; return s; }
/* A message followed by a number ("... not 3"). */
static inline status st_num(int code, const char *msg, long long num) { status s = {code, 0, msg, num, 1}; return s; }
/* A failed system call: the code its errno maps to (internal/core, errnoStatus). */
static inline status st_sys(int errnum, const char *msg) {
    int code = NPSHM_ERR_IO;
    switch (errnum) {
    case EEXIST: code = NPSHM_ERR_EXISTS; break;
    case ENOENT: case ENOTDIR: code = NPSHM_ERR_NOT_FOUND; break;
    case ENOSPC: case EDQUOT: code = NPSHM_ERR_NO_SPACE; break;
    case EACCES: case EPERM: case EROFS: code = NPSHM_ERR_PERMISSION; break;
    case ENAMETOOLONG: case EISDIR: code = NPSHM_ERR_INVALID; break;
    }
    status s = {code, errnum, msg, 0, 0};
    return s;
}

/* Records s as this thread's last error (npshm__fail) and returns its code. */
int npshm__report(status s, const char *op, const char *name);

/* ---- bytes ---- */

uint32_t npshm__crc32(const unsigned char *b, size_t n); /* CRC-32 (IEEE) */

static inline void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static inline void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static inline void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static inline uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* The data size of an array (internal/core, shapeBytes): INVALID for a negative dimension or a size
 * over MAX_NBYTES. */
status npshm__shape_bytes(const int64_t *shape, int ndim, uint64_t itemsize, uint64_t *out);

/* ---- segments (internal/core/header.go, ops_linux.go) ---- */

/* A segment's header, decoded or to be written. */
typedef struct header {
    uint16_t flags;
    uint32_t header_len;
    uint64_t data_offset, data_nbytes, itemsize;
    int ndim;
    uint32_t creator_pid;
    int64_t created_ns;
    int64_t shape[MAX_NDIM];
    const char *descr;
    size_t descr_len;
} header;

/* A resolved name: the path of its file, where its directory part ends, and the name to show. */
typedef struct target {
    char path[MAX_PATH_LEN + 32];
    size_t dir;        /* length of the directory part including '/' */
    const char *display;
    int is_file;
} target;

/* Resolves a name by docs/FORMAT.md, "Names" (internal/core/name.go's ResolveName). */
status npshm__resolve(const char *name, target *t);

/* A new segment, not yet published. */
typedef struct segment {
    int fd;
    void *base;        /* the mapping, of size bytes */
    uint64_t size;
    int named;         /* fd has the temporary name tmp (no O_TMPFILE, or linked for a replace) */
    char dir[MAX_PATH_LEN + 8];
    char tmp[MAX_PATH_LEN + 64];
} segment;

/* Builds a new segment for t as npshm_create does: completes h (the caller sets flags, ndim, shape,
 * itemsize, descr, descr_len and data_nbytes), encodes it into hbuf, creates an unnamed file in t's
 * directory (or one with a temporary name), applies the mode in flags, reserves and maps the
 * segment and writes the header into it. On failure nothing is left behind. */
status npshm__segment_new(const target *t, header *h, unsigned flags, unsigned char *hbuf, segment *seg);
/* Publishes seg under t's name unless the name is taken (EXISTS). */
status npshm__segment_link(const target *t, segment *seg);
/* Abandons an unpublished segment: removes its temporary name, unmaps and closes it. */
void npshm__segment_drop(segment *seg);
/* A handle for a mapped segment at base with header h; NULL if out of memory. */
npshm_array *npshm__make_handle(void *base, const header *h, const char *display);

/* ---- array files (load.c) ---- */

/* The C path of npshm_read_file_ex and npshm_write_file, for forked children; the same rules,
 * status codes and messages as internal/core/load_linux.go. */
int npshm__c_read_file(const char *path, const char *name, unsigned flags, npshm_read_options *opts,
                       npshm_array **out);
int npshm__c_write_file(const char *path, const npshm_array *array);

/* For the differential tests against the Go core. decode: 0 or a negative status with *err set and
 * *eof 1 for a truncated file; on success the fields are filled and descr (cap bytes) holds the
 * canonical descriptor. */
int npshm__c_decode_file_header(const unsigned char *buf, size_t len, uint64_t avail, int *format, int *ndim,
                                int64_t *shape, char *descr, size_t cap, uint64_t *itemsize, int *fortran,
                                uint64_t *header_len, uint64_t *nbytes, const char **err, int *eof);
/* The lock file path of a name (NUL-terminated into out), or -1. */
int npshm__c_lock_path(const char *name, char *out, size_t cap);
/* The .npy header numpy.save writes, into buf; its length or 0. */
size_t npshm__c_encode_npy_header(unsigned char *buf, size_t cap, const char *descr, int ndim,
                                  const int64_t *shape, int fortran);

/* Defined in ops.c. */
int npshm__c_create_init(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                         npshm_init_fn init, void *ctx, npshm_array **out);

#pragma GCC visibility pop

#endif
