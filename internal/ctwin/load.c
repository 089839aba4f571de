/* The C path of the array files (npio, .npy): npshm_read_file_ex and npshm_write_file for processes
 * made by fork(), where the Go runtime cannot be entered (docs/DESIGN.md, "Fork"). It follows
 * internal/core/fileformat.go and load_linux.go rule for rule, with the same status codes and
 * messages; internal/ctwin/difftest and tests/c/test_files.c (run in a forked child too)
 * keep the two equal. Only libc, pthreads and system calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "npshm.h"
#include "npshm_shim.h"
#include "ctwin.h"

#define NPIO_MAX_HEADER (8 + 8 * MAX_NDIM)
#define LOCK_PREFIX ".npshm-lock-"
#define GROWTH_DIGITS 21
#define READ_FLAGS (NPSHM_READONLY | NPSHM_EXCLUSIVE | NPSHM_HAS_MODE | (07777u << 16))

/* A truncated file: FORMAT with ENODATA, which the differential tests read as "eof". */
static status ftrunc(const char *msg) { status s = {NPSHM_ERR_FORMAT, ENODATA, msg, 0, 0}; return s; }

/* ---- crash-test hook (internal/core/testhook.go): the "load" point ---- */

static int pause_load;
__attribute__((constructor)) static void read_load_pause(void) {
    const char *v = getenv("NPSHM_TEST_PAUSE");
    pause_load = v != NULL && strcmp(v, "load") == 0;
}

/* ---- headers (internal/core/fileformat.go) ---- */

static const char *const npio_descr[] = {"|b1", "|i1", "<i2", "<i4", "<i8", "<u2", "<u4", "<u8", "<f2", "<f4",
                                         "<f8", "<c8", "<c16", "<M8", "<m8"};
#define NPIO_CODES ((int)(sizeof npio_descr / sizeof *npio_descr))
static const int npio_size[] = {1, 1, 2, 4, 8, 2, 4, 8, 2, 4, 8, 8, 16, 8, 8};

typedef struct fheader {
    int format, ndim, fortran;
    int64_t shape[MAX_NDIM];
    char *descr; /* canonical, NUL-terminated, in the caller's buffer */
    uint64_t itemsize, header_len, nbytes;
} fheader;

static int npio_code(const char *descr) {
    for (int i = 0; i < NPIO_CODES; i++)
        if (strcmp(descr, npio_descr[i]) == 0) return i;
    return -1;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const unsigned char *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static void put_be32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (24 - 8 * i)); }
static void put_be64(unsigned char *p, uint64_t v) { put_be32(p, (uint32_t)(v >> 32)); put_be32(p + 4, (uint32_t)v); }
static status finish(fheader *fh, uint64_t avail) {
    if (npshm__shape_bytes(fh->shape, fh->ndim, fh->itemsize, &fh->nbytes).code)
        return st_fail(NPSHM_ERR_FORMAT, "corrupt header: the array's size in bytes overflows");
    if (avail - fh->header_len < fh->nbytes) return ftrunc("file is shorter than the array its header describes");
    return OK_STATUS;
}

static status decode_npio(const unsigned char *buf, size_t len, uint64_t avail, fheader *fh, char *canon) {
    memset(fh, 0, sizeof *fh);
    fh->format = 1;
    fh->descr = canon;
    if (avail < 4) return ftrunc("file ends inside the array's header");
    if (len < 4) return st_fail(NPSHM_ERR_FORMAT, "npio header longer than npshm reads");
    uint32_t total = be32(buf);
    if (total < 8 || total % 8 != 0) return st_num(NPSHM_ERR_FORMAT, "not an npio or .npy file: bad npio header length", total);
    if (total > NPIO_MAX_HEADER) return st_num(NPSHM_ERR_FORMAT, "npio header: more than 64 dimensions, header length", total);
    if (avail < total || len < total) return ftrunc("file ends inside the array's header");
    int code = buf[4];
    int ndim = buf[5] << 16 | buf[6] << 8 | buf[7];
    if ((uint64_t)total != 8 + 8 * (uint64_t)ndim)
        return st_fail(NPSHM_ERR_FORMAT, "corrupt npio header: its length does not match its number of dimensions");
    if (code >= NPIO_CODES) return st_num(NPSHM_ERR_FORMAT, "corrupt npio header: unknown dtype code", code);
    fh->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = be64(buf + 8 + 8 * i);
        if (d > (1ULL << 62)) return st_fail(NPSHM_ERR_FORMAT, "corrupt npio header: dimension too large");
        fh->shape[i] = (int64_t)d;
    }
    strcpy(canon, npio_descr[code]);
    fh->itemsize = (uint64_t)npio_size[code];
    fh->header_len = total;
    return finish(fh, avail);
}

