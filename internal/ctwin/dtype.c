/* The C twin of internal/core/dtype.go: dtype descriptors, parsed and written in canonical form. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "ctwin.h"


/* ---- dtype descriptors (internal/core/dtype.go) ---- */

typedef struct parser {
    const char *in;
    size_t len, pos;
    char *out;
    size_t olen, ocap;
    int overflow;
    char last_kind; /* kind of the dtype parsed last: a simple kind, or '[' for a structured one */
} parser;

static void emitn(parser *p, const char *s, size_t n) {
    if (p->olen + n > p->ocap) { p->overflow = 1; return; }
    memcpy(p->out + p->olen, s, n);
    p->olen += n;
}
static void emit(parser *p, const char *s) { emitn(p, s, strlen(s)); }
static void emitc(parser *p, char c) { emitn(p, &c, 1); }
static void emit_int(parser *p, long long v) { char b[24]; int n = snprintf(b, sizeof b, "%lld", v); emitn(p, b, (size_t)n); }
static int at(const parser *p) { return p->pos < p->len ? (unsigned char)p->in[p->pos] : 0; }
static void skip_space(parser *p) {
    while (p->pos < p->len && (p->in[p->pos] == ' ' || p->in[p->pos] == '\t' || p->in[p->pos] == '\n'))
        p->pos++;
}
static int expect(parser *p, char c) { skip_space(p); if (at(p) != c) return 0; p->pos++; return 1; }
static int eq(const char *s, size_t n, const char *lit) { return strlen(lit) == n && memcmp(s, lit, n) == 0; }

static int is_object(const char *s, size_t n) {
    for (size_t i = 0; i < OBJECT_DTYPES; i++)
        if (eq(s, n, npshm__object_dtypes[i])) return 1;
    return 0;
}

/* The kind and size of a simple dtype from a table of spec.h. */
static int lookup(const dtype_kind *table, size_t len, const char *s, size_t n, char *kind, long long *size) {
    for (size_t i = 0; i < len; i++)
        if (eq(s, n, table[i].name)) { *kind = table[i].kind; *size = table[i].size; return 1; }
    return 0;
}

static int char_code(char c, char *kind, long long *size) {
    return lookup(npshm__dtype_char_codes, DTYPE_CHAR_CODES, &c, 1, kind, size);
}

static int alias(const char *s, size_t n, char *kind, long long *size) {
    return lookup(npshm__dtype_aliases, DTYPE_ALIASES, s, n, kind, size);
}

static int valid_unit(const char *u, size_t n) {
    if (n < 3 || u[0] != '[' || u[n - 1] != ']') return 0;
    u++; n -= 2;
    size_t i = 0;
    while (i < n && u[i] >= '0' && u[i] <= '9') i++;
    if (i > 9 || (i > 0 && u[0] == '0')) return 0;
    for (size_t k = 0; k < DATETIME_UNITS; k++)
        if (eq(u + i, n - i, npshm__datetime_units[k])) return 1;
    return 0;
}

static status emit_simple(parser *p, char order, char kind, long long size, const char *unit,
                          size_t unit_len, long long *itemsize) {
    *itemsize = kind == 'U' ? 4 * size : size;
    if (*itemsize == 1 || kind == 'S' || kind == 'V') order = '|';
    emitc(p, order);
    emitc(p, kind);
    emit_int(p, size);
    emitn(p, unit, unit_len);
    p->last_kind = kind;
    return OK_STATUS;
}

static int parse_decimal(const char *s, size_t n, long long *v) {
    if (n == 0 || n > 12) return 0;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 1;
}

static status datetime(parser *p, char order, char kind, const char *unit, size_t n, long long *itemsize) {
    if (n > 0 && !valid_unit(unit, n))
        return st_value(NPSHM_ERR_INVALID, MSG_UNKNOWN_DATETIME64_TIMEDELTA64_UNIT, unit, n);
    if (n > 2 && unit[1] == '1' && (unit[2] < '0' || unit[2] > '9')) {
        /* numpy drops a multiplier of 1: "M8[1s]" is "<M8[s]". */
        status s = emit_simple(p, order, kind, 8, NULL, 0, itemsize);
        emitc(p, '[');
        emitn(p, unit + 2, n - 2);
        return s;
    }
    return emit_simple(p, order, kind, 8, unit, n, itemsize);
}

