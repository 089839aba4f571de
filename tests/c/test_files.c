/*
 * test_files - npshm_read_file(_ex) and npshm_write_file through the C interface:
 *
 *   test_files [--fork] FILES_DIR
 *
 * FILES_DIR is tests/vectors/files (npio files by cdxcore.npio.to_file, .npy files by numpy.save,
 * damaged copies, MANIFEST). Every vector is loaded, checked field by field and byte by byte
 * (CRC-32), attached again and written back, and read into the caller's memory and written from it
 * (npshm_read_file_data, npshm_write_file_data, npshm_encode_file_header); then the errors, cancellation, many threads and many
 * processes loading one name at once (exactly one reads the file), and a loader killed half-way
 * (NPSHM_TEST_PAUSE=load, in a re-executed copy of this program), on the Go path and the C path.
 * --fork runs it all in a child forked after the parent used the library (the C path).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "check.h"

static const char *files_dir;
static const char *self_exe;
static char tmpdir[256];

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static int counter;
static void fresh_name(char *buf, size_t cap) {
    snprintf(buf, cap, "npshm-ctest-files-%d-%d", (int)getpid(), ++counter);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void check_nothing_left(const char *name) {
    char p[512];
    snprintf(p, sizeof p, "/dev/shm/%s", name);
    CHECKF(!exists(p), "%s was left behind", p);
    snprintf(p, sizeof p, "/dev/shm/.npshm-lock-%s", name);
    CHECKF(!exists(p), "%s was left behind", p);
}

static uint64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* An npshm_alloc_fn that records the header and gives malloc'd memory. */
typedef struct record {
    int calls;
    npshm_file_info info;
    int64_t shape[NPSHM_MAX_NDIM];
    char dtype[512];
    void *data;
} record;

static int record_alloc(const npshm_file_info *info, void **data, void *ctx) {
    record *r = ctx;
    r->calls++;
    r->info = *info;
    memcpy(r->shape, info->shape, sizeof(int64_t) * (size_t)info->ndim);
    snprintf(r->dtype, sizeof r->dtype, "%s", info->dtype);
    r->data = malloc(info->nbytes + 1);
    *data = r->data;
    return r->data ? 0 : 1;
}

static int same_file_bytes(const char *a, const char *b) {
    FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
    int same = x && y;
    while (same) {
        int cx = fgetc(x), cy = fgetc(y);
        if (cx != cy) same = 0;
        if (cx == EOF) break;
    }
    if (x) fclose(x);
    if (y) fclose(y);
    return same;
}

/* The array a (loaded from the vector path) read into memory of ours, and written from it: the same
 * bytes as npshm_write_file writes, with the header npshm_encode_file_header gives. */