typedef struct npy_parser {
    const unsigned char *b;
    size_t len, pos;
} npy_parser;

static void np_space(npy_parser *p) {
    while (p->pos < p->len && strchr(" \t\n\r\f\v", p->b[p->pos]) != NULL && p->b[p->pos] != 0) p->pos++;
}
static int np_peek(const npy_parser *p) { return p->pos < p->len ? p->b[p->pos] : 0; }
static int np_eat(npy_parser *p, int c) {
    np_space(p);
    if (np_peek(p) != c) return 0;
    p->pos++;
    return 1;
}
static int np_str(npy_parser *p, const unsigned char **s, size_t *n) {
    np_space(p);
    int q = np_peek(p);
    if (q != '\'' && q != '"') return 0;
    size_t start = p->pos + 1;
    for (size_t i = start; i < p->len; i++) {
        if (p->b[i] == '\\' || p->b[i] == '\n') return 0;
        if (p->b[i] == q) {
            p->pos = i + 1;
            *s = p->b + start;
            *n = i - start;
            return 1;
        }
    }
    return 0;
}
static int np_skip_list(npy_parser *p, const unsigned char **s, size_t *n) {
    size_t start = p->pos;
    int depth = 0;
    while (p->pos < p->len) {
        int c = p->b[p->pos];
        if (c == '[' || c == '(') {
            if (++depth > 16 * 2 + 4) return 0;
        } else if (c == ']' || c == ')') {
            if (--depth == 0) {
                p->pos++;
                *s = p->b + start;
                *n = p->pos - start;
                return 1;
            }
        } else if (c == '\'' || c == '"') {
            size_t i = p->pos + 1;
            for (; i < p->len && p->b[i] != c; i++)
                if (p->b[i] == '\\') i++;
            if (i >= p->len) return 0;
            p->pos = i;
        }
        p->pos++;
    }
    return 0;
}
static int is_alnum(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int np_word(npy_parser *p, const char *w) {
    np_space(p);
    size_t n = strlen(w);
    if (p->len - p->pos < n || memcmp(p->b + p->pos, w, n) != 0) return 0;
    size_t end = p->pos + n;
    if (end < p->len && (is_alnum(p->b[end]) || p->b[end] == '_')) return 0;
    p->pos = end;
    return 1;
}
static status np_shape(npy_parser *p, fheader *fh) {
    status bad = st_fail(NPSHM_ERR_FORMAT, "corrupt .npy header: 'shape' is not a tuple of sizes");
    if (!np_eat(p, '(')) return bad;
    int n = 0, comma = 0;
    for (;;) {
        np_space(p);
        if (np_peek(p) == ')') { p->pos++; break; }
        if (n > 0 && !comma) return bad;
        size_t start = p->pos;
        int64_t v = 0;
        while (p->pos < p->len && p->b[p->pos] >= '0' && p->b[p->pos] <= '9') {
            if (v > (1LL << 62) / 10) return st_fail(NPSHM_ERR_FORMAT, "corrupt .npy header: dimension too large");
            v = v * 10 + (p->b[p->pos] - '0');
            p->pos++;
        }
        size_t digits = p->pos - start;
        if (digits == 0 || (digits > 1 && p->b[start] == '0')) return bad;
        if (np_peek(p) == 'L') p->pos++;
        if (n == MAX_NDIM) return st_fail(NPSHM_ERR_FORMAT, ".npy header: more than 64 dimensions");
        fh->shape[n++] = v;
        comma = np_eat(p, ',');
    }
    if (n == 1 && !comma) return bad;
    fh->ndim = n;
    return OK_STATUS;
}

static int is_object_text(const unsigned char *s, size_t n) {
    static const char *const names[] = {"O", "|O", "<O", ">O", "=O", "O8", "|O8", "<O8", ">O8",
                                        "object", "object_", "object0"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == n && memcmp(s, names[i], n) == 0) return 1;
    return 0;
}
static int contains_object(const unsigned char *t, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (t[i] == '\'' || t[i] == '"') {
            size_t j = i + 1;
            while (j < n && t[j] != t[i]) j++;
            if (j < n && is_object_text(t + i + 1, j - i - 1)) return 1;
            i = j;
        }
    }
    return 0;
}