static status simple(parser *p, const char *s, size_t n, long long *itemsize) {
    const char *spelled = s;
    size_t spelled_len = n;
    if (n == 0) return st_fail(NPSHM_ERR_INVALID, MSG_EMPTY_DTYPE);
    if (is_object(s, n)) return st_fail(NPSHM_ERR_INVALID, MSG_OBJECT_DTYPES_CANNOT_SHARED_BETWEEN_PROCESSES);
    if (n >= 10 && memcmp(s, "datetime64", 10) == 0) return datetime(p, '<', 'M', s + 10, n - 10, itemsize);
    if (n >= 11 && memcmp(s, "timedelta64", 11) == 0) return datetime(p, '<', 'm', s + 11, n - 11, itemsize);
    char kind;
    long long size;
    if (alias(s, n, &kind, &size)) return emit_simple(p, '<', kind, size, NULL, 0, itemsize);
    char order = '<';
    int explicit_order = 0;
    switch (s[0]) {
    case '<': case '=': case '|': s++; n--; explicit_order = 1; break;
    case '>': order = '>'; s++; n--; explicit_order = 1; break;
    }
    if (n == 0) return st_value(NPSHM_ERR_INVALID, MSG_DTYPE_HAS_BYTE_ORDER_BUT_TYPE, spelled, spelled_len);
    kind = s[0];
    const char *rest = s + 1;
    size_t rn = n - 1;
    if (rn == 0 && !explicit_order && char_code(kind, &kind, &size))
        return emit_simple(p, order, kind, size, NULL, 0, itemsize);
    if (kind == 'M' || kind == 'm') {
        if (rn == 0 || rest[0] != '8') return st_fail(NPSHM_ERR_INVALID, MSG_DATETIME64_TIMEDELTA64_DTYPES_MUST_HAVE_SIZE);
        return datetime(p, order, kind, rest + 1, rn - 1, itemsize);
    }
    if (!parse_decimal(rest, rn, &size)) return st_value(NPSHM_ERR_INVALID, MSG_UNKNOWN_DTYPE, spelled, spelled_len);
    switch (kind) {
    case 'b':
        if (size != 1) return st_fail(NPSHM_ERR_INVALID, MSG_BOOL_DTYPE_MUST_HAVE_SIZE1);
        break;
    case 'i': case 'u':
        if (size != 1 && size != 2 && size != 4 && size != 8)
            return st_num(NPSHM_ERR_INVALID, MSG_INTEGER_DTYPE_SIZE_MUST12, size);
        break;
    case 'f':
        if (size != 2 && size != 4 && size != 8 && size != 16)
            return st_num(NPSHM_ERR_INVALID, MSG_FLOAT_DTYPE_SIZE_MUST24, size);
        break;
    case 'c':
        if (size != 8 && size != 16 && size != 32)
            return st_num(NPSHM_ERR_INVALID, MSG_COMPLEX_DTYPE_SIZE_MUST816, size);
        break;
    case 'S': case 'a': case 'V':
        if (size == 0) return st_fail(NPSHM_ERR_INVALID, MSG_STRING_VOID_DTYPES_NEED_SIZE_E);
        if (size > MAX_ITEMSIZE) return st_fail(NPSHM_ERR_INVALID, MSG_STRING_VOID_DTYPES_HOLD_MOST2147483647);
        if (kind == 'a') kind = 'S';
        break;
    case 'U':
        if (size == 0) return st_fail(NPSHM_ERR_INVALID, MSG_UNICODE_DTYPES_NEED_LENGTH_EG);
        if (size > MAX_ITEMSIZE / 4) return st_fail(NPSHM_ERR_INVALID, MSG_UNICODE_DTYPE_TOO_LONG);
        break;
    default:
        return st_value(NPSHM_ERR_INVALID, MSG_UNKNOWN_DTYPE, spelled, spelled_len);
    }
    return emit_simple(p, order, kind, size, NULL, 0, itemsize);
}

