/* The C twin of internal/core/peers.go and peers_linux.go: the peers' segments (docs/FORMAT.md,
 * "The peers' segments"), SharedArray 3.x and cdxcore.npshm. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctwin.h"

/* The constants and the type table are spec.h's (generated from internal/core/spec.go). Where a
 * size message's number goes in hbuf: past a peer's descriptor. */
#define PEER_NUM_AT (PEER_DESCR_AT + 64)

static int all_digits(const char *s, size_t n) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* SharedArray's type number of a canonical descriptor, or -1 (peers.go's saTypenum). */
static int32_t sa_typenum(const char *d, size_t n) {
    for (int i = 0; i < SA_TYPES; i++)
        if (strlen(npshm__sa_types[i].descr) == n && memcmp(npshm__sa_types[i].descr, d, n) == 0)
            return npshm__sa_types[i].num;
    if (n < 3 || !all_digits(d + 2, n - 2)) return -1;
    if (memcmp(d, "|S", 2) == 0) return SA_STRING;
    if (memcmp(d, "<U", 2) == 0) return SA_UNICODE;
    if (memcmp(d, "|V", 2) == 0) return SA_VOID;
    return -1;
}

/* The canonical descriptor of a type number and item size into out (64 bytes), or 0. */
static int sa_descr(int32_t num, int32_t itemsize, char *out) {
    for (int i = 0; i < SA_TYPES; i++)
        if (npshm__sa_types[i].num == num) {
            if (itemsize != npshm__sa_types[i].size) return 0;
            strcpy(out, npshm__sa_types[i].descr);
            return 1;
        }
    if (itemsize <= 0) return 0;
    switch (num) {
    case SA_STRING: snprintf(out, 64, "|S%d", (int)itemsize); return 1;
    case SA_UNICODE:
        if (itemsize % 4) return 0;
        snprintf(out, 64, "<U%d", (int)(itemsize / 4));
        return 1;
    case SA_VOID: snprintf(out, 64, "|V%d", (int)itemsize); return 1;
    }
    return 0;
}

status npshm__describe_peer(header *h, unsigned format, unsigned char *buf, size_t *len) {
    if (h->flags & FLAG_FORTRAN) {
        int big = 0;
        for (int i = 0; i < h->ndim; i++)
            if (h->shape[i] > 1) big++;
        if (big > 1)
            return st_fail(NPSHM_ERR_INVALID, format == NPSHM_FORMAT_SHAREDARRAY
                                                  ? MSG_SHARED_ARRAY_CORDER_ONLY
                                                  : MSG_CDXCORE_CORDER_ONLY);
        h->flags &= (uint16_t)~FLAG_FORTRAN;
    }
    h->format = format;
    h->header_len = 0;
    h->creator_pid = 0;
    h->created_ns = 0;
    if (format == NPSHM_FORMAT_SHAREDARRAY) {
        int32_t num = sa_typenum(h->descr, h->descr_len);
        if (num < 0 || h->itemsize == 0)
            return st_fail(NPSHM_ERR_INVALID, MSG_SHARED_ARRAY_CANNOT_CARRY_DTYPE);
        h->data_offset = 0;
        h->trailer = SA_META_LEN;
        h->header_at = h->data_nbytes;
        memset(buf, 0, SA_META_LEN);
        memcpy(buf, SA_MAGIC, 16);
        put64(buf + 16, h->data_nbytes);
        put32(buf + 24, (uint32_t)num);
        put32(buf + 28, (uint32_t)h->itemsize);
        put32(buf + 32, (uint32_t)h->ndim);
        for (int i = 0; i < h->ndim; i++) put64(buf + SA_FIXED + 8 * i, (uint64_t)h->shape[i]);
        *len = SA_META_LEN;
        return OK_STATUS;
    }
    if (format == NPSHM_FORMAT_CDXCORE) {
        char d[64];
        if (h->descr_len >= sizeof d) return st_fail(NPSHM_ERR_INVALID, MSG_CDXCORE_CANNOT_CARRY_DTYPE);
        memcpy(d, h->descr, h->descr_len);
        d[h->descr_len] = 0;
        if (npshm__npio_code(d) < 0)
            return st_fail(NPSHM_ERR_INVALID, MSG_CDXCORE_CANNOT_CARRY_DTYPE);
        status s = npshm__encode_npio_header(buf, d, h->ndim, h->shape, 0, len);
        if (s.code) return s;
        h->data_offset = ((uint64_t)*len + CDXCORE_ALIGN - 1) / CDXCORE_ALIGN * CDXCORE_ALIGN;
        h->trailer = 0;
        h->header_at = 0;
        return OK_STATUS;
    }
    return st_num(NPSHM_ERR_INVALID, MSG_UNKNOWN_SEGMENT_FORMAT, format);
}

/* The refusal of a peer's segment whose size disagrees with its header, naming both sizes (the
 * first written into hbuf). */
static status size_mismatch(unsigned char *hbuf, const char *msg, uint64_t need, uint64_t size) {
    char *num = (char *)hbuf + PEER_NUM_AT;
    snprintf(num, 32, "%llu", (unsigned long long)need);
    return st_path(NPSHM_ERR_FORMAT, 0, msg, num, MSG_BYTES_SEGMENT_HOLDS, 1, (long long)size);
}

