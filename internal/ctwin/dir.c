/* The C twin of internal/core/dir.go and dir_linux.go: the directory of shared-memory arrays,
 * /dev/shm or NPSHM_DIR (read when the library loads) or what npshm_set_dir chose since, checked
 * by the policy of docs/RELIABILITY.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctwin.h"

#define MSG_DIR "the directory of shared arrays (" DIR_ENV ")"

static status dir_policy(const char *dir, size_t n) {
    if (n == 0 || dir[0] != '/') return st_fail(NPSHM_ERR_INVALID, MSG_DIR " must be an absolute path");
    if (n > MAX_DIR) return st_num(NPSHM_ERR_INVALID, MSG_DIR " is longer than", MAX_DIR);
    return OK_STATUS;
}

/* huge_mount: whether the tmpfs of device dev hands out huge pages, and whether on request only. */
static void huge_mount(dev_t dev, int *huge, int *advise) {
    *huge = *advise = 0;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL) return;
    char want[64], *line = NULL;
    size_t cap = 0;
    snprintf(want, sizeof want, " %u:%u ", major(dev), minor(dev));
    while (getline(&line, &cap, f) > 0) {
        /* id parent major:minor root mountpoint options [optional...] - fstype source superoptions */
        char *p = strchr(line, ' ');
        if (p == NULL || (p = strchr(p + 1, ' ')) == NULL || strncmp(p, want, strlen(want)) != 0) continue;
        char *sep = strstr(line, " - ");
        if (sep == NULL || strncmp(sep + 3, "tmpfs ", 6) != 0) continue;
        char *opts = strchr(sep + 9, ' ');
        if (opts == NULL) break;
        opts++;
        opts[strcspn(opts, " \n")] = 0;
        for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
            if (strcmp(o, "huge=always") == 0 || strcmp(o, "huge=within_size") == 0) *huge = 1;
            if (strcmp(o, "huge=advise") == 0) *huge = *advise = 1;
        }
        break;
    }
    free(line);
    fclose(f);
}

static status check_dir(dir_info *d) {
    status s = dir_policy(d->nul, strlen(d->nul));
    if (s.code) return s;
    struct stat st;
    if (lstat(d->nul, &st) != 0) return st_sys(errno, "cannot use " MSG_DIR);
    if (S_ISLNK(st.st_mode))
        return st_errno(NPSHM_ERR_PERMISSION, ELOOP, MSG_DIR " is a symbolic link, which npshm does not follow");
    if (!S_ISDIR(st.st_mode)) return st_errno(NPSHM_ERR_INVALID, ENOTDIR, MSG_DIR " is not a directory");
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return st_num(NPSHM_ERR_PERMISSION, MSG_DIR " belongs to neither root nor this user but uid", st.st_uid);
    if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
        return st_fail(NPSHM_ERR_PERMISSION, MSG_DIR " is writable by others and not sticky");
    huge_mount(st.st_dev, &d->huge, &d->advise);
    return OK_STATUS;
}

/* A new dir_info for dir (trailing '/' dropped); NULL if out of memory. Never freed: an operation
 * may be using the old one while another thread sets a new one. */
static dir_info *dir_new(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    dir_info *d = calloc(1, sizeof *d + 2 * (n + 2));
    if (d == NULL) return NULL;
    d->nul = d->storage;
    d->path = d->storage + n + 2;
    memcpy(d->nul, dir, n);
    d->nul[n] = 0;
    memcpy(d->path, dir, n);
    if (!(n == 1 && dir[0] == '/')) d->path[n++] = '/';
    d->path[n] = 0;
    d->path_len = n;
    d->err = check_dir(d);
    return d;
}

static _Atomic(dir_info *) current;

static const dir_info *no_memory(void) {
    static dir_info d = {.err = {.code = NPSHM_ERR_NO_SPACE, .errnum = ENOMEM, .msg = "out of memory"}};
    return &d;
}

const dir_info *npshm__dir(void) {
    dir_info *d = atomic_load(&current);
    if (d != NULL) return d;
    const char *env = getenv(DIR_ENV);
    d = dir_new(env && *env ? env : SHM_DIR);
    if (d == NULL) return no_memory();
    dir_info *expected = NULL;
    if (!atomic_compare_exchange_strong(&current, &expected, d)) {
        free(d);
        return expected;
    }
    return d;
}

/* Read NPSHM_DIR when the library loads, as the Go core does (os.Getenv at its start). */
__attribute__((constructor)) static void dir_init(void) { (void)npshm__dir(); }

int npshm__c_set_dir(const char *dir) {
    const char *op = "npshm_set_dir";
    if (dir != NULL && strnlen(dir, MAX_DIR + 2) > MAX_DIR + 1)
        return npshm__report(st_num(NPSHM_ERR_INVALID, MSG_DIR " is longer than", MAX_DIR), op, NULL);
    dir_info *d = dir_new(dir && *dir ? dir : SHM_DIR);
    if (d == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, dir, "out of memory");
    if (d->err.code) {
        status s = d->err;
        free(d);
        return npshm__report(s, op, dir);
    }
    atomic_store(&current, d);
    return NPSHM_OK;
}