static status parse_npy_dict(const unsigned char *b, size_t len, fheader *fh, char *canon) {
    npy_parser p = {b, len, 0};
    status bad = st_fail(NPSHM_ERR_FORMAT, "corrupt .npy header: not a dict of descr, fortran_order and shape");
    if (!np_eat(&p, '{')) return bad;
    int seen[3] = {0, 0, 0};
    for (;;) {
        if (np_eat(&p, '}')) break;
        const unsigned char *key;
        size_t kn;
        if (!np_str(&p, &key, &kn) || !np_eat(&p, ':')) return bad;
        np_space(&p);
        if (kn == 5 && memcmp(key, "descr", 5) == 0) {
            if (seen[0]) return bad;
            seen[0] = 1;
            const unsigned char *text;
            size_t tn;
            if (np_peek(&p) == '[') {
                if (!np_skip_list(&p, &text, &tn)) return bad;
            } else if (!np_str(&p, &text, &tn)) {
                return bad;
            }
            if (is_object_text(text, tn) || contains_object(text, tn))
                return st_fail(NPSHM_ERR_FORMAT, ".npy file holds Python objects, which cannot be shared");
            int64_t size;
            const char *err;
            if (npshm__c_normalize_dtype((const char *)text, tn, canon, MAX_DESCR + 1, &size, &err) != 0)
                return st_fail(NPSHM_ERR_FORMAT, ".npy header holds a dtype npshm does not support");
            fh->itemsize = (uint64_t)size;
        } else if (kn == 13 && memcmp(key, "fortran_order", 13) == 0) {
            if (seen[1]) return bad;
            seen[1] = 1;
            if (np_word(&p, "True")) fh->fortran = 1;
            else if (np_word(&p, "False")) fh->fortran = 0;
            else return bad;
        } else if (kn == 5 && memcmp(key, "shape", 5) == 0) {
            if (seen[2]) return bad;
            seen[2] = 1;
            status s = np_shape(&p, fh);
            if (s.code) return s;
        } else {
            return bad;
        }
        if (!np_eat(&p, ',')) {
            if (!np_eat(&p, '}')) return bad;
            break;
        }
    }
    np_space(&p);
    if (p.pos != p.len || !seen[0] || !seen[1] || !seen[2]) return bad;
    return OK_STATUS;
}

static status decode_npy(const unsigned char *buf, size_t len, uint64_t avail, fheader *fh, char *canon) {
    memset(fh, 0, sizeof *fh);
    fh->format = 2;
    fh->descr = canon;
    if (avail < 10 || len < 10) return ftrunc("file ends inside the array's header");
    uint64_t hlen, pre;
    if (buf[6] == 1 && buf[7] == 0) {
        hlen = (uint64_t)buf[8] | (uint64_t)buf[9] << 8;
        pre = 10;
    } else if ((buf[6] == 2 || buf[6] == 3) && buf[7] == 0) {
        if (avail < 12 || len < 12) return ftrunc("file ends inside the array's header");
        hlen = get32(buf + 8);
        pre = 12;
    } else {
        return st_num(NPSHM_ERR_FORMAT, "unsupported .npy format version", (long long)buf[6] * 1000 + buf[7]);
    }
    if (avail < pre + hlen) return ftrunc("file ends inside the array's header");
    if ((uint64_t)len < pre + hlen) return st_num(NPSHM_ERR_FORMAT, ".npy header longer than npshm reads:", (long long)hlen);
    status s = parse_npy_dict(buf + pre, hlen, fh, canon);
    if (s.code) return s;
    fh->header_len = pre + hlen;
    return finish(fh, avail);
}

static status decode_file_header(const unsigned char *buf, size_t len, uint64_t avail, fheader *fh, char *canon) {
    static const char magic[] = "\x93NUMPY";
    if ((uint64_t)len > avail) len = (size_t)avail;
    size_t n = len < 6 ? len : 6;
    if (memcmp(buf, magic, n) == 0 && (n == 6 || avail < 6)) {
        if (n < 6) {
            memset(fh, 0, sizeof *fh);
            return ftrunc("file ends inside the array's header");
        }
        return decode_npy(buf, len, avail, fh, canon);
    }
    return decode_npio(buf, len, avail, fh, canon);
}