static void check_data_functions(const char *file, const char *path, const npshm_array *a) {
    record r;
    memset(&r, 0, sizeof r);
    uint64_t end = 0;
    if (EXPECT_RC(npshm_read_file_data(path, 0, record_alloc, &r, &end), NPSHM_OK) != NPSHM_OK) return;
    CHECKF(r.calls == 1 && end == file_size(path), "%s: %d calls, end %llu", file, r.calls, (unsigned long long)end);
    CHECKF(r.info.ndim == npshm_ndim(a) && memcmp(r.shape, npshm_shape(a), 8 * (size_t)r.info.ndim) == 0 &&
               strcmp(r.dtype, npshm_dtype(a)) == 0 && r.info.nbytes == npshm_nbytes(a) &&
               r.info.itemsize == npshm_itemsize(a) && r.info.fortran == npshm_is_fortran(a) &&
               memcmp(r.data, npshm_data(a), npshm_nbytes(a)) == 0,
           "%s: read into memory differs from the loaded array", file);
    for (int k = 0; k < 2; k++) {
        char ours[400], theirs[400];
        snprintf(theirs, sizeof theirs, "%s/out%s", tmpdir, k ? ".npy" : ".npio");
        snprintf(ours, sizeof ours, "%s/data-without-suffix", tmpdir);
        unsigned flags = (k ? NPSHM_NPY : NPSHM_NPIO) | (r.info.fortran ? NPSHM_FORTRAN : 0);
        int rc = npshm_write_file(theirs, a);
        EXPECT_RC(npshm_write_file_data(ours, r.data, r.info.ndim, r.shape, r.dtype, flags), rc);
        unsigned char hdr[NPSHM_MAX_FILE_HEADER];
        size_t len = 0;
        EXPECT_RC(npshm_encode_file_header(hdr, sizeof hdr, r.info.ndim, r.shape, r.dtype, flags, &len), rc);
        if (rc != NPSHM_OK) continue;
        CHECKF(same_file_bytes(ours, theirs), "%s: npshm_write_file_data wrote other bytes than npshm_write_file", file);
        FILE *f = fopen(ours, "rb");
        unsigned char got[NPSHM_MAX_FILE_HEADER];
        size_t n = f ? fread(got, 1, len, f) : 0;
        if (f) fclose(f);
        CHECKF(n == len && memcmp(got, hdr, len) == 0, "%s: the encoded header is not the file's", file);
    }
    free(r.data);
}

