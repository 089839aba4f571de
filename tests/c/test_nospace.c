/*
 * test_nospace.c - a full /dev/shm is NPSHM_ERR_NO_SPACE at creation, never a
 * SIGBUS later, and leaves nothing behind.
 *
 * Run it through run_in_small_shm.sh, which gives it a private 1 MiB tmpfs on
 * /dev/shm (needs root). Run directly on a larger /dev/shm it refuses to fill the
 * machine's and exits 77 (skipped). With --fork the checks run in a child forked
 * after the parent used the library.
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <sys/statvfs.h>

#define SHM_DIR "/dev/shm"

static void on_sigbus(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: SIGBUS while writing to an array: its memory was not reserved\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

/* The names in /dev/shm (all of them, dot files too), joined into buf. Returns the count. */
static int shm_entries(char *buf, size_t len) {
    buf[0] = '\0';
    DIR *d = opendir(SHM_DIR);
    if (!d) {
        FAILF("opendir " SHM_DIR ": %s", strerror(errno));
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        n++;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? ", " : "", e->d_name);
    }
    closedir(d);
    return n;
}

#define EXPECT_SHM_HOLDS(want)                                                              \
    do {                                                                                    \
        char entries_[900];                                                                \
        int n_ = shm_entries(entries_, sizeof entries_);                                    \
        CHECKF(n_ == (want), SHM_DIR " holds %d entries (%s), want %d", n_, entries_, (want)); \
    } while (0)

static unsigned char pattern(size_t i) { return (unsigned char)(i * 13 + 5); }

static int64_t avail_bytes(void) {
    struct statvfs v;
    if (statvfs(SHM_DIR, &v) != 0) return -1;
    return (int64_t)v.f_bavail * (int64_t)v.f_frsize;
}

