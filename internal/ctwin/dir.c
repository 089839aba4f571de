/* The C twin of internal/core/dir.go and dir_linux.go: the directory of shared-memory arrays,
 * /dev/shm or NPSHM_DIR (read when the library loads) or what npshm_set_dir chose since, checked
 * by the policy of docs/RELIABILITY.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctwin.h"


static status dir_policy(const char *dir, size_t n) {
    if (n == 0 || dir[0] != '/') return st_fail(NPSHM_ERR_INVALID, MSG_DIR_MUST_BE_ABSOLUTE_PATH);
    if (n > MAX_DIR) return st_num(NPSHM_ERR_INVALID, MSG_DIR_IS_LONGER_THAN, MAX_DIR);
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

/* What entry_rule finds wrong with a directory of the path. */
enum { DIR_SAFE, DIR_SYMLINK, DIR_NOT_DIR, DIR_FOREIGN, DIR_NOT_STICKY };

static int entry_rule(const struct stat *st) {
    if (S_ISLNK(st->st_mode)) return DIR_SYMLINK;
    if (!S_ISDIR(st->st_mode)) return DIR_NOT_DIR;
    if (st->st_uid != 0 && st->st_uid != geteuid()) return DIR_FOREIGN;
    if ((st->st_mode & 022) && !(st->st_mode & S_ISVTX)) return DIR_NOT_STICKY;
    return DIR_SAFE;
}

/* The refusal of the directory itself. */
static status dir_refusal(int bad, const struct stat *st) {
    switch (bad) {
    case DIR_SYMLINK:
        return st_errno(NPSHM_ERR_PERMISSION, ELOOP, MSG_DIR_IS_SYMLINK_NPSHM_DOES_NOT_FOLLOW);
    case DIR_NOT_DIR: return st_errno(NPSHM_ERR_INVALID, ENOTDIR, MSG_DIR_IS_NOT_DIRECTORY);
    case DIR_FOREIGN:
        return st_num(NPSHM_ERR_PERMISSION, MSG_DIR_BELONGS_NEITHER_ROOT_NOR_USER, st->st_uid);
    }
    return st_fail(NPSHM_ERR_PERMISSION, MSG_DIR_WRITABLE_BY_OTHERS_NOT_STICKY);
}

/* The refusal of the directory because of its ancestor anc (which the dir_info keeps). */
static status ancestor_refusal(int bad, const struct stat *st, const char *anc) {
    status s = st_fail(NPSHM_ERR_PERMISSION, MSG_DIR_SHARED_ARRAYS_IS_IN);
    s.path = anc;
    switch (bad) {
    case DIR_SYMLINK: s.errnum = ELOOP; s.msg2 = MSG_WHICH_IS_SYMLINK_NPSHM_FOLLOWS_NONE; break;
    case DIR_NOT_DIR:
        s.code = NPSHM_ERR_INVALID;
        s.errnum = ENOTDIR;
        s.msg2 = MSG_WHICH_IS_NOT_DIRECTORY;
        break;
    case DIR_FOREIGN:
        s.msg2 = MSG_WHICH_BELONGS_NEITHER_ROOT_NOR_USER;
        s.num = st->st_uid;
        s.has_num = 1;
        break;
    default: s.msg2 = MSG_WHICH_OTHERS_MAY_WRITE_NOT_STICKY;
    }
    return s;
}

/* counted_ino: whether dir's filesystem numbers inodes from a counter (tmpfs, hugetlbfs), so that a
 * new file never gets a deleted one's inode number: what the attach cache (ops.c) relies on. Disk
 * filesystems (ext4, xfs) give a freed number out again at once. */
static int counted_ino(const char *dir) {
    struct statfs fs;
    return statfs(dir, &fs) == 0 && (fs.f_type == 0x01021994 /* TMPFS_MAGIC */ || fs.f_type == 0x958458f6 /* HUGETLBFS_MAGIC */);
}

/* check_dir: internal/core's checkDir. Every ancestor, from the root down, then the directory
 * itself, each in d->anc (which keeps the one a refusal names); then the directory is opened into
 * d->fd without following a symbolic link, and must be the one the path led to. */
static status check_dir(dir_info *d) {
    size_t n = strlen(d->nul);
    status s = dir_policy(d->nul, n);
    if (s.code) return s;
    struct stat st;
    if (n == sizeof SHM_DIR - 2 && memcmp(d->nul, SHM_DIR, n) == 0) { /* the system's own: see checkDir */
        int fd = open(d->nul, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) == 0) {
            d->fd = fd;
            d->dev = (uint64_t)st.st_dev;
            d->ino = (uint64_t)st.st_ino;
            huge_mount(st.st_dev, &d->huge, &d->advise);
        } else if (fd >= 0) {
            close(fd);
        }
        d->counted_ino = counted_ino(d->nul);
        return OK_STATUS;
    }
    for (size_t i = 1; i <= n; i++) {
        int last = i == n;
        if (!last && !(i == 1 && n > 1) && !(d->nul[i] == '/' && d->nul[i - 1] != '/')) continue;
        memcpy(d->anc, d->nul, i);
        d->anc[i] = 0;
        if (lstat(d->anc, &st) != 0) return st_sys(errno, MSG_CANNOT_USE_DIR_SHARED_ARRAYS);
        int bad = entry_rule(&st);
        if (bad != DIR_SAFE) return last ? dir_refusal(bad, &st) : ancestor_refusal(bad, &st, d->anc);
    }
    int fd = open(d->nul, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return st_sys(errno, MSG_CANNOT_USE_DIR_SHARED_ARRAYS);
    struct stat held;
    if (fstat(fd, &held) != 0 || held.st_dev != st.st_dev || held.st_ino != st.st_ino) {
        close(fd);
        return st_fail(NPSHM_ERR_IO, MSG_DIR_CHANGED_WHILE_CHECKED);
    }
    d->fd = fd;
    d->dev = (uint64_t)st.st_dev;
    d->ino = (uint64_t)st.st_ino;
    huge_mount(st.st_dev, &d->huge, &d->advise);
    d->counted_ino = counted_ino(d->nul);
    return OK_STATUS;
}