static void test_vectors(void) {
    char manifest[512];
    snprintf(manifest, sizeof manifest, "%s/MANIFEST", files_dir);
    FILE *f = fopen(manifest, "r");
    if (f == NULL) {
        FAILF("cannot open %s", manifest);
        return;
    }
    char line[70000];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        line[strcspn(line, "\n")] = 0;
        char file[128], ok[8], fmt[8], shape_s[512], kind[16];
        char path[700], name[96];
        if (sscanf(line, "%127s %7s %7s", file, ok, fmt) != 3) continue;
        snprintf(path, sizeof path, "%s/%s", files_dir, file);
        fresh_name(name, sizeof name);
        npshm_read_options o = NPSHM_READ_OPTIONS_INIT;
        npshm_array *a = SENTINEL;
        n++;
        if (strcmp(ok, "ERR") == 0) {
            sscanf(line, "%*s %*s %*s %15s", kind);
            EXPECT_RC(npshm_read_file_ex(path, name, 0, &o, &a), NPSHM_ERR_FORMAT);
            CHECKF(a == SENTINEL, "%s: out changed", file);
            int eof = strcmp(kind, "EOF") == 0;
            CHECKF((npshm_last_errno() == ENODATA) == eof, "%s: errno %d, want %s", file, npshm_last_errno(),
                   eof ? "ENODATA" : "0");
            check_nothing_left(name);
            record r;
            memset(&r, 0, sizeof r);
            EXPECT_RC(npshm_read_file_data(path, 0, record_alloc, &r, NULL), NPSHM_ERR_FORMAT);
            CHECKF(r.calls == 0 && (npshm_last_errno() == ENODATA) == eof, "%s: read_file_data asked for memory",
                   file);
            continue;
        }
        int ndim, fortran;
        unsigned long long itemsize, nbytes;
        unsigned crc;
        int pos = 0;
        if (sscanf(line, "%*s %*s %*s %d %511s %llu %llu %d %x %n", &ndim, shape_s, &itemsize, &nbytes, &fortran, &crc,
                   &pos) != 6) {
            FAILF("bad manifest line %s", line);
            continue;
        }
        const char *descr = line + pos;
        if (EXPECT_RC(npshm_read_file_ex(path, name, 0, &o, &a), NPSHM_OK) != NPSHM_OK) continue;
        CHECKF(o.attached == 0, "%s: attached", file);
        CHECKF(o.end == file_size(path), "%s: end %llu", file, (unsigned long long)o.end);
        CHECKF(npshm_ndim(a) == ndim, "%s: ndim %d", file, npshm_ndim(a));
        char got_shape[512] = "-";
        for (int i = 0, off = 0; i < npshm_ndim(a); i++)
            off += snprintf(got_shape + off, sizeof got_shape - (size_t)off, i ? ",%lld" : "%lld",
                            (long long)npshm_shape(a)[i]);
        CHECKF(strcmp(got_shape, shape_s) == 0, "%s: shape %s, want %s", file, got_shape, shape_s);
        CHECKF(npshm_itemsize(a) == itemsize && npshm_nbytes(a) == nbytes, "%s: sizes", file);
        CHECKF(npshm_is_fortran(a) == fortran, "%s: fortran", file);
        CHECKF(strcmp(npshm_dtype(a), descr) == 0, "%s: dtype %s, want %s", file, npshm_dtype(a), descr);
        CHECKF(crc32_of(npshm_data(a), npshm_nbytes(a)) == crc, "%s: data differs", file);
        char lock[512];
        snprintf(lock, sizeof lock, "/dev/shm/.npshm-lock-%s", name);
        CHECKF(!exists(lock), "%s: lock file left", file);
        /* Loading again attaches. */
        npshm_array *b = NULL;
        o = (npshm_read_options)NPSHM_READ_OPTIONS_INIT;
        if (EXPECT_RC(npshm_read_file_ex(path, name, NPSHM_READONLY, &o, &b), NPSHM_OK) == NPSHM_OK) {
            CHECKF(o.attached == 1 && npshm_is_readonly(b), "%s: second load", file);
            npshm_release(b);
        }
        /* Written back, in both formats where npio can hold the array. */
        for (int k = 0; k < 2; k++) {
            char out[400];
            snprintf(out, sizeof out, "%s/out%s", tmpdir, k ? ".npy" : ".npio");
            int npio_ok = strcmp(descr, "|u1") != 0 && descr[0] != '>' && descr[0] != '[' &&
                          strchr("biufc", descr[1]) != NULL && !fortran;
            if (k == 0 && !npio_ok) {
                EXPECT_RC(npshm_write_file(out, a), NPSHM_ERR_INVALID);
                continue;
            }
            if (EXPECT_RC(npshm_write_file(out, a), NPSHM_OK) != NPSHM_OK) continue;
            char name2[96];
            fresh_name(name2, sizeof name2);
            npshm_array *c = NULL;
            if (EXPECT_RC(npshm_read_file(out, name2, 0, &c), NPSHM_OK) == NPSHM_OK) {
                CHECKF(crc32_of(npshm_data(c), npshm_nbytes(c)) == crc && strcmp(npshm_dtype(c), descr) == 0,
                       "%s: written and read back as %s differs", file, out);
                npshm_release(c);
                npshm_delete(name2);
            }
            if (k == 1 && strcmp(fmt, "npy") == 0 && strstr(file, "_v2") == NULL && strstr(file, "_v3") == NULL) {
                /* byte for byte what numpy.save wrote */
                CHECKF(same_file_bytes(path, out), "%s: npshm_write_file did not write numpy.save's bytes", file);
            }
        }
        check_data_functions(file, path, a);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    fclose(f);
    CHECKF(n >= 40, "only %d vectors", n);
}

