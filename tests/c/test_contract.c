/*
 * test_contract.c - every function of npshm.h against the contract the header
 * documents (and the segment layout of docs/FORMAT.md): happy paths, every
 * documented error code, and the promises about names, modes, mappings,
 * threads and failed calls leaving nothing behind.
 *
 * Every array name starts with "npshm-ct-<pid>-", and the test removes what it
 * makes. Exit status 0 if every check passed, 1 otherwise. With --fork the
 * suite runs in a forked child (see main).
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#ifndef NPSHM_EXPECTED_VERSION
#error "NPSHM_EXPECTED_VERSION (the CMake project version) must be defined"
#endif

#define SHM_DIR "/dev/shm"

static char g_prefix[64]; /* "npshm-ct-<pid>-" */
static size_t g_page;

static void mkname(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "%s%s", g_prefix, tag);
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool shm_exists(const char *name) {
    char path[512];
    snprintf(path, sizeof path, SHM_DIR "/%s", name);
    return access(path, F_OK) == 0;
}

static bool stat_shm(const char *name, struct stat *st) {
    char path[512];
    snprintf(path, sizeof path, SHM_DIR "/%s", name);
    return stat(path, st) == 0;
}

/* Little-endian readers/writers and CRC-32 (IEEE), for checking segments byte by byte. */
static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t crc32_ieee(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* Reads a whole file; returns malloc'd bytes (NULL on error) and the length. */
static unsigned char *read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    size_t off = 0;
    while (buf && off < (size_t)st.st_size) {
        ssize_t r = pread(fd, buf + off, (size_t)st.st_size - off, (off_t)off);
        if (r <= 0) {
            free(buf);
            buf = NULL;
            break;
        }
        off += (size_t)r;
    }
    close(fd);
    *len = off;
    return buf;
}

static bool write_file(const char *path, const void *data, size_t len, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return false;
    bool ok = len == 0 || write(fd, data, len) == (ssize_t)len;
    return close(fd) == 0 && ok;
}

/* Fills an array's data with a pattern derived from seed, and checks it. */
static void fill_pattern(void *data, size_t n, unsigned seed) {
    unsigned char *p = data;
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)((i * 31u + seed * 7u + (i >> 8)) & 0xff);
}
static bool check_pattern(const void *data, size_t n, unsigned seed) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)((i * 31u + seed * 7u + (i >> 8)) & 0xff)) return false;
    return true;
}
static bool all_zero(const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return false;
    return true;
}

/* Creation must fail with want, leave *out alone and leave no file behind. */
#define EXPECT_CREATE_FAILS(name, ndim, shape, dtype, flags, want)                          \
    expect_create_fails_(__FILE__, __LINE__, name, ndim, shape, dtype, flags, want)
static void expect_create_fails_(const char *file, int line, const char *name, int ndim,
                                 const int64_t *shape, const char *dtype, unsigned flags,
                                 int want) {
    npshm_array *out = SENTINEL;
    int rc = npshm_create(name, ndim, shape, dtype, flags, &out);
    if (rc != want)
        check_fail_(file, line, "npshm_create(\"%.40s\", ndim %d, dtype \"%s\", flags %#x) returned %d (%s), expected %s; last error \"%s\"",
                    name ? name : "(null)", ndim, dtype ? dtype : "(null)", flags, rc,
                    rc_name(rc), rc_name(want), npshm_last_error());
    else if (npshm_last_error()[0] == '\0')
        check_fail_(file, line, "npshm_create failed with %s but npshm_last_error() is empty",
                    rc_name(rc));
    if (out != SENTINEL) {
        check_fail_(file, line, "failed npshm_create changed *out");
        if (rc == NPSHM_OK) npshm_release(out);
    }
    if (rc == NPSHM_OK) npshm_delete(name);
}

/* ---------------------------------------------------------------------------- */

static void test_version(void) {
    const char *v = npshm_version();
    CHECK(v != NULL);
    if (v) CHECKF(strcmp(v, NPSHM_EXPECTED_VERSION) == 0,
                  "npshm_version() is \"%s\", the CMake project version is \"%s\"", v,
                  NPSHM_EXPECTED_VERSION);
    CHECK(strcmp(NPSHM_VERSION, NPSHM_EXPECTED_VERSION) == 0);
    char num[32];
    snprintf(num, sizeof num, "%d.%d.%d", npshm_version_number() / 10000, npshm_version_number() / 100 % 100,
             npshm_version_number() % 100);
    CHECKF(strcmp(num, NPSHM_EXPECTED_VERSION) == 0, "npshm_version_number() is %d, the version \"%s\"",
           npshm_version_number(), NPSHM_EXPECTED_VERSION);
    CHECK(npshm_version_number() == NPSHM_VERSION_NUMBER);
#if NPSHM_VERSION_NUMBER < 100
#error "NPSHM_VERSION_NUMBER is not usable in #if"
#endif
}

/* Messages name the bad value (issue 10), as Python's do: a table of bad calls and what the message
 * must contain. Run in the parent (the Go core) and in a forked child (the C twin) alike. */
static void test_messages_name_values(void) {
    char name[128];
    static char msg[20][1024];
    mkname(name, sizeof name, "msgvalue");
    npshm_array *a = NULL;
    const int64_t neg[2] = {3, -1}, one[1] = {1};
    struct { const char *what; int rc; const char *want; } cases[20];
    int n = 0;
#define CASE(call, expect)                                                                          \
    do {                                                                                            \
        cases[n].what = #call;                                                                      \
        cases[n].rc = (call);                                                                       \
        cases[n].want = (expect);                                                                   \
        snprintf(msg[n], sizeof msg[n], "%s", npshm_last_error());                                  \
        n++;                                                                                        \
    } while (0)
    CASE(npshm_create(name, 1, one, "flaot64", 0, &a), "unknown dtype \"flaot64\"");
    CASE(npshm_create(name, 1, one, "[('a', '<f8'), ('b', 'flaot64')]", 0, &a), "unknown dtype \"flaot64\"");
    CASE(npshm_create(name, 1, one, "datetime64[nsec]", 0, &a), "unit \"[nsec]\"");
    CASE(npshm_create(name, 1, one, ">", 0, &a), "no type: \">\"");
    CASE(npshm_create("a/b", 1, one, "f8", 0, &a), "npshm_create(\"a/b\"): name contains '/'");
    CASE(npshm_create(name, 2, neg, "f8", 0, &a), "must not be negative, got -1");
    CASE(npshm_create(name, 65, neg, "f8", 0, &a), "not 65");
    CASE(npshm_create(name, 1, one, "f8", 0x4000, &a), "unknown flags (NPSHM_READONLY applies to attach only): 0x4000");
    CASE(npshm_create(name, 1, one, "f8", NPSHM_MODE(04755), &a), "not 04755");
    CASE(npshm_attach(name, 0x4, &a), "unknown flags (only NPSHM_READONLY applies to attach): 0x4");
    npshm_array *existing = NULL;
    EXPECT_RC(npshm_create(name, 1, one, "f8", 0, &existing), NPSHM_OK);
    CASE(npshm_attach_expect(name, 0, -1, NULL, "flaot64", &a), "unknown dtype \"flaot64\"");
    CASE(npshm_msync(existing, 99), "optionally with NPSHM_MS_INVALIDATE, not 99");
    npshm_release(existing);
    npshm_delete(name);
    CASE(npshm_read_file("/nonexistent/npshm-msg.npy", name, 0, &a), "no such file \"/nonexistent/npshm-msg.npy\"");
    CASE(npshm_read_file("/nonexistent/npshm-msg.npy", name, 0x4000, &a), "a mode): 0x4000");
    CASE(npshm_write_file_data("/nonexistent/npshm-msg.npy", NULL, 0, NULL, "f8", 0x1000), "NPSHM_NPIO): 0x1000");
    CASE(npshm_write_file_data("/nonexistent/npshm-msg.npy", NULL, 0, NULL, "flaot64", 0), "unknown dtype \"flaot64\"");
#undef CASE
    for (int i = 0; i < n; i++)
        CHECKF(cases[i].rc < 0 && strstr(msg[i], cases[i].want) != NULL, "%s: rc %d, message \"%s\", want \"%s\" in it",
               cases[i].what, cases[i].rc, msg[i], cases[i].want);
    CHECK(a == NULL);
}

/* Every accessor accepts NULL and returns NULL or 0, as npshm.h documents, recording no error. */
static void test_accessors_null(void) {
    npshm_array *a = NULL;
    (void)npshm_attach("npshm-no-such-array-accessors-null", 0, &a); /* sets a last error */
    char before[256];
    snprintf(before, sizeof before, "%s", npshm_last_error());
    CHECK(npshm_data(NULL) == NULL);
    CHECK(npshm_nbytes(NULL) == 0);
    CHECK(npshm_ndim(NULL) == 0);
    CHECK(npshm_shape(NULL) == NULL);
    CHECK(npshm_dtype(NULL) == NULL);
    CHECK(npshm_itemsize(NULL) == 0);
    CHECK(npshm_is_readonly(NULL) == 0);
    CHECK(npshm_is_fortran(NULL) == 0);
    CHECK(npshm_name(NULL) == NULL);
    CHECK(npshm_created_ns(NULL) == 0);
    CHECK(npshm_creator_pid(NULL) == 0);
    CHECK(npshm_device(NULL) == 0);
    CHECK(npshm_inode(NULL) == 0);
    CHECKF(strcmp(npshm_last_error(), before) == 0, "an accessor of NULL changed the last error to \"%s\"",
           npshm_last_error());
    EXPECT_RC(npshm_release(NULL), NPSHM_OK);
    EXPECT_RC(npshm_msync(NULL, NPSHM_MS_SYNC), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_mlock(NULL), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_munlock(NULL), NPSHM_ERR_INVALID);
}

