/* Internal to libnpshm: array files (npio, .npy) in the C path and the shared parallel fill.
 * Never include this from outside the library. Like npshm_shim.h it declares no public function,
 * since cgo copies the headers of exported files into its own. */
#ifndef NPSHM_FILES_H
#define NPSHM_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "npshm.h"

#pragma GCC visibility push(hidden)

/* Copies n bytes of the file src from offset off into dst, a fresh mapping of the file dst_fd at
 * dst_off (dst_fd -1: no descriptor): sendfile into dst_fd from the front and, with more than one
 * CPU and at least 64 MiB, a second thread preading into the mapping from the back, meeting in the
 * middle; *cancel (if not NULL) is looked at between chunks of 8 MiB. Plain pthreads: usable from
 * Go's side of the library and in forked children alike. Returns 0, EINTR if cancelled, ENODATA if
 * the file ended early, or the errno of a failed read or write. */
int npshm__fill(int src, uint64_t off, void *dst, uint64_t n, int dst_fd, uint64_t dst_off,
                const volatile int *cancel);

/* The C path of npshm_read_file_ex and npshm_write_file (cshim/npshm_child_files.c), for forked
 * children; the same rules, status codes and messages as internal/core/load_linux.go. */
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

/* Defined in npshm_child.c. */
int npshm__c_create_init(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                         npshm_init_fn init, void *ctx, npshm_array **out);

#pragma GCC visibility pop

#endif
