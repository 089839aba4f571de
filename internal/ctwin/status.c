/* Statuses of the C twin (internal/core/status.go): reported as this thread's last error, in the
 * core's words. */
#define _GNU_SOURCE
#include <stdio.h>

#include "ctwin.h"

int npshm__report(status s, const char *op, const char *name) {
    char what[256];
    if (s.has_num)
        snprintf(what, sizeof what, "%s %lld", s.msg, s.num);
    else
        snprintf(what, sizeof what, "%s", s.msg);
    return npshm__fail(s.code, s.errnum, op, name, what);
}