static void test_status_names(void) {
    static const struct { int code; const char *name; } want[] = {
        {NPSHM_OK, "NPSHM_OK"}, {NPSHM_ERR_EXISTS, "NPSHM_ERR_EXISTS"},
        {NPSHM_ERR_NOT_FOUND, "NPSHM_ERR_NOT_FOUND"}, {NPSHM_ERR_INVALID, "NPSHM_ERR_INVALID"},
        {NPSHM_ERR_NO_SPACE, "NPSHM_ERR_NO_SPACE"}, {NPSHM_ERR_FORMAT, "NPSHM_ERR_FORMAT"},
        {NPSHM_ERR_MISMATCH, "NPSHM_ERR_MISMATCH"}, {NPSHM_ERR_PERMISSION, "NPSHM_ERR_PERMISSION"},
        {NPSHM_ERR_IO, "NPSHM_ERR_IO"}, {1, "unknown npshm status"}, {-99, "unknown npshm status"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECKF(strcmp(npshm_status_name(want[i].code), want[i].name) == 0, "npshm_status_name(%d) is \"%s\"",
               want[i].code, npshm_status_name(want[i].code));
}

/* A thread that has had no failure sees "" and errno 0; failures are per thread. */
static void *fresh_thread(void *arg) {
    int *bad = arg;
    *bad = 0;
    if (strcmp(npshm_last_error(), "") != 0 || npshm_last_errno() != 0) *bad |= 1;
    npshm_array *a = SENTINEL;
    if (npshm_attach("npshm-ct-surely-not-there", 0, &a) >= 0) *bad |= 2;
    if (npshm_last_error()[0] == '\0') *bad |= 4;
    return NULL;
}

static void test_last_error_per_thread(void) {
    /* Give the main thread a failure of its own first. */
    npshm_array *a = SENTINEL;
    EXPECT_RC(npshm_create("", 1, (int64_t[]){1}, "uint8", 0, &a), NPSHM_ERR_INVALID);
    char mine[512];
    snprintf(mine, sizeof mine, "%s", npshm_last_error());
    CHECK(mine[0] != '\0');

    pthread_t t;
    int bad = 0;
    CHECK(pthread_create(&t, NULL, fresh_thread, &bad) == 0);
    pthread_join(t, NULL);
    CHECKF((bad & 1) == 0, "a new thread's npshm_last_error()/npshm_last_errno() is not \"\"/0");
    CHECKF((bad & 2) == 0, "attaching a bad name succeeded in a thread");
    CHECKF((bad & 4) == 0, "a thread's failure left its npshm_last_error() empty");
    CHECKF(strcmp(npshm_last_error(), mine) == 0,
           "another thread's failure changed this thread's npshm_last_error(): \"%s\" -> \"%s\"",
           mine, npshm_last_error());
}

static void test_names(void) {
    static const int64_t one[1] = {1};
    char long256[300], long255[300];
    memset(long256, 'n', 256);
    long256[256] = '\0';
    snprintf(long255, sizeof long255, "%s", g_prefix);
    size_t pl = strlen(long255);
    memset(long255 + pl, 'n', 255 - pl);
    long255[255] = '\0';
    char longfile[4200] = "file:///tmp/";
    memset(longfile + 12, 'f', 4100);
    longfile[4112] = '\0';

    const char *bad[] = {"", ".", "..", "a/b", long256, "/", "//x", "/.", "/..", "shm://",
                         "shm:///", "shm://a/b", "shm://..", "shm:////x", "file://", longfile};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *n = bad[i];
        npshm_array *out = SENTINEL;
        if (npshm_create(n, 1, one, "uint8", 0, &out) != NPSHM_ERR_INVALID)
            FAILF("npshm_create(\"%.60s\") is not NPSHM_ERR_INVALID (last error \"%s\")", n,
                  npshm_last_error());
        if (npshm_attach(n, 0, &out) != NPSHM_ERR_INVALID)
            FAILF("npshm_attach(\"%.60s\") is not NPSHM_ERR_INVALID (last error \"%s\")", n,
                  npshm_last_error());
        if (npshm_attach_expect(n, 0, -1, NULL, NULL, &out) != NPSHM_ERR_INVALID)
            FAILF("npshm_attach_expect(\"%.60s\") is not NPSHM_ERR_INVALID", n);
        if (npshm_delete(n) != NPSHM_ERR_INVALID)
            FAILF("npshm_delete(\"%.60s\") is not NPSHM_ERR_INVALID (last error \"%s\")", n,
                  npshm_last_error());
        CHECKF(out == SENTINEL, "a failed call with name \"%.60s\" changed *out", n);
        if (out != SENTINEL && out != NULL) npshm_release(out);
    }
    CHECK(!shm_exists("a"));

    /* NULL pointers. */
    npshm_array *out = SENTINEL;
    char name[128];
    mkname(name, sizeof name, "nullchecks");
    EXPECT_CREATE_FAILS(NULL, 1, one, "uint8", 0, NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 1, one, NULL, 0, NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 1, NULL, "uint8", 0, NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_create(name, 1, one, "uint8", 0, NULL), NPSHM_ERR_INVALID);
    CHECKF(!shm_exists(name), "npshm_create with out == NULL left %s behind", name);
    EXPECT_RC(npshm_attach(NULL, 0, &out), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_attach_expect(NULL, 0, -1, NULL, NULL, &out), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_delete(NULL), NPSHM_ERR_INVALID);
    CHECK(out == SENTINEL);

    /* The longest legal name, and the spellings of one name. */
    npshm_array *a = NULL, *b = NULL;
    if (EXPECT_RC(npshm_create(long255, 1, one, "uint8", 0, &a), NPSHM_OK) == NPSHM_OK) {
        CHECKF(strcmp(npshm_name(a), long255) == 0, "npshm_name of the 255-byte name differs");
        npshm_release(a);
        EXPECT_RC(npshm_delete(long255), NPSHM_OK);
    }

    mkname(name, sizeof name, "spelling");
    char slash[160], scheme[160], scheme_slash[160];
    snprintf(slash, sizeof slash, "/%s", name);
    snprintf(scheme, sizeof scheme, "shm://%s", name);
    snprintf(scheme_slash, sizeof scheme_slash, "shm:///%s", name);
    if (EXPECT_RC(npshm_create(scheme, 1, (int64_t[]){16}, "uint8", 0, &a), NPSHM_OK) != NPSHM_OK)
        return;
    CHECKF(shm_exists(name), "creating \"%s\" did not make " SHM_DIR "/%s", scheme, name);
    CHECKF(strcmp(npshm_name(a), name) == 0, "npshm_name is \"%s\", want \"%s\"", npshm_name(a), name);
    ((unsigned char *)npshm_data(a))[3] = 0x5a;
    const char *spellings[] = {name, slash, scheme, scheme_slash};
    for (size_t i = 0; i < 4; i++) {
        if (EXPECT_RC(npshm_attach(spellings[i], 0, &b), NPSHM_OK) != NPSHM_OK) continue;
        CHECKF(((unsigned char *)npshm_data(b))[3] == 0x5a, "\"%s\" maps other memory", spellings[i]);
        CHECKF(strcmp(npshm_name(b), name) == 0, "npshm_name(attach(\"%s\")) is \"%s\", want \"%s\"",
               spellings[i], npshm_name(b), name);
        npshm_release(b);
    }
    npshm_release(a);
    EXPECT_RC(npshm_delete(slash), NPSHM_OK);
    CHECK(!shm_exists(name));
}

static void test_shapes(void) {
    char name[128];
    mkname(name, sizeof name, "shape");
    int64_t ones[70];
    for (int i = 0; i < 70; i++) ones[i] = 1;

    EXPECT_CREATE_FAILS(name, -1, ones, "uint8", 0, NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 65, ones, "uint8", 0, NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, INT_MIN, ones, "uint8", 0, NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 2, ((int64_t[]){3, -1}), "uint8", 0, NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 1, ((int64_t[]){INT64_MIN}), "uint8", 0, NPSHM_ERR_INVALID);
    /* Overflow of the element count, and of count * itemsize. */
    EXPECT_CREATE_FAILS(name, 2, ((int64_t[]){INT64_C(1) << 40, INT64_C(1) << 40}), "uint8", 0,
                        NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 3, ((int64_t[]){INT64_C(1) << 32, INT64_C(1) << 32, 4}), "uint8", 0,
                        NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 1, ((int64_t[]){INT64_MAX}), "float64", 0, NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 1, ((int64_t[]){INT64_C(1) << 61}), "complex128", 0,
                        NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 2, ((int64_t[]){INT64_MAX, 2}), "uint8", 0, NPSHM_ERR_INVALID);
    CHECK(!shm_exists(name));

    /* 64 dimensions is the limit, and allowed. */
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_create(name, 64, ones, "uint8", 0, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_ndim(a) == 64);
        CHECK(npshm_nbytes(a) == 1);
        npshm_release(a);
        if (EXPECT_RC(npshm_attach(name, 0, &a), NPSHM_OK) == NPSHM_OK) {
            CHECK(npshm_ndim(a) == 64);
            for (int i = 0; i < 64; i++) CHECK(npshm_shape(a)[i] == 1);
            npshm_release(a);
        }
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }

    /* A 0-d array: one element, no shape. */
    if (EXPECT_RC(npshm_create(name, 0, NULL, "float64", 0, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_ndim(a) == 0);
        CHECK(npshm_nbytes(a) == 8);
        CHECK(npshm_itemsize(a) == 8);
        CHECK(npshm_data(a) != NULL);
        *(double *)npshm_data(a) = 2.5;
        npshm_array *b = NULL;
        if (EXPECT_RC(npshm_attach(name, 0, &b), NPSHM_OK) == NPSHM_OK) {
            CHECK(npshm_ndim(b) == 0);
            CHECK(npshm_nbytes(b) == 8);
            CHECK(*(double *)npshm_data(b) == 2.5);
            npshm_release(b);
        }
        EXPECT_RC(npshm_attach_expect(name, 0, 0, NULL, "<f8", &b), NPSHM_OK);
        npshm_release(b);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }

    /* Zero-size arrays. */
    const int64_t z1[] = {0}, z3[] = {3, 0, 5};
    if (EXPECT_RC(npshm_create(name, 1, z1, "float64", 0, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_nbytes(a) == 0);
        CHECK(npshm_ndim(a) == 1 && npshm_shape(a)[0] == 0);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    if (EXPECT_RC(npshm_create(name, 3, z3, "int32", 0, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_nbytes(a) == 0);
        CHECK(npshm_itemsize(a) == 4);
        npshm_array *b = NULL;
        if (EXPECT_RC(npshm_attach(name, 0, &b), NPSHM_OK) == NPSHM_OK) {
            CHECK(npshm_ndim(b) == 3);
            CHECK(npshm_shape(b)[0] == 3 && npshm_shape(b)[1] == 0 && npshm_shape(b)[2] == 5);
            CHECK(npshm_nbytes(b) == 0);
            npshm_release(b);
        }
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }

    /* A size no file system here has room for is NO_SPACE (ENOSPC), not a crash. */
    struct statvfs vfs;
    if (statvfs(SHM_DIR, &vfs) == 0 && vfs.f_blocks > 0) {
        int64_t huge = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize * 4;
        EXPECT_CREATE_FAILS(name, 1, &huge, "uint8", 0, NPSHM_ERR_NO_SPACE);
        CHECKF(npshm_last_errno() == ENOSPC, "npshm_last_errno() is %d after NO_SPACE, want ENOSPC",
               npshm_last_errno());
        CHECK(!shm_exists(name));
    }
}

struct dtype_case {
    const char *in, *descr;
    size_t itemsize;
};

static void test_dtypes(void) {
    static const struct dtype_case good[] = {
        {"uint8", "|u1", 1},
        {"bool", "|b1", 1},
        {"?", "|b1", 1},
        {"int8", "|i1", 1},
        {"int16", "<i2", 2},
        {"int32", "<i4", 4},
        {"int64", "<i8", 8},
        {"uint64", "<u8", 8},
        {"int", "<i8", 8},
        {"float16", "<f2", 2},
        {"float32", "<f4", 4},
        {"float64", "<f8", 8},
        {"float", "<f8", 8},
        {"d", "<f8", 8},
        {"f8", "<f8", 8},
        {"=f8", "<f8", 8},
        {"<f8", "<f8", 8},
        {">i4", ">i4", 4},
        {"complex64", "<c8", 8},
        {"complex128", "<c16", 16},
        {"datetime64[ns]", "<M8[ns]", 8},
        {"datetime64[10s]", "<M8[10s]", 8},
        {"<M8[ns]", "<M8[ns]", 8},
        {"timedelta64[s]", "<m8[s]", 8},
        {"|S7", "|S7", 7},
        {"S7", "|S7", 7},
        {"<U3", "<U3", 12},
        {"|V16", "|V16", 16},
        {"[('x', '<f4'), ('y', '<i8', (3,))]", "[('x', '<f4'), ('y', '<i8', (3,))]", 28},
        {"[('x', '<f4'), ('y', '<i8', (3,)), ('', '|V4')]",
         "[('x', '<f4'), ('y', '<i8', (3,)), ('', '|V4')]", 32},
        /* Other spellings of a structured dtype are stored canonically (Python's repr). */
        {"[('x','<f4'),('y','<i8',(3,))]", "[('x', '<f4'), ('y', '<i8', (3,))]", 28},
        {"[(\"a\", '<i4')]", "[('a', '<i4')]", 4},
        {"[('p', [('a', '<i2'), ('b', '|u1')]), ('q', '<f8', (2, 2))]",
         "[('p', [('a', '<i2'), ('b', '|u1')]), ('q', '<f8', (2, 2))]", 35},
    };
    static const char *bad[] = {"", "nope", "float7", "<f3", "object", "O", "|O", "<O8",
                                "[('a', '|O')]", "[('a', '<f8'), ('b', [('c', '|O')])]",
                                "[('x', '<f4')", "datetime64[xx]"};
    char name[128];
    mkname(name, sizeof name, "dtype");
    const int64_t shape[] = {2, 3};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        npshm_array *a = NULL;
        int rc = npshm_create(name, 2, shape, good[i].in, 0, &a);
        if (rc != NPSHM_OK) {
            FAILF("npshm_create with dtype \"%s\" returned %s: %s", good[i].in, rc_name(rc),
                  npshm_last_error());
            continue;
        }
        CHECKF(strcmp(npshm_dtype(a), good[i].descr) == 0, "dtype \"%s\" became \"%s\", want \"%s\"",
               good[i].in, npshm_dtype(a), good[i].descr);
        CHECKF(npshm_itemsize(a) == good[i].itemsize, "dtype \"%s\": itemsize %zu, want %zu",
               good[i].in, npshm_itemsize(a), good[i].itemsize);
        CHECKF(npshm_nbytes(a) == 6 * good[i].itemsize, "dtype \"%s\": nbytes %zu, want %zu",
               good[i].in, npshm_nbytes(a), 6 * good[i].itemsize);
        CHECK(all_zero(npshm_data(a), npshm_nbytes(a)));
        npshm_release(a);
        /* Attach sees the canonical descriptor, and the input spelling matches it. */
        if (npshm_attach_expect(name, 0, 2, shape, good[i].in, &a) == NPSHM_OK) {
            CHECKF(strcmp(npshm_dtype(a), good[i].descr) == 0, "attach: dtype \"%s\", want \"%s\"",
                   npshm_dtype(a), good[i].descr);
            npshm_release(a);
        } else {
            FAILF("npshm_attach_expect with dtype \"%s\" failed: %s", good[i].in, npshm_last_error());
        }
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_CREATE_FAILS(name, 2, shape, bad[i], 0, NPSHM_ERR_INVALID);
    CHECK(!shm_exists(name));
}

/* An npshm_init_fn that leaves the data as it is. */
static int zero_init(void *data, size_t nbytes, void *ctx) {
    (void)data, (void)nbytes, (void)ctx;
    return 0;
}

static void test_flags_and_modes(void) {
    char name[128];
    mkname(name, sizeof name, "mode");
    char path[256];
    snprintf(path, sizeof path, SHM_DIR "/%s", name);
    const int64_t shape[] = {10};
    npshm_array *a = NULL;
    struct stat st;

    /* Default 0600, whatever the umask. */
    mode_t old = umask(0);
    int rc = npshm_create(name, 1, shape, "uint8", 0, &a);
    umask(old);
    if (EXPECT_RC(rc, NPSHM_OK) == NPSHM_OK) {
        CHECK(stat(path, &st) == 0);
        CHECKF((st.st_mode & 07777) == 0600, "default mode is %04o, want 0600",
               (unsigned)(st.st_mode & 07777));
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    old = umask(077);
    rc = npshm_create(name, 1, shape, "uint8", NPSHM_MODE(0640), &a);
    umask(old);
    if (EXPECT_RC(rc, NPSHM_OK) == NPSHM_OK) {
        CHECK(stat(path, &st) == 0);
        CHECKF((st.st_mode & 07777) == 0640, "NPSHM_MODE(0640) gave mode %04o",
               (unsigned)(st.st_mode & 07777));
        CHECK(st.st_uid == geteuid());
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    if (EXPECT_RC(npshm_create(name, 1, shape, "uint8", NPSHM_MODE(0664) | NPSHM_FORTRAN, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0664);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }

    /* Only permission bits: setuid, setgid and sticky bits, anything beyond 0777 (NPSHM_MODE
     * passes it on rather than masking it) and mode bits without NPSHM_HAS_MODE are refused, by
     * create, create_init and read_file alike, with the value in octal. */
    static const struct { unsigned flags; const char *msg; } bad_modes[] = {
        {NPSHM_MODE(04777), "mode must hold permission bits only (0 to 0777), not 04777"},
        {NPSHM_MODE(02755), "not 02755"},
        {NPSHM_MODE(01777), "not 01777"},
        {NPSHM_MODE(01000), "not 01000"},
        {NPSHM_MODE(010644), "not 010644"},
        {NPSHM_MODE(0x10644), "not 0177777"},
        {NPSHM_MODE(-1), "not 0177777"},
        {0644u << 16, "mode bits without NPSHM_HAS_MODE"},
    };
    for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
        EXPECT_CREATE_FAILS(name, 1, shape, "uint8", bad_modes[i].flags, NPSHM_ERR_INVALID);
        CHECKF(strstr(npshm_last_error(), bad_modes[i].msg) != NULL, "mode flags %#x: \"%s\"", bad_modes[i].flags,
               npshm_last_error());
        npshm_array *x = SENTINEL;
        EXPECT_RC(npshm_create_init(name, 1, shape, "uint8", bad_modes[i].flags, zero_init, NULL, &x), NPSHM_ERR_INVALID);
        CHECKF(strstr(npshm_last_error(), bad_modes[i].msg) != NULL, "create_init %#x: \"%s\"", bad_modes[i].flags,
               npshm_last_error());
        EXPECT_RC(npshm_read_file("/nonexistent/file.npio", name, bad_modes[i].flags, &x), NPSHM_ERR_INVALID);
        CHECKF(strstr(npshm_last_error(), bad_modes[i].msg) != NULL, "read_file %#x: \"%s\"", bad_modes[i].flags,
               npshm_last_error());
        CHECK(x == SENTINEL && !shm_exists(name));
    }
    if (EXPECT_RC(npshm_create(name, 1, shape, "uint8", NPSHM_MODE(0777), &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0777);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }

    /* NPSHM_NO_RESERVE: a sparse array, which an attach by its owner leaves sparse. */
    {
        int64_t big[1] = {1 << 22};
        if (EXPECT_RC(npshm_create(name, 1, big, "uint8", NPSHM_NO_RESERVE, &a), NPSHM_OK) == NPSHM_OK) {
            npshm_array *b = NULL;
            EXPECT_RC(npshm_attach(name, 0, &b), NPSHM_OK);
            CHECK(stat(path, &st) == 0 && (long long)st.st_blocks * 512 < (1LL << 21));
            npshm_release(b);
            npshm_release(a);
            EXPECT_RC(npshm_delete(name), NPSHM_OK);
        }
    }

    /* Flags outside the documented set. */
    EXPECT_CREATE_FAILS(name, 1, shape, "uint8", 0x4000u, NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 1, shape, "uint8", NPSHM_FORMAT_CDXCORE, NPSHM_ERR_INVALID); /* no uint8 */
    EXPECT_CREATE_FAILS(name, 1, shape, "uint8", 0x80000000u, NPSHM_ERR_INVALID);
    EXPECT_CREATE_FAILS(name, 1, shape, "uint8", NPSHM_READONLY, NPSHM_ERR_INVALID);
    if (EXPECT_RC(npshm_create(name, 1, shape, "uint8", 0, &a), NPSHM_OK) == NPSHM_OK) {
        npshm_array *b = SENTINEL;
        EXPECT_RC(npshm_attach(name, 0x100u, &b), NPSHM_ERR_INVALID);
        EXPECT_RC(npshm_attach(name, NPSHM_REPLACE, &b), NPSHM_ERR_INVALID);
        EXPECT_RC(npshm_attach(name, NPSHM_MODE(0600), &b), NPSHM_ERR_INVALID);
        EXPECT_RC(npshm_attach_expect(name, 0x100u, -1, NULL, NULL, &b), NPSHM_ERR_INVALID);
        CHECK(b == SENTINEL);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }

    /* Fortran order is recorded and read back. */
    const int64_t s2[] = {3, 4};
    if (EXPECT_RC(npshm_create(name, 2, s2, "float32", NPSHM_FORTRAN, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_is_fortran(a) == 1);
        npshm_array *b = NULL;
        if (EXPECT_RC(npshm_attach(name, 0, &b), NPSHM_OK) == NPSHM_OK) {
            CHECK(npshm_is_fortran(b) == 1);
            CHECK(npshm_shape(b)[0] == 3 && npshm_shape(b)[1] == 4);
            npshm_release(b);
        }
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    if (EXPECT_RC(npshm_create(name, 2, s2, "float32", 0, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_is_fortran(a) == 0);
        CHECK(npshm_is_readonly(a) == 0);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
}

/* The bytes in /dev/shm follow docs/FORMAT.md. */
static void test_segment_bytes(void) {
    char name[128], path[256];
    mkname(name, sizeof name, "bytes");
    snprintf(path, sizeof path, SHM_DIR "/%s", name);
    const int64_t shape[] = {5, 7};
    const char *descr = "[('x', '<f4'), ('y', '<i8', (3,))]";
    npshm_array *a = NULL;
    int64_t t0 = now_ns();
    if (EXPECT_RC(npshm_create(name, 2, shape, descr, NPSHM_FORTRAN, &a), NPSHM_OK) != NPSHM_OK) return;
    int64_t t1 = now_ns();
    fill_pattern(npshm_data(a), npshm_nbytes(a), 3);
    CHECKF(((uintptr_t)npshm_data(a) % g_page) == 0, "data %p is not page aligned", npshm_data(a));

    size_t len = 0;
    unsigned char *seg = read_file(path, &len);
    CHECK(seg != NULL);
    if (seg) {
        size_t dlen = strlen(descr);
        uint32_t header_len = 64 + 8 * 2 + (uint32_t)dlen;
        uint64_t data_offset = le64(seg + 16);
        CHECK(len >= 68);
        CHECK(memcmp(seg, "NPSHMARR", 8) == 0);
        CHECK(le16(seg + 8) == 1);
        CHECK(le16(seg + 10) == 1); /* Fortran */
        CHECKF(le32(seg + 12) == header_len, "header_len %u, want %u", le32(seg + 12), header_len);
        CHECKF(data_offset % 4096 == 0 && data_offset >= header_len + 4, "data_offset %" PRIu64,
               data_offset);
        CHECK(le64(seg + 24) == 35 * 28);
        CHECK(le64(seg + 32) == 28);
        CHECK(le32(seg + 40) == 2);
        CHECK(le32(seg + 44) == dlen);
        CHECKF(le32(seg + 48) == (uint32_t)getpid(), "creator_pid %u", le32(seg + 48));
        CHECK(le32(seg + 52) == 0);
        int64_t created = (int64_t)le64(seg + 56);
        CHECKF(created >= t0 - 1000000000 && created <= t1 + 1000000000,
               "created_ns %" PRId64 " not in [%" PRId64 ", %" PRId64 "]", created, t0, t1);
        CHECK(le64(seg + 64) == 5 && le64(seg + 72) == 7);
        CHECK(memcmp(seg + 80, descr, dlen) == 0);
        CHECKF(le32(seg + header_len) == crc32_ieee(seg, header_len), "checksum %08x, want %08x",
               le32(seg + header_len), crc32_ieee(seg, header_len));
        CHECK(all_zero(seg + header_len + 4, (size_t)data_offset - header_len - 4));
        CHECKF(len == data_offset + 35 * 28, "segment is %zu bytes, want exactly %" PRIu64, len,
               data_offset + 35 * 28);
        if (len == data_offset + 35 * 28)
            CHECKF(check_pattern(seg + data_offset, 35 * 28, 3),
                   "the data in the file is not what was written through the mapping");
        free(seg);
    }
    npshm_release(a);
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
}

static void test_create_attach_exists(void) {
    char name[128], missing[128];
    mkname(name, sizeof name, "basic");
    mkname(missing, sizeof missing, "missing");
    const int64_t shape[] = {300, 1000};
    npshm_array *a = NULL, *b = NULL;
    if (EXPECT_RC(npshm_create(name, 2, shape, "float64", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    CHECK(a != NULL);
    CHECK(npshm_ndim(a) == 2);
    CHECK(npshm_shape(a)[0] == 300 && npshm_shape(a)[1] == 1000);
    CHECK(npshm_nbytes(a) == 300 * 1000 * 8);
    CHECK(npshm_itemsize(a) == 8);
    CHECK(strcmp(npshm_dtype(a), "<f8") == 0);
    CHECK(npshm_is_readonly(a) == 0);
    CHECK(npshm_is_fortran(a) == 0);
    CHECK(strcmp(npshm_name(a), name) == 0);
    CHECKF(all_zero(npshm_data(a), npshm_nbytes(a)), "a new array is not zero-filled");
    CHECK(((uintptr_t)npshm_data(a) % g_page) == 0);

    double *d = npshm_data(a);
    for (int i = 0; i < 300 * 1000; i++) d[i] = i * 0.25;

    /* Taken: EXISTS, the array and *out untouched. */
    npshm_array *out = SENTINEL;
    EXPECT_RC(npshm_create(name, 1, (int64_t[]){4}, "uint8", 0, &out), NPSHM_ERR_EXISTS);
    CHECK(out == SENTINEL);
    CHECK(d[12345] == 12345 * 0.25);

    if (EXPECT_RC(npshm_attach(name, 0, &b), NPSHM_OK) == NPSHM_OK) {
        CHECK(b != a);
        CHECK(npshm_nbytes(b) == npshm_nbytes(a));
        CHECK(strcmp(npshm_dtype(b), "<f8") == 0);
        double *e = npshm_data(b);
        CHECK(e[299999] == 299999 * 0.25);
        e[7] = -1.0; /* shared, both ways */
        CHECK(d[7] == -1.0);
        npshm_release(b);
    }
    CHECK(d[7] == -1.0); /* releasing b does not unmap a */

    /* Missing: NOT_FOUND everywhere. */
    out = SENTINEL;
    EXPECT_RC(npshm_attach(missing, 0, &out), NPSHM_ERR_NOT_FOUND);
    EXPECT_RC(npshm_attach(missing, NPSHM_READONLY, &out), NPSHM_ERR_NOT_FOUND);
    EXPECT_RC(npshm_attach_expect(missing, 0, -1, NULL, NULL, &out), NPSHM_ERR_NOT_FOUND);
    EXPECT_RC(npshm_delete(missing), NPSHM_ERR_NOT_FOUND);
    CHECK(out == SENTINEL);
    EXPECT_RC(npshm_attach(name, 0, NULL), NPSHM_ERR_INVALID);

    EXPECT_RC(npshm_release(NULL), NPSHM_OK);
    EXPECT_RC(npshm_release(a), NPSHM_OK);
    /* A second release of the same handle is an error, not a double free (glibc would abort) nor
     * an unmap of what is mapped there now: nothing allocates in between, so the memory of the
     * handle is not reused yet. */
    EXPECT_RC(npshm_release(a), NPSHM_ERR_INVALID);
    CHECKF(strcmp(npshm_last_error(), "npshm_release: array already released") == 0, "%s", npshm_last_error());
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
    CHECK(!shm_exists(name));
}

static void test_replace(void) {
    char name[128];
    mkname(name, sizeof name, "replace");
    npshm_array *old = NULL, *nu = NULL, *again = NULL;
    /* REPLACE of a name nobody has is a plain create. */
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){4096}, "uint8", NPSHM_REPLACE, &old), NPSHM_OK) != NPSHM_OK)
        return;
    fill_pattern(npshm_data(old), 4096, 11);
    if (EXPECT_RC(npshm_create(name, 2, (int64_t[]){10, 10}, "int32", NPSHM_REPLACE, &nu), NPSHM_OK) == NPSHM_OK) {
        CHECKF(all_zero(npshm_data(nu), npshm_nbytes(nu)), "the replacing array is not zero-filled");
        CHECK(npshm_nbytes(nu) == 400);
        /* The old mapping is still valid, readable and writable, and separate. */
        CHECKF(check_pattern(npshm_data(old), 4096, 11), "REPLACE changed the old mapping's data");
        ((unsigned char *)npshm_data(old))[0] ^= 0xff;
        CHECK(all_zero(npshm_data(nu), npshm_nbytes(nu)));
        CHECK(npshm_nbytes(old) == 4096 && strcmp(npshm_dtype(old), "|u1") == 0);
        if (EXPECT_RC(npshm_attach(name, 0, &again), NPSHM_OK) == NPSHM_OK) {
            CHECKF(npshm_ndim(again) == 2 && strcmp(npshm_dtype(again), "<i4") == 0,
                   "attach after REPLACE sees ndim %d dtype %s", npshm_ndim(again), npshm_dtype(again));
            npshm_release(again);
        }
        /* A replace with a shape numpy refuses is refused before anything is made: the array
         * under the name stays, whatever the other dimensions (issue 8, item 1). */
        struct stat before, after;
        CHECK(stat_shm(name, &before));
        npshm_array *refused = SENTINEL;
        EXPECT_RC(npshm_create(name, 2, (int64_t[]){INT64_C(1) << 62, 0}, "int64", NPSHM_REPLACE, &refused),
                  NPSHM_ERR_INVALID);
        CHECKF(strstr(npshm_last_error(), "shape (4611686018427387904, 0)") != NULL, "%s", npshm_last_error());
        EXPECT_RC(npshm_create(name, 2, (int64_t[]){0, INT64_MAX}, "int64", NPSHM_REPLACE, &refused),
                  NPSHM_ERR_INVALID);
        EXPECT_RC(npshm_create(name, 1, (int64_t[]){1}, "S2147483648", NPSHM_REPLACE, &refused), NPSHM_ERR_INVALID);
        CHECK(refused == SENTINEL);
        CHECKF(stat_shm(name, &after) && after.st_ino == before.st_ino, "a refused replace replaced the array");
        npshm_release(nu);
    }
    npshm_release(old);
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
}

/* The identity accessors name the generation a handle maps: the header's creator and creation time,
 * and the file's device and inode; a replacement differs, an attach of the same array agrees. */
static void test_identity(void) {
    char name[128], path[256], file[300];
    mkname(name, sizeof name, "identity");
    snprintf(path, sizeof path, SHM_DIR "/%s", name);
    CHECK(npshm_created_ns(NULL) == 0 && npshm_creator_pid(NULL) == 0 && npshm_device(NULL) == 0 &&
          npshm_inode(NULL) == 0);
    npshm_array *a = NULL, *b = NULL, *c = NULL;
    int64_t t0 = now_ns();
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){16}, "int16", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    int64_t t1 = now_ns();
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECKF(npshm_creator_pid(a) == getpid(), "npshm_creator_pid %" PRId64 ", want %d", npshm_creator_pid(a),
           (int)getpid());
    CHECKF(npshm_created_ns(a) >= t0 && npshm_created_ns(a) <= t1, "npshm_created_ns %" PRId64 " not in [%" PRId64
           ", %" PRId64 "]", npshm_created_ns(a), t0, t1);
    CHECKF(npshm_device(a) == (uint64_t)st.st_dev && npshm_inode(a) == (uint64_t)st.st_ino,
           "created: device/inode %" PRIu64 "/%" PRIu64 ", stat says %" PRIu64 "/%" PRIu64, npshm_device(a),
           npshm_inode(a), (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (EXPECT_RC(npshm_attach(name, NPSHM_READONLY, &b), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_created_ns(b) == npshm_created_ns(a) && npshm_creator_pid(b) == npshm_creator_pid(a));
        CHECK(npshm_device(b) == npshm_device(a) && npshm_inode(b) == npshm_inode(a));
        npshm_release(b);
    }
    /* A replacement is another generation; the old handle keeps naming the old one. */
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){16}, "int16", NPSHM_REPLACE, &c), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_inode(c) != npshm_inode(a));
        CHECK(npshm_created_ns(c) >= npshm_created_ns(a));
        CHECK(stat(path, &st) == 0 && npshm_inode(c) == (uint64_t)st.st_ino && npshm_inode(a) != (uint64_t)st.st_ino);
        npshm_release(c);
    }
    npshm_release(a);
    /* A file load is a creation too. */
    snprintf(file, sizeof file, "/tmp/%sidentity.npy", g_prefix);
    if (EXPECT_RC(npshm_attach(name, 0, &a), NPSHM_OK) == NPSHM_OK) {
        EXPECT_RC(npshm_write_file(file, a), NPSHM_OK);
        npshm_release(a);
    }
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
    t0 = now_ns();
    if (EXPECT_RC(npshm_read_file(file, name, 0, &a), NPSHM_OK) == NPSHM_OK) {
        CHECK(stat(path, &st) == 0 && npshm_inode(a) == (uint64_t)st.st_ino && npshm_device(a) == (uint64_t)st.st_dev);
        CHECK(npshm_creator_pid(a) == getpid() && npshm_created_ns(a) >= t0);
        npshm_release(a);
    }
    unlink(file);
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
}

/* Writes to a read-only mapping must kill the writer with SIGSEGV. */
static void test_readonly(void) {
    char name[128];
    mkname(name, sizeof name, "ro");
    npshm_array *a = NULL, *r = NULL;
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){8192}, "uint8", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    ((unsigned char *)npshm_data(a))[100] = 42;
    if (EXPECT_RC(npshm_attach(name, NPSHM_READONLY, &r), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_is_readonly(r) == 1);
        CHECK(npshm_is_readonly(a) == 0);
        volatile unsigned char *p = npshm_data(r);
        CHECK(p[100] == 42);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGSEGV, SIG_DFL);
            p[100] = 7; /* must fault */
            _exit(0);
        }
        CHECK(pid > 0);
        int status = 0;
        if (pid > 0) {
            waitpid(pid, &status, 0);
            CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                   "writing to a read-only mapping did not die with SIGSEGV (status %#x)", status);
        }
        CHECK(p[100] == 42);
        EXPECT_RC(npshm_msync(r, NPSHM_MS_SYNC), NPSHM_OK);
        npshm_release(r);
    }
    if (EXPECT_RC(npshm_attach_expect(name, NPSHM_READONLY, 1, (int64_t[]){8192}, "uint8", &r), NPSHM_OK) == NPSHM_OK) {
        CHECK(npshm_is_readonly(r) == 1);
        npshm_release(r);
    }
    npshm_release(a);
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
}

static void test_delete_keeps_mapping(void) {
    char name[128];
    mkname(name, sizeof name, "del");
    npshm_array *a = NULL, *b = NULL, *c = NULL;
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){1000}, "int64", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    if (EXPECT_RC(npshm_attach(name, 0, &b), NPSHM_OK) != NPSHM_OK) {
        npshm_release(a);
        npshm_delete(name);
        return;
    }
    int64_t *pa = npshm_data(a), *pb = npshm_data(b);
    pa[5] = 555;
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
    CHECK(!shm_exists(name));
    npshm_array *out = SENTINEL;
    EXPECT_RC(npshm_attach(name, 0, &out), NPSHM_ERR_NOT_FOUND);
    EXPECT_RC(npshm_delete(name), NPSHM_ERR_NOT_FOUND);
    CHECK(out == SENTINEL);
    /* Both old mappings still work and still share memory. */
    CHECK(pb[5] == 555);
    pb[999] = 999;
    CHECK(pa[999] == 999);
    /* A new array of the same name is a different one. */
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){1000}, "int64", 0, &c), NPSHM_OK) == NPSHM_OK) {
        CHECK(((int64_t *)npshm_data(c))[5] == 0);
        ((int64_t *)npshm_data(c))[5] = 1;
        CHECK(pa[5] == 555);
        npshm_release(c);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    npshm_release(a);
    CHECK(pb[5] == 555);
    npshm_release(b);
}

