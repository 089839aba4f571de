/* Internal to libnpshm: the C runtime of the ABI (cshim/cgo.go says what belongs here), shared by
 * export/dispatch.c, the C twin (internal/ctwin) and internal/capi's bridge. Never include this
 * from outside the library; the public interface is include/npshm.h. */
#ifndef NPSHM_CSHIM_H
#define NPSHM_CSHIM_H

#include <stddef.h>
#include <stdint.h>

#include "npshm.h"

/* The glue is internal to the library: keep it out of the exported symbols. */
#pragma GCC visibility push(hidden)

/* An attached array. Allocated with malloc by npshm__handle_new, so that C owns it and a forked
 * child can make and free handles without touching the Go heap. */
typedef struct npshm_array {
    void *base;          /* the mapping: header, then data */
    size_t maplen;
    void *data;
    size_t nbytes;
    size_t itemsize;
    int ndim;
    int readonly;
    int fortran;
    unsigned format;     /* NPSHM_FORMAT_* */
    uint32_t magic;      /* NPSHM__HANDLE_MAGIC while the handle is live; cleared by release */
    uint64_t device;     /* st_dev and st_ino of the file it maps */
    uint64_t inode;
    int64_t created_ns;  /* the header's creation time and creator, as validated when mapped */
    int64_t creator_pid;
    int64_t shape[NPSHM_MAX_NDIM];
    char *dtype;         /* NUL-terminated, inside storage */
    char *name;          /* NUL-terminated, inside storage */
    char storage[];
} npshm_array;

/* Marks a live handle. Release clears it before freeing, so that a second release of the same
 * handle finds it cleared and fails instead of freeing twice (glibc aborts on that) or unmapping
 * whatever was mapped there since. It sits past the first 32 bytes, which glibc's allocator
 * overwrites in a freed chunk (tcache and bin pointers). */
#define NPSHM__HANDLE_MAGIC 0x6873706eu /* "npsh" */
_Static_assert(offsetof(struct npshm_array, magic) >= 32, "the magic must survive free()");

/* A handle with room for a dtype and a name of these lengths (without NUL); NULL if out of memory. */
npshm_array *npshm__handle_new(size_t dtype_len, size_t name_len);
/* npshm_release: unmaps a handle's mapping, if it has one, and frees it; NULL is ignored. A handle
 * without the magic (released already) is NPSHM_ERR_INVALID and left alone. */
int npshm__handle_free(npshm_array *a);

/* This thread's scratch area of the given size (it never changes within a process), allocated on
 * first use and freed at thread exit; NULL if out of memory. */
void *npshm__scratch(size_t size);

/* A separate scratch area, for operations that call back into user code. */
void *npshm__scratch_new(size_t size);
void npshm__scratch_free(void *scratch);

/* This thread's error message buffer (npshm_last_error), its capacity, and its errno slot
 * (npshm_last_errno). */
char *npshm__errbuf(void);
size_t npshm__errbuf_cap(void);
void npshm__set_errno(int errnum);
int npshm__errno(void);

/* Records a failure as this thread's last error, as "op("name"): what[: strerror(errnum)]", and
 * returns code. name may be NULL. */
int npshm__fail(int code, int errnum, const char *op, const char *name, const char *what);

/* Copies n bytes of the file src from offset off into dst, a fresh mapping of the file dst_fd at
 * dst_off (dst_fd -1: no descriptor, plain memory): sendfile into dst_fd (pread without one) from
 * the front and, with more than one CPU and at least 64 MiB, a second thread preading into dst from
 * the back, meeting in the middle; *cancel (if not NULL) is looked at between chunks of 8 MiB. Plain pthreads: usable from
 * Go's side of the library and in forked children alike. Returns 0, EINTR if cancelled, ENODATA if
 * the file ended early, or the errno of a failed read or write. */
int npshm__fill(int src, uint64_t off, void *dst, uint64_t n, int dst_fd, uint64_t dst_off,
                const volatile int *cancel);

/* Fill an npshm_file_info and call a user's npshm_alloc_fn: its result and the memory it gave
 * (returned by value, as a pointer argument from Go would escape to the Go heap). */
typedef struct npshm__alloc_result {
    void *data;
    int rc;
} npshm__alloc_result;
npshm__alloc_result npshm__call_alloc(void *fn, void *ctx, unsigned format, int ndim, const int64_t *shape,
                                      const char *dtype, size_t itemsize, size_t nbytes, int fortran);

/* The fork guard of loads (guard.c): openat(dirfd, path, flags, mode) with the descriptor
 * registered for closing in children forked meanwhile, returning it or -errno; and unregistering
 * and closing. */
int npshm__guard_open(int dirfd, const char *path, int flags, unsigned mode);
void npshm__guard_close(int fd);

/* Fill an npshm_info and call a user's npshm_list_fn. */
int npshm__call_list(void *fn, void *ctx, const char *name, const char *dtype, int ndim,
                     const int64_t *shape, size_t itemsize, size_t nbytes, unsigned mode,
                     unsigned uid, int64_t creator_pid, int64_t created_ns, int fortran, unsigned format);

#pragma GCC visibility pop

#endif
