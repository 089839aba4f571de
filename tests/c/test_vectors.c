/*
 * test_vectors.c - the committed test vectors (tests/vectors, see its README.md),
 * read through the C interface.
 *
 *   test_vectors [--fork] VECTORS_DIR
 *
 * (--fork: in a child forked after the parent used the library.)
 *
 * For each MANIFEST line the .seg file is copied into /dev/shm under a unique
 * name (vector_walk.h) and attached (read-write, read-only, with expectations, and in place as
 * file://PATH). A valid vector must show the manifest's ndim, shape, descriptor,
 * itemsize, nbytes and Fortran flag, data byte k must be (7*k + 3) % 251, and
 * npshm_list must report it the same way; an invalid one must fail with the
 * manifest's status code and must not be listed. Every .seg file must be in the
 * MANIFEST.
 */
#define _GNU_SOURCE
#include "check.h"
#include "vector_walk.h"

#include <stdbool.h>

struct vector {
    char file[256];
    bool ok;
    int code; /* ERR: the expected status */
    int ndim;
    int64_t shape[NPSHM_MAX_NDIM];
    size_t itemsize, nbytes;
    int fortran;
    char descr[4096];
};

static const struct {
    const char *name;
    int code;
} codes[] = {
    {"EXISTS", NPSHM_ERR_EXISTS},       {"NOT_FOUND", NPSHM_ERR_NOT_FOUND},
    {"INVALID", NPSHM_ERR_INVALID},     {"NO_SPACE", NPSHM_ERR_NO_SPACE},
    {"FORMAT", NPSHM_ERR_FORMAT},       {"MISMATCH", NPSHM_ERR_MISMATCH},
    {"PERMISSION", NPSHM_ERR_PERMISSION}, {"IO", NPSHM_ERR_IO},
};

/* Parses the fields after FILE of one MANIFEST line into v; false (with a message) if they are
 * malformed. */
static bool parse_line(const char *file, char *rest, int lineno, struct vector *v) {
    memset(v, 0, sizeof *v);
    char *save = NULL;
    char *kind = strtok_r(rest, " ", &save);
    if (!kind || strlen(file) >= sizeof v->file) {
        FAILF("MANIFEST line %d: malformed", lineno);
        return false;
    }
    snprintf(v->file, sizeof v->file, "%s", file);
    if (strcmp(kind, "ERR") == 0) {
        char *code = strtok_r(NULL, " ", &save);
        for (size_t i = 0; code && i < sizeof codes / sizeof codes[0]; i++)
            if (strcmp(code, codes[i].name) == 0) {
                v->code = codes[i].code;
                return true;
            }
        FAILF("MANIFEST line %d: unknown status code \"%s\"", lineno, code ? code : "");
        return false;
    }
    if (strcmp(kind, "OK") != 0) {
        FAILF("MANIFEST line %d: \"%s\" is neither OK nor ERR", lineno, kind);
        return false;
    }
    v->ok = true;
    char *ndim = strtok_r(NULL, " ", &save);
    char *shape = strtok_r(NULL, " ", &save);
    char *itemsize = strtok_r(NULL, " ", &save);
    char *nbytes = strtok_r(NULL, " ", &save);
    char *fortran = strtok_r(NULL, " ", &save);
    char *descr = save; /* the rest of the line, spaces included */
    if (!ndim || !shape || !itemsize || !nbytes || !fortran || !descr || !*descr) {
        FAILF("MANIFEST line %d: an OK line needs NDIM SHAPE ITEMSIZE NBYTES FORTRAN DESCR", lineno);
        return false;
    }
    v->ndim = atoi(ndim);
    if (v->ndim < 0 || v->ndim > NPSHM_MAX_NDIM) {
        FAILF("MANIFEST line %d: ndim %d", lineno, v->ndim);
        return false;
    }
    int n = 0;
    if (strcmp(shape, "-") != 0) {
        char *s2 = NULL;
        for (char *d = strtok_r(shape, ",", &s2); d; d = strtok_r(NULL, ",", &s2)) {
            if (n >= NPSHM_MAX_NDIM) break;
            v->shape[n++] = strtoll(d, NULL, 10);
        }
    }
    if (n != v->ndim) {
        FAILF("MANIFEST line %d: shape has %d dimensions, ndim says %d", lineno, n, v->ndim);
        return false;
    }
    v->itemsize = (size_t)strtoull(itemsize, NULL, 10);
    v->nbytes = (size_t)strtoull(nbytes, NULL, 10);
    v->fortran = atoi(fortran);
    snprintf(v->descr, sizeof v->descr, "%s", descr);
    return true;
}