static void test_attach_expect(void) {
    char name[128];
    mkname(name, sizeof name, "expect");
    const int64_t shape[] = {4, 5};
    npshm_array *a = NULL, *b = NULL;
    if (EXPECT_RC(npshm_create(name, 2, shape, "<f8", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    if (EXPECT_RC(npshm_attach_expect(name, 0, 2, shape, "float64", &b), NPSHM_OK) == NPSHM_OK) npshm_release(b);
    if (EXPECT_RC(npshm_attach_expect(name, 0, 2, shape, "d", &b), NPSHM_OK) == NPSHM_OK) npshm_release(b);
    if (EXPECT_RC(npshm_attach_expect(name, 0, 2, shape, NULL, &b), NPSHM_OK) == NPSHM_OK) npshm_release(b);
    if (EXPECT_RC(npshm_attach_expect(name, 0, -1, NULL, "<f8", &b), NPSHM_OK) == NPSHM_OK) npshm_release(b);
    if (EXPECT_RC(npshm_attach_expect(name, 0, -1, NULL, NULL, &b), NPSHM_OK) == NPSHM_OK) npshm_release(b);

    npshm_array *out = SENTINEL;
    EXPECT_RC(npshm_attach_expect(name, 0, 2, (int64_t[]){5, 4}, NULL, &out), NPSHM_ERR_MISMATCH);
    EXPECT_RC(npshm_attach_expect(name, 0, 1, (int64_t[]){20}, NULL, &out), NPSHM_ERR_MISMATCH);
    EXPECT_RC(npshm_attach_expect(name, 0, 3, (int64_t[]){4, 5, 1}, NULL, &out), NPSHM_ERR_MISMATCH);
    EXPECT_RC(npshm_attach_expect(name, 0, 0, NULL, NULL, &out), NPSHM_ERR_MISMATCH);
    EXPECT_RC(npshm_attach_expect(name, 0, 2, shape, "float32", &out), NPSHM_ERR_MISMATCH);
    EXPECT_RC(npshm_attach_expect(name, 0, 2, shape, ">f8", &out), NPSHM_ERR_MISMATCH);
    EXPECT_RC(npshm_attach_expect(name, 0, -1, NULL, "int64", &out), NPSHM_ERR_MISMATCH);
    EXPECT_RC(npshm_attach_expect(name, NPSHM_READONLY, -1, NULL, "<c16", &out), NPSHM_ERR_MISMATCH);
    CHECK(out == SENTINEL);
    /* Bad expectations are bad arguments. */
    EXPECT_RC(npshm_attach_expect(name, 0, -1, NULL, "nope", &out), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_attach_expect(name, 0, -2, NULL, NULL, &out), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_attach_expect(name, 0, 65, shape, NULL, &out), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_attach_expect(name, 0, 2, NULL, NULL, &out), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_attach_expect(name, 0, -1, NULL, "|O", &out), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_attach_expect(name, 0, -1, NULL, NULL, NULL), NPSHM_ERR_INVALID);
    CHECK(out == SENTINEL);
    npshm_release(a);
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
}

/* Foreign and corrupt segments are NPSHM_ERR_FORMAT, never a crash, and are not listed. */
static void expect_format_error(const char *name, const char *what) {
    npshm_array *out = SENTINEL;
    int rc = npshm_attach(name, 0, &out);
    if (rc != NPSHM_ERR_FORMAT)
        FAILF("attach of %s returned %s, want NPSHM_ERR_FORMAT (last error \"%s\")", what,
              rc_name(rc), npshm_last_error());
    rc = npshm_attach(name, NPSHM_READONLY, &out);
    if (rc != NPSHM_ERR_FORMAT)
        FAILF("read-only attach of %s returned %s, want NPSHM_ERR_FORMAT", what, rc_name(rc));
    rc = npshm_attach_expect(name, 0, -1, NULL, NULL, &out);
    if (rc != NPSHM_ERR_FORMAT)
        FAILF("attach_expect of %s returned %s, want NPSHM_ERR_FORMAT", what, rc_name(rc));
    CHECKF(out == SENTINEL, "failed attach of %s changed *out", what);
    if (out != SENTINEL && out != NULL) npshm_release(out);
}

struct find_ctx {
    const char *name;
    int found;
    npshm_info copy;
    int64_t shape[NPSHM_MAX_NDIM];
    char dtype[256];
};
static int find_cb(const npshm_info *info, void *vctx) {
    struct find_ctx *c = vctx;
    if (info == NULL || info->name == NULL) return 0;
    if (strcmp(info->name, c->name) == 0) {
        c->found++;
        c->copy = *info;
        for (int i = 0; i < info->ndim && i < NPSHM_MAX_NDIM; i++) c->shape[i] = info->shape[i];
        snprintf(c->dtype, sizeof c->dtype, "%s", info->dtype ? info->dtype : "(null)");
    }
    return 0;
}
static int list_count(const char *name, struct find_ctx *ctx) {
    memset(ctx, 0, sizeof *ctx);
    ctx->name = name;
    int rc = npshm_list(find_cb, ctx);
    CHECKF(rc == NPSHM_OK, "npshm_list returned %s: %s", rc_name(rc), npshm_last_error());
    return ctx->found;
}

static void test_foreign_and_corrupt(void) {
    char name[128], path[256], src[128], srcpath[256];
    mkname(name, sizeof name, "foreign");
    snprintf(path, sizeof path, SHM_DIR "/%s", name);
    struct find_ctx fc;

    static const struct {
        const char *what;
        const char *head; /* the first bytes; the rest of the file is zero */
        size_t head_len, len;
    } foreign[] = {
        {"16 KiB of random bytes", NULL, 0, 16384},
        {"a 5-byte file", "hello", 5, 5},
        {"an empty file", "", 0, 0},
        {"67 bytes starting with the magic", "NPSHMARR\x01\x00", 10, 67},
        {"4 KiB of zeros after the magic", "NPSHMARR", 8, 4096},
        {"a SharedArray-like segment", "[SharedArray]", 13, 8192},
    };
    static unsigned char buf[16384];
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        memset(buf, 0, sizeof buf);
        if (foreign[i].head == NULL) {
            srand(1234);
            for (size_t k = 0; k < foreign[i].len; k++) buf[k] = (unsigned char)rand();
        } else {
            memcpy(buf, foreign[i].head, foreign[i].head_len);
        }
        if (!write_file(path, buf, foreign[i].len, 0600)) {
            FAILF("cannot write %s: %s", path, strerror(errno));
            continue;
        }
        expect_format_error(name, foreign[i].what);
        CHECKF(list_count(name, &fc) == 0, "npshm_list reported %s", foreign[i].what);
        unlink(path);
    }

    /* Corrupt copies of a real segment. */
    mkname(src, sizeof src, "foreign-src");
    snprintf(srcpath, sizeof srcpath, SHM_DIR "/%s", src);
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_create(src, 2, (int64_t[]){3, 5}, "<f8", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    npshm_release(a);
    size_t len = 0;
    unsigned char *seg = read_file(srcpath, &len);
    CHECK(seg != NULL && len >= 4096 + 120);
    if (seg == NULL || len < 4096 + 120) {
        free(seg);
        npshm_delete(src);
        return;
    }
    uint32_t hl = le32(seg + 12);
    unsigned char *copy = malloc(len);
    enum { FLIP_DATA_NBYTES, BAD_CRC, VERSION2, FLAG_BIT2, NDIM65, NEG_DIM, OFFSET_ODD,
           OBJECT_DTYPE, WRONG_ITEMSIZE, TRUNCATED, BIG_NBYTES, ZERO_DESCR, NCASES };
    static const char *what[] = {"a segment with data_nbytes changed (bad checksum)",
                                 "a segment with a wrong checksum", "a version-2 segment",
                                 "a segment with flag bit 2", "a segment with ndim 65",
                                 "a segment with a negative dimension",
                                 "a segment with data_offset not a multiple of 64",
                                 "a segment with an object dtype", "a segment whose itemsize is wrong",
                                 "a truncated segment", "a segment with data_nbytes too large",
                                 "a segment with descr_len 0"};
    for (int k = 0; k < NCASES; k++) {
        memcpy(copy, seg, len);
        size_t clen = len;
        bool fix_crc = true;
        switch (k) {
        case FLIP_DATA_NBYTES: copy[24] ^= 0x08; fix_crc = false; break;
        case BAD_CRC: copy[hl] ^= 0x01; fix_crc = false; break;
        case VERSION2: copy[8] = 2; break;
        case FLAG_BIT2: copy[10] |= 4; break; /* bits 0 and 1: Fortran, unreserved */
        case NDIM65: put32(copy + 40, 65); break;
        case NEG_DIM: put64(copy + 64, (uint64_t)-3); break;
        case OFFSET_ODD: put64(copy + 16, 4096 + 8); clen = len + 8; break;
        case OBJECT_DTYPE: memcpy(copy + 64 + 16, "|O", 2); put32(copy + 44, 2);
                           put32(copy + 12, 64 + 16 + 2); break;
        case WRONG_ITEMSIZE: put64(copy + 32, 4); put64(copy + 24, 60); break;
        case TRUNCATED: clen = len - 1; break;
        case BIG_NBYTES: put64(copy + 24, 128); break;
        case ZERO_DESCR: put32(copy + 44, 0); put32(copy + 12, 64 + 16); break;
        }
        if (fix_crc) {
            uint32_t h = le32(copy + 12);
            if (h + 4 <= 4096) put32(copy + h, crc32_ieee(copy, h));
        }
        unsigned char *buf = copy;
        unsigned char *grown = NULL;
        if (clen > len) {
            grown = calloc(1, clen);
            memcpy(grown, copy, len);
            buf = grown;
        }
        if (!write_file(path, buf, clen, 0600)) FAILF("cannot write %s", path);
        else {
            expect_format_error(name, what[k]);
            CHECKF(list_count(name, &fc) == 0, "npshm_list reported %s", what[k]);
        }
        free(grown);
        unlink(path);
    }
    /* The unmodified copy is fine: the checks above are about the modifications. */
    if (write_file(path, seg, len, 0600)) {
        npshm_array *b = NULL;
        if (EXPECT_RC(npshm_attach(name, 0, &b), NPSHM_OK) == NPSHM_OK) {
            CHECK(npshm_nbytes(b) == 120);
            npshm_release(b);
        }
        CHECKF(list_count(name, &fc) == 1, "npshm_list does not report a byte copy of a segment");
        /* A reserved temporary name is an unfinished creation: not listed. */
        char tmpname[128], tmppath[256];
        snprintf(tmpname, sizeof tmpname, ".npshm-tmp-%d-999999", (int)getpid());
        snprintf(tmppath, sizeof tmppath, SHM_DIR "/%s", tmpname);
        if (write_file(tmppath, seg, len, 0600)) {
            CHECKF(list_count(tmpname, &fc) == 0, "npshm_list reports the unfinished creation %s",
                   tmpname);
            unlink(tmppath);
        }
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    free(copy);
    free(seg);
    EXPECT_RC(npshm_delete(src), NPSHM_OK);
}

static int stop_cb(const npshm_info *info, void *ctx) {
    (void)info;
    ++*(int *)ctx;
    return 42;
}

static void test_list(void) {
    char n1[128], n2[128], n3[128];
    mkname(n1, sizeof n1, "list-1");
    mkname(n2, sizeof n2, "list-2");
    mkname(n3, sizeof n3, "list-3");
    npshm_array *a = NULL, *b = NULL, *c = NULL;
    int64_t t0 = now_ns();
    int ok = EXPECT_RC(npshm_create(n1, 2, (int64_t[]){3, 4}, "float64", 0, &a), NPSHM_OK) == NPSHM_OK;
    ok &= EXPECT_RC(npshm_create(n2, 0, NULL, "datetime64[ns]", NPSHM_MODE(0640), &b), NPSHM_OK) == NPSHM_OK;
    ok &= EXPECT_RC(npshm_create(n3, 3, (int64_t[]){2, 0, 7}, "<U3", NPSHM_FORTRAN, &c), NPSHM_OK) == NPSHM_OK;
    int64_t t1 = now_ns();
    if (ok) {
        struct find_ctx fc;
        if (list_count(n1, &fc) == 1) {
            CHECK(strcmp(fc.dtype, "<f8") == 0);
            CHECK(fc.copy.ndim == 2 && fc.shape[0] == 3 && fc.shape[1] == 4);
            CHECK(fc.copy.itemsize == 8 && fc.copy.nbytes == 96);
            CHECKF(fc.copy.mode == 0600, "list mode %04o", fc.copy.mode);
            CHECK(fc.copy.uid == geteuid());
            CHECKF(fc.copy.creator_pid == getpid(), "list creator_pid %" PRId64, fc.copy.creator_pid);
            CHECKF(fc.copy.created_ns >= t0 - 1000000000 && fc.copy.created_ns <= t1 + 1000000000,
                   "list created_ns %" PRId64 " not in [%" PRId64 ", %" PRId64 "]", fc.copy.created_ns, t0, t1);
            CHECK(fc.copy.fortran == 0);
        } else FAILF("npshm_list found %s %d times, want once", n1, fc.found);
        if (list_count(n2, &fc) == 1) {
            CHECKF(strcmp(fc.dtype, "<M8[ns]") == 0, "list dtype %s", fc.dtype);
            CHECK(fc.copy.ndim == 0 && fc.copy.itemsize == 8 && fc.copy.nbytes == 8);
            CHECKF(fc.copy.mode == 0640, "list mode %04o, want 0640", fc.copy.mode);
        } else FAILF("npshm_list found %s %d times, want once", n2, fc.found);
        if (list_count(n3, &fc) == 1) {
            CHECK(strcmp(fc.dtype, "<U3") == 0);
            CHECK(fc.copy.ndim == 3 && fc.shape[0] == 2 && fc.shape[1] == 0 && fc.shape[2] == 7);
            CHECK(fc.copy.itemsize == 12 && fc.copy.nbytes == 0);
            CHECK(fc.copy.fortran == 1);
        } else FAILF("npshm_list found %s %d times, want once", n3, fc.found);

        /* The reported name attaches. */
        npshm_array *x = NULL;
        if (EXPECT_RC(npshm_attach(fc.name, 0, &x), NPSHM_OK) == NPSHM_OK) npshm_release(x);

        /* A nonzero return stops the walk and is returned. */
        int calls = 0;
        int rc = npshm_list(stop_cb, &calls);
        CHECKF(rc == 42, "npshm_list returned %d, want the callback's 42", rc);
        CHECKF(calls == 1, "the callback ran %d times after returning nonzero", calls);
        EXPECT_RC(npshm_list(NULL, NULL), NPSHM_ERR_INVALID);

        /* Deleted arrays are no longer listed, even while mapped. */
        EXPECT_RC(npshm_delete(n1), NPSHM_OK);
        CHECK(list_count(n1, &fc) == 0);
    }
    npshm_release(a);
    npshm_release(b);
    npshm_release(c);
    npshm_delete(n1);
    EXPECT_RC(npshm_delete(n2), NPSHM_OK);
    EXPECT_RC(npshm_delete(n3), NPSHM_OK);
}

static void test_file_names(void) {
    char dir[] = "/tmp/npshm-ct-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        FAILF("mkdtemp: %s", strerror(errno));
        return;
    }
    char name[600], path[512], missing_dir[600], rel_path[512];
    snprintf(path, sizeof path, "%s/arr.npshm", dir);
    snprintf(name, sizeof name, "file://%s", path);
    snprintf(missing_dir, sizeof missing_dir, "file://%s/no/such/dir/arr", dir);
    npshm_array *a = NULL, *b = NULL;
    if (EXPECT_RC(npshm_create(name, 2, (int64_t[]){64, 64}, "float32", 0, &a), NPSHM_OK) == NPSHM_OK) {
        struct stat st;
        CHECK(stat(path, &st) == 0);
        CHECKF((st.st_mode & 07777) == 0600, "file mode %04o", (unsigned)(st.st_mode & 07777));
        CHECKF(st.st_size >= (off_t)(64 * 64 * 4 + 4096) && st.st_size % 4096 == 0,
               "file size %lld", (long long)st.st_size);
        CHECK(strcmp(npshm_name(a), name) == 0);
        CHECK(all_zero(npshm_data(a), npshm_nbytes(a)));
        float *f = npshm_data(a);
        f[4095] = 1.5f;
        if (EXPECT_RC(npshm_attach(name, 0, &b), NPSHM_OK) == NPSHM_OK) {
            CHECK(((float *)npshm_data(b))[4095] == 1.5f);
            npshm_release(b);
        }
        npshm_array *out = SENTINEL;
        EXPECT_RC(npshm_create(name, 1, (int64_t[]){1}, "uint8", 0, &out), NPSHM_ERR_EXISTS);
        struct find_ctx fc;
        CHECKF(list_count(name, &fc) == 0, "npshm_list reports a file:// array");
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
        CHECKF(access(path, F_OK) != 0, "npshm_delete left %s", path);
        EXPECT_RC(npshm_attach(name, 0, &out), NPSHM_ERR_NOT_FOUND);
        EXPECT_RC(npshm_delete(name), NPSHM_ERR_NOT_FOUND);
        CHECK(out == SENTINEL);
    }
    EXPECT_CREATE_FAILS(missing_dir, 1, ((int64_t[]){1}), "uint8", 0, NPSHM_ERR_NOT_FOUND);

    /* A foreign regular file. */
    snprintf(path, sizeof path, "%s/foreign.bin", dir);
    snprintf(name, sizeof name, "file://%s", path);
    if (write_file(path, "not an array, just some bytes in a file\n", 40, 0600)) {
        expect_format_error(name, "a foreign file:// file");
        unlink(path);
    }

    /* Relative to the working directory. */
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) != NULL && chdir(dir) == 0) {
        if (EXPECT_RC(npshm_create("file://rel.npshm", 1, (int64_t[]){3}, "int16", 0, &a), NPSHM_OK) == NPSHM_OK)
            npshm_release(a);
        CHECK(chdir(cwd) == 0);
        snprintf(rel_path, sizeof rel_path, "%s/rel.npshm", dir);
        CHECKF(access(rel_path, F_OK) == 0, "file://rel.npshm did not make %s", rel_path);
        snprintf(name, sizeof name, "file://%s", rel_path);
        if (EXPECT_RC(npshm_attach(name, 0, &a), NPSHM_OK) == NPSHM_OK) {
            CHECK(npshm_nbytes(a) == 6);
            npshm_release(a);
        }
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }

    /* No temporary files left in the directory. */
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            FAILF("left behind in %s: %s", dir, e->d_name);
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    CHECK(rmdir(dir) == 0);
}

static void test_msync_mlock(void) {
    char name[128];
    mkname(name, sizeof name, "msync");
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){65536}, "uint8", 0, &a), NPSHM_OK) != NPSHM_OK) return;
    memset(npshm_data(a), 1, 65536);
    EXPECT_RC(npshm_msync(a, NPSHM_MS_SYNC), NPSHM_OK);
    EXPECT_RC(npshm_msync(a, NPSHM_MS_ASYNC), NPSHM_OK);
    EXPECT_RC(npshm_msync(a, NPSHM_MS_SYNC | NPSHM_MS_INVALIDATE), NPSHM_OK);
    EXPECT_RC(npshm_msync(a, NPSHM_MS_SYNC | NPSHM_MS_ASYNC), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_msync(a, 8), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_msync(a, -1), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_msync(NULL, NPSHM_MS_SYNC), NPSHM_ERR_INVALID);
    /* mlock within RLIMIT_MEMLOCK (some containers allow only 64 KiB). */
    struct rlimit ml;
    if (geteuid() == 0 || (getrlimit(RLIMIT_MEMLOCK, &ml) == 0 && ml.rlim_cur >= 1024 * 1024)) {
        EXPECT_RC(npshm_mlock(a), NPSHM_OK);
        EXPECT_RC(npshm_munlock(a), NPSHM_OK);
    } else {
        int rc = npshm_mlock(a);
        CHECKF(rc == NPSHM_OK || rc == NPSHM_ERR_NO_SPACE || rc == NPSHM_ERR_PERMISSION,
               "mlock under a small RLIMIT_MEMLOCK: %s", rc_name(rc));
        if (rc == NPSHM_OK) EXPECT_RC(npshm_munlock(a), NPSHM_OK);
    }
    EXPECT_RC(npshm_mlock(NULL), NPSHM_ERR_INVALID);
    EXPECT_RC(npshm_munlock(NULL), NPSHM_ERR_INVALID);
    npshm_release(a);
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
}

