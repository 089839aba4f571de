/* The fork guard of loads (internal/core/forkguard_linux.go says why): the descriptors of loads in
 * progress, their lock files and unnamed segments, are kept in a table that a pthread_atfork child
 * handler closes, so that a child forked by another thread during a load holds neither. Opening
 * and registering (unregistering and closing) happen under the table's mutex, which the prepare
 * handler takes: no fork falls between the two. Used by internal/capi for the Go core and by the
 * C twin of forked children (which may fork again). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "cshim.h"

/* More loads at once than this in one process go unguarded (LOCK_UN and truncation still hold). */
#define GUARD_SLOTS 256

static pthread_mutex_t guard_mu = PTHREAD_MUTEX_INITIALIZER;
static int guarded[GUARD_SLOTS];
static int nguarded;

static void guard_prepare(void) { pthread_mutex_lock(&guard_mu); }
static void guard_parent(void) { pthread_mutex_unlock(&guard_mu); }
static void guard_child(void) {
    for (int i = 0; i < nguarded; i++) close(guarded[i]);
    nguarded = 0;
    pthread_mutex_init(&guard_mu, NULL); /* held by the forking thread, which the child does not have */
}

__attribute__((constructor)) static void guard_register(void) {
    (void)pthread_atfork(guard_prepare, guard_parent, guard_child);
}

int npshm__guard_open(int dirfd, const char *path, int flags, unsigned mode) {
    pthread_mutex_lock(&guard_mu);
    int fd = openat(dirfd, path, flags, mode);
    int e = errno;
    if (fd >= 0 && nguarded < GUARD_SLOTS) guarded[nguarded++] = fd;
    pthread_mutex_unlock(&guard_mu);
    return fd >= 0 ? fd : -e;
}

void npshm__guard_close(int fd) {
    pthread_mutex_lock(&guard_mu);
    for (int i = 0; i < nguarded; i++)
        if (guarded[i] == fd) {
            guarded[i] = guarded[--nguarded];
            break;
        }
    close(fd);
    pthread_mutex_unlock(&guard_mu);
}
