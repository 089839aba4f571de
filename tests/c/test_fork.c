/*
 * test_fork.c - the fork rule of npshm.h: every function keeps working in a child
 * made by fork() after the parent used the library.
 *
 *  1. A thread other than main uses the library first (and exits).
 *  2. The parent creates, attaches, lists and deletes, and keeps some handles open.
 *  3. ROUNDS rounds (16: a hang after fork is a matter of chance, hence many
 *     forks): the parent forks CHILDREN children; each child, under
 *     alarm(CHILD_ALARM), creates, attaches, lists, deletes and releases
 *     CHILD_ARRAYS arrays, checking their data, and checks the handles it
 *     inherited. Meanwhile the parent keeps using the library from the main
 *     thread, and in odd rounds also from a second thread that is busy inside
 *     the library while the children are forked.
 *  4. A child forks a grandchild that does the same.
 *  5. A thread other than the one that first used the library forks the children.
 *
 * A child that hangs is killed by its alarm, and the test fails.
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>

#define ROUNDS 16
#define CHILDREN 4
#define CHILD_ARRAYS 300
#define CHILD_ALARM 20

static char g_prefix[64]; /* "npshm-fk-<pid>-" */

static int64_t value_at(unsigned seed, size_t i) { return (int64_t)seed * 1000003 + (int64_t)i * 7; }

static void fill(npshm_array *a, unsigned seed) {
    int64_t *p = npshm_data(a);
    size_t n = npshm_nbytes(a) / 8;
    for (size_t i = 0; i < n; i++) p[i] = value_at(seed, i);
}
static bool holds(const npshm_array *a, unsigned seed) {
    const int64_t *p = npshm_data(a);
    size_t n = npshm_nbytes(a) / 8;
    for (size_t i = 0; i < n; i++)
        if (p[i] != value_at(seed, i)) return false;
    return true;
}

struct find_ctx {
    const char *name;
    int found;
};
static int find_cb(const npshm_info *info, void *vctx) {
    struct find_ctx *c = vctx;
    if (strcmp(info->name, c->name) == 0) c->found++;
    return 0;
}
static int listed(const char *name) {
    struct find_ctx c = {name, 0};
    int rc = npshm_list(find_cb, &c);
    return rc == NPSHM_OK ? c.found : -1;
}

/*
 * One cycle of library use under `name`: create, fill, attach (read-write,
 * read-only, with expectations), optionally list, delete, check NOT_FOUND,
 * check the old mapping, release. Returns the number of failures.
 */
static int cycle(const char *name, unsigned seed, bool do_list) {
    int before = check_count();
    int64_t shape[2] = {1 + seed % 5, 17};
    npshm_array *a = NULL, *b = NULL, *r = NULL;
    if (EXPECT_RC(npshm_create(name, 2, shape, "int64", 0, &a), NPSHM_OK) != NPSHM_OK)
        return check_count() - before;
    fill(a, seed);
    if (EXPECT_RC(npshm_attach(name, 0, &b), NPSHM_OK) == NPSHM_OK) {
        CHECKF(holds(b, seed), "%s: attached data differs", name);
        npshm_release(b);
    }
    if (EXPECT_RC(npshm_attach_expect(name, NPSHM_READONLY, 2, shape, "<i8", &r), NPSHM_OK) == NPSHM_OK) {
        CHECKF(holds(r, seed), "%s: read-only data differs", name);
        npshm_release(r);
    }
    npshm_array *out = SENTINEL;
    EXPECT_RC(npshm_create(name, 2, shape, "int64", 0, &out), NPSHM_ERR_EXISTS);
    if (do_list) CHECKF(listed(name) == 1, "npshm_list does not report %s once", name);
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
    EXPECT_RC(npshm_attach(name, 0, &out), NPSHM_ERR_NOT_FOUND);
    CHECKF(holds(a, seed), "%s: mapping changed after delete", name);
    npshm_release(a);
    return check_count() - before;
}

/* The parent's long-lived arrays, inherited by every child. */
#define KEPT 3
static npshm_array *g_kept[KEPT];
static char g_kept_names[KEPT][128];

static bool kept_ok(void) {
    bool ok = true;
    for (int i = 0; i < KEPT; i++) {
        if (!holds(g_kept[i], 900 + (unsigned)i)) {
            FAILF("inherited handle %d (%s) holds wrong data", i, g_kept_names[i]);
            ok = false;
        }
    }
    return ok;
}

