/*
 * test_peers.c - the peers' segments (docs/FORMAT.md, "The peers' segments") through the C
 * interface: the committed vectors of tests/vectors/peers, and creation in each peer's format.
 *
 *   test_peers [--fork] PEER_VECTORS_DIR
 *
 * (--fork: in a child forked after the parent used the library, where the C twin runs.)
 *
 * For each MANIFEST line (FILE FORMAT NDIM SHAPE ITEMSIZE NBYTES DATA_OFFSET DESCR, or FILE ERR
 * CODE) the .seg file is copied into /dev/shm under a unique name (vector_walk.h) and attached
 * read-write, read-only and with expectations: a valid vector shows the manifest's format, shape,
 * dtype and sizes, data byte k is (7*k + 3) % 251, and npshm_list reports its format; an invalid
 * one fails with NPSHM_ERR_FORMAT. Every .seg file must be in the MANIFEST. Then arrays are
 * created in each format, attached back and refused where the format cannot carry them.
 */
#define _GNU_SOURCE
#include "check.h"
#include "vector_walk.h"

static unsigned format_of(const char *s) {
    if (strcmp(s, "sharedarray") == 0) return NPSHM_FORMAT_SHAREDARRAY;
    if (strcmp(s, "cdxcore") == 0) return NPSHM_FORMAT_CDXCORE;
    return 0xffffffffu;
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

struct counts {
    int ok, err;
};

static void each_vector(struct vector_seg *v, void *ctx) {
    struct counts *n = ctx;
    const char *file = v->file;
    char *save = NULL;
    char *kind = strtok_r(v->rest, " ", &save);
    if (!kind) {
        FAILF("malformed MANIFEST line %d", v->lineno);
        return;
    }
    if (strcmp(kind, "ERR") == 0) {
        n->err++;
        npshm_array *out = SENTINEL;
        int rc = npshm_attach(v->name, NPSHM_READONLY, &out);
        CHECKF(rc == NPSHM_ERR_FORMAT && out == SENTINEL, "%s: attach returned %s (%s), want NPSHM_ERR_FORMAT", file,
               rc_name(rc), npshm_last_error());
        rc = npshm_attach(v->name, 0, &out);
        CHECKF(rc == NPSHM_ERR_FORMAT, "%s: read-write attach returned %s", file, rc_name(rc));
        return;
    }
    n->ok++;
    int ndim = atoi(strtok_r(NULL, " ", &save));
    char *shape_s = strtok_r(NULL, " ", &save);
    size_t itemsize = (size_t)strtoull(strtok_r(NULL, " ", &save), NULL, 10);
    size_t nbytes = (size_t)strtoull(strtok_r(NULL, " ", &save), NULL, 10);
    (void)strtok_r(NULL, " ", &save); /* DATA_OFFSET: not visible through the interface */
    const char *descr = save;
    int64_t shape[NPSHM_MAX_NDIM];
    int nd = 0;
    if (strcmp(shape_s, "-") != 0) {
        char *s2 = NULL;
        for (char *d = strtok_r(shape_s, ",", &s2); d && nd < NPSHM_MAX_NDIM; d = strtok_r(NULL, ",", &s2))
            shape[nd++] = strtoll(d, NULL, 10);
    }
    CHECKF(nd == ndim, "%s: shape has %d dimensions, ndim %d", file, nd, ndim);
    check_valid(file, v->name, format_of(kind), ndim, shape, itemsize, nbytes, descr);
}

static void walk_fail(const char *message) { FAILF("%s", message); }

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
    struct counts n = {0, 0};
    int walked = vector_walk(dir, "npshm-peervec", each_vector, walk_fail, &n);
    if (walked < 0) return check_result("test_peers");
    CHECKF(n.ok > 5 && n.err > 5, "%d valid and %d invalid vectors", n.ok, n.err);
    create_each_format();
    printf("%d peer vectors (%d valid, %d invalid)\n", walked, n.ok, n.err);
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
