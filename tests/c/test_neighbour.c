/*
 * test_neighbour.c - round two of the hardening (docs/RELIABILITY.md, "A hostile neighbour and a
 * careless caller"), through the C interface, on both paths of the library:
 *
 *   test_neighbour [--fork]
 *
 * symlinks and FIFOs at an array's name, a FIFO as the file to load, lock files, arrays and
 * temporary names squatted by another user (uid 65534, as root), bounded waits and the options'
 * size, a fork during a load (the lock is free and the child holds nothing once the load is
 * published or abandoned), and sparse segments. --fork runs it all in a child forked after the
 * process used the library (the C path). A full /dev/shm with a sparse segment is in
 * test_nospace.c; setuid modes in test_contract.c.
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#define SHM_DIR "/dev/shm"
#define OTHER_UID 65534

static char tmpdir[256];
static int counter;
static bool root;

static void fresh_name(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "npshm-ctest-nb-%d-%d-%s", (int)getpid(), ++counter, tag);
}

static bool lexists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static void shm_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, SHM_DIR "/%s", name); }
static void lock_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, SHM_DIR "/.npshm-lock-%s", name); }

#define EXPECT_MSG(part)                                                                                   \
    CHECKF(strstr(npshm_last_error(), (part)) != NULL, "last error \"%s\" lacks \"%s\"", npshm_last_error(), \
           (part))

/* An npio file of n float64 zeros, sparse on disk. */
static void npio_zeros(const char *path, uint64_t n) {
    unsigned char h[16] = {0, 0, 0, 16, 10, 0, 0, 1};
    for (int i = 0; i < 8; i++) h[8 + i] = (unsigned char)(n >> (56 - 8 * i));
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, h, 16) != 16 || ftruncate(fd, (off_t)(16 + 8 * n)) != 0) FAILF("cannot write %s", path);
    if (fd >= 0) close(fd);
}

/* ---- symlinks and FIFOs at a name (items 3 and 7) ---- */