static status decode_sharedarray(const unsigned char *meta, size_t meta_len, uint64_t size, unsigned char *hbuf,
                                 header *h) {
    int max_dims = (int)(meta_len - SA_FIXED) / 8;
    memset(h, 0, sizeof *h);
    h->format = NPSHM_FORMAT_SHAREDARRAY;
    uint64_t nbytes = get64(meta + 16);
    int32_t num = (int32_t)get32(meta + 24);
    int32_t itemsize = (int32_t)get32(meta + 28);
    int32_t ndim = (int32_t)get32(meta + 32);
    if (ndim < 0 || ndim > max_dims || ndim > NPSHM_MAX_NDIM)
        return st_num(NPSHM_ERR_FORMAT, MSG_CORRUPT_SHARED_ARRAY_BAD_NDIM, ndim);
    char *descr = (char *)hbuf + PEER_DESCR_AT;
    if (!sa_descr(num, itemsize, descr))
        return st_num(NPSHM_ERR_FORMAT, MSG_SHARED_ARRAY_TYPE_NPSHM_CANNOT_TAKE, num);
    h->ndim = ndim;
    for (int i = 0; i < ndim; i++) h->shape[i] = (int64_t)get64(meta + SA_FIXED + 8 * i);
    h->descr = descr;
    h->descr_len = strlen(descr);
    h->itemsize = (uint64_t)itemsize;
    uint64_t n;
    if (npshm__shape_bytes(h->shape, ndim, h->itemsize, &n).code)
        return st_shape(NPSHM_ERR_FORMAT, MSG_CORRUPT_SHARED_ARRAY_BAD_SHAPE, h->shape, ndim);
    if (n != nbytes)
        return st_num(NPSHM_ERR_FORMAT, MSG_CORRUPT_SHARED_ARRAY_SIZE_FIELD,
                      (long long)nbytes);
    if (size - meta_len < n)
        return size_mismatch(hbuf, MSG_CORRUPT_SHARED_ARRAY_DESCRIBES, n + meta_len, size);
    h->data_offset = 0;
    h->data_nbytes = n;
    h->header_at = size - meta_len;
    h->trailer = size - n;
    return OK_STATUS;
}

/* peers.go's cdxcoreHeader: the start of cdxcore's npio header, checked field by field. */
static int cdxcore_header(const unsigned char *b, size_t n) {
    if (n < 8) return 0;
    uint32_t total = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    uint32_t ndim = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    if (ndim > NPSHM_MAX_NDIM || total != 8 + 8 * ndim || total > n || b[4] >= NPIO_CODES) return 0;
    for (uint32_t i = 0; i < ndim; i++) {
        const unsigned char *p = b + 8 + 8 * i;
        uint64_t d = 0;
        for (int k = 0; k < 8; k++) d = d << 8 | p[k];
        if (d > (1ULL << 62)) return 0;
    }
    return 1;
}

static status decode_cdxcore(const unsigned char *b, uint64_t size, unsigned char *hbuf, header *h) {
    memset(h, 0, sizeof *h);
    h->format = NPSHM_FORMAT_CDXCORE;
    uint32_t total = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    h->ndim = b[7];
    for (int i = 0; i < h->ndim; i++) {
        uint64_t d = 0;
        for (int k = 0; k < 8; k++) d = d << 8 | b[8 + 8 * i + k];
        h->shape[i] = (int64_t)d;
    }
    int itemsize = npshm__npio_size[b[4]];
    char *descr = (char *)hbuf + PEER_DESCR_AT;
    strcpy(descr, npshm__npio_descr[b[4]]);
    h->descr = descr;
    h->descr_len = strlen(descr);
    h->itemsize = (uint64_t)itemsize;
    uint64_t n;
    if (npshm__shape_bytes(h->shape, h->ndim, h->itemsize, &n).code)
        return st_shape(NPSHM_ERR_FORMAT, MSG_CORRUPT_CDXCORE_BAD_SHAPE, h->shape, h->ndim);
    h->data_offset = ((uint64_t)total + CDXCORE_ALIGN - 1) / CDXCORE_ALIGN * CDXCORE_ALIGN;
    h->data_nbytes = n;
    if (size != h->data_offset + n)
        return size_mismatch(hbuf, MSG_CORRUPT_CDXCORE_DESCRIBES, h->data_offset + n, size);
    return OK_STATUS;
}

status npshm__read_peer_header(int fd, size_t n, uint64_t size, unsigned char *hbuf, header *h, int *found) {
    static const size_t lens[] = {SA_META_LEN, SA_META_LEN_NP1};
    *found = 1;
    for (int i = 0; i < 2; i++) {
        if (size < lens[i]) continue;
        unsigned char *tail = hbuf + DATA_ALIGN; /* past the n <= DATA_ALIGN bytes read */
        size_t got = 0;
        while (got < lens[i]) {
            ssize_t r = pread(fd, tail + got, lens[i] - got, (off_t)(size - lens[i] + got));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return st_sys(errno, MSG_CANNOT_READ_ARRAY_SHEADER);
            if (r == 0) break;
            got += (size_t)r;
        }
        if (got == lens[i] && memcmp(tail, SA_MAGIC, 16) == 0) return decode_sharedarray(tail, lens[i], size, hbuf, h);
    }
    if (cdxcore_header(hbuf, n)) return decode_cdxcore(hbuf, size, hbuf, h);
    *found = 0;
    return OK_STATUS;
}
