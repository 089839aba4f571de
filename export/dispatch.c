/* The public entry points of include/npshm.h that do work: each picks the Go core, or in a process
 * made by fork() the C path, because the Go runtime cannot be entered there (docs/DESIGN.md). */
#include "npshm.h"
#include "cshim.h"
#include "ctwin.h"
#include "_cgo_export.h"

int npshm_create(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                 npshm_array **out) {
    if (npshm__in_forked_child())
        return npshm__c_create_init(name, ndim, shape, dtype, flags, NULL, NULL, out);
    return npshm__go_create((char *)name, ndim, (int64_t *)shape, (char *)dtype, flags, (void **)out);
}

int npshm_attach(const char *name, unsigned flags, npshm_array **out) {
    if (npshm__in_forked_child())
        return npshm__c_attach(name, flags, 0, -1, NULL, NULL, out);
    return npshm__go_attach((char *)name, flags, (void **)out);
}

int npshm_attach_expect(const char *name, unsigned flags, int ndim, const int64_t *shape, const char *dtype,
                        npshm_array **out) {
    if (npshm__in_forked_child())
        return npshm__c_attach(name, flags, 1, ndim, shape, dtype, out);
    return npshm__go_attach_expect((char *)name, flags, ndim, (int64_t *)shape, (char *)dtype, (void **)out);
}

int npshm_delete(const char *name) {
    if (npshm__in_forked_child())
        return npshm__c_delete(name);
    return npshm__go_delete((char *)name);
}

int npshm_list(npshm_list_fn fn, void *ctx) {
    if (npshm__in_forked_child())
        return npshm__c_list((void *)fn, ctx);
    return npshm__go_list((void *)fn, ctx);
}