static void test_symlinks(void) {
    char target[96], link[96], tpath[256], lpath[256], file[400], fname[420], flink[400], fl[420], npio[400];
    fresh_name(target, sizeof target, "target");
    fresh_name(link, sizeof link, "link");
    shm_path(tpath, sizeof tpath, target);
    shm_path(lpath, sizeof lpath, link);
    snprintf(file, sizeof file, "%s/private.arr", tmpdir);
    snprintf(fname, sizeof fname, "file://%s", file);
    snprintf(flink, sizeof flink, "%s/link.arr", tmpdir);
    snprintf(fl, sizeof fl, "file://%s", flink);
    snprintf(npio, sizeof npio, "%s/sym.npio", tmpdir);
    int64_t n = 1000;
    npshm_array *a = NULL, *b = NULL, *x = SENTINEL;
    if (EXPECT_RC(npshm_create(target, 1, &n, "float64", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    if (EXPECT_RC(npshm_create(fname, 1, &n, "float64", 0, &b), NPSHM_OK) != NPSHM_OK) return;
    ((double *)npshm_data(a))[0] = 7;
    EXPECT_RC(npshm_write_file(npio, a), NPSHM_OK);
    const char *dests[] = {tpath, file};
    for (int k = 0; k < 2; k++) {
        CHECK(symlink(dests[k], lpath) == 0);
        EXPECT_RC(npshm_attach(link, 0, &x), NPSHM_ERR_PERMISSION);
        CHECK(npshm_last_errno() == ELOOP);
        EXPECT_MSG("the name is a symbolic link, which npshm does not follow");
        EXPECT_RC(npshm_attach(link, NPSHM_READONLY, &x), NPSHM_ERR_PERMISSION);
        EXPECT_RC(npshm_attach_expect(link, 0, 1, &n, "float64", &x), NPSHM_ERR_PERMISSION);
        EXPECT_RC(npshm_read_file(npio, link, 0, &x), NPSHM_ERR_PERMISSION);
        EXPECT_MSG("npshm_read_file(");
        CHECK(x == SENTINEL);
        /* create does not write through it; replace and delete act on the link itself */
        EXPECT_RC(npshm_create(link, 1, &n, "float64", 0, &x), NPSHM_ERR_EXISTS);
        npshm_array *r = NULL;
        if (EXPECT_RC(npshm_create(link, 1, (int64_t[]){2}, "int8", NPSHM_REPLACE, &r), NPSHM_OK) == NPSHM_OK) {
            struct stat st;
            CHECK(lstat(lpath, &st) == 0 && S_ISREG(st.st_mode));
            npshm_release(r);
        }
        EXPECT_RC(npshm_delete(link), NPSHM_OK);
        CHECK(symlink(dests[k], lpath) == 0);
        EXPECT_RC(npshm_delete(link), NPSHM_OK);
        CHECK(!lexists(lpath) && lexists(dests[k]));
    }
    CHECK(symlink(file, flink) == 0);
    EXPECT_RC(npshm_attach(fl, 0, &x), NPSHM_ERR_PERMISSION);
    CHECK(npshm_last_errno() == ELOOP && x == SENTINEL);
    CHECK(((double *)npshm_data(a))[0] == 7 && npshm_nbytes(b) == 8000);
    npshm_release(a);
    npshm_release(b);
    npshm_delete(target);
    unlink(flink);
}

static void test_fifos(void) {
    char name[96], path[256], fifo[400];
    fresh_name(name, sizeof name, "fifo");
    shm_path(path, sizeof path, name);
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    CHECK(mkfifo(fifo, 0600) == 0);
    npshm_array *x = SENTINEL;
    /* Used to hang in open() forever: the alarm of main (or run_forked) catches a hang. */
    EXPECT_RC(npshm_read_file(fifo, name, 0, &x), NPSHM_ERR_INVALID);
    EXPECT_MSG("the file is not a regular file");
    EXPECT_RC(npshm_read_file("/dev/null", name, 0, &x), NPSHM_ERR_INVALID);
    CHECK(x == SENTINEL && !lexists(path));
    CHECK(mkfifo(path, 0600) == 0);
    EXPECT_RC(npshm_attach(name, 0, &x), NPSHM_ERR_FORMAT);
    EXPECT_MSG("not a regular file");
    unlink(path);
    unlink(fifo);
}

/* ---- lock files, arrays and temporary names of another user (item 5) ---- */

static void test_lock_files(void) {
    char npio[400];
    snprintf(npio, sizeof npio, "%s/lock.npio", tmpdir);
    npio_zeros(npio, 100);
    for (int k = 0; k < 3; k++) {
        if (k == 2 && !root) break;
        char name[96], lock[256], want[400];
        fresh_name(name, sizeof name, "lock");
        lock_path(lock, sizeof lock, name);
        if (k == 0) {
            CHECK(symlink("/dev/null", lock) == 0);
            snprintf(want, sizeof want, "the lock file %s is a symbolic link", lock);
        } else if (k == 1) {
            CHECK(mkfifo(lock, 0600) == 0);
            snprintf(want, sizeof want, "the lock file %s is not a regular file", lock);
        } else {
            int fd = open(lock, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
            CHECK(fd >= 0 && fchown(fd, OTHER_UID, OTHER_UID) == 0);
            if (fd >= 0) close(fd);
            snprintf(want, sizeof want, "the lock file %s belongs to uid %d", lock, OTHER_UID);
        }
        npshm_array *x = SENTINEL;
        EXPECT_RC(npshm_read_file(npio, name, 0, &x), NPSHM_ERR_PERMISSION);
        EXPECT_MSG(want);
        CHECK(x == SENTINEL && lexists(lock));
        unlink(lock);
    }
}

typedef struct canceller {
    volatile int *flag;
} canceller;

static void *cancel_later(void *arg) {
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    *((canceller *)arg)->flag = 1;
    return NULL;
}

static void test_bounded_waits(void) {
    char npio[400], name[96], lock[256], want[400];
    snprintf(npio, sizeof npio, "%s/wait.npio", tmpdir);
    npio_zeros(npio, 100);
    fresh_name(name, sizeof name, "wait");
    lock_path(lock, sizeof lock, name);
    int held = open(lock, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    CHECK(held >= 0 && flock(held, LOCK_EX) == 0);
    npshm_array *x = SENTINEL;
    npshm_read_options o = NPSHM_READ_OPTIONS_INIT;
    o.timeout_ms = 30;
    EXPECT_RC(npshm_read_file_ex(npio, name, 0, &o, &x), NPSHM_ERR_IO);
    CHECK(npshm_last_errno() == ETIMEDOUT);
    snprintf(want, sizeof want, "timed out waiting for the lock file %s, held by pid %d", lock, (int)getpid());
    EXPECT_MSG(want);
    /* A C caller without a timeout can stop a wait from another thread (or a signal handler). */
    volatile int stop = 0;
    canceller c = {&stop};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &c);
    o = (npshm_read_options)NPSHM_READ_OPTIONS_INIT;
    o.cancel = &stop;
    EXPECT_RC(npshm_read_file_ex(npio, name, 0, &o, &x), NPSHM_ERR_IO);
    CHECK(npshm_last_errno() == EINTR);
    pthread_join(th, NULL);
    CHECK(x == SENTINEL);
    char path[256];
    shm_path(path, sizeof path, name);
    CHECK(!lexists(path));
    unlink(lock);
    close(held);

    /* The options' size: too small is refused, larger is fine if the unknown tail is zero. */
    struct {
        npshm_read_options o;
        char tail[16];
    } big;
    memset(&big, 0, sizeof big);
    big.o.size = sizeof big;
    if (EXPECT_RC(npshm_read_file_ex(npio, name, 0, &big.o, &x), NPSHM_OK) == NPSHM_OK) {
        CHECK(big.o.attached == 0 && big.o.end == 16 + 800);
        npshm_release(x);
        x = SENTINEL;
    }
    big.tail[3] = 1;
    EXPECT_RC(npshm_read_file_ex(npio, name, 0, &big.o, &x), NPSHM_ERR_INVALID);
    EXPECT_MSG("options set fields this version of the library does not know");
    o = (npshm_read_options)NPSHM_READ_OPTIONS_INIT;
    o.size = 8;
    EXPECT_RC(npshm_read_file_ex(npio, name, 0, &o, &x), NPSHM_ERR_INVALID);
    EXPECT_MSG("options.size is smaller");
    o = (npshm_read_options)NPSHM_READ_OPTIONS_INIT;
    o.timeout_ms = -2;
    EXPECT_RC(npshm_read_file_ex(npio, name, 0, &o, &x), NPSHM_ERR_INVALID);
    EXPECT_MSG("timeout_ms must be -1");
    o.timeout_ms = -1; /* no limit, and nothing to wait for */
    if (EXPECT_RC(npshm_read_file_ex(npio, name, 0, &o, &x), NPSHM_OK) == NPSHM_OK) npshm_release(x);
    npshm_delete(name);

    /* A cancel set before the array is published wins, even with no data to fill. */
    char empty[400];
    snprintf(empty, sizeof empty, "%s/empty.npio", tmpdir);
    npio_zeros(empty, 0);
    stop = 1;
    o = (npshm_read_options)NPSHM_READ_OPTIONS_INIT;
    o.cancel = &stop;
    x = SENTINEL;
    EXPECT_RC(npshm_read_file_ex(empty, name, 0, &o, &x), NPSHM_ERR_IO);
    CHECK(npshm_last_errno() == EINTR && x == SENTINEL && !lexists(path));
}

static void test_foreign_array(void) {
    if (!root) return;
    char npio[400], name[96], path[256];
    snprintf(npio, sizeof npio, "%s/foreign.npio", tmpdir);
    npio_zeros(npio, 100);
    fresh_name(name, sizeof name, "foreign");
    shm_path(path, sizeof path, name);
    npshm_array *a = NULL, *x = SENTINEL;
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){100}, "<f8", NPSHM_MODE(0666), &a), NPSHM_OK) != NPSHM_OK) return;
    npshm_release(a);
    CHECK(chown(path, OTHER_UID, OTHER_UID) == 0);
    EXPECT_RC(npshm_read_file(npio, name, 0, &x), NPSHM_ERR_PERMISSION);
    EXPECT_MSG("the existing array belongs to uid 65534");
    npshm_read_options o = NPSHM_READ_OPTIONS_INIT;
    o.expect_shape = 1;
    o.ndim = 1;
    o.shape = (int64_t[]){100};
    o.dtype = "float64";
    EXPECT_RC(npshm_read_file_ex(npio, name, 0, &o, &x), NPSHM_ERR_PERMISSION);
    CHECK(x == SENTINEL);
    if (EXPECT_RC(npshm_read_file_ex(npio, name, NPSHM_ACCEPT_FOREIGN, &o, &x), NPSHM_OK) == NPSHM_OK) {
        CHECK(o.attached == 1);
        npshm_release(x);
    }
    npshm_delete(name);
}

