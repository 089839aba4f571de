/*
 * test_hardening.c - processes dying at awkward moments, processes racing on one name, and
 * long-running use, on both paths of the library (the Go core, and the C path of forked children).
 *
 *   test_hardening crash [ROUNDS]    a process SIGKILLed while it publishes (create, replace):
 *                                    nothing half-made is attachable, the old array survives a
 *                                    killed replace, no lock is held, and what is left
 *                                    (.npshm-tmp-<pid>-<id>) is removed by npshm_clean_temporaries
 *   test_hardening races [ROUNDS]    K processes create one name at once: exactly one wins; a
 *                                    process replacing or deleting an array while others attach:
 *                                    attach gives a complete array or NOT_FOUND
 *   test_hardening leak [CYCLES]     create/attach/release/delete cycles bring open descriptors and
 *                                    mappings back to their baseline, and resident memory stays flat
 *                                    (the churners fill arrays with npshm_create_init, so that
 *                                    attachers can check every element)
 *   test_hardening all               all three at CI size (the default)
 *
 * --fork runs the chosen scenarios in a child forked after the process used the library, so that
 * the process under test is on the C path. Every scenario prints a line
 *   RESULT <scenario> tries=<n> failures=<n>
 * that tests/hardening/soak.py collects into docs/RELIABILITY.md.
 *
 * The crash tests use the library's test hook: with NPSHM_TEST_PAUSE=<point> in its environment
 * when the library loads, a process stops itself (SIGSTOP) at that point (create-publish: the
 * segment is complete but has no name; replace-rename: the new segment is linked under its
 * temporary name, not yet renamed over the old one).
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>

#define SHM_DIR "/dev/shm"

/* 0 makes the churners fill after publishing (npshm_create, then write): the races test must then
 * fail, which shows that it can see a half-filled array. */
#ifndef FILL_BEFORE_PUBLISH
#define FILL_BEFORE_PUBLISH 1
#endif

static char g_prefix[64]; /* "npshm-hd-<pid>-" */
static char g_self[4096]; /* this executable, for the processes that must load the library afresh */
static bool g_forked;     /* the scenarios run in a forked child: this process is on the C path */

static void mkname(char *buf, size_t n, const char *tag) { snprintf(buf, n, "%s%s", g_prefix, tag); }

static void result(const char *scenario, long tries, int failures_before) {
    int f = check_count() - failures_before;
    printf("RESULT %s tries=%ld failures=%d\n", scenario, tries, f);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int wait_exit(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

/* Starts this executable afresh (so that the library loads, reading NPSHM_TEST_PAUSE, and runs on
 * the Go core) with the given arguments; pause may be NULL. */
static pid_t spawn_self(const char *pause, char *const args[]) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (pause) setenv("NPSHM_TEST_PAUSE", pause, 1);
        else unsetenv("NPSHM_TEST_PAUSE");
        char *argv[16] = {g_self};
        for (int i = 0; args[i] && i < 14; i++) argv[i + 1] = args[i];
        execv(g_self, argv);
        _exit(127);
    }
    return pid;
}

/* ---------------------------------------------------------------------------------------------- */
/* Crashes. */

/* 'T' if the process is stopped, another state letter, or 0 if it is gone. */
static char proc_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/* How many .npshm-tmp-<pid>-* entries /dev/shm holds. */
static int temps_of(pid_t pid) {
    char prefix[64];
    int n = snprintf(prefix, sizeof prefix, ".npshm-tmp-%d-", (int)pid);
    DIR *d = opendir(SHM_DIR);
    if (!d) return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, (size_t)n) == 0) count++;
    closedir(d);
    return count;
}

static int listed_cb(const npshm_info *info, void *ctx) {
    if (strncmp(info->name, ".npshm-tmp-", 11) == 0) ++*(int *)ctx;
    return 0;
}

#define OLD_SIZE 4096
#define NEW_SIZE 8192
#define OLD_BYTE 0xAB