static status parse_any(parser *p, int depth, long long *itemsize);

/* string_char decodes the character of a string literal at in[i] (a byte or an escape: \\ \' \"
 * \t \n \r \xHH below \x80) into *c and returns the index after it, or 0 for an unknown escape. */
static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 16;
}
static size_t string_char(const char *in, size_t len, size_t i, unsigned char *c) {
    if (in[i] != '\\') { *c = (unsigned char)in[i]; return i + 1; }
    if (i + 1 >= len) return 0;
    switch (in[i + 1]) {
    case '\\': case '\'': case '"': *c = (unsigned char)in[i + 1]; return i + 2;
    case 't': *c = '\t'; return i + 2;
    case 'n': *c = '\n'; return i + 2;
    case 'r': *c = '\r'; return i + 2;
    case 'x':
        if (i + 3 < len) {
            int hi = hex_digit(in[i + 2]), lo = hex_digit(in[i + 3]);
            if (hi < 8 && lo < 16) { *c = (unsigned char)(hi << 4 | lo); return i + 4; }
        }
    }
    return 0;
}

/* copy_string reads a Python string literal (a field name or title) and emits it as Python's repr
 * spells it (internal/core/dtype.go, copyString); *empty tells whether the string is empty. */
static status copy_string(parser *p, int *empty) {
    int q = at(p);
    if (q != '\'' && q != '"') return st_fail(NPSHM_ERR_INVALID, "expected a quoted field name in a structured dtype");
    int single = 0, dbl = 0;
    size_t end = p->pos + 1;
    for (;;) {
        if (end >= p->len) return st_fail(NPSHM_ERR_INVALID, MSG_UNTERMINATED_FIELD_NAME_STRUCTURED_DTYPE);
        if ((unsigned char)p->in[end] == q) break;
        unsigned char c;
        size_t next = string_char(p->in, p->len, end, &c);
        if (next == 0) return st_fail(NPSHM_ERR_INVALID, MSG_UNSUPPORTED_ESCAPE_STRUCTURED_DTYPE_FIELD_NAME);
        single |= c == '\'';
        dbl |= c == '"';
        end = next;
    }
    char quote = single && !dbl ? '"' : '\'';
    emitc(p, quote);
    for (size_t i = p->pos + 1; i < end;) {
        unsigned char c;
        i = string_char(p->in, p->len, i, &c);
        if (c == '\\' || c == (unsigned char)quote) { emitc(p, '\\'); emitc(p, (char)c); }
        else if (c == '\t') emit(p, "\\t");
        else if (c == '\n') emit(p, "\\n");
        else if (c == '\r') emit(p, "\\r");
        else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            emit(p, "\\x");
            emitc(p, hex[c >> 4]);
            emitc(p, hex[c & 15]);
        } else emitc(p, (char)c);
    }
    emitc(p, quote);
    if (empty) *empty = end == p->pos + 1;
    p->pos = end + 1;
    return OK_STATUS;
}

static int parse_uint(parser *p, long long *v) {
    size_t start = p->pos;
    long long n = 0;
    while (p->pos < p->len && p->in[p->pos] >= '0' && p->in[p->pos] <= '9') {
        n = n * 10 + (p->in[p->pos] - '0');
        if (n > MAX_ITEMSIZE) return 0;
        p->pos++;
    }
    *v = n;
    return p->pos > start;
}

/* parse_subshape parses a sub-array shape: *count_out gets the element count, *shaped whether it
 * makes a sub-array (an empty tuple does not). */