static void test_temporary_names(void) {
    /* Another user's files at the old, predictable names of this process do not stop a replace. */
    char name[96], tmp[256];
    fresh_name(name, sizeof name, "tmp");
    int64_t n = 4;
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_create(name, 1, &n, "int16", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    npshm_release(a);
    for (int i = 1; i <= 200; i++) {
        snprintf(tmp, sizeof tmp, SHM_DIR "/.npshm-tmp-%d-%d", (int)getpid(), i);
        int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd >= 0 && root && fchown(fd, OTHER_UID, OTHER_UID) != 0) FAILF("chown %s", tmp);
        if (fd >= 0) close(fd);
    }
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){5}, "int16", NPSHM_REPLACE, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_shape(a)[0] == 5);
        npshm_release(a);
    }
    for (int i = 1; i <= 200; i++) {
        snprintf(tmp, sizeof tmp, SHM_DIR "/.npshm-tmp-%d-%d", (int)getpid(), i);
        unlink(tmp);
    }
    npshm_delete(name);

    /* npshm_clean_temporaries: the caller's regular files of dead pids, in either scheme. */
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/clean", tmpdir);
    mkdir(dir, 0700);
    static const char *stale[] = {"1", "0123456789abcdef", "ff"};
    static const char *kept[] = {"x1", "ABC", "", "link", "fifo", "other"};
    char p[400];
    for (size_t i = 0; i < sizeof stale / sizeof *stale; i++) {
        snprintf(p, sizeof p, "%s/.npshm-tmp-%d-%s", dir, (int)dead, stale[i]);
        close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    }
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        if (strcmp(kept[i], "other") == 0 && !root) continue;
        snprintf(p, sizeof p, "%s/.npshm-tmp-%d-%s", dir, (int)dead,
                 strcmp(kept[i], "link") == 0 ? "a1" : strcmp(kept[i], "fifo") == 0 ? "a2"
                 : strcmp(kept[i], "other") == 0 ? "a3" : kept[i]);
        if (strcmp(kept[i], "link") == 0) CHECK(symlink("/dev/null", p) == 0);
        else if (strcmp(kept[i], "fifo") == 0) CHECK(mkfifo(p, 0600) == 0);
        else {
            int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
            if (strcmp(kept[i], "other") == 0) CHECK(fchown(fd, OTHER_UID, OTHER_UID) == 0);
            close(fd);
        }
    }
    int removed = -1;
    EXPECT_RC(npshm_clean_temporaries(dir, &removed), NPSHM_OK);
    CHECKF(removed == 3, "removed %d, want 3", removed);
    int left = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        left++;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    CHECKF(left == (root ? 6 : 5), "%d files kept, want %d", left, root ? 6 : 5);
    rmdir(dir);
}