/*
 * PERMISSION, and mlock's limits, seen by an unprivileged process: a child that
 * drops to nobody (if we are root) or stays itself (mode-0 files refuse even the
 * owner then).
 */
static void test_permissions(void) {
    char locked[128], shared[128];
    mkname(locked, sizeof locked, "perm-0000");
    mkname(shared, sizeof shared, "perm-0644");
    npshm_array *a = NULL, *b = NULL;
    if (EXPECT_RC(npshm_create(locked, 1, (int64_t[]){16}, "uint8", NPSHM_MODE(0), &a), NPSHM_OK) != NPSHM_OK)
        return;
    if (EXPECT_RC(npshm_create(shared, 1, (int64_t[]){16}, "uint8", NPSHM_MODE(0644), &b), NPSHM_OK) != NPSHM_OK) {
        npshm_release(a);
        npshm_delete(locked);
        return;
    }
    ((unsigned char *)npshm_data(b))[0] = 99;
    bool root = geteuid() == 0;
    struct stat dst;
    bool sticky = stat(SHM_DIR, &dst) == 0 && (dst.st_mode & S_ISVTX);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int before = check_count();
        if (root) {
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
                FAILF("cannot drop to uid 65534: %s", strerror(errno));
                _exit(1);
            }
        }
        npshm_array *x = SENTINEL;
        EXPECT_RC(npshm_attach(locked, 0, &x), NPSHM_ERR_PERMISSION);
        CHECKF(npshm_last_errno() == EACCES, "last errno %d, want EACCES", npshm_last_errno());
        EXPECT_RC(npshm_attach(locked, NPSHM_READONLY, &x), NPSHM_ERR_PERMISSION);
        CHECK(x == SENTINEL);
        struct find_ctx fc;
        CHECKF(list_count(locked, &fc) == 0, "npshm_list reports an array the caller may not read");
        CHECKF(list_count(shared, &fc) == 1, "npshm_list does not report a readable array");
        if (root) {
            /* Someone else's 0644 array: read-only yes, read-write no, delete no. */
            EXPECT_RC(npshm_attach(shared, 0, &x), NPSHM_ERR_PERMISSION);
            if (EXPECT_RC(npshm_attach(shared, NPSHM_READONLY, &x), NPSHM_OK) == NPSHM_OK) {
                CHECK(((unsigned char *)npshm_data(x))[0] == 99);
                npshm_release(x);
            }
            if (sticky) EXPECT_RC(npshm_delete(shared), NPSHM_ERR_PERMISSION);
        }
        /* mlock beyond RLIMIT_MEMLOCK: NO_SPACE (ENOMEM); with a zero limit: PERMISSION. */
        char mine[160];
        snprintf(mine, sizeof mine, "%s-child", locked);
        if (EXPECT_RC(npshm_create(mine, 1, (int64_t[]){1 << 20}, "uint8", 0, &x), NPSHM_OK) == NPSHM_OK) {
            struct rlimit rl = {4096, 4096};
            if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
                EXPECT_RC(npshm_mlock(x), NPSHM_ERR_NO_SPACE);
                rl.rlim_cur = rl.rlim_max = 0;
                if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0) EXPECT_RC(npshm_mlock(x), NPSHM_ERR_PERMISSION);
            }
            npshm_release(x);
            EXPECT_RC(npshm_delete(mine), NPSHM_OK);
        }
        _exit(check_count() == before ? 0 : 1);
    }
    CHECK(pid > 0);
    if (pid > 0) {
        int status = 0;
        waitpid(pid, &status, 0);
        CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the unprivileged child failed (status %#x)", status);
    }
    npshm_release(a);
    npshm_release(b);
    EXPECT_RC(npshm_delete(locked), NPSHM_OK);
    EXPECT_RC(npshm_delete(shared), NPSHM_OK);
}