/* The work of one child process (or grandchild); returns its number of failures. */
static int child_body(const char *tag, bool fork_grandchild) {
    alarm(CHILD_ALARM);
    int before = check_count();
    char name[160];
    /* The parent's arrays: inherited mappings and fresh attachments. */
    kept_ok();
    for (int i = 0; i < KEPT; i++) {
        npshm_array *a = NULL;
        if (EXPECT_RC(npshm_attach(g_kept_names[i], 0, &a), NPSHM_OK) == NPSHM_OK) {
            CHECKF(holds(a, 900 + (unsigned)i), "child: %s holds wrong data", g_kept_names[i]);
            npshm_release(a);
        }
    }
    pid_t grandchild = -1;
    if (fork_grandchild) {
        fflush(NULL);
        grandchild = fork();
        if (grandchild == 0) {
            char gtag[96];
            snprintf(gtag, sizeof gtag, "%s-g", tag);
            _exit(child_body(gtag, false) == 0 ? 0 : 1);
        }
        CHECKF(grandchild > 0, "fork of a grandchild: %s", strerror(errno));
    }
    /* Some arrays stay open across the loop. */
    npshm_array *open_ones[8] = {0};
    for (int i = 0; i < CHILD_ARRAYS; i++) {
        snprintf(name, sizeof name, "%s%s-%d-%d", g_prefix, tag, (int)getpid(), i);
        unsigned seed = (unsigned)getpid() * 31u + (unsigned)i;
        if (i % 40 == 7) {
            npshm_array *a = NULL;
            if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){100}, "int64", 0, &a), NPSHM_OK) == NPSHM_OK) {
                fill(a, seed);
                EXPECT_RC(npshm_delete(name), NPSHM_OK);
                int slot = (i / 40) % 8;
                npshm_release(open_ones[slot]);
                open_ones[slot] = a;
            }
            continue;
        }
        cycle(name, seed, i % 10 == 0);
        if (check_count() - before > 10) break; /* enough said */
    }
    for (int i = 0; i < 8; i++) {
        if (open_ones[i]) {
            int idx = i * 40 + 7;
            CHECKF(holds(open_ones[i], (unsigned)getpid() * 31u + (unsigned)idx),
                   "child kept array %d changed", idx);
            npshm_release(open_ones[i]);
        }
    }
    kept_ok();
    if (grandchild > 0) {
        int status = 0;
        if (waitpid(grandchild, &status, 0) != grandchild) FAILF("waitpid(grandchild): %s", strerror(errno));
        else if (WIFSIGNALED(status))
            FAILF("grandchild %d killed by signal %d%s", (int)grandchild, WTERMSIG(status),
                  WTERMSIG(status) == SIGALRM ? " (SIGALRM: it hung)" : "");
        else if (WEXITSTATUS(status) != 0)
            FAILF("grandchild %d failed (exit %d)", (int)grandchild, WEXITSTATUS(status));
    }
    return check_count() - before;
}

static _Noreturn void child_work(const char *tag, bool fork_grandchild) {
    _exit(child_body(tag, fork_grandchild) == 0 ? 0 : 1);
}

/* Waits for the children, using the library in between. */
static void reap(pid_t *pids, int n, const char *what, int round) {
    int left = n;
    unsigned seed = 5000 + (unsigned)round * 100;
    char name[160];
    time_t deadline = time(NULL) + CHILD_ALARM + 10;
    while (left > 0) {
        snprintf(name, sizeof name, "%sparent-%d-%u", g_prefix, round, seed);
        cycle(name, seed, seed % 3 == 0);
        seed++;
        for (int i = 0; i < n; i++) {
            if (pids[i] <= 0) continue;
            int status = 0;
            pid_t w = waitpid(pids[i], &status, WNOHANG);
            if (w == 0) continue;
            if (w < 0) FAILF("waitpid: %s", strerror(errno));
            else if (WIFSIGNALED(status))
                FAILF("%s round %d: child %d killed by signal %d%s", what, round, (int)pids[i],
                      WTERMSIG(status), WTERMSIG(status) == SIGALRM ? " (SIGALRM: it hung)" : "");
            else if (WEXITSTATUS(status) != 0)
                FAILF("%s round %d: child %d failed (exit %d)", what, round, (int)pids[i],
                      WEXITSTATUS(status));
            pids[i] = 0;
            left--;
        }
        if (time(NULL) > deadline) {
            for (int i = 0; i < n; i++)
                if (pids[i] > 0) {
                    FAILF("%s round %d: child %d did not finish; killing it", what, round, (int)pids[i]);
                    kill(pids[i], SIGKILL);
                    waitpid(pids[i], NULL, 0);
                    pids[i] = 0;
                    left--;
                }
        }
    }
}