static status parse_subshape(parser *p, long long *count_out, int *shaped) {
    long long n;
    if (at(p) != '(') {
        if (!parse_uint(p, &n)) return st_fail(NPSHM_ERR_INVALID, MSG_EXPECTED_SUB_ARRAY_SHAPE_STRUCTURED_DTYPE);
        emit(p, ", (");
        emit_int(p, n);
        emit(p, ",)");
        *count_out = n;
        *shaped = 1;
        return OK_STATUS;
    }
    p->pos++;
    long long count = 1;
    int dims = 0;
    size_t start = p->olen;
    int overflow = p->overflow;
    emit(p, ", (");
    for (;;) {
        skip_space(p);
        if (at(p) == ')') { p->pos++; break; }
        if (dims > 0) {
            if (!expect(p, ',')) return st_fail(NPSHM_ERR_INVALID, MSG_EXPECTED_COMMA_IN_SUB_ARRAY_SHAPE);
            skip_space(p);
            if (at(p) == ')') { p->pos++; break; }
            emit(p, ", ");
        }
        if (!parse_uint(p, &n)) return st_fail(NPSHM_ERR_INVALID, MSG_BAD_SUB_ARRAY_DIMENSION_STRUCTURED_DTYPE);
        emit_int(p, n);
        dims++;
        if (dims > NPSHM_MAX_NDIM) return st_fail(NPSHM_ERR_INVALID, MSG_SUB_ARRAY_SHAPE_HAS_TOO_MANY);
        if (n != 0 && count > MAX_ITEMSIZE / n) return st_fail(NPSHM_ERR_INVALID, MSG_SUB_ARRAY_SHAPE_TOO_LARGE);
        count *= n;
    }
    if (dims == 0) { /* an empty shape: take back the ", (" and whether it overflowed */
        if (p->olen > start) p->olen = start;
        p->overflow = overflow;
    } else if (dims == 1) {
        emit(p, ",)");
    } else {
        emitc(p, ')');
    }
    *count_out = count;
    *shaped = dims > 0;
    return OK_STATUS;
}

/* parse_field parses one field; *pad tells whether it is padding, as numpy.lib.format.descr_to_dtype
 * decides: an empty name and a void type, that is a plain void or any sub-array. */
static status parse_field(parser *p, int depth, long long *itemsize, int *pad) {
    status s;
    int unnamed = 0;
    if (!expect(p, '(')) return st_fail(NPSHM_ERR_INVALID, MSG_EXPECTED_PAREN_OPENING_FIELD);
    emitc(p, '(');
    skip_space(p);
    if (at(p) == '(') {
        p->pos++;
        emitc(p, '(');
        skip_space(p);
        if ((s = copy_string(p, NULL)).code) return s;
        if (!expect(p, ',')) return st_fail(NPSHM_ERR_INVALID, MSG_EXPECTED_COMMA_IN_TITLE_NAME);
        emit(p, ", ");
        skip_space(p);
        if ((s = copy_string(p, NULL)).code) return s;
        if (!expect(p, ')')) return st_fail(NPSHM_ERR_INVALID, MSG_EXPECTED_PAREN_AFTER_TITLE_NAME);
        emitc(p, ')');
    } else if ((s = copy_string(p, &unnamed)).code) {
        return s;
    }
    if (!expect(p, ',')) return st_fail(NPSHM_ERR_INVALID, MSG_EXPECTED_COMMA_AFTER_FIELD_NAME);
    emit(p, ", ");
    skip_space(p);
    long long size;
    if ((s = parse_any(p, depth + 1, &size)).code) return s;
    int is_void = p->last_kind == 'V';
    skip_space(p);
    if (at(p) == ',') {
        p->pos++;
        skip_space(p);
        if (at(p) != ')') {
            long long count;
            int shaped = 0;
            if ((s = parse_subshape(p, &count, &shaped)).code) return s;
            is_void |= shaped;
            if (count != 0 && size > MAX_ITEMSIZE / count) return st_fail(NPSHM_ERR_INVALID, MSG_STRUCTURED_DTYPE_FIELD_TOO_LARGE);
            size *= count;
        }
    }
    if (!expect(p, ')')) return st_fail(NPSHM_ERR_INVALID, MSG_EXPECTED_PAREN_CLOSING_FIELD);
    emitc(p, ')');
    *itemsize = size;
    *pad = unnamed && is_void;
    return OK_STATUS;
}

/* parse_struct parses a structured dtype. Padding is emitted as numpy spells it: one ('', '|Vn')
 * field for each run of padding fields, and none for padding of zero bytes. */