/* ---------------------------------------------------------------------------- */
/* Threads. */

#define NTHREADS 8
#define THREAD_ITERS 150

struct thread_arg {
    int id;
    int failures;
};

static void *worker(void *varg) {
    struct thread_arg *arg = varg;
    char name[128];
    for (int i = 0; i < THREAD_ITERS; i++) {
        snprintf(name, sizeof name, "%sthr-%d-%d", g_prefix, arg->id, i);
        int64_t shape[2] = {1 + i % 7, 33};
        npshm_array *a = NULL, *b = NULL;
        int rc = npshm_create(name, 2, shape, "int64", 0, &a);
        if (rc != NPSHM_OK) {
            FAILF("thread %d: create %s: %s %s", arg->id, name, rc_name(rc), npshm_last_error());
            arg->failures++;
            continue;
        }
        int64_t *p = npshm_data(a);
        size_t n = npshm_nbytes(a) / 8;
        for (size_t k = 0; k < n; k++) p[k] = arg->id * 1000000 + i * 1000 + (int64_t)k;
        rc = npshm_attach_expect(name, (i & 1) ? NPSHM_READONLY : 0, 2, shape, "<i8", &b);
        if (rc != NPSHM_OK) {
            FAILF("thread %d: attach %s: %s %s", arg->id, name, rc_name(rc), npshm_last_error());
            arg->failures++;
        } else {
            const int64_t *q = npshm_data(b);
            for (size_t k = 0; k < n; k++)
                if (q[k] != arg->id * 1000000 + i * 1000 + (int64_t)k) {
                    FAILF("thread %d: %s holds wrong data at %zu", arg->id, name, k);
                    arg->failures++;
                    break;
                }
            npshm_release(b);
        }
        /* A failure of this thread's own, with its own message. */
        if (npshm_create(name, 2, shape, "int64", 0, &b) != NPSHM_ERR_EXISTS || npshm_last_error()[0] == '\0') {
            FAILF("thread %d: second create of %s is not EXISTS with a message", arg->id, name);
            arg->failures++;
        }
        if (i % 50 == 0) {
            struct find_ctx fc;
            memset(&fc, 0, sizeof fc);
            fc.name = name;
            if (npshm_list(find_cb, &fc) != NPSHM_OK || fc.found != 1) {
                FAILF("thread %d: npshm_list found %s %d times", arg->id, name, fc.found);
                arg->failures++;
            }
        }
        rc = npshm_delete(name);
        if (rc != NPSHM_OK) {
            FAILF("thread %d: delete %s: %s", arg->id, name, rc_name(rc));
            arg->failures++;
        }
        rc = npshm_attach(name, 0, &b);
        if (rc != NPSHM_ERR_NOT_FOUND) {
            FAILF("thread %d: attach after delete of %s: %s", arg->id, name, rc_name(rc));
            arg->failures++;
            if (rc == NPSHM_OK) npshm_release(b);
        }
        if (p[n - 1] != arg->id * 1000000 + i * 1000 + (int64_t)(n - 1)) {
            FAILF("thread %d: mapping of deleted %s changed", arg->id, name);
            arg->failures++;
        }
        npshm_release(a);
    }
    return NULL;
}

