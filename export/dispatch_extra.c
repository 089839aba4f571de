/* Public entry points added after dispatch.c: the Go core, or in a forked child the C path. */
#include "npshm.h"
#include "cshim.h"
#include "ctwin.h"
#include "_cgo_export.h"

int npshm_clean_temporaries(const char *dir, int *removed) {
    if (removed != NULL) *removed = 0;
    if (npshm__in_forked_child())
        return npshm__c_clean_temporaries(dir, removed);
    return npshm__go_clean_temporaries((char *)dir, removed);
}

int npshm_create_init(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                      npshm_init_fn init, void *ctx, npshm_array **out) {
    if (init == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, "npshm_create_init", name, "init is NULL");
    if (npshm__in_forked_child())
        return npshm__c_create_init(name, ndim, shape, dtype, flags, init, ctx, out);
    return npshm__go_create_init((char *)name, ndim, (int64_t *)shape, (char *)dtype, flags, (void *)init, ctx,
                                 (void **)out);
}
