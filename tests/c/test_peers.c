/*
 * test_peers.c - the peers' segments (docs/FORMAT.md, "The peers' segments") through the C
 * interface: the committed vectors of tests/vectors/peers, and creation in each peer's format.
 *
 *   test_peers [--fork] PEER_VECTORS_DIR
 *
 * (--fork: in a child forked after the parent used the library, where the C twin runs.)
 *
 * For each MANIFEST line (FILE FORMAT NDIM SHAPE ITEMSIZE NBYTES DATA_OFFSET DESCR, or FILE ERR
 * CODE) the .seg file is copied into /dev/shm under a unique name and attached read-write,
 * read-only and with expectations: a valid vector shows the manifest's format, shape, dtype and
 * sizes, data byte k is (7*k + 3) % 251, and npshm_list reports its format; an invalid one fails
 * with NPSHM_ERR_FORMAT. Then arrays are created in each format, attached back and refused where
 * the format cannot carry them.
 */
#define _GNU_SOURCE
#include "check.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>

static unsigned format_of(const char *s) {
    if (strcmp(s, "sharedarray") == 0) return NPSHM_FORMAT_SHAREDARRAY;
    if (strcmp(s, "cdxcore") == 0) return NPSHM_FORMAT_CDXCORE;
    return 0xffffffffu;
}

static bool copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return false;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return false;
    }
    char buf[65536];
    bool ok = true;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0) ok = false;
        if (r <= 0) break;
        if (write(out, buf, (size_t)r) != r) {
            ok = false;
            break;
        }
    }
    close(in);
    return close(out) == 0 && ok;
}

struct list_ctx {
    const char *name;
    unsigned format;
    int found;
};
static int list_cb(const npshm_info *info, void *vctx) {
    struct list_ctx *c = vctx;
    if (strcmp(info->name, c->name) != 0) return 0;
    c->found++;
    CHECKF(info->format == c->format && info->creator_pid == 0 && info->created_ns == 0,
           "%s: npshm_list reports format %#x creator %lld created %lld, want %#x 0 0", c->name, info->format,
           (long long)info->creator_pid, (long long)info->created_ns, c->format);
    return 0;
}

static void check_valid(const char *file, const char *name, unsigned format, int ndim, const int64_t *shape,
                        size_t itemsize, size_t nbytes, const char *descr) {
    npshm_array *a = NULL;
    for (int how = 0; how < 3; how++) {
        int rc = how == 0   ? npshm_attach(name, 0, &a)
                 : how == 1 ? npshm_attach(name, NPSHM_READONLY, &a)
                            : npshm_attach_expect(name, NPSHM_READONLY, ndim, shape, descr, &a);
        if (EXPECT_RC(rc, NPSHM_OK) != NPSHM_OK) continue;
        CHECKF(npshm_format(a) == format && npshm_ndim(a) == ndim && npshm_itemsize(a) == itemsize &&
                   npshm_nbytes(a) == nbytes && strcmp(npshm_dtype(a), descr) == 0 && !npshm_is_fortran(a) &&
                   npshm_creator_pid(a) == 0,
               "%s (%d): format %#x ndim %d itemsize %zu nbytes %zu dtype %s", file, how, npshm_format(a),
               npshm_ndim(a), npshm_itemsize(a), npshm_nbytes(a), npshm_dtype(a));
        for (int i = 0; i < ndim && i < npshm_ndim(a); i++)
            CHECKF(npshm_shape(a)[i] == shape[i], "%s: shape[%d] %lld", file, i, (long long)npshm_shape(a)[i]);
        const unsigned char *p = npshm_data(a);
        for (size_t k = 0; k < npshm_nbytes(a); k++)
            if (p[k] != (unsigned char)((7 * k + 3) % 251)) {
                FAILF("%s: data byte %zu is %u", file, k, p[k]);
                break;
            }
        npshm_release(a);
    }
    /* An expectation the array does not meet. */
    npshm_array *out = SENTINEL;
    CHECKF(npshm_attach_expect(name, 0, -1, NULL, strcmp(descr, "<f8") ? "<f8" : "<f4", &out) == NPSHM_ERR_MISMATCH,
           "%s: attach expecting another dtype: %s", file, npshm_last_error());
    struct list_ctx lc = {name, format, 0};
    CHECK(npshm_list(list_cb, &lc) == NPSHM_OK);
    CHECKF(lc.found == 1, "%s: listed %d times", file, lc.found);
}