/* Exactly one of several simultaneous creators of one name wins. */
struct race_arg {
    const char *name;
    pthread_barrier_t *barrier;
    int rc;
    npshm_array *a;
};
static void *racer(void *varg) {
    struct race_arg *r = varg;
    pthread_barrier_wait(r->barrier);
    r->rc = npshm_create(r->name, 1, (int64_t[]){1 << 16}, "uint8", 0, &r->a);
    return NULL;
}

/* While one thread replaces an array over and over, attachers see the old or
 * the new array, never neither, never a half-made one. */
struct churn_arg {
    const char *name;
    atomic_int *stop;
    int failures;
};
static void *replacer(void *varg) {
    struct churn_arg *c = varg;
    for (int i = 0; i < 300; i++) {
        npshm_array *a = NULL;
        int64_t n = 1 + (i % 5) * 1000;
        int rc = npshm_create(c->name, 1, &n, "uint8", NPSHM_REPLACE, &a);
        if (rc != NPSHM_OK) {
            FAILF("REPLACE create %d: %s %s", i, rc_name(rc), npshm_last_error());
            c->failures++;
            continue;
        }
        npshm_release(a);
    }
    atomic_store(c->stop, 1);
    return NULL;
}
static void *attacher(void *varg) {
    struct churn_arg *c = varg;
    long n = 0;
    while (!atomic_load(c->stop) || n == 0) {
        npshm_array *a = NULL;
        int rc = npshm_attach(c->name, NPSHM_READONLY, &a);
        n++;
        if (rc != NPSHM_OK) {
            FAILF("attach during REPLACE returned %s: %s", rc_name(rc), npshm_last_error());
            c->failures++;
            if (c->failures > 5) break;
            continue;
        }
        size_t nb = npshm_nbytes(a);
        if ((nb - 1) % 1000 != 0 || nb > 4001 || npshm_ndim(a) != 1) {
            FAILF("attach during REPLACE saw nbytes %zu", nb);
            c->failures++;
        }
        npshm_release(a);
    }
    return NULL;
}