int npshm__c_decode_file_header(const unsigned char *buf, size_t len, uint64_t avail, int *format, int *ndim,
                                int64_t *shape, char *descr, size_t cap, uint64_t *itemsize, int *fortran,
                                uint64_t *header_len, uint64_t *nbytes, const char **err, int *eof) {
    static const unsigned char empty[1];
    fheader fh;
    char *canon = malloc(MAX_DESCR + 1);
    if (canon == NULL) { *err = "out of memory"; return NPSHM_ERR_NO_SPACE; }
    status s = decode_file_header(buf ? buf : empty, buf ? len : 0, avail, &fh, canon);
    *eof = s.code == NPSHM_ERR_FORMAT && s.errnum == ENODATA;
    if (s.code) { free(canon); *err = s.msg; return s.code; }
    *format = fh.format;
    *ndim = fh.ndim;
    memcpy(shape, fh.shape, sizeof(int64_t) * (size_t)fh.ndim);
    snprintf(descr, cap, "%s", canon);
    *itemsize = fh.itemsize;
    *fortran = fh.fortran;
    *header_len = fh.header_len;
    *nbytes = fh.nbytes;
    free(canon);
    return 0;
}

/* ---- encoders ---- */

typedef struct wbuf {
    unsigned char *b;
    size_t len, cap;
    int over;
} wbuf;
static void wstr(wbuf *w, const char *s, size_t n) {
    if (w->len + n > w->cap) { w->over = 1; return; }
    memcpy(w->b + w->len, s, n);
    w->len += n;
}
static void wcstr(wbuf *w, const char *s) { wstr(w, s, strlen(s)); }
static void wint(wbuf *w, long long v) { char t[24]; int n = snprintf(t, sizeof t, "%lld", v); wstr(w, t, (size_t)n); }

size_t npshm__c_encode_npy_header(unsigned char *buf, size_t cap, const char *descr, int ndim,
                                  const int64_t *shape, int fortran) {
    if (cap < 12) return 0;
    wbuf w = {buf, 12, cap, 0};
    wcstr(&w, "{'descr': ");
    if (descr[0] == '[') {
        wcstr(&w, descr);
    } else {
        wcstr(&w, "'");
        wcstr(&w, descr);
        wcstr(&w, "'");
    }
    wcstr(&w, ", 'fortran_order': ");
    wcstr(&w, fortran ? "True" : "False");
    wcstr(&w, ", 'shape': (");
    for (int i = 0; i < ndim; i++) {
        if (i > 0) wcstr(&w, ", ");
        wint(&w, shape[i]);
    }
    if (ndim == 1) wcstr(&w, ",");
    wcstr(&w, "), }");
    if (ndim > 0) {
        char t[24];
        int digits = snprintf(t, sizeof t, "%lld", (long long)shape[fortran ? ndim - 1 : 0]);
        for (int i = 0; i < GROWTH_DIGITS - digits; i++) wcstr(&w, " ");
    }
    if (w.over) return 0;
    size_t text = w.len - 12;
    int ascii = 1;
    for (size_t i = 12; i < w.len; i++)
        if (buf[i] >= 0x80) ascii = 0;
    unsigned char major = 1;
    size_t pre = 10, hlen = text + 1;
    if (!ascii || hlen + 64 - (10 + hlen) % 64 > 65535) {
        major = ascii ? 2 : 3;
        pre = 12;
    }
    size_t pad = 64 - (pre + hlen) % 64;
    size_t total = pre + hlen + pad;
    if (total > cap) return 0;
    memmove(buf + pre, buf + 12, text);
    memset(buf + pre + text, ' ', total - 1 - pre - text);
    buf[total - 1] = '\n';
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = major;
    buf[7] = 0;
    size_t h = total - pre;
    if (major == 1) {
        buf[8] = (unsigned char)h;
        buf[9] = (unsigned char)(h >> 8);
    } else {
        for (int i = 0; i < 4; i++) buf[8 + i] = (unsigned char)(h >> (8 * i));
    }
    return total;
}

static status encode_npio_header(unsigned char *buf, const char *descr, int ndim, const int64_t *shape, int fortran,
                                  size_t *len) {
    int code = npio_code(descr);
    if (code < 0)
        return st_fail(NPSHM_ERR_INVALID, "npio cannot store this dtype (it stores bool, int8 to int64, "
                                        "uint16 to uint64, float16 to float64, complex64, complex128 and unit-less "
                                        "datetime64 and timedelta64, little-endian); write a .npy file instead");
    if (fortran) {
        int big = 0;
        for (int i = 0; i < ndim; i++)
            if (shape[i] > 1) big++;
        if (big > 1) return st_fail(NPSHM_ERR_INVALID, "npio stores C order only; write this Fortran-order array as .npy");
    }
    uint32_t total = (uint32_t)(8 + 8 * ndim);
    put_be32(buf, total);
    buf[4] = (unsigned char)code;
    buf[5] = 0;
    buf[6] = 0;
    buf[7] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) put_be64(buf + 8 + 8 * i, (uint64_t)shape[i]);
    *len = total;
    return OK_STATUS;
}