/* The old array is still attachable, whole, with its data. */
static void expect_old(const char *name, const char *when) {
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_attach(name, NPSHM_READONLY, &a), NPSHM_OK) != NPSHM_OK) return;
    const unsigned char *p = npshm_data(a);
    bool same = npshm_nbytes(a) == OLD_SIZE;
    for (size_t i = 0; same && i < OLD_SIZE; i++) same = p[i] == OLD_BYTE;
    CHECKF(same, "%s: %s is not the old array (nbytes %zu)", when, name, npshm_nbytes(a));
    npshm_release(a);
}

/* The victim (a fresh process): in forked mode it uses the library, forks, and the child does the
 * operation on the C path. It writes the pid of the process doing the operation to fd. */
static int victim(const char *point, const char *name, bool forked, int fd) {
    if (forked) {
        npshm_array *x = NULL;
        (void)npshm_attach("npshm-hd-no-such-array", 0, &x); /* enter the Go core first */
        fflush(NULL);
        pid_t pid = fork();
        if (pid != 0) {
            close(fd);
            int st = wait_exit(pid);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
        }
    }
    int me = (int)getpid();
    if (write(fd, &me, sizeof me) != (ssize_t)sizeof me) return 4;
    close(fd);
    unsigned flags = strcmp(point, "create-publish") == 0 && strstr(name, "-new") ? 0 : NPSHM_REPLACE;
    npshm_array *a = NULL;
    int rc = npshm_create(name, 1, (int64_t[]){NEW_SIZE}, "uint8", flags, &a);
    /* Not reached when the test kills us at the pause point. */
    fprintf(stderr, "victim: npshm_create returned %d without pausing: %s\n", rc, npshm_last_error());
    _exit(5);
}

/* One crash: a victim pauses at point while creating (replace=false) or replacing name, and is
 * killed there. */
static void crash_once(const char *point, bool replace, bool forked) {
    char name[256], tag[96];
    snprintf(tag, sizeof tag, "crash-%s-%s-%s", point, replace ? "old" : "new", forked ? "c" : "go");
    mkname(name, sizeof name, tag);
    npshm_delete(name);
    if (replace) {
        npshm_array *old = NULL;
        if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){OLD_SIZE}, "uint8", 0, &old), NPSHM_OK) != NPSHM_OK) return;
        memset(npshm_data(old), OLD_BYTE, OLD_SIZE);
        npshm_release(old);
    }
    int pfd[2];
    if (pipe(pfd) != 0) {
        FAILF("pipe: %s", strerror(errno));
        return;
    }
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", pfd[1]);
    char *args[] = {"--victim", (char *)point, name, forked ? "1" : "0", fdarg, NULL};
    pid_t child = spawn_self(point, args);
    close(pfd[1]);
    int vpid = 0;
    ssize_t got = read(pfd[0], &vpid, sizeof vpid);
    close(pfd[0]);
    if (child < 0 || got != (ssize_t)sizeof vpid || vpid <= 0) {
        FAILF("%s: the victim did not start", tag);
        if (child > 0) { kill(child, SIGKILL); wait_exit(child); }
        return;
    }
    char state = 0;
    for (int i = 0; i < 2000 && (state = proc_state(vpid)) != 'T' && state != 0; i++) sleep_ms(5);
    if (state != 'T') {
        FAILF("%s: the victim (pid %d) never paused at %s (state %c)", tag, vpid, point, state ? state : '-');
        kill(vpid, SIGKILL);
        kill(child, SIGKILL);
        wait_exit(child);
        return;
    }

    /* Paused at the point: nothing half-made can be attached. */
    npshm_array *a = SENTINEL;
    if (replace)
        expect_old(name, "while the replacer is paused");
    else
        EXPECT_RC(npshm_attach(name, 0, &a), NPSHM_ERR_NOT_FOUND);
    bool renaming = strcmp(point, "replace-rename") == 0;
    int temps = temps_of(vpid);
    CHECKF(temps == (renaming ? 1 : 0), "%s: %d temporary files while paused", tag, temps);
    int in_list = 0;
    EXPECT_RC(npshm_list(listed_cb, &in_list), NPSHM_OK);
    CHECKF(in_list == 0, "%s: npshm_list reports %d temporary files", tag, in_list);
    int removed = -1;
    EXPECT_RC(npshm_clean_temporaries(NULL, &removed), NPSHM_OK);
    CHECKF(temps_of(vpid) == temps, "%s: npshm_clean_temporaries removed a live process's file", tag);

    kill(vpid, SIGKILL);
    if (forked) {
        int st = wait_exit(child); /* the victim's parent reaps it, then exits */
        CHECKF(WIFEXITED(st), "%s: the victim's parent ended with status %#x", tag, st);
    } else {
        int st = wait_exit(child);
        CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s: the victim ended with status %#x", tag, st);
    }
    for (int i = 0; i < 1000 && proc_state(vpid) != 0; i++) sleep_ms(2); /* a zombie until reaped */

    /* Killed: the old array is intact, or there is none; what is left is recognisable. */
    if (replace)
        expect_old(name, "after the replacer was killed");
    else
        EXPECT_RC(npshm_attach(name, 0, &a), NPSHM_ERR_NOT_FOUND);
    CHECK(a == SENTINEL);
    /* What is left is removable. (Another process on the machine may have removed it already: its
     * pid is dead.) */
    temps = temps_of(vpid);
    CHECKF(temps <= (renaming ? 1 : 0), "%s: %d temporary files after the kill", tag, temps);
    removed = -1;
    EXPECT_RC(npshm_clean_temporaries(NULL, &removed), NPSHM_OK);
    CHECKF(temps_of(vpid) == 0, "%s: npshm_clean_temporaries removed %d, %d left", tag, removed, temps_of(vpid));

    /* No lock is held: the name can be created or replaced at once. */
    npshm_array *b = NULL;
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){16}, "uint8", NPSHM_REPLACE, &b), NPSHM_OK) == NPSHM_OK)
        npshm_release(b);
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
}

