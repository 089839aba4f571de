/* The C twin of internal/core/filedata_linux.go and of internal/capi's file entry points:
 * npshm_write_file, npshm_write_file_data, npshm_read_file_data and npshm_encode_file_header for
 * processes made by fork(), with the same checks in the same order, status codes and messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctwin.h"


/* ---- arguments (internal/capi/files.go) ---- */

/* The path of a file function: 0, or INVALID reported (without a name) for NULL, too long or empty. */
static int bad_path(const char *op, const char *path) {
    if (bad_arg(path, MAX_PATH_LEN)) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_PATH_NULL_TOO_LONG);
    if (path[0] == 0) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_PATH_EMPTY);
    return 0;
}

/* The geometry and flags of an array in the caller's memory (capi's dataArgs): need_format makes one
 * of NPSHM_NPY and NPSHM_NPIO compulsory, else they are optional. */
static status data_args(int ndim, const int64_t *shape, const char *dtype, unsigned flags, int need_format) {
    if (ndim < 0 || ndim > NPSHM_MAX_NDIM) return st_num(NPSHM_ERR_INVALID, MSG_NDIM_MUST_BETWEEN064, ndim);
    if (ndim > 0 && shape == NULL) return st_fail(NPSHM_ERR_INVALID, MSG_SHAPE_NULL);
    if (flags & ~DATA_FLAGS) return st_flags(MSG_UNKNOWN_FLAGS_TAKES_NPSHM_FORTRAN_NPSHM, flags, DATA_FLAGS);
    unsigned format = flags & (NPSHM_NPY | NPSHM_NPIO);
    if (format == (NPSHM_NPY | NPSHM_NPIO) || (need_format && format == 0))
        return st_fail(NPSHM_ERR_INVALID, need_format ? MSG_GIVE_ONE_NPSHM_NPY_NPSHM_NPIO
                                                      : MSG_GIVE_NPSHM_NPY_NPSHM_NPIO_BOTH);
    if (bad_arg(dtype, MAX_DTYPE_ARG)) return st_fail(NPSHM_ERR_INVALID, MSG_DTYPE_NULL_TOO_LONG);
    return OK_STATUS;
}

/* npshm_file_format: a path the file functions refuse (NULL, too long) is npio, as capi's FileFormat. */
unsigned npshm__c_file_format(const char *path) {
    if (bad_arg(path, MAX_PATH_LEN)) return NPSHM_NPIO;
    return npshm__format_of(path);
}

/* ---- writing (internal/core/filedata_linux.go's WriteFile) ---- */

static status write_all(int fd, const void *p, uint64_t n, uint64_t off) {
    uint64_t done = 0;
    while (done < n) {
        uint64_t want = n - done < (1u << 30) ? n - done : (1u << 30);
        ssize_t r = pwrite(fd, (const char *)p + done, want, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            /* the kernel's read of the array's memory met a page it cannot have (write_all) */
            return st_sys(errno, errno == EFAULT ? MSG_ARRAY_MEMORY_UNREADABLE : MSG_CANNOT_WRITE_FILE);
        }
        done += (uint64_t)r;
    }
    return OK_STATUS;
}

/* Writes the array h describes, whose data is at data, to path in format: unnamed (O_TMPFILE) or
 * under a temporary name, then renamed over path. hbuf holds MAX_HEADER bytes. */
static status write_data(const char *path, const header *h, const void *data, unsigned format, unsigned char *hbuf) {
    size_t hlen = 0;
    status s = npshm__encode_file_header(hbuf, format, h->descr, h->ndim, h->shape, h->flags & FLAG_FORTRAN, &hlen);
    if (s.code) return s;
    size_t pn = strlen(path);
    if (path[pn - 1] == '/') return st_fail(NPSHM_ERR_INVALID, MSG_PATH_NAMES_DIRECTORY);
    char dir[MAX_PATH_LEN + 8], tmp[MAX_PATH_LEN + 64], proc[64];
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path + 1), path);
    else snprintf(dir, sizeof dir, "./");
    int named = 0;
    tmp[0] = 0;
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0 && access("/proc/self/fd", X_OK) != 0) { close(fd); fd = -1; errno = EOPNOTSUPP; }
    if (fd < 0) {
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return st_sys(errno, MSG_CANNOT_CREATE_FILE);
        for (int i = 0; i < 100 && fd < 0; i++) {
            npshm__temp_name(tmp, sizeof tmp, dir);
            fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
            if (fd < 0 && errno != EEXIST) return st_sys(errno, MSG_CANNOT_CREATE_TEMPORARY_FILE);
        }
        if (fd < 0) return st_fail(NPSHM_ERR_IO, MSG_CANNOT_FIND_FREE_TEMPORARY_NAME);
        named = 1;
    }
    /* The header and the first half of the data, the crash-test pause point, the rest. */
    uint64_t half = h->data_nbytes / 2;
    if ((s = write_all(fd, hbuf, hlen, 0)).code) goto out;
    if ((s = write_all(fd, data, half, hlen)).code) goto out;
    test_pause(PAUSE_WRITE);
    if ((s = write_all(fd, (const char *)data + half, h->data_nbytes - half, hlen + half)).code) goto out;
    if (!named) {
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        for (int i = 0; i < 100 && !named; i++) {
            npshm__temp_name(tmp, sizeof tmp, dir);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) named = 1;
            else if (errno != EEXIST) { s = st_sys(errno, MSG_CANNOT_NAME_NEW_ARRAY); tmp[0] = 0; goto out; }
        }
        if (!named) { s = st_fail(NPSHM_ERR_IO, MSG_CANNOT_FIND_FREE_TEMPORARY_NAME); tmp[0] = 0; goto out; }
    }
    test_pause(PAUSE_REPLACE_RENAME);
    if (rename(tmp, path) != 0) { s = st_sys(errno, MSG_CANNOT_REPLACE_ARRAY); goto out; }
    tmp[0] = 0;