/* ---- names and the lock file (internal/core/name.go, load_linux.go) ---- */

static int lock_path(const target *t, char *out, size_t cap) {
    const char *base = t->path + t->dir;
    size_t bn = strlen(base);
    if (t->dir + strlen(LOCK_PREFIX) + 255 + 1 > cap) return -1;
    size_t o = 0;
    memcpy(out, t->path, t->dir);
    o = t->dir;
    memcpy(out + o, LOCK_PREFIX, strlen(LOCK_PREFIX));
    o += strlen(LOCK_PREFIX);
    if (strlen(LOCK_PREFIX) + bn <= 255) {
        memcpy(out + o, base, bn);
        o += bn;
    } else {
        memcpy(out + o, base, 200);
        o += 200;
        out[o++] = '~';
        uint64_t h = 14695981039346656037ULL;
        for (size_t i = 0; i < bn; i++) {
            h ^= (unsigned char)base[i];
            h *= 1099511628211ULL;
        }
        for (int i = 15; i >= 0; i--) out[o++] = "0123456789abcdef"[(h >> (4 * i)) & 15];
    }
    out[o] = 0;
    return 0;
}

int npshm__c_lock_path(const char *name, char *out, size_t cap) {
    target t;
    if (npshm__resolve(name, &t).code) return -1;
    return lock_path(&t, out, cap);
}

static status take_lock(const char *path, const volatile int *cancel, int *fd_out) {
    for (;;) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) return st_sys(errno, "cannot open the lock file");
        int locked = 0;
        if (cancel == NULL) {
            while (!locked) {
                if (flock(fd, LOCK_EX) == 0) locked = 1;
                else if (errno != EINTR) { int e = errno; close(fd); return st_sys(e, "cannot lock the lock file"); }
            }
        } else {
            long wait = 50000;
            while (!locked) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0) { locked = 1; break; }
                if (errno != EWOULDBLOCK && errno != EINTR) { int e = errno; close(fd); return st_sys(e, "cannot lock the lock file"); }
                if (*cancel) {
                    /* If nobody holds the lock after all (the wait may have been for nothing but a
                     * signal), the file may be ours alone: remove it as a loader would. */
                    struct stat held, named;
                    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &held) == 0 && stat(path, &named) == 0 &&
                        held.st_ino == named.st_ino && held.st_dev == named.st_dev)
                        unlink(path);
                    close(fd);
                    return (status){NPSHM_ERR_IO, EINTR, "load cancelled", 0, 0};
                }
                struct timespec ts = {0, wait};
                nanosleep(&ts, NULL);
                wait = wait * 2 > 5000000 ? 5000000 : wait * 2;
            }
        }
        struct stat held, named;
        if (fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
            *fd_out = fd;
            return OK_STATUS;
        }
        close(fd);
    }
}

static void drop_lock(const char *path, int fd) {
    unlink(path);
    close(fd);
}

/* ---- loading (internal/core/load_linux.go) ---- */

typedef struct fwork {
    unsigned char file[MAX_HEADER];
    char descr[MAX_DESCR + 1];
    char expect[MAX_DESCR + 1];
    char lock[MAX_PATH_LEN + 320];
    fheader fh;
} fwork;

/* ---- a new segment filled from the file (internal/core/load_linux.go's loadNew): built and
 * published by ops.c's segment functions, as npshm_create's, with the descriptor kept for
 * sendfile ---- */

static status fill_data(int src, uint64_t off, void *data, uint64_t n, int fd, uint64_t dst_off,
                         const volatile int *cancel) {
    uint64_t half = n / 2 / 4096 * 4096;
    int e = 0;
    if (half) e = npshm__fill(src, off, data, half, fd, dst_off, cancel);
    if (!e) {
        if (__builtin_expect(pause_load, 0)) kill(getpid(), SIGSTOP);
        if (n - half) e = npshm__fill(src, off + half, (char *)data + half, n - half, fd, dst_off + half, cancel);
    }
    if (!e) return OK_STATUS;
    if (e == EINTR) return (status){NPSHM_ERR_IO, EINTR, "load cancelled", 0, 0};
    if (e == ENODATA) return ftrunc("file is shorter than the array its header describes");
    return st_sys(e, "cannot read the file");
}