static int run(void *arg) {
    (void)arg;
    struct statvfs v;
    if (statvfs(SHM_DIR, &v) != 0) {
        perror("statvfs " SHM_DIR);
        return 1;
    }
    int64_t total = (int64_t)v.f_blocks * (int64_t)v.f_frsize;
    if (total <= 0 || total > 4 * 1024 * 1024) {
        fprintf(stderr, "SKIPPED: " SHM_DIR " is %lld bytes, not a small private tmpfs; run this "
                        "test through run_in_small_shm.sh (ctest does)\n", (long long)total);
        const char *req = getenv("NPSHM_REQUIRE_NOSPACE_TEST");
        return req && strcmp(req, "1") == 0 ? 1 : 77;
    }
    /* With --fork, the parent unmaps its warm-up array (run_forked) just after the fork: wait until
     * its pages are back, or the filling below would race with their return. */
    for (int i = 0; i < 1000 && avail_bytes() < total; i++) usleep(1000);
    printf(SHM_DIR ": %lld bytes, %lld available\n", (long long)total, (long long)avail_bytes());
    EXPECT_SHM_HOLDS(0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigaction(SIGBUS, &sa, NULL);

    char name[64], other[64];
    snprintf(name, sizeof name, "npshm-ns-%d-a", (int)getpid());
    snprintf(other, sizeof other, "npshm-ns-%d-b", (int)getpid());

    /* 1. Larger than the whole file system. */
    npshm_array *out = SENTINEL;
    EXPECT_RC(npshm_create(name, 1, (int64_t[]){2 * total}, "uint8", 0, &out), NPSHM_ERR_NO_SPACE);
    CHECKF(npshm_last_errno() == ENOSPC, "npshm_last_errno() is %d, want ENOSPC (%d)",
           npshm_last_errno(), ENOSPC);
    CHECK(out == SENTINEL);
    EXPECT_SHM_HOLDS(0);
    EXPECT_RC(npshm_create(name, 2, (int64_t[]){1024, 1024}, "float64", 0, &out), NPSHM_ERR_NO_SPACE);
    EXPECT_SHM_HOLDS(0);
    char file_name[128];
    snprintf(file_name, sizeof file_name, "file://" SHM_DIR "/npshm-ns-%d-file", (int)getpid());
    EXPECT_RC(npshm_create(file_name, 1, (int64_t[]){2 * total}, "uint8", 0, &out), NPSHM_ERR_NO_SPACE);
    CHECK(out == SENTINEL);
    EXPECT_SHM_HOLDS(0);
    printf("the process is alive after NO_SPACE; " SHM_DIR " is empty\n");

    /* 2. Fits alone, but not next to another. */
    int64_t part = total * 6 / 10;
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_create(name, 1, &part, "uint8", 0, &a), NPSHM_OK) == NPSHM_OK) {
        unsigned char *p = npshm_data(a);
        for (int64_t i = 0; i < part; i++) p[i] = pattern((size_t)i);
        EXPECT_RC(npshm_create(other, 1, &part, "uint8", 0, &out), NPSHM_ERR_NO_SPACE);
        EXPECT_SHM_HOLDS(1);
        /* A REPLACE that does not fit keeps the old array under the name. */
        EXPECT_RC(npshm_create(name, 1, &part, "uint8", NPSHM_REPLACE, &out), NPSHM_ERR_NO_SPACE);
        CHECK(out == SENTINEL);
        EXPECT_SHM_HOLDS(1);
        npshm_array *b = NULL;
        if (EXPECT_RC(npshm_attach(name, NPSHM_READONLY, &b), NPSHM_OK) == NPSHM_OK) {
            const unsigned char *q = npshm_data(b);
            bool same = npshm_nbytes(b) == (size_t)part;
            for (int64_t i = 0; same && i < part; i++) same = q[i] == pattern((size_t)i);
            CHECKF(same, "the array under the name changed after a failed REPLACE");
            npshm_release(b);
        }
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    EXPECT_SHM_HOLDS(0);

    /* 3. Small arrays still work. */
    for (int i = 0; i < 40; i++) {
        char n[64];
        snprintf(n, sizeof n, "npshm-ns-%d-small-%d", (int)getpid(), i);
        npshm_array *s = NULL, *t = NULL;
        if (EXPECT_RC(npshm_create(n, 1, (int64_t[]){1000}, "int32", 0, &s), NPSHM_OK) != NPSHM_OK) continue;
        int32_t *p = npshm_data(s);
        for (int k = 0; k < 1000; k++) p[k] = i * 1000 + k;
        if (EXPECT_RC(npshm_attach(n, 0, &t), NPSHM_OK) == NPSHM_OK) {
            CHECK(((int32_t *)npshm_data(t))[999] == i * 1000 + 999);
            npshm_release(t);
        }
        npshm_release(s);
        EXPECT_RC(npshm_delete(n), NPSHM_OK);
    }
    EXPECT_SHM_HOLDS(0);

    /* 4. An array that takes nearly all the space: every byte is writable (no
     * SIGBUS), and then there is no room for even a tiny one. */
    int64_t avail = avail_bytes();
    int64_t page = (int64_t)sysconf(_SC_PAGESIZE);
    int64_t big = avail - 2 * page; /* one page of header, one page to spare */
    printf("filling: an array of %lld bytes with %lld available\n", (long long)big, (long long)avail);
    if (EXPECT_RC(npshm_create(name, 1, &big, "uint8", 0, &a), NPSHM_OK) == NPSHM_OK) {
        unsigned char *p = npshm_data(a);
        for (int64_t i = 0; i < big; i++) p[i] = pattern((size_t)i);
        bool same = true;
        for (int64_t i = 0; same && i < big; i++) same = p[i] == pattern((size_t)i);
        CHECK(same);
        printf("wrote every byte of it: no SIGBUS\n");
        EXPECT_RC(npshm_create(other, 1, (int64_t[]){page}, "uint8", 0, &out), NPSHM_ERR_NO_SPACE);
        CHECK(out == SENTINEL);
        EXPECT_SHM_HOLDS(1);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    EXPECT_SHM_HOLDS(0);

    /* 5. Space freed by a delete is usable again. */
    if (EXPECT_RC(npshm_create(name, 1, &big, "uint8", 0, &a), NPSHM_OK) == NPSHM_OK) {
        memset(npshm_data(a), 0xab, (size_t)big);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    EXPECT_SHM_HOLDS(0);

    /* 6. A sparse segment, sized with ftruncate as other programs (and attackers) make them, larger
     * than the free space: touching its holes, even reading them, would raise SIGBUS, so attaching
     * it, read-write or read-only, is NO_SPACE, and allocates nothing. One that fits is attached
     * fully backed. */
    int64_t sizes[2] = {2 * total, total / 4};
    for (int k = 0; k < 2; k++) {
        int64_t n = sizes[k];
        if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){1}, "uint8", 0, &a), NPSHM_OK) != NPSHM_OK) break;
        npshm_release(a);
        char path[128];
        snprintf(path, sizeof path, SHM_DIR "/%s", name);
        unsigned char hdr[4096];
        int fd = open(path, O_RDWR | O_CLOEXEC);
        CHECK(fd >= 0 && pread(fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr);
        /* the same header for n bytes: dimension and data size, and the checksum over them */
        memcpy(hdr + 64, &n, 8);
        memcpy(hdr + 24, &n, 8);
        uint32_t hlen;
        memcpy(&hlen, hdr + 12, 4);
        uint32_t c = ~0u;
        for (uint32_t i = 0; i < hlen; i++) {
            c ^= hdr[i];
            for (int b = 0; b < 8; b++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        }
        c = ~c;
        memcpy(hdr + hlen, &c, 4);
        CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr &&
              ftruncate(fd, 4096 + n) == 0);
        struct stat st;
        CHECK(fstat(fd, &st) == 0);
        blkcnt_t blocks = st.st_blocks;
        for (int ro = 0; ro < 2; ro++) {
            npshm_array *s = SENTINEL;
            int want = k == 0 ? NPSHM_ERR_NO_SPACE : NPSHM_OK;
            if (EXPECT_RC(npshm_attach(name, ro ? NPSHM_READONLY : 0, &s), want) == NPSHM_OK) {
                volatile unsigned char *p = npshm_data(s);
                unsigned sum = 0;
                for (int64_t i = 0; i < n; i += 4096) sum += p[i];
                CHECK(sum == (ro ? (unsigned)((n + 4095) / 4096) : 0)); /* zeros, then the 1s written */
                if (!ro) memset(npshm_data(s), 1, (size_t)n);
                npshm_release(s);
            } else {
                CHECK(s == SENTINEL);
                CHECKF(npshm_last_errno() == ENOSPC, "errno %d", npshm_last_errno());
                CHECKF(fstat(fd, &st) == 0 && st.st_blocks == blocks, "a refused attach allocated %lld blocks",
                       (long long)(st.st_blocks - blocks));
            }
        }
        close(fd);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    printf("sparse segments: NO_SPACE when they do not fit, backed when they do; no SIGBUS\n");
    EXPECT_SHM_HOLDS(0);
    return check_result("test_nospace");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "--fork") == 0) {
        struct statvfs v;
        if (statvfs(SHM_DIR, &v) == 0 && (int64_t)v.f_blocks * (int64_t)v.f_frsize > 4 * 1024 * 1024)
            return run(NULL); /* the size check and skip, without touching /dev/shm */
        return run_forked(run, NULL, "test_nospace --fork");
    }
    return run(NULL);
}
