/* Every public function of include/npshm.h, and nothing else: the public symbols of libnpshm.so
 * are defined here and only here.
 *
 * Those that do work pick an implementation: the Go core through internal/capi (the npshm__go_*
 * functions of exports.go), or in a process made by fork() the C twin (internal/ctwin), because
 * the Go runtime cannot be entered there (docs/DESIGN.md, "Fork"). The others need no Go at all:
 * they read the handle or this thread's error state (cshim), or make one system call. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

#include "npshm.h"
#include "cshim.h"
#include "ctwin.h"
#include "_cgo_export.h"

/* internal/capi/files.go mirrors this layout. */
_Static_assert(offsetof(npshm_read_options, expect_shape) == 8 && offsetof(npshm_read_options, ndim) == 12 &&
                   offsetof(npshm_read_options, shape) == 16 && offsetof(npshm_read_options, dtype) == 24 &&
                   offsetof(npshm_read_options, offset) == 32 && offsetof(npshm_read_options, cancel) == 40 &&
                   offsetof(npshm_read_options, timeout_ms) == 48 && offsetof(npshm_read_options, attached) == 56 &&
                   offsetof(npshm_read_options, end) == 64 && sizeof(npshm_read_options) == 72,
               "npshm_read_options layout");

/* ---- arrays: the Go core, or in a forked child the C twin ---- */

/* Attaching is C in every process: an attach is a few system calls, and entering Go (cgo's
 * transition, the scheduler) cost a quarter of its time (issue 13). The twin is the core's equal
 * (internal/ctwin/difftest), so the result is the same. */

int npshm_create(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                 npshm_array **out) {
    if (npshm__in_forked_child())
        return npshm__c_create_init(name, ndim, shape, dtype, flags, NULL, NULL, out);
    return npshm__go_create((char *)name, ndim, (int64_t *)shape, (char *)dtype, flags, (void **)out);
}

int npshm_attach(const char *name, unsigned flags, npshm_array **out) {
    return npshm__c_attach(name, flags, 0, -1, NULL, NULL, out);
}

int npshm_attach_expect(const char *name, unsigned flags, int ndim, const int64_t *shape, const char *dtype,
                        npshm_array **out) {
    return npshm__c_attach(name, flags, 1, ndim, shape, dtype, out);
}

int npshm_release(npshm_array *array) { return npshm__handle_free(array); }

int npshm_delete(const char *name) {
    if (npshm__in_forked_child())
        return npshm__c_delete(name);
    return npshm__go_delete((char *)name);
}

/* ---- the handle: plain field reads, no call into Go ---- */

void *npshm_data(const npshm_array *array) { return array ? array->data : NULL; }
size_t npshm_nbytes(const npshm_array *array) { return array ? array->nbytes : 0; }
int npshm_ndim(const npshm_array *array) { return array ? array->ndim : 0; }
const int64_t *npshm_shape(const npshm_array *array) { return array ? array->shape : NULL; }
const char *npshm_dtype(const npshm_array *array) { return array ? array->dtype : NULL; }
size_t npshm_itemsize(const npshm_array *array) { return array ? array->itemsize : 0; }
int npshm_is_readonly(const npshm_array *array) { return array ? array->readonly : 0; }
int npshm_is_fortran(const npshm_array *array) { return array ? array->fortran : 0; }
unsigned npshm_format(const npshm_array *array) { return array ? array->format : 0; }
const char *npshm_name(const npshm_array *array) { return array ? array->name : NULL; }
int64_t npshm_created_ns(const npshm_array *array) { return array ? array->created_ns : 0; }
int64_t npshm_creator_pid(const npshm_array *array) { return array ? array->creator_pid : 0; }
uint64_t npshm_device(const npshm_array *array) { return array ? array->device : 0; }
uint64_t npshm_inode(const npshm_array *array) { return array ? array->inode : 0; }

/* ---- the mapping: one system call each ---- */

int npshm_msync(const npshm_array *array, int flags) {
    if (array == NULL)
        return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_msync", NULL, MSG_ARRAY_NULL);
    if ((flags & ~(NPSHM_MS_ASYNC | NPSHM_MS_SYNC | NPSHM_MS_INVALIDATE)) ||
        ((flags & NPSHM_MS_ASYNC) && (flags & NPSHM_MS_SYNC)))
        return npshm__report(st_num(NPSHM_ERR_INVALID, "flags must be NPSHM_MS_ASYNC or NPSHM_MS_SYNC, "
                                    "optionally with NPSHM_MS_INVALIDATE, not", flags), "npshm_msync", array->name);
    if (msync(array->base, array->maplen, flags) != 0)
        return npshm__fail(npshm__mem_code_of_errno(errno), errno, "npshm_msync", array->name, MSG_MSYNC_FAILED);
    return NPSHM_OK;
}