/* ---- a fork during a load (item 2) ---- */

typedef struct loading {
    const char *path, *name;
    int rc, attached;
} loading;

static void *load_thread(void *arg) {
    loading *l = arg;
    npshm_read_options o = NPSHM_READ_OPTIONS_INIT;
    npshm_array *a = NULL;
    l->rc = npshm_read_file_ex(l->path, l->name, 0, &o, &a);
    l->attached = o.attached;
    if (l->rc == NPSHM_OK) npshm_release(a);
    return NULL;
}

/* What of /dev/shm the process pid has open (but descriptor ignore) or mapped; 0 if nothing. */
static int holds_shm(pid_t pid, int ignore) {
    char p[64], target[512];
    int n = 0;
    snprintf(p, sizeof p, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char fp[300];
        if (atoi(e->d_name) == ignore) continue;
        snprintf(fp, sizeof fp, "%s/%s", p, e->d_name);
        ssize_t len = readlink(fp, target, sizeof target - 1);
        if (len > 0) {
            target[len] = 0;
            if (strncmp(target, SHM_DIR "/", 9) == 0) {
                printf("  child holds fd %s\n", target);
                n++;
            }
        }
    }
    if (d) closedir(d);
    snprintf(p, sizeof p, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(p, "r");
    char line[600];
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, SHM_DIR "/")) {
            printf("  child maps %s", line);
            n++;
        }
    if (f) fclose(f);
    return n;
}

/* A thread loads; another forks a child that lives on. Once the load is published or abandoned
 * (the file cut short under it), the lock is free and the child holds nothing of the load. */
