/* speed_floor.c: npshm's C calls side by side with the raw system calls of the same work
 * (bench/bench_speed.py builds and runs it; issue 13, "Speed").
 *
 *   speed_floor attach ROUNDS   npshm_attach + npshm_release of a 1000-element float64 array
 *                               against open, fstat, mmap, munmap, close of the same file
 *   speed_floor create MIB ROUNDS
 *                               npshm_create of MIB MiB of uint8 + a first full write (memset),
 *                               against open(O_CREAT), ftruncate, mmap, memset (SharedArray's way:
 *                               no reservation) and fallocate, mmap, memset (reserved, unpopulated)
 *
 * Each round runs every variant once, in turn, so that they see the same machine; the output is
 * one line per variant: "name median_ns min_ns". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "npshm.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%s %.0f %.0f\n", what, t[n / 2], t[0]);
}

static void die(const char *what) {
    fprintf(stderr, "speed_floor: %s: %s\n", what, npshm_last_error());
    exit(1);
}

/* The path of a shm name, in the directory npshm uses (NPSHM_DIR or /dev/shm). */
static void path_of(const char *name, char *buf, size_t cap) {
    const char *dir = getenv("NPSHM_DIR");
    snprintf(buf, cap, "%s/%s", dir && *dir ? dir : "/dev/shm", name);
}

static int bench_attach(int rounds) {
    char name[64], path[4200];
    snprintf(name, sizeof name, "speed-floor-%d-%ld", (int)getpid(), (long)random());
    path_of(name, path, sizeof path);
    int64_t shape[1] = {1000};
    npshm_array *a;
    if (npshm_create(name, 1, shape, "<f8", 0, &a) != NPSHM_OK) die("create");
    npshm_release(a);
    enum { INNER = 200 };
    double *raw = malloc(sizeof(double) * (size_t)rounds), *np = malloc(sizeof(double) * (size_t)rounds);
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ns();
        for (int i = 0; i < INNER; i++) {
            int fd = open(path, O_RDWR | O_CLOEXEC);
            struct stat st;
            fstat(fd, &st);
            void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            munmap(p, (size_t)st.st_size);
            close(fd);
        }
        double t1 = now_ns();
        for (int i = 0; i < INNER; i++) {
            if (npshm_attach(name, 0, &a) != NPSHM_OK) die("attach");
            npshm_release(a);
        }
        double t2 = now_ns();
        raw[r] = (t1 - t0) / INNER;
        np[r] = (t2 - t1) / INNER;
    }
    npshm_delete(name);
    report("raw_open_fstat_mmap_munmap_close", raw, rounds);
    report("npshm_attach_release", np, rounds);
    return 0;
}

static int bench_create(long mib, int rounds) {
    size_t n = (size_t)mib << 20;
    char name[64], path[4200];
    snprintf(name, sizeof name, "speed-floor-%d-%ld", (int)getpid(), (long)random());
    path_of(name, path, sizeof path);
    double *lazy = malloc(sizeof(double) * (size_t)rounds), *resv = malloc(sizeof(double) * (size_t)rounds),
           *np = malloc(sizeof(double) * (size_t)rounds);
    for (int r = 0; r < rounds; r++) {
        /* SharedArray: open, ftruncate, mmap, then the first write faults every page in. */
        double t0 = now_ns();
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t)n) != 0) die("raw create");
        char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        memset(p, 1, n);
        double t1 = now_ns();
        munmap(p, n);
        unlink(path);
        /* Reserved with fallocate, then written through a fresh mapping. */
        double t2 = now_ns();
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || fallocate(fd, 0, 0, (off_t)n) != 0) die("raw fallocate");
        p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        memset(p, 1, n);
        double t3 = now_ns();
        munmap(p, n);
        unlink(path);
        /* npshm. */
        int64_t shape[1] = {(int64_t)n};
        npshm_array *a;
        double t4 = now_ns();
        if (npshm_create(name, 1, shape, "|u1", 0, &a) != NPSHM_OK) die("create");
        memset(npshm_data(a), 1, n);
        double t5 = now_ns();
        npshm_release(a);
        npshm_delete(name);
        lazy[r] = t1 - t0;
        resv[r] = t3 - t2;
        np[r] = t5 - t4;
    }
    report("raw_ftruncate_mmap_write", lazy, rounds);
    report("raw_fallocate_mmap_write", resv, rounds);
    report("npshm_create_write", np, rounds);
    return 0;
}

int main(int argc, char **argv) {
    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    if (argc == 3 && strcmp(argv[1], "attach") == 0) return bench_attach(atoi(argv[2]));
    if (argc == 4 && strcmp(argv[1], "create") == 0) return bench_create(atol(argv[2]), atoi(argv[3]));
    fprintf(stderr, "usage: speed_floor attach ROUNDS | create MIB ROUNDS\n");
    return 2;
}