static void test_threads(void) {
    pthread_t t[NTHREADS];
    struct thread_arg args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i].id = i;
        args[i].failures = 0;
        CHECK(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
    }
    for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);

    char name[128];
    mkname(name, sizeof name, "race");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    struct race_arg ra[NTHREADS];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < NTHREADS; i++) {
            ra[i] = (struct race_arg){name, &barrier, 0, NULL};
            CHECK(pthread_create(&t[i], NULL, racer, &ra[i]) == 0);
        }
        int winners = 0, exists = 0;
        for (int i = 0; i < NTHREADS; i++) {
            pthread_join(t[i], NULL);
            if (ra[i].rc == NPSHM_OK) {
                winners++;
                npshm_release(ra[i].a);
            } else if (ra[i].rc == NPSHM_ERR_EXISTS) {
                exists++;
            }
        }
        CHECKF(winners == 1 && exists == NTHREADS - 1,
               "round %d of racing creators: %d won, %d got EXISTS", round, winners, exists);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
    pthread_barrier_destroy(&barrier);

    mkname(name, sizeof name, "churn");
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_create(name, 1, (int64_t[]){1}, "uint8", 0, &a), NPSHM_OK) == NPSHM_OK) {
        atomic_int stop = 0;
        struct churn_arg c1 = {name, &stop, 0}, c2 = {name, &stop, 0}, c3 = {name, &stop, 0};
        pthread_t tr, ta, tb;
        CHECK(pthread_create(&ta, NULL, attacher, &c2) == 0);
        CHECK(pthread_create(&tb, NULL, attacher, &c3) == 0);
        CHECK(pthread_create(&tr, NULL, replacer, &c1) == 0);
        pthread_join(tr, NULL);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        npshm_release(a);
        EXPECT_RC(npshm_delete(name), NPSHM_OK);
    }
}

