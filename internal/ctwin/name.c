/* The C twin of internal/core/name.go: names resolved to paths. */
#define _GNU_SOURCE
#include <string.h>

#include "ctwin.h"


/* ---- names (internal/core/name.go) ---- */

status npshm__resolve(const char *name, target *t) {
    size_t n = strlen(name);
    if (n >= 7 && memcmp(name, "file://", 7) == 0) {
        const char *rest = name + 7;
        size_t rn = n - 7;
        if (rn == 0) return st_fail(NPSHM_ERR_INVALID, "file:// name has an empty path");
        if (rn > MAX_PATH_LEN) return st_fail(NPSHM_ERR_INVALID, "file:// path too long");
        if (rest[rn - 1] == '/') return st_fail(NPSHM_ERR_INVALID, "file:// path names a directory");
        memcpy(t->path, rest, rn + 1);
        const char *slash = strrchr(rest, '/');
        t->dir = slash ? (size_t)(slash - rest) + 1 : 0;
        if (strncmp(rest + t->dir, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0)
            return st_fail(NPSHM_ERR_INVALID, "names starting with .npshm- are reserved for npshm's own files");
        t->display = name;
        t->is_file = 1;
        return OK_STATUS;
    }
    if (n >= 6 && memcmp(name, "shm://", 6) == 0) { name += 6; n -= 6; }
    if (n > 0 && name[0] == '/') { name++; n--; }
    if (n == 0) return st_fail(NPSHM_ERR_INVALID, "name is empty");
    if (n > MAX_SHM_NAME) return st_num(NPSHM_ERR_INVALID, "name longer than 255 bytes:", (long long)n);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return st_fail(NPSHM_ERR_INVALID, "name may not be '.' or '..'");
    if (memchr(name, '/', n)) return st_fail(NPSHM_ERR_INVALID, "name contains '/'");
    if (strncmp(name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0)
        return st_fail(NPSHM_ERR_INVALID, "names starting with .npshm- are reserved for npshm's own files");
    memcpy(t->path, SHM_DIR, sizeof SHM_DIR - 1);
    memcpy(t->path + 9, name, n + 1);
    t->dir = 9;
    t->display = name;
    t->is_file = 0;
    return OK_STATUS;
}