/* Checks an attached valid vector against the manifest. */
static void check_array(const npshm_array *a, const struct vector *v, const char *how) {
    CHECKF(npshm_ndim(a) == v->ndim, "%s (%s): ndim %d, want %d", v->file, how, npshm_ndim(a), v->ndim);
    for (int i = 0; i < v->ndim && i < npshm_ndim(a); i++)
        CHECKF(npshm_shape(a)[i] == v->shape[i], "%s (%s): shape[%d] is %lld, want %lld", v->file, how,
               i, (long long)npshm_shape(a)[i], (long long)v->shape[i]);
    CHECKF(strcmp(npshm_dtype(a), v->descr) == 0, "%s (%s): dtype \"%s\", want \"%s\"", v->file, how,
           npshm_dtype(a), v->descr);
    CHECKF(npshm_itemsize(a) == v->itemsize, "%s (%s): itemsize %zu, want %zu", v->file, how,
           npshm_itemsize(a), v->itemsize);
    CHECKF(npshm_nbytes(a) == v->nbytes, "%s (%s): nbytes %zu, want %zu", v->file, how,
           npshm_nbytes(a), v->nbytes);
    CHECKF(npshm_is_fortran(a) == v->fortran, "%s (%s): fortran %d, want %d", v->file, how,
           npshm_is_fortran(a), v->fortran);
    if (npshm_nbytes(a) == v->nbytes) {
        const unsigned char *p = npshm_data(a);
        for (size_t k = 0; k < v->nbytes; k++) {
            if (p[k] != (unsigned char)((7 * k + 3) % 251)) {
                FAILF("%s (%s): data byte %zu is %u, want %u", v->file, how, k, p[k],
                      (unsigned)((7 * k + 3) % 251));
                break;
            }
        }
    }
}

struct list_ctx {
    const char *name;
    const struct vector *v;
    int found;
};
static int list_cb(const npshm_info *info, void *vctx) {
    struct list_ctx *c = vctx;
    if (strcmp(info->name, c->name) != 0) return 0;
    c->found++;
    const struct vector *v = c->v;
    if (!v->ok) return 0;
    CHECKF(info->ndim == v->ndim && strcmp(info->dtype, v->descr) == 0 && info->itemsize == v->itemsize &&
               info->nbytes == v->nbytes && info->fortran == v->fortran,
           "%s: npshm_list reports ndim %d dtype \"%s\" itemsize %zu nbytes %zu fortran %d", v->file,
           info->ndim, info->dtype, info->itemsize, info->nbytes, info->fortran);
    for (int i = 0; i < v->ndim && i < info->ndim; i++)
        CHECKF(info->shape[i] == v->shape[i], "%s: npshm_list shape[%d] %lld", v->file, i,
               (long long)info->shape[i]);
    CHECKF(info->creator_pid == 4242 && info->created_ns == INT64_C(1700000000123456789),
           "%s: npshm_list creator_pid %lld created_ns %lld, the README says 4242 and 1700000000123456789",
           v->file, (long long)info->creator_pid, (long long)info->created_ns);
    return 0;
}

