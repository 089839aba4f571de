/* Statuses of the C twin (internal/core/status.go): reported as this thread's last error, in the
 * core's words. */
#define _GNU_SOURCE
#include <stdio.h>

#include "ctwin.h"

status npshm__check_mode(unsigned flags) {
    unsigned mode = (flags & MODE_BITS) >> 16;
    if (mode & ~0777u) {
        status s = {NPSHM_ERR_INVALID, 0, "mode must hold permission bits only (0 to 0777), not", mode, 2, NULL, NULL};
        return s;
    }
    return OK_STATUS;
}

int npshm__report(status s, const char *op, const char *name) {
    char what[1024], num[32] = "";
    if (s.has_num == 2)
        snprintf(num, sizeof num, " %#llo", (unsigned long long)s.num);
    else if (s.has_num)
        snprintf(num, sizeof num, " %lld", s.num);
    snprintf(what, sizeof what, "%s%s%s%s%s", s.msg, s.path ? " " : "", s.path ? s.path : "", s.msg2 ? s.msg2 : "", num);
    return npshm__fail(s.code, s.errnum, op, name, what);
}
