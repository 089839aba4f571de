/*
 * test_vectors.c - the committed test vectors (tests/vectors, see its README.md),
 * read through the C interface.
 *
 *   test_vectors [--fork] VECTORS_DIR
 *
 * (--fork: in a child forked after the parent used the library.)
 *
 * For each MANIFEST line the .seg file is copied into /dev/shm under a unique
 * name and attached (read-write, read-only, with expectations, and in place as
 * file://PATH). A valid vector must show the manifest's ndim, shape, descriptor,
 * itemsize, nbytes and Fortran flag, data byte k must be (7*k + 3) % 251, and
 * npshm_list must report it the same way; an invalid one must fail with the
 * manifest's status code and must not be listed. Every .seg file must be in the
 * MANIFEST.
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#define MAX_VECTORS 1024

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

/* Parses one MANIFEST line into v; false (with a message) if it is malformed. */
static bool parse_line(char *line, int lineno, struct vector *v) {
    memset(v, 0, sizeof *v);
    char *save = NULL;
    char *file = strtok_r(line, " ", &save);
    char *kind = strtok_r(NULL, " ", &save);
    if (!file || !kind || strlen(file) >= sizeof v->file) {
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

static void run_vector(const char *dir, const struct vector *v, int index) {
    char src[PATH_MAX], name[128], shm_path[256], file_name[PATH_MAX + 8];
    snprintf(src, sizeof src, "%s/%s", dir, v->file);
    snprintf(name, sizeof name, "npshm-vec-%d-%d", (int)getpid(), index);
    snprintf(shm_path, sizeof shm_path, "/dev/shm/%s", name);
    snprintf(file_name, sizeof file_name, "file://%s", src);
    if (!copy_file(src, shm_path)) {
        FAILF("%s: cannot copy to %s: %s", src, shm_path, strerror(errno));
        unlink(shm_path);
        return;
    }
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
    if (unlink(shm_path) != 0) FAILF("unlink %s: %s", shm_path, strerror(errno));
}

static bool in_manifest(const char *file, const struct vector *vs, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(vs[i].file, file) == 0) return true;
    return false;
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
    static struct vector vs[MAX_VECTORS];
    int n = 0, n_ok = 0, n_err = 0, lineno = 0;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#') continue;
        if (n == MAX_VECTORS) {
            FAILF("more than %d vectors", MAX_VECTORS);
            break;
        }
        if (parse_line(line, lineno, &vs[n])) {
            if (vs[n].ok) n_ok++;
            else n_err++;
            n++;
        }
    }
    fclose(f);
    CHECKF(n_ok > 0 && n_err > 0, "the MANIFEST has %d valid and %d invalid vectors; want some of each",
           n_ok, n_err);

    for (int i = 0; i < n; i++) {
        int before = check_count();
        run_vector(dir, &vs[i], i);
        printf("%-40s %s %s\n", vs[i].file, vs[i].ok ? "OK " : "ERR", check_count() == before ? "ok" : "FAILED");
    }

    /* Every vector file is in the MANIFEST. */
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len > 4 && strcmp(e->d_name + len - 4, ".seg") == 0 && !in_manifest(e->d_name, vs, n))
                FAILF("%s/%s is not in the MANIFEST", dir, e->d_name);
        }
        closedir(d);
    }
    printf("%d vectors (%d valid, %d invalid)\n", n, n_ok, n_err);
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
