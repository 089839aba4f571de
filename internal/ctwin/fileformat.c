/* The C twin of internal/core/fileformat.go: npio and .npy file headers, decoded and encoded. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctwin.h"

/* ---- headers (internal/core/fileformat.go) ---- */

static int npio_code(const char *descr) {
    for (int i = 0; i < NPIO_CODES; i++)
        if (strcmp(descr, npshm__npio_descr[i]) == 0) return i;
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
    strcpy(canon, npshm__npio_descr[code]);
    fh->itemsize = (uint64_t)npshm__npio_size[code];
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
        if (n == NPSHM_MAX_NDIM) return st_fail(NPSHM_ERR_FORMAT, ".npy header: more than 64 dimensions");
        fh->shape[n++] = v;
        comma = np_eat(p, ',');
    }
    if (n == 1 && !comma) return bad;
    fh->ndim = n;
    return OK_STATUS;
}

static int is_object_text(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < OBJECT_DTYPES; i++)
        if (strlen(npshm__object_dtypes[i]) == n && memcmp(s, npshm__object_dtypes[i], n) == 0) return 1;
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

status npshm__decode_file_header(const unsigned char *buf, size_t len, uint64_t avail, fheader *fh, char *canon) {
    static const char magic[] = NPY_MAGIC;
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
    status s = npshm__decode_file_header(buf ? buf : empty, buf ? len : 0, avail, &fh, canon);
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

status npshm__encode_npio_header(unsigned char *buf, const char *descr, int ndim, const int64_t *shape, int fortran,
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

/* ---- the format of a file, and its header (internal/core/fileformat.go's FormatOf and
 * EncodeFileHeader) ---- */

unsigned npshm__format_of(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".npy") == 0 ? NPSHM_NPY : NPSHM_NPIO;
}

status npshm__encode_file_header(unsigned char *buf, unsigned format, const char *descr, int ndim,
                                 const int64_t *shape, int fortran, size_t *len) {
    if (format == NPSHM_NPIO) return npshm__encode_npio_header(buf, descr, ndim, shape, fortran, len);
    if (format != NPSHM_NPY) return st_fail(NPSHM_ERR_INVALID, "unknown file format");
    *len = npshm__c_encode_npy_header(buf, MAX_HEADER, descr, ndim, shape, fortran);
    return *len ? OK_STATUS : st_fail(NPSHM_ERR_INVALID, "dtype descriptor too long for a .npy header");
}