/* A file of n float64 values 0, 1, 2... in npio format. */
static void make_npio(const char *path, int64_t n) {
    npshm_array *a = NULL;
    char name[96];
    fresh_name(name, sizeof name);
    if (EXPECT_RC(npshm_create(name, 1, &n, "float64", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    double *d = npshm_data(a);
    for (int64_t i = 0; i < n; i++) d[i] = (double)i;
    EXPECT_RC(npshm_write_file(path, a), NPSHM_OK);
    npshm_release(a);
    npshm_delete(name);
}

static int check_values(const npshm_array *a, int64_t n) {
    const double *d = npshm_data(a);
    if (npshm_nbytes(a) != (size_t)n * 8) return 0;
    for (int64_t i = n - 1; i >= 0; i -= 997)
        if (d[i] != (double)i) return 0;
    return d[0] == 0.0 && d[n - 1] == (double)(n - 1);
}

static void test_errors(void) {
    char path[400], name[96], missing[400];
    snprintf(path, sizeof path, "%s/small.npio", tmpdir);
    snprintf(missing, sizeof missing, "%s/missing.npio", tmpdir);
    make_npio(path, 1000);
    fresh_name(name, sizeof name);
    npshm_array *a = SENTINEL;
    EXPECT_RC(npshm_read_file(missing, name, 0, &a), NPSHM_ERR_NOT_FOUND);
    EXPECT_RC(npshm_read_file(tmpdir, name, 0, &a), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_read_file(path, name, NPSHM_REPLACE, &a), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_read_file(NULL, name, 0, &a), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_read_file(path, NULL, 0, &a), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_read_file(path, name, 0, NULL), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_read_file(path, "a/b", 0, &a), NPSHM_ERR_INVALID);
    npshm_read_options o = NPSHM_READ_OPTIONS_INIT;
    int64_t shape[1] = {999};
    o.expect_shape = 1;
    o.ndim = 1;
    o.shape = shape;
    EXPECT_RC(npshm_read_file_ex(path, name, 0, &o, &a), NPSHM_ERR_MISMATCH);
    o = (npshm_read_options)NPSHM_READ_OPTIONS_INIT;
    o.dtype = "float32";
    EXPECT_RC(npshm_read_file_ex(path, name, 0, &o, &a), NPSHM_ERR_MISMATCH);
    volatile int stop = 1;
    o = (npshm_read_options)NPSHM_READ_OPTIONS_INIT;
    o.cancel = &stop;
    EXPECT_RC(npshm_read_file_ex(path, name, 0, &o, &a), NPSHM_ERR_IO);
    CHECK(npshm_last_errno() == EINTR);
    CHECK(a == SENTINEL);
    check_nothing_left(name);
    /* Exclusive, mode, and an existing array that must match the file. */
    EXPECT_RC(npshm_read_file(path, name, NPSHM_EXCLUSIVE | NPSHM_MODE(0640), &a), NPSHM_OK);
    char p[512];
    snprintf(p, sizeof p, "/dev/shm/%s", name);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640);
    npshm_array *b = SENTINEL;
    EXPECT_RC(npshm_read_file(path, name, NPSHM_EXCLUSIVE, &b), NPSHM_ERR_EXISTS);
    char other[400];
    snprintf(other, sizeof other, "%s/other.npio", tmpdir);
    make_npio(other, 10);
    EXPECT_RC(npshm_read_file(other, name, 0, &b), NPSHM_ERR_MISMATCH);
    /* With the full expectation, the file is not needed to attach. */
    o = (npshm_read_options)NPSHM_READ_OPTIONS_INIT;
    shape[0] = 1000;
    o.expect_shape = 1;
    o.ndim = 1;
    o.shape = shape;
    o.dtype = "<f8";
    if (EXPECT_RC(npshm_read_file_ex(missing, name, 0, &o, &b), NPSHM_OK) == NPSHM_OK) {
        CHECK(o.attached == 1 && o.end == 0);
        npshm_release(b);
    }
    npshm_release(a);
    npshm_delete(name);
    /* Two arrays in one file, one after the other. */
    char two[400];
    snprintf(two, sizeof two, "%s/two.npio", tmpdir);
    FILE *x = fopen(path, "rb"), *y = fopen(other, "rb"), *z = fopen(two, "wb");
    int c;
    while ((c = fgetc(x)) != EOF) fputc(c, z);
    while ((c = fgetc(y)) != EOF) fputc(c, z);
    fclose(x);
    fclose(y);
    fclose(z);
    o = (npshm_read_options)NPSHM_READ_OPTIONS_INIT;
    o.offset = file_size(path);
    fresh_name(name, sizeof name);
    if (EXPECT_RC(npshm_read_file_ex(two, name, 0, &o, &b), NPSHM_OK) == NPSHM_OK) {
        CHECK(check_values(b, 10) && o.end == file_size(two));
        npshm_release(b);
        npshm_delete(name);
    }
    EXPECT_RC(npshm_write_file(tmpdir, b = NULL), NPSHM_ERR_INVALID);
}

/* ---- many loaders at once ---- */

#define BIG (8 << 20) /* 64 MiB of float64 */
static char big_path[400];

typedef struct loader {
    const char *name;
    int rc, attached, ok;
} loader;

static void *load_thread(void *arg) {
    loader *l = arg;
    npshm_read_options o = NPSHM_READ_OPTIONS_INIT;
    npshm_array *a = NULL;
    l->rc = npshm_read_file_ex(big_path, l->name, NPSHM_READONLY, &o, &a);
    if (l->rc == NPSHM_OK) {
        l->attached = o.attached;
        l->ok = check_values(a, BIG);
        npshm_release(a);
    }
    return NULL;
}

static void test_concurrent(void) {
    for (int round = 0; round < 3; round++) {
        char name[96];
        fresh_name(name, sizeof name);
        /* threads of this process */
        loader ls[8];
        pthread_t th[8];
        for (int i = 0; i < 8; i++) {
            ls[i] = (loader){name, -99, -1, 0};
            pthread_create(&th[i], NULL, load_thread, &ls[i]);
        }
        int loaded = 0;
        for (int i = 0; i < 8; i++) {
            pthread_join(th[i], NULL);
            CHECKF(ls[i].rc == NPSHM_OK && ls[i].ok, "thread %d: rc %d ok %d", i, ls[i].rc, ls[i].ok);
            loaded += ls[i].attached == 0;
        }
        CHECKF(loaded == 1, "round %d: %d threads loaded the file", round, loaded);
        npshm_delete(name);
        check_nothing_left(name);
        /* processes: forked children (the C path) */
        fresh_name(name, sizeof name);
        pid_t pids[8];
        for (int i = 0; i < 8; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                alarm(60);
                loader l = {name, -99, -1, 0};
                load_thread(&l);
                _exit(l.rc != NPSHM_OK || !l.ok ? 3 : l.attached ? 1 : 0);
            }
        }
        loaded = 0;
        for (int i = 0; i < 8; i++) {
            int status = 0;
            waitpid(pids[i], &status, 0);
            CHECKF(WIFEXITED(status) && WEXITSTATUS(status) <= 1, "child %d: status %#x", i, status);
            loaded += WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        CHECKF(loaded == 1, "round %d: %d processes loaded the file", round, loaded);
        npshm_delete(name);
        check_nothing_left(name);
    }
}

/* ---- a loader killed half-way ---- */

static void test_killed_loader(int via_fork) {
    char name[96];
    fresh_name(name, sizeof name);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Its own process group, so that one kill reaches the loader and any child it forked,
         * even one that stops at the pause point after this test gave up waiting for it. */
        setpgid(0, 0);
        setenv("NPSHM_TEST_PAUSE", "load", 1);
        execl(self_exe, self_exe, via_fork ? "--load-forked" : "--load", big_path, name, (char *)NULL);
        _exit(126);
    }
    setpgid(pid, pid); /* either side may run first */
    /* Wait for the loader (or its forked child) to stop at the pause point. */
    int stopped = 0;
    char lock[512], p[512];
    snprintf(lock, sizeof lock, "/dev/shm/.npshm-lock-%s", name);
    snprintf(p, sizeof p, "/dev/shm/%s", name);
    for (int i = 0; i < 2000 && !stopped; i++) {
        if (!via_fork) {
            int status;
            if (waitpid(pid, &status, WUNTRACED | WNOHANG) == pid && WIFSTOPPED(status)) stopped = 1;
        } else {
            FILE *f = fopen("/proc/self/stat", "r"); /* any /proc read; the child writes a marker */
            if (f) fclose(f);
            char marker[512];
            snprintf(marker, sizeof marker, "%s/stopped-%s", tmpdir, name);
            stopped = exists(marker);
        }
        if (!stopped) usleep(5000);
    }
    CHECKF(stopped, "the loader did not reach the pause point");
    CHECKF(!exists(p), "the half-loaded array is visible under its name");
    npshm_array *a = SENTINEL;
    EXPECT_RC(npshm_attach(name, 0, &a), NPSHM_ERR_NOT_FOUND);
    kill(-pid, SIGKILL);
    if (via_fork) {
        char marker[512];
        snprintf(marker, sizeof marker, "%s/stopped-%s", tmpdir, name);
        unlink(marker);
    }
    waitpid(pid, NULL, 0);
    usleep(20000);
    CHECKF(!exists(p), "the killed loader left an array");
    /* The next loader is not blocked by the dead one's lock file. */
    npshm_read_options o = NPSHM_READ_OPTIONS_INIT;
    alarm(60);
    if (EXPECT_RC(npshm_read_file_ex(big_path, name, 0, &o, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(o.attached == 0 && check_values(a, BIG));
        npshm_release(a);
    }
    npshm_delete(name);
    check_nothing_left(name);
}

static int run(void *arg) {
    files_dir = arg;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/npshm-ctest-files-%d", (int)getpid());
    mkdir(tmpdir, 0700);
    test_vectors();
    test_errors();
    snprintf(big_path, sizeof big_path, "%s/big.npio", tmpdir);
    make_npio(big_path, BIG);
    test_concurrent();
    test_killed_loader(0);
    test_killed_loader(1);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) FAILF("cannot remove %s", tmpdir);
    return 0;
}

/* --load[-forked] PATH NAME: the loader of test_killed_loader, under NPSHM_TEST_PAUSE=load. */
static int loader_main(int forked, const char *path, const char *name) {
    if (!forked) {
        npshm_array *a = NULL;
        return npshm_read_file(path, name, 0, &a) == NPSHM_OK ? 0 : 1;
    }
    /* Use the library, then load in a forked child (the C path); tell the parent its pid. */
    npshm_array *a = NULL;
    char warm[96];
    snprintf(warm, sizeof warm, "npshm-ctest-files-warm-%d", (int)getpid());
    if (npshm_create(warm, 0, NULL, "uint8", 0, &a) == NPSHM_OK) {
        npshm_release(a);
        npshm_delete(warm);
    }
    pid_t c = fork();
    if (c == 0) {
        npshm_array *b = NULL;
        _exit(npshm_read_file(path, name, 0, &b) == NPSHM_OK ? 0 : 1);
    }
    /* Wait until the child stops, then write the marker. */
    int status;
    while (waitpid(c, &status, WUNTRACED) == c && !WIFSTOPPED(status) && !WIFEXITED(status)) {
    }
    char marker[512], dir[256];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    snprintf(marker, sizeof marker, "%s/stopped-%s", dir, name);
    FILE *f = fopen(marker, "w");
    if (f) {
        fprintf(f, "%d\n", (int)c);
        fclose(f);
    }
    pause();
    return 0;
}

int main(int argc, char **argv) {
    self_exe = "/proc/self/exe";
    static char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        self_exe = exe;
    }
    if (argc == 4 && strncmp(argv[1], "--load", 6) == 0) return loader_main(strcmp(argv[1], "--load-forked") == 0, argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "--fork") == 0) return run_forked(run, argv[2], "test_files --fork");
    if (argc != 2) {
        fprintf(stderr, "usage: %s [--fork] FILES_DIR\n", argv[0]);
        return 2;
    }
    run(argv[1]);
    return check_result("test_files");
}