/* A parent thread that is busy in the library while the children are forked. */
struct busy {
    atomic_int stop;
    atomic_int cycles;
    int id;
};
static void *busy_thread(void *varg) {
    struct busy *b = varg;
    char name[160];
    unsigned seed = 70000 + (unsigned)b->id * 1000;
    while (!atomic_load(&b->stop)) {
        snprintf(name, sizeof name, "%sbusy-%d-%u", g_prefix, b->id, seed);
        cycle(name, seed, seed % 4 == 0);
        seed++;
        atomic_fetch_add(&b->cycles, 1);
    }
    return NULL;
}

static void fork_round(int round, bool busy_during_fork, const char *what) {
    struct busy b = {.id = round};
    atomic_init(&b.stop, 0);
    atomic_init(&b.cycles, 0);
    pthread_t bt;
    bool have_busy = false;
    if (busy_during_fork) {
        have_busy = pthread_create(&bt, NULL, busy_thread, &b) == 0;
        CHECK(have_busy);
        while (have_busy && atomic_load(&b.cycles) < 2) sched_yield();
    }
    pid_t pids[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        fflush(NULL);
        pids[i] = fork();
        if (pids[i] == 0) {
            char tag[64];
            snprintf(tag, sizeof tag, "r%d-c%d", round, i);
            child_work(tag, round == 1 && i == 0);
        }
        if (pids[i] < 0) FAILF("fork: %s", strerror(errno));
    }
    reap(pids, CHILDREN, what, round);
    if (have_busy) {
        atomic_store(&b.stop, 1);
        pthread_join(bt, NULL);
    }
    kept_ok();
}

static void *first_user(void *arg) {
    (void)arg;
    char name[160];
    snprintf(name, sizeof name, "%sfirst-user", g_prefix);
    cycle(name, 1, true);
    return NULL;
}

struct forker_arg {
    int round;
};
static void *forker(void *varg) {
    struct forker_arg *f = varg;
    fork_round(f->round, false, "forked from a second thread");
    return NULL;
}

/* Removes whatever of ours is left in /dev/shm (children killed by their alarm
 * leave arrays behind); returns how many there were. */
static int sweep(void) {
    DIR *d = opendir("/dev/shm");
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, g_prefix, strlen(g_prefix)) != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
        if (unlink(path) == 0) n++;
    }
    closedir(d);
    return n;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(g_prefix, sizeof g_prefix, "npshm-fk-%d-", (int)getpid());

    /* 1. The first use of the library is on a thread that then goes away. */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, first_user, NULL) == 0);
    pthread_join(t, NULL);

    /* 2. The parent uses the library and keeps handles open. */
    for (int i = 0; i < 20; i++) {
        char name[160];
        snprintf(name, sizeof name, "%swarmup-%d", g_prefix, i);
        cycle(name, (unsigned)i, i % 5 == 0);
    }
    for (int i = 0; i < KEPT; i++) {
        snprintf(g_kept_names[i], sizeof g_kept_names[i], "%skept-%d", g_prefix, i);
        if (EXPECT_RC(npshm_create(g_kept_names[i], 1, (int64_t[]){512 + i}, "int64", 0, &g_kept[i]),
                      NPSHM_OK) != NPSHM_OK)
            return check_result("test_fork");
        fill(g_kept[i], 900 + (unsigned)i);
    }
    printf("parent %d: library used; forking %d rounds of %d children, %d arrays each\n",
           (int)getpid(), ROUNDS, CHILDREN, CHILD_ARRAYS);

    /* 3 and 4. Rounds of children (round 1 has a grandchild); odd rounds fork
     * while another parent thread is busy in the library. */
    for (int r = 0; r < ROUNDS; r++) {
        int before = check_count();
        fork_round(r, r % 2 == 1, r % 2 ? "fork while busy" : "fork");
        char name[160];
        snprintf(name, sizeof name, "%sbetween-%d", g_prefix, r);
        cycle(name, 4000 + (unsigned)r, true);
        printf("round %d (%s): %s\n", r, r % 2 ? "another thread busy in the library" : "quiet",
               check_count() == before ? "ok" : "FAILED");
    }

    /* 5. A thread that is not the first user forks. */
    {
        int before = check_count();
        struct forker_arg fa = {ROUNDS};
        CHECK(pthread_create(&t, NULL, forker, &fa) == 0);
        pthread_join(t, NULL);
        printf("fork from a second thread: %s\n", check_count() == before ? "ok" : "FAILED");
    }

    /* The parent still works, and its handles too. */
    kept_ok();
    for (int i = 0; i < KEPT; i++) {
        npshm_release(g_kept[i]);
        EXPECT_RC(npshm_delete(g_kept_names[i]), NPSHM_OK);
    }
    int failed = check_count();
    int left = sweep();
    if (left > 0 && failed == 0) FAILF("%d array(s) left behind in /dev/shm", left);
    return check_result("test_fork");
}