/* A new dir_info for dir (trailing '/' dropped); NULL if out of memory. Never freed: an operation
 * may be using the old one while another thread sets a new one. */
static dir_info *dir_new(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    dir_info *d = calloc(1, sizeof *d + 3 * (n + 2));
    if (d == NULL) return NULL;
    d->fd = -1;
    d->nul = d->storage;
    d->path = d->storage + n + 2;
    d->anc = d->storage + 2 * (n + 2);
    memcpy(d->nul, dir, n);
    d->nul[n] = 0;
    memcpy(d->path, dir, n);
    if (!(n == 1 && dir[0] == '/')) d->path[n++] = '/';
    d->path[n] = 0;
    d->path_len = n;
    d->err = check_dir(d);
    return d;
}

/* dir_free frees a dir_info never installed, and closes its descriptor. */
static void dir_free(dir_info *d) {
    if (d->fd >= 0) close(d->fd);
    free(d);
}

static _Atomic(dir_info *) current;

/* The dir_infos installed: never freed nor closed (an operation of another thread may still be
 * using one after set_dir replaced it), so a choice of one already held, the same path and the same
 * directory, reuses it, and a program switching between a few directories holds a few descriptors
 * (internal/core's reuseDirInfo). A list pushed to with compare-and-swap, without a lock that a
 * fork could leave held in the child; two threads choosing the same new directory at once may both
 * add it, which costs a descriptor. */
static _Atomic(dir_info *) installed;

static void install(dir_info *d) {
    dir_info *head = atomic_load(&installed);
    do d->next = head;
    while (!atomic_compare_exchange_weak(&installed, &head, d));
}

/* reuse returns the installed dir_info equal to d (freeing d), or installs d. */
static dir_info *reuse(dir_info *d) {
    for (dir_info *h = atomic_load(&installed); h != NULL; h = h->next)
        if (h->fd >= 0 && d->fd >= 0 && h->dev == d->dev && h->ino == d->ino && strcmp(h->nul, d->nul) == 0 &&
            h->huge == d->huge && h->advise == d->advise) {
            dir_free(d);
            return h;
        }
    install(d);
    return d;
}

static const dir_info *no_memory(void) {
    static dir_info d = {.err = {.code = NPSHM_ERR_NO_SPACE, .errnum = ENOMEM, .msg = MSG_OUT_MEMORY}, .fd = -1};
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
        dir_free(d);
        return expected;
    }
    if (!d->err.code) install(d);
    return d;
}

/* Read NPSHM_DIR when the library loads, as the Go core does (os.Getenv at its start). */
__attribute__((constructor)) static void dir_init(void) { (void)npshm__dir(); }

int npshm__c_set_dir(const char *dir) {
    const char *op = "npshm_set_dir";
    if (dir != NULL && strnlen(dir, MAX_DIR + 2) > MAX_DIR + 1)
        return npshm__report(st_num(NPSHM_ERR_INVALID, MSG_DIR_IS_LONGER_THAN, MAX_DIR), op, NULL);
    dir_info *d = dir_new(dir && *dir ? dir : SHM_DIR);
    if (d == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, dir, MSG_OUT_MEMORY);
    if (d->err.code) {
        int rc = npshm__report(d->err, op, dir); /* before free: the message may name d->anc */
        dir_free(d);
        return rc;
    }
    atomic_store(&current, reuse(d));
    return NPSHM_OK;
}

/* Whether the directory held by fd was removed (rmdir leaves it no links). */
static int dir_removed(int fd) {
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink == 0;
}

static status removed_status(const dir_info *d) {
    status s = st_errno(NPSHM_ERR_NOT_FOUND, ENOENT, MSG_DIR_SHARED_ARRAYS);
    s.path = d->nul;
    s.msg2 = MSG_WAS_REMOVED_SET_DIR_AGAIN;
    return s;
}

status npshm__removed(const target *t, status s) {
    if (t->held && s.code && dir_removed(t->info->fd)) return removed_status(t->info);
    return s;
}

int npshm__dir_open(const char *msg, status *s) {
    const dir_info *d = npshm__dir();
    if (d->err.code) {
        *s = d->err;
        return -1;
    }
    if (d->fd >= 0 && dir_removed(d->fd)) {
        *s = removed_status(d);
        return -1;
    }
    int fd = d->fd >= 0 ? openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                        : open(d->nul, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) *s = st_sys(errno, msg);
    return fd;
}
