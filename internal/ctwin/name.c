/* The C twin of internal/core/name.go: names resolved to paths. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>

#include "ctwin.h"


/* ---- names (internal/core/name.go) ---- */

status npshm__resolve(const char *name, target *t) {
    size_t n = strlen(name);
    if (n >= sizeof FILE_PREFIX - 1 && memcmp(name, FILE_PREFIX, sizeof FILE_PREFIX - 1) == 0) {
        const char *rest = name + sizeof FILE_PREFIX - 1;
        size_t rn = n - (sizeof FILE_PREFIX - 1);
        if (rn == 0) return st_fail(NPSHM_ERR_INVALID, MSG_FILE_NAME_HAS_EMPTY_PATH);
        if (rn > MAX_PATH_LEN) return st_fail(NPSHM_ERR_INVALID, MSG_FILE_PATH_TOO_LONG);
        if (rest[rn - 1] == '/') return st_fail(NPSHM_ERR_INVALID, MSG_FILE_PATH_NAMES_DIRECTORY);
        memcpy(t->path, rest, rn + 1);
        const char *slash = strrchr(rest, '/');
        t->dir = slash ? (size_t)(slash - rest) + 1 : 0;
        if (strncmp(rest + t->dir, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0)
            return st_fail(NPSHM_ERR_INVALID, MSG_NAMES_STARTING_NPSHM_ARE_RESERVED_NPSHM);
        t->display = name;
        t->is_file = 1;
        t->cacheable = 0;
        t->held = 0;
        t->at = AT_FDCWD;
        t->info = NULL;
        return OK_STATUS;
    }
    if (n >= sizeof SHM_PREFIX - 1 && memcmp(name, SHM_PREFIX, sizeof SHM_PREFIX - 1) == 0) {
        name += sizeof SHM_PREFIX - 1;
        n -= sizeof SHM_PREFIX - 1;
    }
    if (n > 0 && name[0] == '/') { name++; n--; }
    if (n == 0) return st_fail(NPSHM_ERR_INVALID, MSG_NAME_EMPTY);
    if (n > MAX_SHM_NAME) return st_num(NPSHM_ERR_INVALID, MSG_NAME_LONGER255_BYTES, (long long)n);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return st_fail(NPSHM_ERR_INVALID, MSG_NAME_DOT_OR_DOT_DOT);
    if (memchr(name, '/', n)) return st_fail(NPSHM_ERR_INVALID, MSG_NAME_CONTAINS_SLASH);
    if (strncmp(name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0)
        return st_fail(NPSHM_ERR_INVALID, MSG_NAMES_STARTING_NPSHM_ARE_RESERVED_NPSHM);
    const dir_info *d = npshm__dir();
    if (d->err.code) return d->err;
    memcpy(t->path, d->path, d->path_len);
    memcpy(t->path + d->path_len, name, n + 1);
    t->dir = d->path_len;
    t->display = name;
    t->is_file = 0;
    t->cacheable = d->counted_ino;
    t->held = d->fd >= 0;
    t->at = t->held ? d->fd : AT_FDCWD;
    t->info = d;
    return OK_STATUS;
}
