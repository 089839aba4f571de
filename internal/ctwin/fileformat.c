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

int npshm__npio_code(const char *descr) { return npio_code(descr); }

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const unsigned char *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static void put_be32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (24 - 8 * i)); }
static void put_be64(unsigned char *p, uint64_t v) { put_be32(p, (uint32_t)(v >> 32)); put_be32(p + 4, (uint32_t)v); }
static status finish(fheader *fh, uint64_t avail) {
    if (npshm__shape_bytes(fh->shape, fh->ndim, fh->itemsize, &fh->nbytes).code)
        return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_SIZE_OVERFLOWS);
    if (avail - fh->header_len < fh->nbytes) return ftrunc(MSG_FILE_SHORTER_ARRAY_HEADER_DESCRIBES);
    return OK_STATUS;
}

static status decode_npio(const unsigned char *buf, size_t len, uint64_t avail, fheader *fh, char *canon) {
    memset(fh, 0, sizeof *fh);
    fh->format = 1;
    fh->descr = canon;
    if (avail < 4) return ftrunc(MSG_FILE_ENDS_INSIDE_ARRAY_SHEADER);
    if (len < 4) return st_fail(NPSHM_ERR_FORMAT, MSG_NPIO_HEADER_LONGER_NPSHM_READS);
    uint32_t total = be32(buf);
    if (total < 8 || total % 8 != 0) return st_num(NPSHM_ERR_FORMAT, MSG_NOT_NPIO_OR_NPY_BAD_HEADER_LENGTH, total);
    if (total > NPIO_MAX_HEADER) return st_num(NPSHM_ERR_FORMAT, MSG_NPIO_HEADER_MORE64_DIMENSIONS_HEADER, total);
    if (avail < total || len < total) return ftrunc(MSG_FILE_ENDS_INSIDE_ARRAY_SHEADER);
    int code = buf[4];
    int ndim = buf[5] << 16 | buf[6] << 8 | buf[7];
    if ((uint64_t)total != 8 + 8 * (uint64_t)ndim)
        return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_NPIO_HEADER_LENGTH_MISMATCH);
    if (code >= NPIO_CODES) return st_num(NPSHM_ERR_FORMAT, MSG_CORRUPT_NPIO_HEADER_UNKNOWN_DTYPE_CODE, code);
    fh->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = be64(buf + 8 + 8 * i);
        if (d > (1ULL << 62)) return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_NPIO_HEADER_DIMENSION_TOO_LARGE);
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
    status bad = st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_NPY_HEADER_SHAPE_NOT_TUPLE);
    if (!np_eat(p, '(')) return bad;
    int n = 0, comma = 0;
    for (;;) {
        np_space(p);
        if (np_peek(p) == ')') { p->pos++; break; }
        if (n > 0 && !comma) return bad;
        size_t start = p->pos;
        int64_t v = 0;
        while (p->pos < p->len && p->b[p->pos] >= '0' && p->b[p->pos] <= '9') {
            if (v > (1LL << 62) / 10) return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_NPY_HEADER_DIMENSION_TOO_LARGE);
            v = v * 10 + (p->b[p->pos] - '0');
            p->pos++;
        }
        size_t digits = p->pos - start;
        if (digits == 0 || (digits > 1 && p->b[start] == '0')) return bad;
        if (np_peek(p) == 'L') p->pos++;
        if (n == NPSHM_MAX_NDIM) return st_fail(NPSHM_ERR_FORMAT, MSG_NPY_HEADER_MORE64_DIMENSIONS);
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
    status bad = st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_NPY_HEADER_NOT_DICT);
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
                return st_fail(NPSHM_ERR_FORMAT, MSG_NPY_FILE_HOLDS_PYTHON_OBJECTS_WHICH);
            size_t dlen;
            long long size;
            if (npshm__normalize((const char *)text, tn, canon, MAX_DESCR, &dlen, &size).code)
                return st_fail(NPSHM_ERR_FORMAT, MSG_NPY_HEADER_UNSUPPORTED_DTYPE);
            canon[dlen] = 0;
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
    if (avail < 10 || len < 10) return ftrunc(MSG_FILE_ENDS_INSIDE_ARRAY_SHEADER);
    uint64_t hlen, pre;
    if (buf[6] == 1 && buf[7] == 0) {
        hlen = (uint64_t)buf[8] | (uint64_t)buf[9] << 8;
        pre = 10;
    } else if ((buf[6] == 2 || buf[6] == 3) && buf[7] == 0) {
        if (avail < 12 || len < 12) return ftrunc(MSG_FILE_ENDS_INSIDE_ARRAY_SHEADER);
        hlen = get32(buf + 8);
        pre = 12;
    } else {
        return st_num(NPSHM_ERR_FORMAT, MSG_UNSUPPORTED_NPY_FORMAT_VERSION, (long long)buf[6] * 1000 + buf[7]);
    }
    if (avail < pre + hlen) return ftrunc(MSG_FILE_ENDS_INSIDE_ARRAY_SHEADER);
    if ((uint64_t)len < pre + hlen) return st_num(NPSHM_ERR_FORMAT, MSG_NPY_HEADER_LONGER_NPSHM_READS, (long long)hlen);
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
            return ftrunc(MSG_FILE_ENDS_INSIDE_ARRAY_SHEADER);
        }
        return decode_npy(buf, len, avail, fh, canon);
    }
    return decode_npio(buf, len, avail, fh, canon);
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
    wcstr(&w, MSG_NPY_DESCR_KEY);
    if (descr[0] == '[') {
        wcstr(&w, descr);
    } else {
        wcstr(&w, "'");
        wcstr(&w, descr);
        wcstr(&w, "'");
    }
    wcstr(&w, MSG_NPY_FORTRAN_ORDER_KEY);
    wcstr(&w, fortran ? "True" : "False");
    wcstr(&w, MSG_NPY_SHAPE_KEY);
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
        return st_fail(NPSHM_ERR_INVALID, MSG_NPIO_CANNOT_STORE_THIS_DTYPE_STORES);
    if (fortran) {
        int big = 0;
        for (int i = 0; i < ndim; i++)
            if (shape[i] > 1) big++;
        if (big > 1) return st_fail(NPSHM_ERR_INVALID, MSG_NPIO_STORES_CORDER_ONLY_WRITE);
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
    if (format != NPSHM_NPY) return st_fail(NPSHM_ERR_INVALID, MSG_UNKNOWN_FILE_FORMAT);
    *len = npshm__c_encode_npy_header(buf, MAX_HEADER, descr, ndim, shape, fortran);
    return *len ? OK_STATUS : st_fail(NPSHM_ERR_INVALID, MSG_DTYPE_DESCRIPTOR_TOO_LONG_NPY_HEADER);
}