static void test_crash(int rounds) {
    int before = check_count();
    long tries = 0;
    for (int r = 0; r < rounds; r++) {
        for (int forked = 0; forked < 2; forked++) {
            crash_once("create-publish", false, forked);
            crash_once("create-publish", true, forked);
            crash_once("replace-rename", true, forked);
            tries += 3;
        }
    }
    result("crash", tries, before);
}

/* ---------------------------------------------------------------------------------------------- */
/* Races between processes. */

#define RACERS 8

/* A racer: waits until go_fd reads EOF, then creates name; exit 0 if it won, 1 if EXISTS. */
static int racer(const char *name, int ready_fd, int go_fd) {
    char c = 1, buf;
    if (write(ready_fd, &c, 1) != 1) return 3;
    close(ready_fd);
    while (read(go_fd, &buf, 1) > 0) {
    }
    npshm_array *a = NULL;
    int rc = npshm_create(name, 1, (int64_t[]){1 << 16}, "uint8", 0, &a);
    if (rc == NPSHM_OK) {
        memset(npshm_data(a), 7, 1 << 16);
        npshm_release(a);
        return 0;
    }
    if (rc == NPSHM_ERR_EXISTS) return 1;
    fprintf(stderr, "racer: %s %s\n", rc_name(rc), npshm_last_error());
    return 2;
}

/* Half the racers are fresh processes (the Go core), half are forked from this one (the C path,
 * if this process used the library). */
static void create_race(const char *name) {
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0) {
        FAILF("pipe: %s", strerror(errno));
        return;
    }
    pid_t pids[RACERS];
    char rfd[16], gfd[16];
    snprintf(rfd, sizeof rfd, "%d", ready[1]);
    snprintf(gfd, sizeof gfd, "%d", go[0]);
    for (int i = 0; i < RACERS; i++) {
        if (i % 2 == 0) {
            char *args[] = {"--racer", (char *)name, rfd, gfd, NULL};
            /* The racer must not hold the write end of go, or it would never see EOF. */
            fflush(NULL);
            pids[i] = fork();
            if (pids[i] == 0) {
                close(go[1]);
                close(ready[0]);
                char *argv[] = {g_self, args[0], args[1], args[2], args[3], NULL};
                unsetenv("NPSHM_TEST_PAUSE");
                execv(g_self, argv);
                _exit(127);
            }
        } else {
            fflush(NULL);
            pids[i] = fork();
            if (pids[i] == 0) {
                close(go[1]);
                close(ready[0]);
                _exit(racer(name, ready[1], go[0]));
            }
        }
    }
    close(ready[1]);
    close(go[0]);
    char c;
    int n = 0;
    while (n < RACERS && read(ready[0], &c, 1) == 1) n++;
    close(ready[0]);
    close(go[1]); /* go */
    int won = 0, exists = 0;
    for (int i = 0; i < RACERS; i++) {
        int st = wait_exit(pids[i]);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) won++;
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 1) exists++;
        else FAILF("racer %d ended with status %#x", i, st);
    }
    CHECKF(n == RACERS && won == 1 && exists == RACERS - 1, "%d ready, %d won, %d got EXISTS", n, won, exists);
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_attach(name, NPSHM_READONLY, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_nbytes(a) == 1 << 16);
        npshm_release(a);
    }
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
}