static status load_new(const target *t, const fheader *fh, int src, uint64_t data_off, unsigned flags,
                       const volatile int *cancel, unsigned char *hbuf, npshm_array **out) {
    header h;
    memset(&h, 0, sizeof h);
    h.flags = fh->fortran ? 1 : 0;
    h.ndim = fh->ndim;
    memcpy(h.shape, fh->shape, sizeof(int64_t) * (size_t)fh->ndim);
    h.itemsize = fh->itemsize;
    h.descr = fh->descr;
    h.descr_len = strlen(fh->descr);
    if (npshm__shape_bytes(h.shape, h.ndim, h.itemsize, &h.data_nbytes).code)
        return st_fail(NPSHM_ERR_INVALID, "array too large: its size in bytes overflows");
    segment seg;
    status s = npshm__segment_new(t, &h, flags, hbuf, &seg);
    if (s.code) return s;
    if ((s = fill_data(src, data_off, (char *)seg.base + h.data_offset, h.data_nbytes, seg.fd, h.data_offset,
                       cancel)).code)
        goto fail;
    if ((s = npshm__segment_link(t, &seg)).code) goto fail;
    close(seg.fd);
    npshm_array *a = npshm__make_handle(seg.base, &h, t->display);
    if (a == NULL) {
        munmap(seg.base, seg.size);
        unlink(t->path);
        return (status){NPSHM_ERR_NO_SPACE, ENOMEM, "out of memory", 0, 0};
    }
    if (flags & NPSHM_READONLY) {
        (void)mprotect(seg.base, seg.size, PROT_READ);
        a->readonly = 1;
    }
    *out = a;
    return OK_STATUS;
fail:
    npshm__segment_drop(&seg);
    return s;
}

static status read_header_at(fwork *w, int fd, uint64_t off) {
    struct stat st;
    if (fstat(fd, &st) != 0) return st_sys(errno, "cannot stat the file");
    if (S_ISDIR(st.st_mode)) return (status){NPSHM_ERR_INVALID, EISDIR, "the file is a directory", 0, 0};
    uint64_t size = (uint64_t)st.st_size;
    uint64_t avail = size > off ? size - off : 0;
    uint64_t want = avail < sizeof w->file ? avail : sizeof w->file;
    uint64_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, w->file + got, want - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR) continue;
            return st_sys(errno, "cannot read the file");
        }
        if (r == 0) break;
        got += (uint64_t)r;
    }
    if (got < want) avail = got;
    return decode_file_header(w->file, got, avail, &w->fh, w->descr);
}

static status match_geometry(int ndim, const int64_t *shape, const char *descr, const npshm_read_options *o,
                              const char *expect) {
    if (o->expect_shape) {
        if (o->ndim != ndim) return st_num(NPSHM_ERR_MISMATCH, "array has a different number of dimensions:", ndim);
        for (int i = 0; i < ndim; i++)
            if (o->shape[i] != shape[i]) return st_num(NPSHM_ERR_MISMATCH, "array has a different size in dimension", i);
    }
    if (expect != NULL && strcmp(expect, descr) != 0) return st_fail(NPSHM_ERR_MISMATCH, "array has a different dtype");
    return OK_STATUS;
}

/* reprefix renames the operation in this thread's last error from "from" to npshm_read_file, for
 * failures of the operations a load is made of. */
static int reprefix(int rc, const char *from) {
    static const char to[] = "npshm_read_file";
    char *b = npshm__errbuf();
    size_t cap = npshm__errbuf_cap(), fn = strlen(from), tn = sizeof to - 1, len = strlen(b);
    if (strncmp(b, from, fn) != 0 || b[fn] != '(') return rc;
    if (len - fn + tn > cap) len = cap - tn + fn;
    memmove(b + tn, b + fn, len - fn);
    b[len - fn + tn] = 0;
    memcpy(b, to, tn);
    return rc;
}

/* attach_matching attaches name and checks it against the expectations and, if with_file, the file.
 * Returns the status code; on failure other than NOT_FOUND the message is set in s. */
static int attach_matching(const char *name, unsigned ro, const npshm_read_options *o, const char *expect,
                           const fwork *w, int with_file, npshm_array **out, status *s) {
    npshm_array *a = NULL;
    int rc = npshm__c_attach(name, ro, 0, -1, NULL, NULL, &a);
    if (rc != 0) return reprefix(rc, "npshm_attach"); /* its message is this thread's last error */
    *s = match_geometry(a->ndim, a->shape, a->dtype, o, expect);
    if (!s->code && with_file && w->fh.format) {
        npshm_read_options fo = {1, w->fh.ndim, w->fh.shape, NULL, 0, NULL, 0, 0};
        *s = match_geometry(a->ndim, a->shape, a->dtype, &fo, w->fh.descr);
        if (!s->code && a->fortran != w->fh.fortran) {
            int big = 0;
            for (int i = 0; i < w->fh.ndim; i++)
                if (w->fh.shape[i] > 1) big++;
            if (big > 1) *s = st_fail(NPSHM_ERR_MISMATCH, "array has a different memory order than the file");
        }
    }
    if (s->code) {
        npshm_release(a);
        return s->code;
    }
    *out = a;
    return 0;
}

