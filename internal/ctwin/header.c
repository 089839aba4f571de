/* The C twin of internal/core/header.go and crc32.go: the segment header, decoded and checked. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ctwin.h"


/* ---- CRC-32 (IEEE) ---- */

static uint32_t crc_table[256];
__attribute__((constructor)) static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}
uint32_t npshm__crc32(const unsigned char *b, size_t n) {
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ b[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

/* ---- header (internal/core/header.go) ---- */

status npshm__describe(header *h, int ndim, const int64_t *shape, const char *dtype, int fortran, char *descr) {
    if (ndim < 0 || ndim > NPSHM_MAX_NDIM) return st_num(NPSHM_ERR_INVALID, MSG_NDIM_MUST_BETWEEN064, ndim);
    size_t dlen;
    long long itemsize;
    status s = npshm__normalize(dtype, strlen(dtype), descr, MAX_DESCR, &dlen, &itemsize);
    if (s.code) return s;
    descr[dlen] = 0;
    memset(h, 0, sizeof *h);
    h->flags = fortran ? FLAG_FORTRAN : 0;
    h->ndim = ndim;
    if (ndim > 0) memcpy(h->shape, shape, sizeof(int64_t) * (size_t)ndim);
    h->itemsize = (uint64_t)itemsize;
    h->descr = descr;
    h->descr_len = dlen;
    return npshm__shape_bytes(shape, ndim, h->itemsize, &h->data_nbytes);
}

status npshm__shape_bytes(const int64_t *shape, int ndim, uint64_t itemsize, uint64_t *out) {
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) return st_num(NPSHM_ERR_INVALID, MSG_NEGATIVE_DIMENSION, (long long)shape[i]);
    uint64_t n = itemsize;
    int zero = itemsize == 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) { zero = 1; continue; }
        if (n != 0 && (uint64_t)shape[i] > (uint64_t)INT64_MAX / n)
            return st_shape(NPSHM_ERR_INVALID, MSG_ARRAY_TOO_LARGE_FOR_NUMPY, shape, ndim);
        n *= (uint64_t)shape[i];
    }
    if (zero) { *out = 0; return OK_STATUS; }
    if (n > MAX_NBYTES) return st_shape(NPSHM_ERR_INVALID, MSG_ARRAY_TOO_LARGE_OVER2_POW56, shape, ndim);
    *out = n;
    return OK_STATUS;
}

status npshm__decode_header(const unsigned char *buf, size_t len, uint64_t seg, header *h, char *scratch) {
    h->format = NPSHM_FORMAT_NPSHM;
    h->trailer = h->header_at = 0;
    if (len < FIXED_HEADER + 4 || seg < FIXED_HEADER + 4) return st_fail(NPSHM_ERR_FORMAT, MSG_NOT_ARRAY_SEGMENT_TOO_SHORT);
    if (memcmp(buf, MAGIC, 8) != 0) return st_fail(NPSHM_ERR_FORMAT, MSG_NOT_ARRAY_BAD_MAGIC);
    uint16_t version = get16(buf + 8);
    if (version != FORMAT_VERSION) return st_num(NPSHM_ERR_FORMAT, MSG_UNSUPPORTED_NPSHM_FORMAT_VERSION, version);
    h->flags = get16(buf + 10);
    if (h->flags & ~(FLAG_FORTRAN | FLAG_UNRESERVED)) return st_num(NPSHM_ERR_FORMAT, MSG_UNKNOWN_HEADER_FLAGS, h->flags);
    h->header_len = get32(buf + 12);
    uint32_t ndim = get32(buf + 40), descr_len = get32(buf + 44);
    if (ndim > NPSHM_MAX_NDIM) return st_num(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_NDIM_TOO_LARGE, ndim);
    if (descr_len == 0 || descr_len > MAX_DESCR) return st_num(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_BAD_DESCRIPTOR_LENGTH, descr_len);
    if ((uint64_t)h->header_len != FIXED_HEADER + 8ull * ndim + descr_len) return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_INCONSISTENT_HEADER_LENGTH);
    size_t end = h->header_len;
    if (len < end + 4 || seg < end + 4) return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_SEGMENT_SHORTER_HEADER);
    if (npshm__crc32(buf, end) != get32(buf + end)) return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_CHECKSUM_MISMATCH);
    h->data_offset = get64(buf + 16);
    h->data_nbytes = get64(buf + 24);
    h->itemsize = get64(buf + 32);
    h->ndim = (int)ndim;
    h->creator_pid = get32(buf + CREATOR_PID_OFFSET);
    h->created_ns = (int64_t)get64(buf + 56);
    for (int i = 0; i < h->ndim; i++) h->shape[i] = (int64_t)get64(buf + FIXED_HEADER + 8 * i);
    h->descr = (const char *)buf + FIXED_HEADER + 8 * ndim;
    h->descr_len = descr_len;
    size_t olen;
    long long itemsize;
    status s = npshm__normalize(h->descr, h->descr_len, scratch, MAX_DESCR, &olen, &itemsize);
    if (s.code) return st_fail(NPSHM_ERR_FORMAT, MSG_SEGMENT_HOLDS_INVALID_DTYPE_DESCRIPTOR);
    if (olen != h->descr_len || memcmp(scratch, h->descr, olen) != 0) return st_fail(NPSHM_ERR_FORMAT, MSG_SEGMENT_HOLDS_NON_CANONICAL_DTYPE_DESCRIPTOR);
    if ((uint64_t)itemsize != h->itemsize) return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_ITEMSIZE_MISMATCH);
    uint64_t nbytes;
    if (npshm__shape_bytes(h->shape, h->ndim, h->itemsize, &nbytes).code) return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_BAD_SHAPE);
    if (nbytes != h->data_nbytes) return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_DATA_SIZE_MISMATCH);
    if (h->data_offset % MIN_DATA_ALIGN != 0 || h->data_offset < end + 4 || h->data_offset > MAX_NBYTES)
        return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_HEADER_BAD_DATA_OFFSET);
    if (seg < h->data_offset + h->data_nbytes) return st_fail(NPSHM_ERR_FORMAT, MSG_CORRUPT_SEGMENT_SHORTER_ARRAY_CLAIMS_HOLD);
    return OK_STATUS;
}