/* npshm_init_fn: every element is the generation *ctx. */
static int fill_generation(void *data, size_t nbytes, void *ctx) {
    int64_t g = *(const int64_t *)ctx, *p = data;
    for (size_t k = 0; k < nbytes / 8; k++) p[k] = g;
    return 0;
}

/* The churner (a fresh process): ITER times, replace name (mode "replace") or create and delete
 * it (mode "delete"); generation g has 64 + (g % 7) * 4096 elements, all g, filled by
 * npshm_create_init before the array is published. With forked set it churns in a child forked
 * after using the library (the C path). */
static int churner(const char *name, const char *mode, int iters, bool forked) {
    bool replace = strcmp(mode, "replace") == 0;
    if (forked) {
        npshm_array *x = NULL;
        (void)npshm_attach("npshm-hd-no-such-array", 0, &x);
        fflush(NULL);
        pid_t pid = fork();
        if (pid != 0) {
            int st = wait_exit(pid);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
        }
    }
    for (int i = 1; i <= iters; i++) {
        int64_t n = 64 + (i % 7) * 4096, g = i;
        npshm_array *a = NULL;
        int rc = FILL_BEFORE_PUBLISH
                     ? npshm_create_init(name, 2, (int64_t[]){n, 1}, "int64", replace ? NPSHM_REPLACE : 0,
                                         fill_generation, &g, &a)
                     : npshm_create(name, 2, (int64_t[]){n, 1}, "int64", replace ? NPSHM_REPLACE : 0, &a);
        if (rc == NPSHM_OK && !FILL_BEFORE_PUBLISH) fill_generation(npshm_data(a), npshm_nbytes(a), &g);
        if (rc != NPSHM_OK) {
            fprintf(stderr, "churner: create %s %s\n", rc_name(rc), npshm_last_error());
            return 1;
        }
        npshm_release(a);
        if (!replace && npshm_delete(name) != NPSHM_OK) {
            fprintf(stderr, "churner: delete %s\n", npshm_last_error());
            return 1;
        }
    }
    return 0;
}

static int abandon(void *data, size_t nbytes, void *ctx) {
    (void)data, (void)nbytes, (void)ctx;
    return 42;
}

struct attach_stats {
    const char *name;
    bool replace;
    atomic_int *stop;
    long ok, missing, bad;
};

/* Attaches until told to stop: each attach is a complete array (a generation's size, every
 * element its generation) or, when arrays are deleted, NOT_FOUND. */
static void *attach_loop(void *varg) {
    struct attach_stats *s = varg;
    while (!atomic_load(s->stop)) {
        npshm_array *a = NULL;
        int rc = npshm_attach(s->name, NPSHM_READONLY, &a);
        if (rc == NPSHM_ERR_NOT_FOUND && !s->replace) {
            s->missing++;
            continue;
        }
        if (rc != NPSHM_OK) {
            if (s->bad++ < 5) FAILF("attach during churn: %s %s", rc_name(rc), npshm_last_error());
            continue;
        }
        const int64_t *shape = npshm_shape(a);
        size_t nb = npshm_nbytes(a);
        bool good = npshm_ndim(a) == 2 && shape[1] == 1 && (shape[0] - 64) % 4096 == 0 &&
                    shape[0] >= 64 && shape[0] <= 64 + 6 * 4096 && nb == (size_t)shape[0] * 8 &&
                    strcmp(npshm_dtype(a), "<i8") == 0;
        const int64_t *p = npshm_data(a);
        int64_t g = good ? p[0] : -1;
        good = good && (g % 7) * 4096 + 64 == shape[0];
        size_t bad_at = 0;
        for (size_t k = 0; good && k < nb / 8; k++)
            if (p[k] != g) { good = false; bad_at = k; }
        if (good) s->ok++;
        else if (s->bad++ < 5)
            FAILF("attach during churn: ndim %d nbytes %zu, first %lld, element %zu is %lld", npshm_ndim(a), nb,
                  (long long)g, bad_at, (long long)p[bad_at]);
        npshm_release(a);
    }
    return NULL;
}