static int open_file(const char *path, int *fd, status *s) {
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        *s = errno == ENOENT ? (status){NPSHM_ERR_NOT_FOUND, ENOENT, "no such file", 0, 0}
                             : st_sys(errno, "cannot open the file");
        return s->code;
    }
    return 0;
}

int npshm__c_read_file(const char *path, const char *name, unsigned flags, npshm_read_options *opts,
                       npshm_array **out) {
    const char *op = "npshm_read_file";
    if (name == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, "name is NULL or too long");
    if (out == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "out is NULL");
    if (path == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "path is NULL or too long");
    if (flags & ~READ_FLAGS) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "unknown flags (read_file takes NPSHM_READONLY, NPSHM_EXCLUSIVE and a mode)");
    npshm_read_options none;
    memset(&none, 0, sizeof none);
    npshm_read_options *o = opts ? opts : &none;
    o->attached = 0;
    o->end = 0;
    if (o->expect_shape && (o->ndim < 0 || o->ndim > MAX_NDIM))
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "expected ndim must be between 0 and 64");
    if (o->expect_shape && o->ndim > 0 && o->shape == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "expected shape is NULL");
    fwork *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, name, "out of memory");
    memset(&w->fh, 0, sizeof w->fh);
    status s = OK_STATUS;
    int rc = 0, src = -1, lock = -1;
    unsigned ro = flags & NPSHM_READONLY;
    const char *expect = NULL;
    target t;
    if ((s = npshm__resolve(name, &t)).code) goto report;
    if (o->dtype != NULL) {
        int64_t size;
        const char *err;
        int code = npshm__c_normalize_dtype(o->dtype, strlen(o->dtype), w->expect, MAX_DESCR + 1, &size, &err);
        if (code) { s = st_fail(code, err); goto report; }
        expect = w->expect;
    }
    if (lock_path(&t, w->lock, sizeof w->lock) != 0) { s = st_fail(NPSHM_ERR_INVALID, "name too long for its lock file"); goto report; }
    int file_first = !(o->expect_shape && expect != NULL);
    if (file_first) {
        if (open_file(path, &src, &s)) goto report;
        if ((s = read_header_at(w, src, o->offset)).code) goto report;
        o->end = o->offset + w->fh.header_len + w->fh.nbytes;
        if ((s = match_geometry(w->fh.ndim, w->fh.shape, w->fh.descr, o, expect)).code) goto report;
    }
    if (!(flags & NPSHM_EXCLUSIVE)) {
        rc = attach_matching(name, ro, o, expect, w, file_first, out, &s);
        if (rc == 0) { o->attached = 1; goto done; }
        if (rc != NPSHM_ERR_NOT_FOUND) { if (s.code) goto report; goto done_rc; }
    }
    if (!file_first) {
        if (open_file(path, &src, &s)) goto report;
        if ((s = read_header_at(w, src, o->offset)).code) goto report;
        o->end = o->offset + w->fh.header_len + w->fh.nbytes;
        if ((s = match_geometry(w->fh.ndim, w->fh.shape, w->fh.descr, o, expect)).code) goto report;
    }
    if ((s = take_lock(w->lock, o->cancel, &lock)).code) goto report;
    s = OK_STATUS;
    if (flags & NPSHM_EXCLUSIVE) {
        if (access(t.path, F_OK) == 0) { s = (status){NPSHM_ERR_EXISTS, EEXIST, "an array of that name exists", 0, 0}; goto report; }
        if (errno != ENOENT) { s = st_sys(errno, "cannot check the array's name"); goto report; }
    } else {
        rc = attach_matching(name, ro, o, expect, w, 1, out, &s);
        if (rc == 0) { o->attached = 1; goto done; }
        if (rc != NPSHM_ERR_NOT_FOUND) { if (s.code) goto report; goto done_rc; }
    }
    {
        npshm_array *a = NULL;
        s = load_new(&t, &w->fh, src, o->offset + w->fh.header_len, flags, o->cancel, w->file, &a);
        if (s.code == NPSHM_ERR_EXISTS && !(flags & NPSHM_EXCLUSIVE)) {
            s = OK_STATUS;
            rc = attach_matching(name, ro, o, expect, w, 1, out, &s);
            if (rc == 0) { o->attached = 1; goto done; }
            if (s.code) goto report;
            goto done_rc;
        }
        if (s.code) goto report;
        *out = a;
        rc = 0;
        goto done;
    }