/* Attaches the vector v, copied into /dev/shm as name, in every way the MANIFEST line predicts. */
static void run_vector(const char *src, const char *name, const struct vector *v) {
    char file_name[PATH_MAX + 8];
    snprintf(file_name, sizeof file_name, "file://%s", src);
    npshm_array *a = NULL;
    struct list_ctx lc = {name, v, 0};
    if (v->ok) {
        if (EXPECT_RC(npshm_attach(name, 0, &a), NPSHM_OK) == NPSHM_OK) {
            check_array(a, v, "attach");
            npshm_release(a);
        }
        if (EXPECT_RC(npshm_attach(name, NPSHM_READONLY, &a), NPSHM_OK) == NPSHM_OK) {
            check_array(a, v, "read-only attach");
            npshm_release(a);
        }
        if (EXPECT_RC(npshm_attach_expect(name, NPSHM_READONLY, v->ndim, v->shape, v->descr, &a),
                      NPSHM_OK) == NPSHM_OK) {
            check_array(a, v, "attach_expect");
            npshm_release(a);
        }
        /* In place, read-only: the committed file itself. */
        if (EXPECT_RC(npshm_attach(file_name, NPSHM_READONLY, &a), NPSHM_OK) == NPSHM_OK) {
            check_array(a, v, "file://");
            npshm_release(a);
        }
        CHECK(npshm_list(list_cb, &lc) == NPSHM_OK);
        CHECKF(lc.found == 1, "%s: npshm_list reports it %d times, want once", v->file, lc.found);
    } else {
        npshm_array *out = SENTINEL;
        int rc = npshm_attach(name, 0, &out);
        CHECKF(rc == v->code, "%s: attach returned %d (%s), the MANIFEST says %s; last error \"%s\"",
               v->file, rc, rc_name(rc), rc_name(v->code), npshm_last_error());
        rc = npshm_attach(name, NPSHM_READONLY, &out);
        CHECKF(rc == v->code, "%s: read-only attach returned %s, want %s", v->file, rc_name(rc),
               rc_name(v->code));
        rc = npshm_attach_expect(name, 0, -1, NULL, NULL, &out);
        CHECKF(rc == v->code, "%s: attach_expect returned %s, want %s", v->file, rc_name(rc),
               rc_name(v->code));
        rc = npshm_attach(file_name, NPSHM_READONLY, &out);
        CHECKF(rc == v->code, "%s: file:// attach returned %s, want %s", v->file, rc_name(rc),
               rc_name(v->code));
        CHECKF(out == SENTINEL, "%s: a failed attach changed *out", v->file);
        CHECK(npshm_list(list_cb, &lc) == NPSHM_OK);
        CHECKF(lc.found == 0, "%s: npshm_list reports an invalid segment", v->file);
    }
}

struct counts {
    int ok, err;
};

static void each_vector(struct vector_seg *seg, void *ctx) {
    struct counts *n = ctx;
    static struct vector v; /* a 4 KiB descriptor: kept off the stack */
    if (!parse_line(seg->file, seg->rest, seg->lineno, &v)) return;
    if (v.ok) n->ok++;
    else n->err++;
    int before = check_count();
    run_vector(seg->src, seg->name, &v);
    printf("%-40s %s %s\n", v.file, v.ok ? "OK " : "ERR", check_count() == before ? "ok" : "FAILED");
}

static void walk_fail(const char *message) { FAILF("%s", message); }

static int run(void *arg) {
    const char *dir = arg;
    struct counts n = {0, 0};
    int walked = vector_walk(dir, "npshm-vec", each_vector, walk_fail, &n);
    if (walked < 0) return check_result("test_vectors");
    CHECKF(n.ok > 0 && n.err > 0, "the MANIFEST has %d valid and %d invalid vectors; want some of each",
           n.ok, n.err);
    printf("%d vectors (%d valid, %d invalid)\n", walked, n.ok, n.err);
    return check_result("test_vectors");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "--fork") == 0) return run_forked(run, argv[2], "test_vectors --fork");
    if (argc != 2) {
        fprintf(stderr, "usage: %s [--fork] VECTORS_DIR\n", argv[0]);
        return 2;
    }
    return run(argv[1]);
}