/* Attach in two threads of this process while a fresh process churns the name. */
static long churn_race(const char *name, const char *mode, int iters) {
    bool replace = strcmp(mode, "replace") == 0;
    npshm_delete(name);
    if (replace) {
        npshm_array *a = NULL;
        if (EXPECT_RC(npshm_create(name, 2, (int64_t[]){64, 1}, "int64", 0, &a), NPSHM_OK) != NPSHM_OK) return 0;
        npshm_release(a);
    }
    atomic_int stop = 0;
    struct attach_stats st[2] = {{name, replace, &stop, 0, 0, 0}, {name, replace, &stop, 0, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, attach_loop, &st[i]) == 0);
    char it[16];
    snprintf(it, sizeof it, "%d", iters);
    char *args[] = {"--churn", (char *)name, (char *)mode, it, g_forked ? "1" : "0", NULL};
    pid_t pid = spawn_self(NULL, args);
    int status = wait_exit(pid);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s churner ended with status %#x", mode, status);
    long ok = st[0].ok + st[1].ok, missing = st[0].missing + st[1].missing;
    /* An init function that gives up leaves the old array, or nothing. */
    npshm_array *x = SENTINEL;
    CHECK(npshm_create_init(name, 1, (int64_t[]){8}, "int64", NPSHM_REPLACE, abandon, NULL, &x) == 42 && x == SENTINEL);
    CHECK(npshm_last_error()[0] != 0);
    if (!replace) EXPECT_RC(npshm_attach(name, 0, &x), NPSHM_ERR_NOT_FOUND);
    else if (EXPECT_RC(npshm_attach(name, 0, &x), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_nbytes(x) == (size_t)(64 + (iters % 7) * 4096) * 8);
        npshm_release(x);
    }
    EXPECT_RC(npshm_create_init(name, 0, NULL, "int64", 0, NULL, NULL, &x), NPSHM_ERR_INVALID);
    CHECKF(ok > 0, "%s race: no attach succeeded", mode);
    printf("  %s race: %d churns, %ld complete attaches, %ld NOT_FOUND\n", mode, iters, ok, missing);
    npshm_delete(name);
    return ok + missing;
}

static void test_races(int rounds) {
    char name[256];
    int before = check_count();
    mkname(name, sizeof name, "race");
    for (int r = 0; r < rounds; r++) create_race(name);
    result("create_race", rounds, before);

    before = check_count();
    mkname(name, sizeof name, "replace-race");
    long n = churn_race(name, "replace", 100 * rounds);
    result("replace_vs_attach", n, before);

    before = check_count();
    mkname(name, sizeof name, "delete-race");
    n = churn_race(name, "delete", 100 * rounds);
    result("delete_vs_attach", n, before);
}

/* ---------------------------------------------------------------------------------------------- */
/* Leaks. */

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static int count_maps(void) {
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "re");
    if (!f) return -1;
    long size = 0, res = 0;
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int count_cb(const npshm_info *info, void *ctx) {
    (void)info;
    ++*(int *)ctx;
    return 0;
}