out:
    close(fd);
    if (named && tmp[0]) unlink(tmp);
    return s;
}

/* npshm_write_file_data after its path is checked, for op. */
static int write_file_data(const char *op, const char *path, const void *data, int ndim, const int64_t *shape,
                           const char *dtype, unsigned flags) {
    status s = data_args(ndim, shape, dtype, flags, 0);
    if (s.code) return npshm__report(s, op, path);
    work *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, path, MSG_OUT_MEMORY);
    header h;
    s = npshm__describe(&h, ndim, shape, dtype, (flags & NPSHM_FORTRAN) != 0, w->descr);
    if (!s.code && data == NULL && h.data_nbytes > 0) s = st_fail(NPSHM_ERR_INVALID, MSG_DATA_NULL);
    if (!s.code) {
        unsigned format = flags & (NPSHM_NPY | NPSHM_NPIO);
        s = write_data(path, &h, data, format ? format : npshm__format_of(path), w->hbuf);
    }
    free(w);
    return s.code ? npshm__report(s, op, path) : NPSHM_OK;
}

/* npshm_write_file: npshm_write_file_data of the handle's array. */
int npshm__c_write_file(const char *path, const npshm_array *array) {
    const char *op = "npshm_write_file";
    int rc = bad_path(op, path);
    if (rc) return rc;
    if (array == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, path, MSG_ARRAY_NULL);
    return write_file_data(op, path, array->data, array->ndim, array->shape, array->dtype,
                           array->fortran ? NPSHM_FORTRAN : 0);
}

int npshm__c_write_file_data(const char *path, const void *data, int ndim, const int64_t *shape,
                             const char *dtype, unsigned flags) {
    const char *op = "npshm_write_file_data";
    int rc = bad_path(op, path);
    return rc ? rc : write_file_data(op, path, data, ndim, shape, dtype, flags);
}

int npshm__c_encode_file_header(void *buf, size_t cap, int ndim, const int64_t *shape, const char *dtype,
                                unsigned flags, size_t *len) {
    const char *op = "npshm_encode_file_header";
    if (len == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_LEN_NULL);
    *len = 0;
    if (buf == NULL && cap > 0) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_BUF_NULL);
    status s = data_args(ndim, shape, dtype, flags, 1);
    if (s.code) return npshm__report(s, op, NULL);
    work *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, NULL, MSG_OUT_MEMORY);
    header h;
    size_t hlen = 0;
    s = npshm__describe(&h, ndim, shape, dtype, (flags & NPSHM_FORTRAN) != 0, w->descr);
    if (!s.code)
        s = npshm__encode_file_header(w->hbuf, flags & (NPSHM_NPY | NPSHM_NPIO), h.descr, h.ndim, h.shape,
                                      h.flags & FLAG_FORTRAN, &hlen);
    if (!s.code && hlen > cap) s = st_num(NPSHM_ERR_INVALID, MSG_BUF_TOO_SMALL_HEADER_HAS, (long long)hlen);
    if (!s.code) memcpy(buf, w->hbuf, hlen);
    if (!s.code || hlen > cap) *len = hlen;
    free(w);
    return s.code ? npshm__report(s, op, NULL) : NPSHM_OK;
}

/* ---- reading into the caller's memory (internal/core/filedata_linux.go's ReadFileData) ---- */

/* The status of a fill that failed with errno e (fillFailure). */
static status fill_failure(int e) {
    if (e == EINTR) return st_errno(NPSHM_ERR_IO, EINTR, MSG_LOAD_CANCELLED);
    if (e == ENODATA) return ftrunc(MSG_FILE_SHORTER_ARRAY_HEADER_DESCRIBES);
    if (e == EFAULT) return st_sys(e, MSG_ARRAY_MEMORY_UNWRITABLE);
    return st_sys(e, MSG_CANNOT_READ_FILE);
}

int npshm__c_read_file_data(const char *path, uint64_t offset, npshm_alloc_fn alloc, void *ctx, uint64_t *end) {
    const char *op = "npshm_read_file_data";
    if (end != NULL) *end = 0;
    int rc = bad_path(op, path);
    if (rc) return rc;
    if (alloc == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, path, MSG_ALLOC_NULL);
    fwork *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, path, MSG_OUT_MEMORY);
    int fd = -1;
    status s = OK_STATUS;
    if (npshm__open_file(path, &fd, &s)) goto out;
    if ((s = npshm__read_file_header(w, fd, offset)).code) goto out;
    fheader *fh = &w->fh;
    npshm__alloc_result r = npshm__call_alloc((void *)alloc, ctx, fh->format == 2 ? NPSHM_NPY : NPSHM_NPIO, fh->ndim,
                                              fh->shape, fh->descr, fh->itemsize, fh->nbytes, fh->fortran);
    if (r.rc != 0) { s = st_fail(r.rc, MSG_ALLOC_FUNCTION_REFUSED_ARRAY); goto out; }
    if (r.data == NULL && fh->nbytes > 0) { s = st_fail(NPSHM_ERR_INVALID, MSG_ALLOC_GAVE_NO_MEMORY); goto out; }
    int e = npshm__fill(fd, offset + fh->header_len, r.data, fh->nbytes, -1, 0, NULL);
    if (e) { s = fill_failure(e); goto out; }
    if (end != NULL) *end = offset + fh->header_len + fh->nbytes;
out:
    if (fd >= 0) close(fd);
    free(w);
    return s.code ? npshm__report(s, op, path) : NPSHM_OK;
}
