/* The C runtime of the ABI: handle allocation, per-thread error state and scratch memory, and the
 * call of a user's list function. Everything here is plain C and libc, which stay usable in a
 * forked child (glibc resets its malloc locks across fork). */
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
int npshm__errno(void) { return last_errno; }

npshm_array *npshm__handle_new(size_t dtype_len, size_t name_len) {
    npshm_array *a = calloc(1, sizeof(*a) + dtype_len + 1 + name_len + 1);
    if (a == NULL)
        return NULL;
    a->dtype = a->storage;
    a->name = a->storage + dtype_len + 1;
    a->magic = NPSHM__HANDLE_MAGIC;
    return a;
}

int npshm__handle_free(npshm_array *a) {
    if (a == NULL)
        return NPSHM_OK;
    /* Exchanged, so that of two racing releases one frees and the other fails. */
    if (__atomic_exchange_n(&a->magic, 0u, __ATOMIC_ACQ_REL) != NPSHM__HANDLE_MAGIC)
        return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_release", NULL, "array already released");
    if (a->base != NULL)
        (void)munmap(a->base, a->maplen);
    free(a);
    return NPSHM_OK;
}

int npshm__call_list(void *fn, void *ctx, const char *name, const char *dtype, int ndim,
                     const int64_t *shape, size_t itemsize, size_t nbytes, unsigned mode,
                     unsigned uid, int64_t creator_pid, int64_t created_ns, int fortran, unsigned format) {
    npshm_info info = {
        .name = name, .dtype = dtype, .ndim = ndim, .shape = shape, .itemsize = itemsize,
        .nbytes = nbytes, .mode = mode, .uid = uid, .creator_pid = creator_pid,
        .created_ns = created_ns, .fortran = fortran, .format = format,
    };
    return ((npshm_list_fn)fn)(&info, ctx);
}

npshm__alloc_result npshm__call_alloc(void *fn, void *ctx, unsigned format, int ndim, const int64_t *shape,
                                      const char *dtype, size_t itemsize, size_t nbytes, int fortran) {
    npshm_file_info info = {
        .format = format, .ndim = ndim, .shape = shape, .dtype = dtype, .itemsize = itemsize,
        .nbytes = nbytes, .fortran = fortran,
    };
    npshm__alloc_result r = {NULL, 0};
    r.rc = ((npshm_alloc_fn)fn)(&info, &r.data, ctx);
    return r;
}

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
