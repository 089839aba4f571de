/* The array-file entry points of include/npshm.h: the Go core, or in a forked child the C path
 * (internal/ctwin/load.c), as in dispatch.c. */
#include <stddef.h>

#include "npshm.h"
#include "cshim.h"
#include "ctwin.h"
#include "_cgo_export.h"

/* internal/capi/capi_files.go mirrors this layout. */
_Static_assert(offsetof(npshm_read_options, ndim) == 4 && offsetof(npshm_read_options, shape) == 8 &&
                   offsetof(npshm_read_options, dtype) == 16 && offsetof(npshm_read_options, offset) == 24 &&
                   offsetof(npshm_read_options, cancel) == 32 && offsetof(npshm_read_options, attached) == 40 &&
                   offsetof(npshm_read_options, end) == 48 && sizeof(npshm_read_options) == 56,
               "npshm_read_options layout");

int npshm_read_file_ex(const char *path, const char *name, unsigned flags, npshm_read_options *opts,
                       npshm_array **out) {
    if (npshm__in_forked_child())
        return npshm__c_read_file(path, name, flags, opts, out);
    return npshm__go_read_file((char *)path, (char *)name, flags, (void *)opts, (void **)out);
}

int npshm_read_file(const char *path, const char *name, unsigned flags, npshm_array **out) {
    return npshm_read_file_ex(path, name, flags, NULL, out);
}

int npshm_write_file(const char *path, const npshm_array *array) {
    if (npshm__in_forked_child())
        return npshm__c_write_file(path, array);
    return npshm__go_write_file((char *)path, (void *)array);
}
