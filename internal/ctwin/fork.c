/* The C twin's two load-time hooks: fork detection, which makes every public entry point take the
 * twin in a forked child (export/dispatch.c), and the crash-test hook
 * (internal/core/testhook_linux.go), read once here for every pause point of the twin. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ctwin.h"

/* ---- fork detection ---- */

static atomic_int forked;
static void on_fork_child(void) { atomic_store(&forked, 1); }
__attribute__((constructor)) static void register_fork_handler(void) {
    (void)pthread_atfork(NULL, NULL, on_fork_child);
}
int npshm__in_forked_child(void) { return atomic_load_explicit(&forked, memory_order_relaxed); }

/* ---- crash-test hook (internal/core/testhook_linux.go): NPSHM_TEST_PAUSE, read once at load ---- */

int npshm__pause_at;
__attribute__((constructor)) static void read_pause_point(void) {
    const char *v = getenv("NPSHM_TEST_PAUSE");
    for (int i = 1; v != NULL && i < PAUSE_POINTS; i++)
        if (strcmp(v, npshm__pause_names[i]) == 0) npshm__pause_at = i;
}
