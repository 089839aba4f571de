/* The C runtime of the ABI: handle allocation, per-thread error state and scratch memory, the call
 * of a user's list function, and the public functions that need no Go (accessors, errors,
 * msync/mlock). Everything here is plain C and libc, which stay usable in a forked
 * child (glibc resets its malloc locks across fork). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "npshm.h"
#include "cshim.h"

#define ERRBUF_CAP 1024

static _Thread_local char errbuf[ERRBUF_CAP];
static _Thread_local int last_errno;
static _Thread_local void *thread_scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *p) { free(p); }
static void scratch_key_init(void) { (void)pthread_key_create(&scratch_key, scratch_destroy); }

void *npshm__scratch(size_t size) {
    if (thread_scratch == NULL) {
        pthread_once(&scratch_once, scratch_key_init);
        thread_scratch = malloc(size);
        if (thread_scratch != NULL)
            (void)pthread_setspecific(scratch_key, thread_scratch);
    }
    return thread_scratch;
}

void *npshm__scratch_new(size_t size) { return malloc(size); }
void npshm__scratch_free(void *scratch) { free(scratch); }

char *npshm__errbuf(void) { return errbuf; }
size_t npshm__errbuf_cap(void) { return ERRBUF_CAP - 1; }
void npshm__set_errno(int errnum) { last_errno = errnum; }

npshm_array *npshm__handle_new(size_t dtype_len, size_t name_len) {
    npshm_array *a = calloc(1, sizeof(*a) + dtype_len + 1 + name_len + 1);
    if (a == NULL)
        return NULL;
    a->dtype = a->storage;
    a->name = a->storage + dtype_len + 1;
    return a;
}

int npshm__call_list(void *fn, void *ctx, const char *name, const char *dtype, int ndim,
                     const int64_t *shape, size_t itemsize, size_t nbytes, unsigned mode,
                     unsigned uid, int64_t creator_pid, int64_t created_ns, int fortran) {
    npshm_info info = {
        .name = name, .dtype = dtype, .ndim = ndim, .shape = shape, .itemsize = itemsize,
        .nbytes = nbytes, .mode = mode, .uid = uid, .creator_pid = creator_pid,
        .created_ns = created_ns, .fortran = fortran,
    };
    return ((npshm_list_fn)fn)(&info, ctx);
}

/* ---- public functions that need no Go ---- */

int npshm__fail(int code, int errnum, const char *op, const char *name, const char *what) {
    /* The same text as the Go core's Status.AppendMessage: names past 200 bytes are cut, and the
     * errno reads as Go spells it, which is strerror's with a lower-case first letter. */
    char err[128] = "";
    if (errnum != 0) {
        snprintf(err, sizeof err, ": %s", strerror(errnum));
        err[2] = (char)tolower((unsigned char)err[2]);
    }
    last_errno = errnum;
    if (name != NULL)
        snprintf(errbuf, ERRBUF_CAP, "%s(\"%.200s%s\"): %s%s", op, name, strlen(name) > 200 ? "..." : "",
                 what, err);
    else
        snprintf(errbuf, ERRBUF_CAP, "%s: %s%s", op, what, err);
    return code;
}

static int status_of_errno(int errnum) {
    switch (errnum) {
    case EACCES: case EPERM: return NPSHM_ERR_PERMISSION;
    case ENOMEM: case EAGAIN: return NPSHM_ERR_NO_SPACE;
    case EINVAL: return NPSHM_ERR_INVALID;
    default: return NPSHM_ERR_IO;
    }
}

int npshm_release(npshm_array *array) {
    if (array == NULL)
        return NPSHM_OK;
    if (array->base != NULL)
        (void)munmap(array->base, array->maplen);
    free(array);
    return NPSHM_OK;
}

void *npshm_data(const npshm_array *array) { return array ? array->data : NULL; }
size_t npshm_nbytes(const npshm_array *array) { return array ? array->nbytes : 0; }
int npshm_ndim(const npshm_array *array) { return array ? array->ndim : 0; }
const int64_t *npshm_shape(const npshm_array *array) { return array ? array->shape : NULL; }
const char *npshm_dtype(const npshm_array *array) { return array ? array->dtype : NULL; }
size_t npshm_itemsize(const npshm_array *array) { return array ? array->itemsize : 0; }
int npshm_is_readonly(const npshm_array *array) { return array ? array->readonly : 0; }
int npshm_is_fortran(const npshm_array *array) { return array ? array->fortran : 0; }
const char *npshm_name(const npshm_array *array) { return array ? array->name : NULL; }

int npshm_msync(const npshm_array *array, int flags) {
    if (array == NULL)
        return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_msync", NULL, "array is NULL");
    if ((flags & ~(NPSHM_MS_ASYNC | NPSHM_MS_SYNC | NPSHM_MS_INVALIDATE)) ||
        ((flags & NPSHM_MS_ASYNC) && (flags & NPSHM_MS_SYNC)))
        return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_msync", array->name,
                         "flags must be NPSHM_MS_ASYNC or NPSHM_MS_SYNC, optionally with NPSHM_MS_INVALIDATE");
    if (msync(array->base, array->maplen, flags) != 0)
        return npshm__fail(status_of_errno(errno), errno, "npshm_msync", array->name, "msync failed");
    return NPSHM_OK;
}

int npshm_mlock(const npshm_array *array) {
    if (array == NULL)
        return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_mlock", NULL, "array is NULL");
    if (mlock(array->base, array->maplen) != 0)
        return npshm__fail(status_of_errno(errno), errno, "npshm_mlock", array->name, "mlock failed");
    return NPSHM_OK;
}

int npshm_munlock(const npshm_array *array) {
    if (array == NULL)
        return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_munlock", NULL, "array is NULL");
    if (munlock(array->base, array->maplen) != 0)
        return npshm__fail(status_of_errno(errno), errno, "npshm_munlock", array->name, "munlock failed");
    return NPSHM_OK;
}

const char *npshm_version(void) { return NPSHM_VERSION; }

const char *npshm_status_name(int status) {
    switch (status) {
    case NPSHM_OK: return "NPSHM_OK";
    case NPSHM_ERR_EXISTS: return "NPSHM_ERR_EXISTS";
    case NPSHM_ERR_NOT_FOUND: return "NPSHM_ERR_NOT_FOUND";
    case NPSHM_ERR_INVALID: return "NPSHM_ERR_INVALID";
    case NPSHM_ERR_NO_SPACE: return "NPSHM_ERR_NO_SPACE";
    case NPSHM_ERR_FORMAT: return "NPSHM_ERR_FORMAT";
    case NPSHM_ERR_MISMATCH: return "NPSHM_ERR_MISMATCH";
    case NPSHM_ERR_PERMISSION: return "NPSHM_ERR_PERMISSION";
    case NPSHM_ERR_IO: return "NPSHM_ERR_IO";
    }
    return "unknown npshm status";
}

const char *npshm_last_error(void) { return errbuf; }
int npshm_last_errno(void) { return last_errno; }
