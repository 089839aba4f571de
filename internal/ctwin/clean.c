/* The C twin of internal/core/clean_linux.go: npshm_clean_temporaries for forked children, with
 * the same rule (remove the caller's regular files .npshm-tmp-<pid>-<id> whose pid is gone), status
 * codes and messages. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctwin.h"

/* The pid of a temporary name .npshm-tmp-<pid>-<id> (id: lower-case hex digits), or 0 if name is
 * not one. */
static int temp_pid(const char *name) {
    size_t pl = strlen(TEMP_PREFIX);
    if (strncmp(name, TEMP_PREFIX, pl) != 0) return 0;
    const char *p = name + pl;
    int pid = 0, i = 0;
    for (; p[i] >= '0' && p[i] <= '9'; i++) {
        if (i >= 9) return 0;
        pid = pid * 10 + (p[i] - '0');
    }
    if (i == 0 || pid <= 0 || p[i] != '-' || p[i + 1] == 0) return 0;
    for (const char *q = p + i + 1; *q; q++)
        if ((*q < '0' || *q > '9') && (*q < 'a' || *q > 'f')) return 0;
    return pid;
}

int npshm__c_clean_temporaries(const char *dir, int *removed) {
    const char *op = "npshm_clean_temporaries";
    if (dir != NULL && (dir[0] == 0 || strnlen(dir, MAX_PATH_LEN + 1) > MAX_PATH_LEN))
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, MSG_DIRECTORY_EMPTY_TOO_LONG);
    int fd;
    if (dir == NULL) { /* the directory of shared arrays, by the descriptor its check holds */
        status s;
        if ((fd = npshm__dir_open(MSG_CANNOT_READ_DIRECTORY, &s)) < 0) return npshm__report(s, op, NULL);
    } else if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        int e = errno;
        return npshm__fail(npshm__code_of_errno(e), e, op, dir, MSG_CANNOT_READ_DIRECTORY);
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int e = errno;
        close(fd);
        return npshm__fail(npshm__code_of_errno(e), e, op, dir, MSG_CANNOT_READ_DIRECTORY);
    }
    int n = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        int pid = temp_pid(de->d_name);
        struct stat st;
        /* Only the caller's own regular files (internal/core's CleanTemporaries). */
        if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH &&
            fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            unlinkat(fd, de->d_name, 0) == 0)
            n++;
        errno = 0;
    }
    int e = errno;
    closedir(d);
    if (removed != NULL) *removed = n;
    if (e != 0) return npshm__fail(npshm__code_of_errno(e), e, op, dir, MSG_CANNOT_READ_DIRECTORY);
    return NPSHM_OK;
}