static status parse_struct(parser *p, int depth, long long *itemsize) {
    p->pos++;
    emitc(p, '[');
    long long total = 0, pad_size = 0;
    int first = 1, fields = 0; /* fields: in the output so far */
    size_t pad_start = (size_t)-1; /* the padding field emitted last, if the last one is padding */
    for (;;) {
        skip_space(p);
        if (at(p) == ']') { p->pos++; break; }
        if (!first) {
            if (!expect(p, ',')) return st_fail(NPSHM_ERR_INVALID, MSG_EXPECTED_COMMA_BETWEEN_FIELDS);
            skip_space(p);
            if (at(p) == ']') { p->pos++; break; }
        }
        first = 0;
        size_t sep_start = p->olen;
        if (fields > 0) emit(p, ", ");
        size_t field_start = p->olen;
        long long size;
        int pad = 0;
        status s = parse_field(p, depth, &size, &pad);
        if (s.code) return s;
        total += size;
        if (total > MAX_ITEMSIZE) return st_fail(NPSHM_ERR_INVALID, MSG_STRUCTURED_DTYPE_TOO_LARGE);
        if (!pad) { pad_start = (size_t)-1; fields++; continue; }
        if (size == 0) { /* no bytes: no field */
            if (sep_start <= p->olen) p->olen = sep_start;
            continue;
        }
        if (pad_start != (size_t)-1) {
            field_start = pad_start; /* merge with the padding before */
            size += pad_size;
        } else {
            fields++;
        }
        if (field_start <= p->olen) p->olen = field_start;
        emit(p, MSG_PADDING_FIELD_START);
        emit_int(p, size);
        emit(p, "')");
        pad_start = field_start;
        pad_size = size;
    }
    emitc(p, ']');
    p->last_kind = '[';
    *itemsize = total;
    return OK_STATUS;
}

static status parse_any(parser *p, int depth, long long *itemsize) {
    if (depth > MAX_DEPTH) return st_fail(NPSHM_ERR_INVALID, MSG_STRUCTURED_DTYPE_NESTED_TOO_DEEPLY);
    int c = at(p);
    if (c == '[') return parse_struct(p, depth, itemsize);
    if (c == '\'' || c == '"') {
        size_t end = p->pos + 1;
        while (end < p->len && p->in[end] != c) end++;
        if (end >= p->len) return st_fail(NPSHM_ERR_INVALID, MSG_UNTERMINATED_STRING_DTYPE);
        emitc(p, '\'');
        status s = simple(p, p->in + p->pos + 1, end - p->pos - 1, itemsize);
        emitc(p, '\'');
        p->pos = end + 1;
        return s;
    }
    size_t end = p->pos;
    while (end < p->len && p->in[end] != ' ' && p->in[end] != '\t' && p->in[end] != '\n') end++;
    /* Inside a structured dtype an unquoted type is taken, and written quoted as numpy writes it. */
    if (depth > 0) emitc(p, '\'');
    status s = simple(p, p->in + p->pos, end - p->pos, itemsize);
    if (depth > 0) emitc(p, '\'');
    p->pos = end;
    return s;
}

/* npshm__normalize writes the canonical descriptor (not NUL-terminated) into out[0..*olen). */
status npshm__normalize(const char *in, size_t len, char *out, size_t cap, size_t *olen, long long *itemsize) {
    parser p = {in, len, 0, out, 0, cap, 0, 0};
    skip_space(&p);
    if (at(&p) == '\'' || at(&p) == '"') /* numpy refuses "'<f8'" as well */
        return st_fail(NPSHM_ERR_INVALID, MSG_DTYPE_QUOTED_ONLY_INSIDE_STRUCTURED_DTYPE);
    status s = parse_any(&p, 0, itemsize);
    if (s.code) return s;
    skip_space(&p);
    if (p.pos != p.len) return st_num(NPSHM_ERR_INVALID, MSG_UNEXPECTED_TEXT_DTYPE_OFFSET, (long long)p.pos);
    if (p.overflow) return st_fail(NPSHM_ERR_INVALID, MSG_DTYPE_DESCRIPTOR_TOO_LONG);
    *olen = p.olen;
    return OK_STATUS;
}