report:
    rc = npshm__report(s, op, name);
done_rc:
    if (rc != 0) o->attached = 0;
done:
    if (lock >= 0) drop_lock(w->lock, lock);
    if (src >= 0) close(src);
    free(w);
    return rc;
}

/* ---- writing ---- */

static status write_all(int fd, const void *p, uint64_t n, uint64_t off) {
    uint64_t done = 0;
    while (done < n) {
        uint64_t want = n - done < (1u << 30) ? n - done : (1u << 30);
        ssize_t r = pwrite(fd, (const char *)p + done, want, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return st_sys(errno, "cannot write the file");
        }
        done += (uint64_t)r;
    }
    return OK_STATUS;
}

static _Atomic unsigned long wtemp_counter;

int npshm__c_write_file(const char *path, const npshm_array *array) {
    const char *op = "npshm_write_file";
    if (path == NULL || path[0] == 0) return npshm__fail(NPSHM_ERR_INVALID, 0, op, path, "path is empty");
    if (array == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, path, "array is NULL");
    size_t pn = strlen(path);
    if (pn > MAX_PATH_LEN) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, "path too long");
    if (path[pn - 1] == '/') return npshm__fail(NPSHM_ERR_INVALID, 0, op, path, "path names a directory");
    unsigned char *hbuf = malloc(MAX_HEADER);
    if (hbuf == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, path, "out of memory");
    status s = OK_STATUS;
    size_t hlen = 0;
    if (pn >= 4 && strcmp(path + pn - 4, ".npy") == 0) {
        hlen = npshm__c_encode_npy_header(hbuf, MAX_HEADER, array->dtype, array->ndim, array->shape, array->fortran);
        if (hlen == 0) s = st_fail(NPSHM_ERR_INVALID, "dtype descriptor too long for a .npy header");
    } else {
        s = encode_npio_header(hbuf, array->dtype, array->ndim, array->shape, array->fortran, &hlen);
    }
    if (s.code) { free(hbuf); return npshm__report(s, op, path); }
    char dir[MAX_PATH_LEN + 8], tmp[MAX_PATH_LEN + 64], proc[64];
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path + 1), path);
    else snprintf(dir, sizeof dir, "./");
    int named = 0;
    tmp[0] = 0;
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0 && access("/proc/self/fd", X_OK) != 0) { close(fd); fd = -1; errno = EOPNOTSUPP; }
    if (fd < 0) {
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) { s = st_sys(errno, "cannot create the file"); goto out; }
        for (int i = 0; i < 100 && fd < 0; i++) {
            snprintf(tmp, sizeof tmp, "%s" TEMP_PREFIX "%d-%lu", dir, (int)getpid(), atomic_fetch_add(&wtemp_counter, 1) + 1);
            fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
            if (fd < 0 && errno != EEXIST) { s = st_sys(errno, "cannot create a temporary file"); tmp[0] = 0; goto out; }
        }
        if (fd < 0) { s = st_fail(NPSHM_ERR_IO, "cannot find a free temporary name"); tmp[0] = 0; goto out; }
        named = 1;
    }
    if ((s = write_all(fd, hbuf, hlen, 0)).code) goto out;
    if ((s = write_all(fd, array->data, array->nbytes, hlen)).code) goto out;
    if (!named) {
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        int linked = 0;
        for (int i = 0; i < 100 && !linked; i++) {
            snprintf(tmp, sizeof tmp, "%s" TEMP_PREFIX "%d-%lu", dir, (int)getpid(), atomic_fetch_add(&wtemp_counter, 1) + 1);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) linked = 1;
            else if (errno != EEXIST) { s = st_sys(errno, "cannot name the new array"); tmp[0] = 0; goto out; }
        }
        if (!linked) { s = st_fail(NPSHM_ERR_IO, "cannot find a free temporary name"); tmp[0] = 0; goto out; }
        named = 1;
    }
    if (rename(tmp, path) != 0) { s = st_sys(errno, "cannot replace the array"); goto out; }
    tmp[0] = 0;
out:
    if (fd >= 0) close(fd);
    if (named && tmp[0]) unlink(tmp);
    free(hbuf);
    return s.code ? npshm__report(s, op, path) : NPSHM_OK;
}