static void run_line(const char *dir, char *line, int index, int *n_ok, int *n_err) {
    char *save = NULL;
    char *file = strtok_r(line, " ", &save);
    char *kind = strtok_r(NULL, " ", &save);
    if (!file || !kind) {
        FAILF("malformed MANIFEST line %d", index);
        return;
    }
    char src[PATH_MAX], name[128], shm_path[256];
    snprintf(src, sizeof src, "%s/%s", dir, file);
    snprintf(name, sizeof name, "npshm-peervec-%d-%d", (int)getpid(), index);
    snprintf(shm_path, sizeof shm_path, "/dev/shm/%s", name);
    if (!copy_file(src, shm_path)) {
        FAILF("%s: cannot copy to %s: %s", src, shm_path, strerror(errno));
        unlink(shm_path);
        return;
    }
    if (strcmp(kind, "ERR") == 0) {
        (*n_err)++;
        npshm_array *out = SENTINEL;
        int rc = npshm_attach(name, NPSHM_READONLY, &out);
        CHECKF(rc == NPSHM_ERR_FORMAT && out == SENTINEL, "%s: attach returned %s (%s), want NPSHM_ERR_FORMAT", file,
               rc_name(rc), npshm_last_error());
        rc = npshm_attach(name, 0, &out);
        CHECKF(rc == NPSHM_ERR_FORMAT, "%s: read-write attach returned %s", file, rc_name(rc));
    } else {
        (*n_ok)++;
        int ndim = atoi(strtok_r(NULL, " ", &save));
        char *shape_s = strtok_r(NULL, " ", &save);
        size_t itemsize = (size_t)strtoull(strtok_r(NULL, " ", &save), NULL, 10);
        size_t nbytes = (size_t)strtoull(strtok_r(NULL, " ", &save), NULL, 10);
        (void)strtok_r(NULL, " ", &save); /* DATA_OFFSET: not visible through the interface */
        const char *descr = save;
        int64_t shape[NPSHM_MAX_NDIM];
        int n = 0;
        if (strcmp(shape_s, "-") != 0) {
            char *s2 = NULL;
            for (char *d = strtok_r(shape_s, ",", &s2); d && n < NPSHM_MAX_NDIM; d = strtok_r(NULL, ",", &s2))
                shape[n++] = strtoll(d, NULL, 10);
        }
        CHECKF(n == ndim, "%s: shape has %d dimensions, ndim %d", file, n, ndim);
        check_valid(file, name, format_of(kind), ndim, shape, itemsize, nbytes, descr);
    }
    if (unlink(shm_path) != 0) FAILF("unlink %s: %s", shm_path, strerror(errno));
}

static void create_each_format(void) {
    static const unsigned formats[] = {NPSHM_FORMAT_SHAREDARRAY, NPSHM_FORMAT_CDXCORE};
    char name[128];
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "npshm-peercreate-%d-%d", (int)getpid(), i);
        int64_t shape[2] = {3, 4};
        npshm_array *a = NULL, *b = NULL;
        if (EXPECT_RC(npshm_create(name, 2, shape, "float32", formats[i], &a), NPSHM_OK) != NPSHM_OK) continue;
        CHECK(npshm_format(a) == formats[i]);
        ((float *)npshm_data(a))[11] = 2.5f;
        if (EXPECT_RC(npshm_attach(name, NPSHM_READONLY, &b), NPSHM_OK) == NPSHM_OK) {
            CHECK(npshm_format(b) == formats[i] && strcmp(npshm_dtype(b), "<f4") == 0);
            CHECK(((const float *)npshm_data(b))[11] == 2.5f);
            npshm_release(b);
        }
        npshm_release(a);
        CHECK(npshm_delete(name) == NPSHM_OK);
        /* What the format cannot carry: nothing is created. */
        npshm_array *out = SENTINEL;
        CHECK(npshm_create(name, 2, shape, formats[i] == NPSHM_FORMAT_CDXCORE ? "uint8" : ">f8", formats[i], &out) ==
              NPSHM_ERR_INVALID);
        CHECK(npshm_create(name, 2, shape, "float64", formats[i] | NPSHM_FORTRAN, &out) == NPSHM_ERR_INVALID);
        CHECK(out == SENTINEL && npshm_attach(name, 0, &out) == NPSHM_ERR_NOT_FOUND);
    }
    npshm_array *out = SENTINEL;
    int64_t one = 1;
    CHECK(npshm_create(name, 1, &one, "f8", NPSHM_FORMAT_SHAREDARRAY | NPSHM_FORMAT_CDXCORE, &out) == NPSHM_ERR_INVALID);
}

static int run(void *arg) {
    const char *dir = arg;
    char manifest[PATH_MAX];
    snprintf(manifest, sizeof manifest, "%s/MANIFEST", dir);
    FILE *f = fopen(manifest, "r");
    if (!f) {
        fprintf(stderr, "FAIL: cannot open %s: %s\n", manifest, strerror(errno));
        return 1;
    }
    char line[8192];
    int index = 0, n_ok = 0, n_err = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#') continue;
        run_line(dir, line, index++, &n_ok, &n_err);
    }
    fclose(f);
    CHECKF(n_ok > 5 && n_err > 5, "%d valid and %d invalid vectors", n_ok, n_err);
    create_each_format();
    printf("%d peer vectors (%d valid, %d invalid)\n", index, n_ok, n_err);
    return check_result("test_peers");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "--fork") == 0) return run_forked(run, argv[2], "test_peers --fork");
    if (argc != 2) {
        fprintf(stderr, "usage: %s [--fork] PEER_VECTORS_DIR\n", argv[0]);
        return 2;
    }
    return run(argv[1]);
}