static bool cycle(const char *name, int i) {
    int64_t n = 1 + (i % 3) * 4096;
    npshm_array *a = NULL, *b = NULL, *c = NULL;
    if (npshm_create(name, 1, &n, "uint8", 0, &a) != NPSHM_OK) return false;
    ((unsigned char *)npshm_data(a))[n - 1] = (unsigned char)i;
    bool ok = npshm_attach(name, 0, &b) == NPSHM_OK;
    ok = ok && npshm_attach_expect(name, NPSHM_READONLY, 1, &n, "u1", &c) == NPSHM_OK;
    ok = ok && ((unsigned char *)npshm_data(c))[n - 1] == (unsigned char)i;
    npshm_array *x = SENTINEL;
    ok = ok && npshm_create(name, 1, &n, "uint8", 0, &x) == NPSHM_ERR_EXISTS;          /* failure paths too */
    ok = ok && npshm_attach_expect(name, 0, 1, (int64_t[]){n + 1}, NULL, &x) == NPSHM_ERR_MISMATCH;
    npshm_release(c);
    npshm_release(b);
    ok = npshm_delete(name) == NPSHM_OK && ok;
    ok = ok && npshm_attach(name, 0, &x) == NPSHM_ERR_NOT_FOUND;
    npshm_release(a);
    if (i % 100 == 0) {
        int k = 0;
        ok = ok && npshm_list(count_cb, &k) == NPSHM_OK;
    }
    return ok;
}

static void test_leak(int cycles) {
    int before = check_count();
    char name[256];
    mkname(name, sizeof name, "leak");
    npshm_delete(name);
    for (int i = 0; i < 500; i++) cycle(name, i); /* warm-up: thread scratch, Go runtime, libc */
    int fds0 = count_fds(), maps0 = count_maps();
    long rss0 = rss_kib();
    int bad = 0;
    for (int i = 0; i < cycles; i++)
        if (!cycle(name, i) && bad++ < 3) FAILF("cycle %d failed: %s", i, npshm_last_error());
    int fds1 = count_fds(), maps1 = count_maps();
    long rss1 = rss_kib();
    printf("  %d cycles: fds %d -> %d, mappings %d -> %d, RSS %ld -> %ld KiB\n", cycles, fds0, fds1, maps0,
           maps1, rss0, rss1);
    CHECKF(bad == 0, "%d of %d cycles failed", bad, cycles);
    CHECKF(fds1 == fds0, "open descriptors %d -> %d", fds0, fds1);
    CHECKF(maps1 == maps0, "mappings %d -> %d", maps0, maps1);
    CHECKF(rss1 - rss0 < 4096, "resident memory grew by %ld KiB", rss1 - rss0);
    result(g_forked ? "leak_c_path" : "leak_go_core", cycles, before);
}

/* ---------------------------------------------------------------------------------------------- */


struct plan {
    bool crash, races, leak;
    int n; /* rounds or cycles; 0: the default of each */
};

static int run_plan(void *arg) {
    struct plan *p = arg;
    snprintf(g_prefix, sizeof g_prefix, "npshm-hd-%d-", (int)getpid());
    if (g_forked) alarm(0); /* run_forked's alarm is for hangs of short suites; ctest has a timeout */
    if (p->crash) test_crash(p->n ? p->n : 2);
    if (p->races) test_races(p->n ? p->n : 10);
    if (p->leak) test_leak(p->n ? p->n : 10000);
    return check_result("test_hardening");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    ssize_t len = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (len <= 0) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    g_self[len] = 0;
    if (argc == 6 && strcmp(argv[1], "--victim") == 0)
        return victim(argv[2], argv[3], strcmp(argv[4], "1") == 0, atoi(argv[5]));
    if (argc == 5 && strcmp(argv[1], "--racer") == 0)
        return racer(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc == 6 && strcmp(argv[1], "--churn") == 0)
        return churner(argv[2], argv[3], atoi(argv[4]), strcmp(argv[5], "1") == 0);

    bool fork_first = false;
    int i = 1;
    if (i < argc && strcmp(argv[i], "--fork") == 0) {
        fork_first = true;
        i++;
    }
    struct plan p = {false, false, false, 0};
    const char *what = i < argc ? argv[i++] : "all";
    if (i < argc) p.n = atoi(argv[i++]);
    if (strcmp(what, "crash") == 0) p.crash = true;
    else if (strcmp(what, "races") == 0) p.races = true;
    else if (strcmp(what, "leak") == 0) p.leak = true;
    else if (strcmp(what, "all") == 0) p.crash = p.races = p.leak = true;
    else {
        fprintf(stderr, "usage: %s [--fork] crash|races|leak|all [N]\n", argv[0]);
        return 2;
    }
    if (fork_first) {
        g_forked = true;
        return run_forked(run_plan, &p, "test_hardening --fork");
    }
    return run_plan(&p);
}