static void test_fork_during_load(bool abandon) {
    for (int attempt = 0; attempt < 5; attempt++) {
        char path[400], name[96], lock[256];
        snprintf(path, sizeof path, "%s/big%d.npio", tmpdir, attempt);
        npio_zeros(path, 32u << 20); /* 256 MiB */
        fresh_name(name, sizeof name, abandon ? "abandon" : "publish");
        lock_path(lock, sizeof lock, name);
        loading l = {path, name, -99, -1};
        pthread_t th;
        pthread_create(&th, NULL, load_thread, &l);
        int waiter = -1;
        for (int i = 0; i < 200000 && waiter < 0; i++) {
            waiter = open(lock, O_RDWR | O_CLOEXEC);
            if (waiter < 0) usleep(10);
        }
        int pipefd[2];
        CHECK(pipe(pipefd) == 0);
        fflush(NULL);
        pid_t child = fork();
        if (child == 0) {
            char c;
            close(pipefd[1]);
            ssize_t r = read(pipefd[0], &c, 1); /* lives until the test lets it go */
            _exit(r < 0);
        }
        close(pipefd[0]);
        char shm[256];
        shm_path(shm, sizeof shm, name);
        bool during = waiter >= 0 && !lexists(shm);
        if (abandon) CHECK(truncate(path, 16) == 0);
        pthread_join(th, NULL);
        bool as_wanted = abandon ? l.rc == NPSHM_ERR_FORMAT : l.rc == NPSHM_OK && l.attached == 0;
        if (during && as_wanted) {
            CHECKF(flock(waiter, LOCK_EX | LOCK_NB) == 0, "the lock is still held (by the child): %s", strerror(errno));
            CHECKF(holds_shm(child, waiter) == 0, "the child (pid %d) holds a descriptor or mapping of the load", (int)child);
            CHECK(!lexists(lock));
        }
        close(pipefd[1]);
        waitpid(child, NULL, 0);
        if (waiter >= 0) close(waiter);
        npshm_delete(name);
        unlink(path);
        if (during && as_wanted) return;
    }
    FAILF("every load ended before the fork (or the truncation)");
}

/* ---- sparse segments (item 6; a full /dev/shm is in test_nospace.c) ---- */

static void test_sparse(void) {
    char src[96], spath[256];
    fresh_name(src, sizeof src, "sparse-src");
    shm_path(spath, sizeof spath, src);
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_create(src, 1, (int64_t[]){1 << 18}, "float64", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    npshm_release(a);
    unsigned char hdr[4096];
    int fd = open(spath, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && read(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size); /* ours are backed */
    close(fd);
    npshm_delete(src);
    for (int ro = 0; ro < 2; ro++) {
        char name[96], path[256];
        fresh_name(name, sizeof name, ro ? "sparse-ro" : "sparse-rw");
        shm_path(path, sizeof path, name);
        fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        CHECK(fd >= 0 && write(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr && ftruncate(fd, st.st_size) == 0);
        close(fd);
        CHECK(stat(path, &st) == 0 && st.st_blocks * 512 < st.st_size);
        if (EXPECT_RC(npshm_attach(name, ro ? NPSHM_READONLY : 0, &a), NPSHM_OK) == NPSHM_OK) {
            CHECKF(stat(path, &st) == 0 && st.st_blocks * 512 >= st.st_size, "read-only %d: %lld of %lld bytes backed",
                   ro, (long long)st.st_blocks * 512, (long long)st.st_size);
            npshm_release(a);
        }
        npshm_delete(name);
    }
}

static int run(void *arg) {
    (void)arg;
    root = geteuid() == 0;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/npshm-ctest-neighbour-%d", (int)getpid());
    mkdir(tmpdir, 0700);
    test_symlinks();
    test_fifos();
    test_lock_files();
    test_bounded_waits();
    test_foreign_array();
    test_temporary_names();
    test_fork_during_load(false);
    test_fork_during_load(true);
    test_sparse();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) FAILF("cannot remove %s", tmpdir);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "--fork") == 0) return run_forked(run, NULL, "test_neighbour --fork");
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--fork]\n", argv[0]);
        return 2;
    }
    alarm(100); /* a load that blocks (a FIFO, another user's lock) fails instead of hanging */
    run(NULL);
    return check_result("test_neighbour");
}
