/* Statuses of the C twin (internal/core/status.go): reported as this thread's last error, in the
 * core's words. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "ctwin.h"

/* Appends to b (cap bytes) at *n, bounded like the core's boundedWriter. */
static void put(char *b, size_t cap, size_t *n, const char *fmt, long long v) {
    if (*n + 1 >= cap) return;
    int r = snprintf(b + *n, cap - *n, fmt, v);
    if (r > 0) *n = *n + (size_t)r < cap ? *n + (size_t)r : cap - 1;
}

static void puts_(char *b, size_t cap, size_t *n, const char *str) {
    if (*n + 1 >= cap) return;
    int r = snprintf(b + *n, cap - *n, "%s", str);
    if (r > 0) *n = *n + (size_t)r < cap ? *n + (size_t)r : cap - 1;
}

/* Appends value (len bytes) cut at 200 bytes and then followed by "...", as the core's quoted. */
static void quoted(char *b, size_t cap, size_t *n, const char *value, size_t len) {
    if (*n + 1 >= cap) return;
    size_t take = len > 200 ? 200 : len;
    if (take > cap - 1 - *n) take = cap - 1 - *n;
    memcpy(b + *n, value, take);
    *n += take;
    b[*n] = 0;
    if (len > 200) puts_(b, cap, n, "...");
}

status npshm__check_mode(unsigned flags) {
    unsigned mode = (flags & MODE_BITS) >> MODE_SHIFT;
    if (mode & ~(unsigned)PERM_BITS)
        return st_path(NPSHM_ERR_INVALID, 0, MSG_MODE_MUST_HOLD_PERMISSION_BITS_ONLY, NULL, NULL, 2,
                       mode);
    return OK_STATUS;
}

int npshm__report(status s, const char *op, const char *name) {
    char what[1024]; /* as long as the message itself can be (cshim.c's ERRBUF_CAP) */
    size_t n = 0;
    what[0] = 0;
    puts_(what, sizeof what, &n, s.msg);
    if (s.value) {
        put(what, sizeof what, &n, " \"", 0);
        quoted(what, sizeof what, &n, s.value, s.value_len);
        put(what, sizeof what, &n, "\"", 0);
    }
    if (s.path) {
        puts_(what, sizeof what, &n, " ");
        puts_(what, sizeof what, &n, s.path);
    }
    if (s.msg2) puts_(what, sizeof what, &n, s.msg2);
    if (s.has_num == 3)
        put(what, sizeof what, &n, " %#llx", s.num);
    else if (s.has_num == 2)
        put(what, sizeof what, &n, " %#llo", s.num);
    else if (s.has_num)
        put(what, sizeof what, &n, " %lld", s.num);
    if (s.shape != NULL) {
        put(what, sizeof what, &n, " (", 0);
        for (int i = 0; i < s.shape_ndim; i++) put(what, sizeof what, &n, i ? ", %lld" : "%lld", (long long)s.shape[i]);
        put(what, sizeof what, &n, s.shape_ndim == 1 ? ",)" : ")", 0);
    }
    return npshm__fail(s.code, s.errnum, op, name, what);
}