int npshm_mlock(const npshm_array *array) {
    if (array == NULL)
        return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_mlock", NULL, MSG_ARRAY_NULL);
    if (mlock(array->base, array->maplen) != 0)
        return npshm__fail(npshm__mem_code_of_errno(errno), errno, "npshm_mlock", array->name, MSG_MLOCK_FAILED);
    return NPSHM_OK;
}

int npshm_munlock(const npshm_array *array) {
    if (array == NULL)
        return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_munlock", NULL, MSG_ARRAY_NULL);
    if (munlock(array->base, array->maplen) != 0)
        return npshm__fail(npshm__mem_code_of_errno(errno), errno, "npshm_munlock", array->name, MSG_MUNLOCK_FAILED);
    return NPSHM_OK;
}

/* ---- listing, errors, names, the version ---- */

int npshm_list(npshm_list_fn fn, void *ctx) {
    if (npshm__in_forked_child())
        return npshm__c_list((void *)fn, ctx);
    return npshm__go_list((void *)fn, ctx);
}

const char *npshm_last_error(void) { return npshm__errbuf(); }
int npshm_last_errno(void) { return npshm__errno(); }

const char *npshm_status_name(int status) {
    return status <= 0 && -status < STATUS_NAMES ? npshm__status_names[-status] : UNKNOWN_STATUS_NAME;
}

const char *npshm_version(void) { return NPSHM_VERSION; }
int npshm_version_number(void) { return NPSHM_VERSION_NUMBER; }

/* ---- leftovers, filled creation, array files: the Go core, or in a forked child the C twin ---- */

/* The directory is kept on both sides, the core's and the twin's, each reading NPSHM_DIR when the
 * library loads: npshm_set_dir sets both (a forked child, which never enters Go, only the twin's). */
int npshm_set_dir(const char *dir) {
    int rc = npshm__c_set_dir(dir);
    if (rc != NPSHM_OK || npshm__in_forked_child()) return rc;
    return npshm__go_set_dir((char *)dir);
}

const char *npshm_dir(void) { return npshm__dir()->nul; }

int npshm_clean_temporaries(const char *dir, int *removed) {
    if (removed != NULL) *removed = 0;
    if (npshm__in_forked_child())
        return npshm__c_clean_temporaries(dir, removed);
    return npshm__go_clean_temporaries((char *)dir, removed);
}

int npshm_create_init(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                      npshm_init_fn init, void *ctx, npshm_array **out) {
    if (init == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_create_init", name, MSG_INIT_NULL);
    if (npshm__in_forked_child())
        return npshm__c_create_init(name, ndim, shape, dtype, flags, init, ctx, out);
    return npshm__go_create_init((char *)name, ndim, (int64_t *)shape, (char *)dtype, flags, (void *)init, ctx,
                                 (void **)out);
}

int npshm_read_file(const char *path, const char *name, unsigned flags, npshm_array **out) {
    return npshm_read_file_ex(path, name, flags, NULL, out);
}

int npshm_read_file_ex(const char *path, const char *name, unsigned flags, npshm_read_options *opts,
                       npshm_array **out) {
    if (npshm__in_forked_child())
        return npshm__c_read_file(path, name, flags, opts, out);
    return npshm__go_read_file((char *)path, (char *)name, flags, (void *)opts, (void **)out);
}

int npshm_write_file(const char *path, const npshm_array *array) {
    if (npshm__in_forked_child())
        return npshm__c_write_file(path, array);
    return npshm__go_write_file((char *)path, (void *)array);
}

unsigned npshm_file_format(const char *path) {
    if (npshm__in_forked_child())
        return npshm__c_file_format(path);
    return npshm__go_file_format((char *)path);
}

int npshm_write_file_data(const char *path, const void *data, int ndim, const int64_t *shape, const char *dtype,
                          unsigned flags) {
    if (npshm__in_forked_child())
        return npshm__c_write_file_data(path, data, ndim, shape, dtype, flags);
    return npshm__go_write_file_data((char *)path, (void *)data, ndim, (int64_t *)shape, (char *)dtype, flags);
}

int npshm_read_file_data(const char *path, uint64_t offset, npshm_alloc_fn alloc, void *ctx, uint64_t *end) {
    if (npshm__in_forked_child())
        return npshm__c_read_file_data(path, offset, alloc, ctx, end);
    return npshm__go_read_file_data((char *)path, offset, (void *)alloc, ctx, end);
}

int npshm_encode_file_header(void *buf, size_t cap, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                             size_t *len) {
    if (npshm__in_forked_child())
        return npshm__c_encode_file_header(buf, cap, ndim, shape, dtype, flags, len);
    return npshm__go_encode_file_header(buf, cap, ndim, (int64_t *)shape, (char *)dtype, flags, len);
}