/* Hostile input never crashes: random dtype strings are accepted or INVALID,
 * randomly corrupted headers attach or are FORMAT. */
static unsigned rnd_state = 12345;
static unsigned rnd(void) {
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) & 0xffffff;
}

static void test_hostile_input(void) {
    char name[128], path[256];
    mkname(name, sizeof name, "hostile");
    snprintf(path, sizeof path, SHM_DIR "/%s", name);
    static const char alphabet[] = "[](),' <>|=0123456789fiucbSUVMmOqdD?[nsY]xy_";
    static const char *seeds[] = {"[('x', '<f4'), ('y', '<i8', (3,))]", "<M8[ns]", "|S7", "<U3",
                                  "[('p', [('a', '<i2')]), ('q', '<f8', (2, 2))]", "float64"};
    const int64_t shape[] = {2};
    int accepted = 0;
    for (int i = 0; i < 3000; i++) {
        char dt[64];
        if (i % 2) { /* a mutated valid spelling */
            snprintf(dt, sizeof dt, "%s", seeds[rnd() % (sizeof seeds / sizeof seeds[0])]);
            size_t len = strlen(dt);
            for (int k = 0, n = 1 + (int)(rnd() % 3); k < n && len > 0; k++)
                dt[rnd() % len] = alphabet[rnd() % (sizeof alphabet - 1)];
        } else { /* random characters */
            size_t len = 1 + rnd() % 30;
            for (size_t k = 0; k < len; k++) dt[k] = alphabet[rnd() % (sizeof alphabet - 1)];
            dt[len] = '\0';
        }
        npshm_array *a = SENTINEL;
        int rc = npshm_create(name, 1, shape, dt, 0, &a);
        if (rc == NPSHM_OK) {
            accepted++;
            CHECKF(npshm_nbytes(a) == 2 * npshm_itemsize(a), "dtype \"%s\": nbytes %zu itemsize %zu", dt,
                   npshm_nbytes(a), npshm_itemsize(a));
            npshm_array *b = NULL;
            /* What was stored reads back, and is accepted as its own spelling. */
            if (npshm_attach_expect(name, 0, 1, shape, npshm_dtype(a), &b) != NPSHM_OK)
                FAILF("dtype \"%s\" stored as \"%s\" does not attach as itself: %s", dt, npshm_dtype(a),
                      npshm_last_error());
            else
                npshm_release(b);
            npshm_release(a);
            npshm_delete(name);
        } else {
            CHECKF(rc == NPSHM_ERR_INVALID, "dtype \"%s\": %s (%s)", dt, rc_name(rc), npshm_last_error());
            CHECKF(a == SENTINEL, "dtype \"%s\": failed create changed *out", dt);
        }
    }
    CHECKF(accepted > 0, "no mutated dtype was accepted");
    CHECK(!shm_exists(name));

    /* Corrupt headers. */
    npshm_array *a = NULL;
    if (EXPECT_RC(npshm_create(name, 2, (int64_t[]){3, 4}, "[('x', '<f4'), ('y', '<i8', (3,))]", 0, &a),
                  NPSHM_OK) != NPSHM_OK)
        return;
    npshm_release(a);
    size_t len = 0;
    unsigned char *seg = read_file(path, &len);
    EXPECT_RC(npshm_delete(name), NPSHM_OK);
    if (!seg) {
        FAILF("cannot read the segment");
        return;
    }
    uint32_t hl = le32(seg + 12);
    unsigned char *copy = malloc(len);
    for (int i = 0; i < 400; i++) {
        memcpy(copy, seg, len);
        for (int k = 0, n = 1 + (int)(rnd() % 4); k < n; k++) {
            size_t at = rnd() % (hl + 4);
            copy[at] = (rnd() % 4 == 0) ? (unsigned char)rnd() : copy[at] ^ (unsigned char)(1u << (rnd() % 8));
        }
        if (i % 2 == 0 && hl + 4 <= len) put32(copy + le32(seg + 12), crc32_ieee(copy, hl)); /* get past the checksum */
        if (!write_file(path, copy, len, 0600)) {
            FAILF("cannot write %s", path);
            break;
        }
        npshm_array *b = SENTINEL;
        int rc = npshm_attach(name, NPSHM_READONLY, &b);
        if (rc == NPSHM_OK) {
            CHECKF(npshm_nbytes(b) <= len, "a corrupt header claims %zu bytes in a %zu-byte segment",
                   npshm_nbytes(b), len);
            volatile unsigned char sink = 0;
            const unsigned char *p = npshm_data(b);
            for (size_t k = 0; k < npshm_nbytes(b); k++) sink ^= p[k]; /* all mapped */
            (void)sink;
            npshm_release(b);
        } else {
            CHECKF(rc == NPSHM_ERR_FORMAT, "a corrupt header gave %s (%s)", rc_name(rc), npshm_last_error());
            CHECK(b == SENTINEL);
        }
        struct find_ctx fc;
        list_count(name, &fc); /* must not crash either */
        unlink(path);
    }
    free(copy);
    free(seg);
}

/* Nothing of ours is left in /dev/shm: no array, no temporary file. */
static void test_no_leftovers(void) {
    char tmp_prefix[64];
    snprintf(tmp_prefix, sizeof tmp_prefix, ".npshm-tmp-%d-", (int)getpid());
    DIR *d = opendir(SHM_DIR);
    if (!d) {
        FAILF("opendir " SHM_DIR ": %s", strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, g_prefix, strlen(g_prefix)) == 0 ||
            strncmp(e->d_name, tmp_prefix, strlen(tmp_prefix)) == 0) {
            FAILF("left behind in " SHM_DIR ": %s", e->d_name);
            char p[512];
            snprintf(p, sizeof p, SHM_DIR "/%s", e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}

static int run_suite(const char *where) {
    snprintf(g_prefix, sizeof g_prefix, "npshm-ct-%d-", (int)getpid());
    printf("test_contract: %s (pid %d)\n", where, (int)getpid());
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"version", test_version},
        {"status_names", test_status_names},
        {"accessors_null", test_accessors_null},
        {"messages_name_values", test_messages_name_values},
        {"last_error_per_thread", test_last_error_per_thread},
        {"names", test_names},
        {"shapes", test_shapes},
        {"dtypes", test_dtypes},
        {"flags_and_modes", test_flags_and_modes},
        {"segment_bytes", test_segment_bytes},
        {"create_attach_exists", test_create_attach_exists},
        {"replace", test_replace},
        {"identity", test_identity},
        {"readonly", test_readonly},
        {"delete_keeps_mapping", test_delete_keeps_mapping},
        {"attach_expect", test_attach_expect},
        {"foreign_and_corrupt", test_foreign_and_corrupt},
        {"list", test_list},
        {"file_names", test_file_names},
        {"msync_mlock", test_msync_mlock},
        {"permissions", test_permissions},
        {"threads", test_threads},
        {"hostile_input", test_hostile_input},
        {"no_leftovers", test_no_leftovers},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        int before = check_count();
        tests[i].fn();
        printf("%-24s %s\n", tests[i].name, check_count() == before ? "ok" : "FAILED");
    }
    return check_result("test_contract");
}

static int suite_in_child(void *arg) {
    (void)arg;
    return run_suite("in a child forked after the parent used the library");
}

/*
 * test_contract           the suite in this process
 * test_contract --fork    the suite in a child forked after this process used the
 *                         library: there the library works without the Go runtime
 *                         (its C path), and must keep exactly the same contract.
 */
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_page = (size_t)sysconf(_SC_PAGESIZE);
    umask(022);
    if (argc == 2 && strcmp(argv[1], "--fork") == 0)
        return run_forked(suite_in_child, NULL, "test_contract --fork");
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--fork]\n", argv[0]);
        return 2;
    }
    return run_suite("in the process that loaded the library");
}
