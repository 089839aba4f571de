/* npshm_clean_temporaries: the Go core, or in a forked child the C path (as dispatch.c). */
#include "npshm.h"
#include "npshm_shim.h"
#include "_cgo_export.h"

__attribute__((visibility("hidden"))) int npshm__c_clean_temporaries(const char *dir, int *removed);

int npshm_clean_temporaries(const char *dir, int *removed) {
    if (removed != NULL) *removed = 0;
    if (npshm__in_forked_child())
        return npshm__c_clean_temporaries(dir, removed);
    return npshm__go_clean_temporaries((char *)dir, removed);
}
